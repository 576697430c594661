"""When to try again: exponential backoff with full jitter, bounded by attempts and a deadline."""

from __future__ import annotations

import random
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import NamedTuple


class RetryPolicy(NamedTuple):
    """Up to ``attempts`` tries; the n-th wait is up to ``base * 2**n`` seconds, at most ``cap``.

    ``base=0`` makes every wait instant (tests).
    """

    attempts: int = 5
    base: float = 0.5
    cap: float = 8.0

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)


def retry_after(header: str | None, now: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
