"""Talk to Last9 in a worker thread, so that the main thread keeps the deadline and the signals.

The worker may be stuck anywhere the network can hold it (DNS, a trickled header, a TLS
handshake); the main thread waits for it at most until the deadline, and stops waiting at once
when the runner cancels the step. ``Tracker`` records which events may have reached Last9, so
that a cancelled or failed start still arms a stop for exactly those.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from last9_change_event.errors import CancelledError, OutageError
from last9_change_event.last9.outcomes import Answer, MaybeSent, NotSent
from last9_change_event.last9.retry import Deadline

T = TypeVar("T")
#: How long the main thread lets the worker finish its own report after the deadline.
GRACE_SECONDS = 0.5
POLL_SECONDS = 0.05


class Tracker:
    """For each event of the step: not tried yet, in flight, may have landed, or never left."""

    def __init__(self, count: int) -> None:
        self._states = ["pending"] * count
        self._lock = threading.Lock()

    def observer(self, index: int) -> Callable[[Answer | NotSent | MaybeSent | None], None]:
        """What the client calls before each attempt (``None``) and with each outcome."""

        def observe(outcome: Answer | NotSent | MaybeSent | None) -> None:
            with self._lock:
                state = self._states[index]
                if outcome is None:
                    self._states[index] = "maybe" if state == "maybe" else "in flight"
                elif isinstance(outcome, NotSent):
                    self._states[index] = "maybe" if state == "maybe" else "not sent"
                else:
                    self._states[index] = "maybe"

        return observe

    def may_have_landed(self) -> list[int]:
        """The events that may have reached Last9 (in flight counts: nobody knows)."""
        with self._lock:
            return [i for i, s in enumerate(self._states) if s in ("maybe", "in flight")]


class _Outcome(Generic[T]):
    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


def converse(work: Callable[[], T], deadline: Deadline, cancelled: Callable[[], bool]) -> T:
    """``work()``'s result (or its exception), unless the deadline passes or a cancel comes."""
    if cancelled():
        raise _cancelled()
    outcome: _Outcome[T] = _Outcome()

    def worker() -> None:
        try:
            outcome.value = work()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread as is
            outcome.error = error
        finally:
            outcome.done.set()

    threading.Thread(target=worker, name="last9-conversation", daemon=True).start()
    give_up_at = time.monotonic() + max(deadline.remaining(), 0) + GRACE_SECONDS
    while not outcome.done.wait(POLL_SECONDS):
        if cancelled():
            deadline.abandoned.set()
            raise _cancelled()
        if time.monotonic() >= give_up_at:
            deadline.abandoned.set()
            raise OutageError(
                f"Last9 did not answer within the {deadline.seconds:g} s timeout.",
                remedy=lambda v: (
                    f"Raise {v.name('timeout')}, or check that "
                    f"{v.name('api-url')} is reachable from the runner. Last9 may or may not have "
                    "recorded the event."
                ),
            )
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]  # set whenever no error was


def _cancelled() -> CancelledError:
    return CancelledError(
        lambda v: f"The {v.step} was cancelled while talking to Last9.",
        remedy=lambda v: v.after_cancel,
    )
