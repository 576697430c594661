"""The command line's voice: the action's texts spoken as flags and variables, never YAML.

The step's errors name inputs the way a workflow writes them (`` `org` ``,
`` `fail-on: never` ``, ``Input `timestamp```); at the command line the same error names the
flag or the variable (`` `--org` (LAST9_ORG)``, `` `--fail-on never` ``). ``to_cli`` translates
a text; ``CliConsoleReporter`` and ``CliGitHubReporter`` translate every warning and error
they print. ``scrub`` keeps anything that looks like a token out of argument errors and
tracebacks, which echo what was typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TextIO

from last9_change_event import streams
from last9_change_event.inputs import SPECS
from last9_change_event.redact import LOOKS_LIKE_JWT
from last9_change_event.workflow import GitHubReporter, Reporter

#: Inputs read from the environment at the command line (tokens only there).
ENV_INPUTS: Mapping[str, str] = {
    "refresh-token": "LAST9_REFRESH_TOKEN",
    "access-token": "LAST9_ACCESS_TOKEN",
    "org": "LAST9_ORG",
    "api-url": "LAST9_API_URL",
}
#: Inputs whose flag has another name at the command line.
RENAMED: Mapping[str, str] = {"github-attributes": "ci-attributes"}
#: Inputs with no flag: the tokens (environment only) and the runner's post step.
ACTION_ONLY = frozenset({"refresh-token", "access-token", "auto-stop"})

NO_TOKEN_TITLE = "Last9: no token"  # noqa: S105 - a title, not a secret
MISSING_TEXT = (
    "Neither LAST9_REFRESH_TOKEN nor LAST9_ACCESS_TOKEN is set, so nothing can be sent. "
    "Export the write pair's refresh token (Last9 → Settings → API Access) as "
    "LAST9_REFRESH_TOKEN, from your CI's secret or masked variable; pipelines for forks' merge "
    "or pull requests usually get no secrets: add `--fail-on never` to let them go on without "
    "an event, or `--dry-run` to check the payload without a token."
)
_CANCEL_REMEDY = (
    "With `auto-stop`, the post step still sends the stop of a start that may have landed."
)
_CLI_CANCEL_REMEDY = "Send the stop yourself, or use `wrap`, which sends it after a cancel too."

_NAMES = sorted((spec.name for spec in SPECS), key=len, reverse=True)
_SETTING = re.compile(r"`(" + "|".join(map(re.escape, _NAMES)) + r"): ([^`]*)`")
_NAME = re.compile(r"`(" + "|".join(map(re.escape, _NAMES)) + r")`")
_INPUT_PREFIX = re.compile(r"\bInput (`[a-z-]+`)")
_TITLE = re.compile(r"^(Last9: invalid )(" + "|".join(map(re.escape, _NAMES)) + r")$")


def flag(name: str) -> str:
    """The command line's spelling of input ``name``: ``--org``, or the token's variable."""
    if name in ("refresh-token", "access-token"):
        return ENV_INPUTS[name]
    return f"--{RENAMED.get(name, name)}"


def spelled(name: str) -> str:
    """``name`` as an error names it: the flag, and its variable when there is one."""
    text = f"`{flag(name)}`"
    if name in ENV_INPUTS and name not in ("refresh-token", "access-token"):
        text += f" ({ENV_INPUTS[name]})"
    return text


def to_cli(text: str) -> str:
    """An action's message as the command line says it."""
    text = text.replace(_CANCEL_REMEDY, _CLI_CANCEL_REMEDY)
    text = _SETTING.sub(lambda m: f"`{flag(m.group(1))} {m.group(2)}`", text)
    text = _NAME.sub(lambda m: spelled(m.group(1)), text)
    text = _INPUT_PREFIX.sub(r"\1", text)
    text = re.sub(r"\binputs\b", "flags", text)
    text = re.sub(r"\binput\b", "flag", text)
    text = text.replace("not failing the step", "not failing the command")
    return text.replace("The step was cancelled", "The command was cancelled")


def title_to_cli(title: str) -> str:
    """An annotation title as the command line says it: ``Last9: invalid --org``."""
    match = _TITLE.match(title)
    return f"{match.group(1)}{flag(match.group(2))}" if match else title


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """``text`` without anything shaped like a token, nor any of the ``known`` secrets."""
    for secret in sorted((s for s in known if len(s) >= 8), key=len, reverse=True):
        text = text.replace(secret, "***")
    return LOOKS_LIKE_JWT.sub("***", text)


class _CliVoice(Reporter):
    """Warnings and errors in the command line's words."""

    def warning(self, title: str, message: str) -> None:
        """A warning, naming flags and variables."""
        super().warning(title_to_cli(title), _message(title, message))

    def error(self, title: str, message: str) -> None:
        """An error, naming flags and variables."""
        super().error(title_to_cli(title), _message(title, message))


def _message(title: str, message: str) -> str:
    if title == NO_TOKEN_TITLE:
        at = message.find(" (not failing the step")
        return to_cli(MISSING_TEXT + (message[at:] if at != -1 else ""))
    return to_cli(message)


class CliConsoleReporter(_CliVoice, Reporter):
    """A person at a terminal, or any CI's log."""


class CliGitHubReporter(_CliVoice, GitHubReporter):
    """The command line in a GitHub ``run:`` step: workflow commands as the action writes them,
    on stderr (the runner reads them there too), so that stdout holds the result alone."""

    def __init__(self, files: Mapping[str, str], result_out: TextIO | None = None) -> None:
        super().__init__(files, out=streams.stderr())
        self.result_out = result_out if result_out is not None else streams.stdout()

    def info(self, message: str) -> None:
        """A log line, on stderr like the workflow commands."""
        GitHubReporter.result(self, message)

    def result(self, text: str) -> bool:
        """The result on stdout, with workflow commands paused around it if it could hold one."""
        return self._write(self.result_out, self.inert(text))
