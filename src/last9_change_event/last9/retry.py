"""When to try again: a schedule that owns the attempt count, the backoff and the deadline.

In the shape of stamina's ``retry_context``::

    schedule = Schedule(policy, deadline)
    for attempt in schedule:          # 1, 2, ... while attempts and time remain
        outcome = try_once()
        if done(outcome):
            return outcome
        schedule.ask(retry_after)     # a server's Retry-After, if it gave one
    # schedule.ended says why there is no next attempt

The deadline is wall-clock for the whole conversation: no attempt starts after it, no wait
would end after it. ``set_testing(True)`` (stamina's switch) makes the client's retries
instant, for tests: one switch instead of a policy threaded through every call. The edge sets
it from ``LAST9_INSTANT_RETRIES``, so that it reaches subprocesses too.

Many jobs at once. A matrix of jobs that meets a shared rate limit gets the same ``Retry-After``
in every ``429``; retrying exactly that much later, they would all come back in the same
instant and collide again. So a server's wait is a floor, never shortened: on top of it comes a
random delay, up to the asked wait itself (at least ``base``) for the first retry and doubling
with each retry, at most ``cap``, which spreads the jobs over the seconds after it. And a job the
server told when to come back keeps its place while it has time: after an answer with
``Retry-After``, attempts are bounded by the deadline (``told_attempts`` is only a backstop),
not by the small ``attempts`` count that bounds blind retries.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import NamedTuple


class RetryPolicy(NamedTuple):
    """Up to ``attempts`` tries; the n-th wait is up to ``base * 2**n`` seconds, at most ``cap``.
    After an answer that said when to come back, up to ``told_attempts``, within the deadline."""

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0
    told_attempts: int = 100

    @classmethod
    def instant(cls) -> RetryPolicy:
        """The same attempts, with no wait between them (tests)."""
        return cls(base=0.0, cap=0.0, told_attempts=5)

    def after(self, asked: float, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` when the server asked for ``asked``:
        never less, plus a random spread that doubles with each retry, at most ``cap``."""
        spread = min(self.cap, max(asked, self.base) * 2 ** (retry - 1))
        return asked + (rng or random).uniform(0, spread)

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry): full jitter in
        the upper half of the window, so that waits still grow."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)


class _Switch:
    """Whether retries are instant; flipped by ``set_testing`` only."""

    instant = False


def set_testing(testing: bool) -> None:
    """Make every retry the client schedules instant (``True``, tests) or real (``False``)."""
    _Switch.instant = testing


def current_policy() -> RetryPolicy:
    """The policy the client uses now: instant while testing, else the real backoff."""
    return RetryPolicy.instant() if _Switch.instant else RetryPolicy()


class Deadline:
    """A point in monotonic time, and a flag that abandons the wait for it (a cancel)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds
        self.abandoned = threading.Event()

    def remaining(self) -> float:
        """Seconds left; zero or less once passed."""
        return self._at - self._clock()

    @property
    def passed(self) -> bool:
        """Whether the deadline has passed, or the wait for it was abandoned."""
        return self.abandoned.is_set() or self.remaining() <= 0

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when abandoned."""
        self.abandoned.wait(seconds)


class Schedule:
    """Yields attempt numbers while attempts and time remain, waiting between them."""

    def __init__(
        self, policy: RetryPolicy, deadline: Deadline, rng: random.Random | None = None
    ) -> None:
        self.policy = policy
        self.deadline = deadline
        self.attempt = 0
        #: Why the schedule ended: ``"attempts"``, ``"deadline"`` or ``None`` while it runs.
        self.ended: str | None = None
        #: The wait that would have passed the deadline, when that ended it.
        self.refused_wait: float | None = None
        self._asked: float | None = None
        self._rng = rng

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        if self.attempt:
            self._wait()
        if self.deadline.passed:
            self.ended = "deadline"
            raise StopIteration
        self.attempt += 1
        return self.attempt

    def ask(self, seconds: float | None) -> None:
        """The server asked for this wait before the next attempt (``Retry-After``)."""
        self._asked = seconds

    def _wait(self) -> None:
        asked, self._asked = self._asked, None
        limit = self.policy.attempts if asked is None else self.policy.told_attempts
        if self.attempt >= limit:
            self.ended = "attempts"
            raise StopIteration
        if self.policy.cap == 0:
            return
        remaining = self.deadline.remaining()
        if asked is None:
            wait = self.policy.backoff(self.attempt, self._rng)
        elif asked < remaining:
            # The spread never pushes a retry the server allows past the deadline.
            wait = self.policy.after(asked, self.attempt, self._rng)
            if wait >= remaining:
                wait = (self._rng or random).uniform(asked, remaining)
        else:
            wait = asked
        if wait > 0 and wait >= remaining:
            self.ended = "deadline"
            self.refused_wait = wait
            raise StopIteration
        if wait > 0:
            self.deadline.sleep(wait)


def retry_after(header: str | None, now: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if not header:
        return None
    header = header.strip()
    if header.isascii() and header.isdigit():
        return min(float(header), 86400.0)
    from email.utils import parsedate_to_datetime  # noqa: PLC0415 - only an HTTP-date needs it

    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
