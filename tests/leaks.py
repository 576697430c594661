"""The leak watch, and the reliability figures the suite prints at its end.

Every token a ``FakeLast9`` mints (the tests' refresh and access tokens, and every access token
its exchange issues) is tracked, and everything the action writes is captured: stdout and stderr
of every ``Job.run`` step and the raw ``$GITHUB_OUTPUT``, ``$GITHUB_STATE``, ``$GITHUB_ENV`` and
``$GITHUB_STEP_SUMMARY`` files, plus the in-process runs that tests hand to ``capture``. At the end
of the session ``find_leaks`` looks for each token's signature (the part that makes it a secret)
anywhere in there, except in the three places a token belongs:

- an ``::add-mask::<token>`` line on stdout (the runner hides the value from then on);
- the ``access-token`` output (masked in logs; a later step's ``access-token`` input);
- the ``access_token`` entry of ``$GITHUB_STATE`` (read by the post step, never printed).

A leak fails the session (``conftest.py`` sets the exit status), with the place it was found.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests import runner
from tests.fake_last9 import FakeLast9
from tests.runner import StepResult

#: Where a token may appear: the masking command, and one entry in each of two files.
ALLOWED_ENTRIES: Mapping[str, str] = {"OUTPUT": "access-token", "STATE": "access_token"}
_MASK_LINE = re.compile(r"^::add-mask::[^\r\n]*$", re.MULTILINE)
_SIGNATURE_CHARS = re.compile(r"[A-Za-z0-9_-]{16,}")


@dataclass(frozen=True)
class Leak:
    """A tracked token found where it does not belong."""

    run: str
    place: str
    signature_start: str

    def __str__(self) -> str:
        return f"{self.run}: token {self.signature_start}... in {self.place}"


@dataclass
class Watch:
    """Tokens tracked, texts captured, and the figures the tests tally."""

    signatures: set[str] = field(default_factory=set)
    captures: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def track(self, token: str) -> None:
        """Watch for ``token`` (its signature) from now on."""
        signature = token.rpartition(".")[2]
        if len(signature) >= 16:
            with self.lock:
                self.signatures.add(signature)

    def capture(self, run: str, texts: Mapping[str, str]) -> None:
        """Keep what one run wrote: place name (``stdout``, ``OUTPUT``...) to raw text."""
        with self.lock:
            self.captures.append((run, dict(texts)))

    def tally(self, figure: str, kind: str | None = None, count: int = 1) -> None:
        """Count ``count`` more ``figure`` (e.g. fault runs that passed), of ``kind`` if given."""
        with self.lock:
            self.figures[figure] += count
            if kind is not None:
                self.kinds.setdefault(figure, set()).add(kind)

    @property
    def bytes_scanned(self) -> int:
        """The size of everything captured, in UTF-8 bytes."""
        return sum(
            len(text.encode("utf-8", "surrogatepass"))
            for _, texts in self.captures
            for text in texts.values()
        )

    def find_leaks(self) -> list[Leak]:
        """Every tracked token found outside the places it belongs."""
        found: list[Leak] = []
        for run, texts in self.captures:
            for place, text in texts.items():
                scanned = _without_allowed(place, text)
                found.extend(
                    Leak(run, place, signature[:8]) for signature in self._signatures_in(scanned)
                )
        return found

    def _signatures_in(self, text: str) -> Iterable[str]:
        if not self.signatures:
            return
        lengths = sorted({len(signature) for signature in self.signatures})
        for run in _SIGNATURE_CHARS.finditer(text):
            chars = run.group()
            for length in lengths:
                for start in range(len(chars) - length + 1):
                    if chars[start : start + length] in self.signatures:
                        yield chars[start : start + length]


def _without_allowed(place: str, text: str) -> str:
    """``text`` less the entries where a token belongs."""
    if place == "stdout":
        return _MASK_LINE.sub("", text)
    name = ALLOWED_ENTRIES.get(place)
    if name is None:
        return text
    # The toolkit writes ``name<<delimiter``, the value, and the delimiter, each on a line.
    entry = re.compile(rf"^{re.escape(name)}<<(\S+)\n.*?\n\1$", re.MULTILINE | re.DOTALL)
    return entry.sub("", text)


WATCH = Watch()


def install() -> None:
    """Track every token any ``FakeLast9`` mints, capture every ``Job.run`` (idempotent)."""
    if observe_step not in runner.OBSERVERS:
        runner.OBSERVERS.append(observe_step)
    mint: Callable[..., str] = FakeLast9.mint
    if getattr(mint, "tracked", False):
        return

    @functools.wraps(mint)
    def tracked_mint(self: FakeLast9, *args: Any, **kwargs: Any) -> str:
        token = mint(self, *args, **kwargs)
        WATCH.track(token)
        return token

    tracked_mint.tracked = True  # type: ignore[attr-defined]
    FakeLast9.mint = tracked_mint  # type: ignore[method-assign]


def current_test() -> str:
    """The node id of the test running now (pytest sets ``PYTEST_CURRENT_TEST``)."""
    return os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)").split(" ")[0]


def observe_step(result: StepResult, files: Mapping[str, str]) -> None:
    """A ``runner.OBSERVERS`` hook: capture what one ``Job.run`` step wrote."""
    WATCH.capture(current_test(), {"stdout": result.stdout, "stderr": result.stderr, **files})


def summary_lines(leaks: list[Leak]) -> list[str]:
    """The figures the suite measured, for the end of the terminal report."""
    lines = []
    faults = WATCH.kinds.get("fault run", set())
    if faults:
        lines.append(
            f"fault matrix: {len(faults)} fault kinds survived under every fail-on policy "
            f"({WATCH.figures['fault run']} runs as specified)"
        )
    if WATCH.figures["hostile input"]:
        lines.append(
            f"hostile inputs: {WATCH.figures['hostile input']} tried, every one ended in "
            "sent/dry-run or an error naming the input"
        )
    lines.append(
        f"leak watch: {len(WATCH.captures)} runs captured, "
        f"{WATCH.bytes_scanned / 1e6:.2f} MB scanned, {len(WATCH.signatures)} tokens tracked, "
        f"{len(leaks)} leaks found"
    )
    lines.extend(f"LEAK {leak}" for leak in leaks[:20])
    if leaks:
        lines.append("the leak watch fails this run: a token was written where it does not belong")
    return lines
