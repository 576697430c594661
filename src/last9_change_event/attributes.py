"""Attributes become Prometheus-style labels in Last9: label-safe keys, short one-line values."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Ordered (key, value) pairs; a value of ``None`` removes the key when merged.
Attributes = tuple[tuple[str, str | None], ...]

MAX_VALUE_CHARS = 512
#: A commit message is sent as its first line, cut at this many characters: a label is one line,
#: and a message's body (trailers, e-mail addresses, long prose) says nothing a marker needs.
COMMIT_MESSAGE_CHARS = 100
RESERVED_KEYS = frozenset({"event_name", "event_state"})
_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")
_LEADING_UNDERSCORES = re.compile(r"^_{2,}")
_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def label_key(key: str) -> str | None:
    """``key`` made label-safe (other characters become ``_``), or ``None`` when nothing is left.

    Labels that start with ``__`` are reserved by Prometheus, so leading underscores fold into one.
    """
    safe = _UNSAFE.sub("_", key.strip())
    if not safe or safe.strip("_") == "":
        return None
    if safe[0].isdigit():
        safe = "_" + safe
    return _LEADING_UNDERSCORES.sub("_", safe)


def valid_text(text: str) -> str:
    """``text`` as valid Unicode: what was not UTF-8 (undecodable bytes in the environment, kept by
    Python as lone surrogates, or ``\\ud800`` escapes in JSON) becomes U+FFFD."""
    try:  # bytes the environment could not decode come back as one U+FFFD each
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # other lone surrogates, e.g. from a JSON escape
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def clean_value(value: str) -> str:
    """``value`` on one line, white space folded, at most ``MAX_VALUE_CHARS`` characters."""
    flat = _WHITESPACE.sub(" ", valid_text(value)).strip()
    if len(flat) > MAX_VALUE_CHARS:
        flat = flat[: MAX_VALUE_CHARS - 1] + "…"
    return flat


def first_line(text: str, limit: int = COMMIT_MESSAGE_CHARS) -> str:
    """The first line of ``text`` that is not blank, at most ``limit`` characters (the last one
    an ellipsis when it was cut); empty when there is none."""
    line = next((line for line in valid_text(text).splitlines() if line.strip()), "")
    line = _WHITESPACE.sub(" ", line).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def merge(*layers: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Later layers override earlier ones; ``None`` removes; empty values are left out."""
    merged: dict[str, str] = {}
    for layer in layers:
        for key, value in layer:
            if key in RESERVED_KEYS:
                continue
            if value is None:
                merged.pop(key, None)
            else:
                cleaned = clean_value(value)
                if cleaned:
                    merged[key] = cleaned
                else:
                    merged.pop(key, None)
    return merged
