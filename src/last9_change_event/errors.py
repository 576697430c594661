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
"""

from __future__ import annotations

from typing import ClassVar, Literal

FailOn = Literal["any", "config", "never"]
TOKENS_PAGE = "Last9 → Settings → API Access"


class ActionError(Exception):
    """An error with a title for the annotation and a remedy for the user."""

    default_title: ClassVar[str] = "Last9 change event failed"

    def __init__(self, message: str, *, remedy: str = "", title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.title = title or self.default_title

    def describe(self) -> str:
        """The message and its remedy, as one text."""
        return f"{self.message} {self.remedy}".strip()


class ConfigError(ActionError):
    """The workflow's configuration is wrong; retrying will not help."""

    default_title = "Last9: configuration error"


class InputError(ConfigError):
    """One input is invalid."""

    def __init__(self, name: str, message: str, *, remedy: str = "") -> None:
        super().__init__(
            f"Input `{name}`: {message}", remedy=remedy, title=f"Last9: invalid {name}"
        )
        self.input_name = name


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
