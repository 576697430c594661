"""The command line's voice: inputs named as flags and variables, never as workflow YAML.

An error carries the input it is about, what is wrong, and a remedy whose input names are
spelled by the voice it is told in; ``CliVoice`` spells them from the table of inputs
(`` `--org` (LAST9_ORG)``, `` `--fail-on never` ``). The reporters speak that voice. ``scrub``
keeps anything shaped like a token out of argument errors and tracebacks, which echo what was
typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO

from last9_change_event.core.inputs import BY_NAME
from last9_change_event.edge import streams
from last9_change_event.edge.workflow import GitHubReporter, Reporter
from last9_change_event.errors import ActionError, InputError, MissingTokenError, Voice
from last9_change_event.redact import LOOKS_LIKE_JWT

MISSING_TEXT = (
    "Neither LAST9_REFRESH_TOKEN nor LAST9_ACCESS_TOKEN is set, so nothing can be sent. "
    "Export the write pair's refresh token (Last9 → Settings → API Access) as "
    "LAST9_REFRESH_TOKEN, from your CI's secret or masked variable; pipelines for forks' merge "
    "or pull requests usually get no secrets: add `--fail-on never` to let them go on without "
    "an event, or `--dry-run` to check the payload without a token."
)


class CliVoice(Voice):
    """Inputs as flags (and the variable that stands in for one), tokens as variables."""

    step = "command"
    after_cancel = "Send the stop yourself, or use `wrap`, which sends it after a cancel too."

    def label(self, name: str) -> str:
        """``--org``, or the variable of an input without a flag (else the refused flag)."""
        spec = BY_NAME[name]
        return spec.flag or spec.row.env or f"--{name}"

    def name(self, name: str) -> str:
        """`` `--org` (LAST9_ORG)``, `` `--timeout` ``, `` `LAST9_REFRESH_TOKEN` ``."""
        spec, env = BY_NAME[name], BY_NAME[name].row.env
        if spec.flag is None:
            return f"`{self.label(name)}`"
        return f"`{spec.flag}`" + (f" ({env})" if env else "")

    def setting(self, name: str, value: str) -> str:
        """`` `--fail-on never` ``, or `` `LAST9_ACCESS_TOKEN=...` `` for a variable."""
        if BY_NAME[name].flag is None:
            return f"`{self.label(name)}={value}`"
        return f"`{self.label(name)} {value}`"

    def title(self, error: ActionError) -> str:
        """An input error's title says whether the flag is missing or invalid."""
        if isinstance(error, InputError):
            return f"Last9: {error.kind} {self.label(error.input_name)}"
        return error.title

    def describe(self, error: ActionError) -> str:
        """The message and remedy; the title already names the flag of an input error."""
        if isinstance(error, MissingTokenError):
            return MISSING_TEXT
        text = f"{self.render(error.message_text)} {self.render(error.remedy_text)}".strip()
        return text[:1].upper() + text[1:]


CLI = CliVoice()


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """``text`` without anything shaped like a token, nor any of the ``known`` secrets."""
    for secret in sorted((s for s in known if len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, "***")
    return LOOKS_LIKE_JWT.sub("***", text)


class CliReporter(Reporter):
    """A person at a terminal, or any CI's log, in the command line's words."""

    voice = CLI


class CliGitHubReporter(GitHubReporter):
    """The command line in a GitHub ``run:`` step: workflow commands as the action writes them,
    on stderr (the runner reads them there too), so that stdout holds the result alone."""

    voice = CLI

    def __init__(self, files: Mapping[str, str], result_out: TextIO | None = None) -> None:
        super().__init__(files, out=streams.stderr())
        self.result_out = result_out if result_out is not None else streams.stdout()

    def info(self, message: str) -> None:
        """A log line, on stderr like the workflow commands."""
        GitHubReporter.result(self, message)

    def result(self, text: str) -> bool:
        """The result on stdout, with workflow commands paused around it if it could hold one."""
        return self._write(self.result_out, self.inert(text))
