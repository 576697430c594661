"""The errors a user can cause or meet, each carrying a title and a remedy.

Every error the action reports on purpose is an ``ActionError``; ``main`` catches them once,
prints one ``::error title=...::`` (or a warning, by the failure policy) and exits. Anything else
is a bug and keeps its traceback.

    ActionError
    ├── ConfigError      the workflow is wrong: an input, a token, the API's answer to our request
    │   ├── InputError   one input is invalid; names the input
    │   └── AuthError    Last9 refused a token, or a token cannot do the job (scope, expiry)
    └── OutageError      Last9 could not be reached or kept failing: network, timeouts, 5xx, 429

The failure policy (``fail-on``) fails the step on every error with ``any``, on everything but an
``OutageError`` with ``config``, and on nothing with ``never``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

FailOn = Literal["any", "config", "never"]


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


class AuthError(ConfigError):
    """A token was refused by Last9, or cannot do what is asked."""

    default_title = "Last9: token rejected"


class OutageError(ActionError):
    """Last9 could not be reached, or kept failing until the retries or the timeout ran out."""

    default_title = "Last9: API unavailable"


def fails_step(error: ActionError, fail_on: FailOn) -> bool:
    """Whether ``error`` fails the step under the failure policy ``fail_on``."""
    if fail_on == "any":
        return True
    if fail_on == "never":
        return False
    return not isinstance(error, OutageError)
