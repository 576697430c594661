"""Keep tokens, and every piece of one, out of what the step writes.

The runner's ``::add-mask::`` hides a whole secret only; a message cut for display, or an
answer that echoes part of a token, would slip past it. ``Redactor`` replaces every run of
``FRAGMENT_CHARS`` or more characters of a known secret with ``***``, and strips the control
and bidirectional characters that could hide or reorder what a log shows.
"""

from __future__ import annotations

import re
import threading

#: A run this long of a secret's characters is redacted wherever it appears.
FRAGMENT_CHARS = 16
#: Shorter secrets are masked by the runner only: replacing every ``0`` or ``true`` locally
#: would corrupt the outputs, and no Last9 token is this short.
MIN_REDACTED_CHARS = 8
#: A JWT (every Last9 token is one): three base64url parts, the first a JSON object (``eyJ`` is
#: ``{"`` encoded). The one pattern for "looks like a token", wherever a value is not shown.
LOOKS_LIKE_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
#: The characters a token may hold (base64url, dots, and what a header may carry): a value with
#: any other is no token and cannot go in a header.
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class Redactor:
    """Secrets to redact from any text, whole or in pieces; safe to share between threads."""

    def __init__(self) -> None:
        self._secrets: list[str] = []
        self._windows: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> bool:
        """Redact ``secret`` from now on; ``False`` when it was known already or is too short."""
        with self._lock:
            if len(secret) < MIN_REDACTED_CHARS or secret in self._secrets:
                return False
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)
            size = min(FRAGMENT_CHARS, len(secret))
            self._windows.update(secret[i : i + size] for i in range(len(secret) - size + 1))
            return True

    def redact(self, text: str) -> str:
        """``text`` with every secret, and every long enough piece of one, as ``***``."""
        with self._lock:
            secrets, windows = list(self._secrets), list(self._windows)
        for secret in secrets:
            text = text.replace(secret, "***")
        spans: list[tuple[int, int]] = []
        for window in windows:
            start = text.find(window)
            while start != -1:
                spans.append((start, start + len(window)))
                start = text.find(window, start + 1)
        if not spans:
            return text
        spans.sort()
        pieces, position = [], 0
        merged_start, merged_end = spans[0]
        for start, end in spans[1:]:
            if start <= merged_end:
                merged_end = max(merged_end, end)
                continue
            pieces += [text[position:merged_start], "***"]
            position, merged_start, merged_end = merged_end, start, end
        pieces += [text[position:merged_start], "***", text[merged_end:]]
        return "".join(pieces)


def printable(text: str) -> str:
    """``text`` without control (other than tab and line breaks) and bidirectional characters."""
    return _UNSAFE.sub("", text)
