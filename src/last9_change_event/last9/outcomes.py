"""What one HTTP attempt came to: answered, certainly not sent, or maybe sent. Plain values,
so that code which only looks at outcomes never loads requests."""

from __future__ import annotations

from typing import Any, NamedTuple


class Answer(NamedTuple):
    """The server's answer: status, parsed JSON body (``None`` when not JSON), and headers."""

    status: int
    body: Any
    text: str
    retry_after: str | None = None
    location: str | None = None


class NotSent(NamedTuple):
    """The request certainly never reached the server."""

    reason: str


class MaybeSent(NamedTuple):
    """The request may have reached the server, which did not answer in full."""

    reason: str


Outcome = Answer | NotSent | MaybeSent
