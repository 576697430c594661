"""Every error the step can end with, each carrying a title and a remedy.

``run`` catches them once, reports one annotation (an error or a warning, by ``fail-on``) and
decides the exit code. Any other exception is a bug: the boundary in ``run`` turns it into an
``InternalError`` so that the step still ends with its outputs and summary written.

    ActionError
    ├── ConfigError          the workflow is wrong: retrying will not help
    │   ├── InputError       one input is invalid; names the input
    │   ├── MissingTokenError neither token has a value (forks, Dependabot)
    │   └── AuthError        Last9 refused a token, or a token cannot do the job
    └── OutageError          Last9 could not be reached, or kept failing: network, timeout, 5xx
        ├── CancelledError   the runner cancelled the step (SIGINT, SIGTERM)
        └── InternalError    an unexpected exception, counted as an outage

    UsageError               the command line's arguments are wrong (before any step runs)

The failure policy (``fail-on``) fails the step on every error with ``any``, on everything but an
``OutageError`` with ``config``, and on nothing with ``never``.

Each front-end words an error in its own voice from the error's data: the input it names, the
kind of problem, the remedy. A text that names an input is a function of the ``Voice``, which
spells the input: `` `org` `` and `` `fail-on: never` `` for the action (``Voice``), `` `--org`
(LAST9_ORG)`` and `` `--fail-on never` `` for the command line. Nothing is reworded afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

FailOn = Literal["any", "config", "never"]
TOKENS_PAGE = "Last9 → Settings → API Access"
#: A message or remedy: plain text, or text that names inputs in the voice it is given.
Text = str | Callable[["Voice"], str]


class Voice:
    """How the action speaks of its inputs: `` `org` ``, and settings as workflow YAML."""

    #: What the user runs: the workflow's step, or (at the command line) the command.
    step = "step"
    #: What becomes of a start when the step is cancelled.
    after_cancel = (
        "With `auto-stop`, the post step still sends the stop of a start that may have landed."
    )

    def name(self, name: str) -> str:
        """Input ``name`` in a sentence."""
        return f"`{name}`"

    def setting(self, name: str, value: str) -> str:
        """Input ``name`` set to ``value``, as the user would write it."""
        return f"`{name}: {value}`"

    def label(self, name: str) -> str:
        """Input ``name`` in a title."""
        return name

    def render(self, text: Text) -> str:
        """``text`` in this voice."""
        return text if isinstance(text, str) else text(self)

    def title(self, error: ActionError) -> str:
        """The error's title (an input error's names the input, missing or not: `invalid`)."""
        if isinstance(error, InputError):
            return f"Last9: invalid {self.label(error.input_name)}"
        return error.title

    def message(self, error: ActionError) -> str:
        """The error's message; an input error's names its input first."""
        message = self.render(error.message_text)
        if isinstance(error, InputError):
            return f"Input {self.name(error.input_name)}: {message}"
        return message

    def describe(self, error: ActionError) -> str:
        """The error's message and its remedy, as one text."""
        return f"{self.message(error)} {self.render(error.remedy_text)}".strip()

    def not_failing(self, fail_on: FailOn) -> str:
        """Why an error is only a warning."""
        return f"(not failing the {self.step}: {self.setting('fail-on', fail_on)})"


#: The action's voice, which every error speaks unless a front-end gives another.
ACTION = Voice()


class ActionError(Exception):
    """An error with a title for the annotation and a remedy for the user."""

    default_title: ClassVar[str] = "Last9 change event failed"

    def __init__(self, message: Text, *, remedy: Text = "", title: str | None = None) -> None:
        self.message_text = message
        self.remedy_text = remedy
        self.title = title or self.default_title
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The message, as the action says it."""
        return ACTION.message(self)

    @property
    def remedy(self) -> str:
        """The remedy, as the action says it."""
        return ACTION.render(self.remedy_text)

    def describe(self, voice: Voice = ACTION) -> str:
        """The message and its remedy, as one text, in ``voice``."""
        return voice.describe(self)


class ConfigError(ActionError):
    """The workflow's configuration is wrong; retrying will not help."""

    default_title = "Last9: configuration error"


class InputError(ConfigError):
    """One input is missing (``kind="missing"``) or invalid; names the input."""

    def __init__(
        self,
        name: str,
        message: Text,
        *,
        remedy: Text = "",
        kind: Literal["invalid", "missing"] = "invalid",
    ) -> None:
        self.input_name = name
        self.kind = kind
        super().__init__(message, remedy=remedy, title=f"Last9: invalid {name}")


class MissingTokenError(ConfigError):
    """Neither token input has a value: usually a fork's pull request or a Dependabot run."""

    default_title = "Last9: no token"


class AuthError(ConfigError):
    """A token was refused by Last9, or cannot do what is asked."""

    default_title = "Last9: token rejected"


class OutageError(ActionError):
    """Last9 could not be reached, or kept failing until the retries or the timeout ran out."""

    default_title = "Last9: API unavailable"


class CancelledError(OutageError):
    """The runner cancelled the step while it was working."""

    default_title = "Last9: cancelled"


class InternalError(OutageError):
    """An exception the action did not expect: a bug, reported without failing a deploy."""

    default_title = "Last9: internal error"


def fails_step(error: ActionError, fail_on: FailOn) -> bool:
    """Whether ``error`` fails the step under the failure policy ``fail_on``."""
    if fail_on == "any":
        return True
    if fail_on == "never":
        return False
    return not isinstance(error, OutageError)


class UsageError(Exception):
    """The command line's arguments are wrong; the message never holds a token."""
