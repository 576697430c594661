"""The leak watch, and the reliability figures the suite prints at its end.

Every token a ``FakeLast9`` mints (the tests' refresh and access tokens, and every access token
its exchange issues) is tracked, and everything the action writes is captured: stdout and stderr
of every ``Job.run`` step and the raw ``$GITHUB_OUTPUT``, ``$GITHUB_STATE``, ``$GITHUB_ENV`` and
``$GITHUB_STEP_SUMMARY`` files, plus the in-process runs that tests hand to ``capture``.

The property checked (issue #10): no run writes any substring of 16 or more characters of a
tracked token's payload or signature (the header of every HS256 token is the same, so it is not
a secret), except in the three places a token belongs:

- an ``::add-mask::<token>`` line on stdout (the runner hides the value from then on);
- the ``access-token`` output (masked in logs; a later step's ``access-token`` input);
- the ``access_token`` entry of ``$GITHUB_STATE`` (read by the post step, never printed).

Every substring of 16 or more characters holds a substring of exactly 16, so the watch keeps the
set of all 16-character windows of every tracked payload and signature, and looks up each
16-character window of the captured text: time linear in the text, whatever the number of tokens.

``conftest.py`` checks each test's captures when the test tears down (a leak fails that test,
with the run, the place, and where in it), and adds up the figures each test reports.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests import runner
from tests.fake_last9 import FakeLast9
from tests.runner import StepResult

#: The shortest fragment of a token that counts as a leak.
WINDOW = 16
#: Where a token may appear: the masking command, and one entry in each of two files.
ALLOWED_ENTRIES: Mapping[str, str] = {"OUTPUT": "access-token", "STATE": "access_token"}
_MASK_LINE = re.compile(r"^::add-mask::[^\r\n]*$", re.MULTILINE)
#: Runs of base64url characters, the only ones a JWT part is made of, long enough to hold a window.
_TOKEN_CHARS = re.compile(rf"[A-Za-z0-9_-]{{{WINDOW},}}")


@dataclass(frozen=True)
class Leak:
    """Fragments of tracked tokens found where they do not belong: the first one, and how many
    16-character windows matched in that place."""

    run: str
    place: str
    line: int
    column: int
    fragment_start: str
    windows: int

    def __str__(self) -> str:
        return (
            f"{self.run}: token fragment {self.fragment_start}... in {self.place} at line "
            f"{self.line}, column {self.column} ({self.windows} windows of {WINDOW} characters)"
        )


@dataclass(frozen=True)
class Tally:
    """The figures of one test (or of what ran between tests), in plain JSON-like values so that
    pytest-xdist can ship them from a worker to the controller in the test's report."""

    runs: int = 0
    bytes_scanned: int = 0
    tokens: int = 0
    figures: Mapping[str, int] = field(default_factory=dict)
    kinds: Mapping[str, list[str]] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The tally as a dict of ints, strings and lists."""
        return {
            "runs": self.runs,
            "bytes_scanned": self.bytes_scanned,
            "tokens": self.tokens,
            "figures": dict(self.figures),
            "kinds": {name: sorted(kinds) for name, kinds in self.kinds.items()},
            "leaks": list(self.leaks),
        }


@dataclass
class Totals:
    """The figures of a whole session: the sum of every test's ``Tally``."""

    runs: int = 0
    bytes_scanned: int = 0
    tokens: int = 0
    figures: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    leaks: list[str] = field(default_factory=list)

    def add(self, tally: Mapping[str, Any]) -> None:
        """Add one ``Tally.as_json()``."""
        self.runs += int(tally["runs"])
        self.bytes_scanned += int(tally["bytes_scanned"])
        self.tokens += int(tally["tokens"])
        self.figures.update(tally["figures"])
        for name, kinds in tally["kinds"].items():
            self.kinds.setdefault(name, set()).update(kinds)
        self.leaks.extend(tally["leaks"])

    def summary_lines(self) -> list[str]:
        """The figures the suite measured, for the end of the terminal report."""
        lines = []
        faults = self.kinds.get("fault run", set())
        if faults:
            lines.append(
                f"fault matrix: {len(faults)} fault kinds survived under every fail-on policy "
                f"({self.figures['fault run']} runs as specified)"
            )
        if self.figures["hostile input"]:
            lines.append(
                f"hostile inputs: {self.figures['hostile input']} tried, every one ended in "
                "sent/dry-run or an error naming the input"
            )
        lines.append(
            f"leak watch: {self.runs} runs captured, {self.bytes_scanned / 1e6:.2f} MB scanned, "
            f"{self.tokens} tokens tracked, {len(self.leaks)} leaks found"
        )
        lines.extend(f"LEAK {leak}" for leak in self.leaks[:20])
        if self.leaks:
            lines.append(
                "the leak watch fails this run: a token was written where it does not belong"
            )
        return lines


@dataclass
class Watch:
    """Tokens tracked, texts captured (until checked), and the figures the tests tally."""

    windows: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    captures: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _reported_tokens: int = 0

    def track(self, token: str) -> None:
        """Watch for any 16-character fragment of ``token``'s payload and signature from now on
        (of the whole text if it is not a ``header.payload.signature`` JWT)."""
        parts = token.split(".")
        secret = parts[1:] if len(parts) == 3 else [token]
        new = {
            part[start : start + WINDOW]
            for part in secret
            for start in range(len(part) - WINDOW + 1)
        }
        with self.lock:
            if token not in self.tokens:
                self.tokens.add(token)
                self.windows |= new

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
        """The size of everything captured (and not yet checked), in UTF-8 bytes."""
        return sum(
            len(text.encode("utf-8", "surrogatepass"))
            for _, texts in self.captures
            for text in texts.values()
        )

    def find_leaks(self) -> list[Leak]:
        """Every place where a fragment of a tracked token was written outside where it belongs
        (one ``Leak`` per run and place)."""
        found: list[Leak] = []
        for run, texts in self.captures:
            for place, text in texts.items():
                leak = self._leak_in(run, place, _without_allowed(place, text))
                if leak is not None:
                    found.append(leak)
        return found

    def _leak_in(self, run: str, place: str, text: str) -> Leak | None:
        matches = self._windows_in(text)
        first = next(matches, None)
        if first is None:
            return None
        line = text.count("\n", 0, first) + 1
        column = first - (text.rfind("\n", 0, first) + 1) + 1
        return Leak(run, place, line, column, text[first : first + 8], 1 + sum(1 for _ in matches))

    def _windows_in(self, text: str) -> Iterator[int]:
        """The offsets in ``text`` of every tracked window: one set lookup per offset."""
        windows = self.windows
        if not windows:
            return
        for chars in _TOKEN_CHARS.finditer(text):
            run, base = chars.group(), chars.start()
            for start in range(len(run) - WINDOW + 1):
                if run[start : start + WINDOW] in windows:
                    yield base + start

    def checkpoint(self) -> tuple[Tally, list[Leak]]:
        """Check everything captured since the last checkpoint, then forget it: the figures
        tallied since then, the tokens tracked since then, and the leaks found."""
        with self.lock:
            found = self.find_leaks()
            tally = Tally(
                runs=len(self.captures),
                bytes_scanned=self.bytes_scanned,
                tokens=len(self.tokens) - self._reported_tokens,
                figures=dict(self.figures),
                kinds={name: sorted(kinds) for name, kinds in self.kinds.items()},
                leaks=[str(leak) for leak in found],
            )
            self._reported_tokens = len(self.tokens)
            self.captures.clear()
            self.figures.clear()
            self.kinds.clear()
        return tally, found


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def _without_allowed(place: str, text: str) -> str:
    """``text`` with the entries where a token belongs blanked out (same length, so that a
    leak's line and column are those of the raw text)."""
    if place == "stdout":
        return _MASK_LINE.sub(_blank, text)
    name = ALLOWED_ENTRIES.get(place)
    if name is None:
        return text
    # The toolkit writes ``name<<delimiter``, the value, and the delimiter, each on a line; the
    # runner also reads the one-line form ``name=value``.
    entry = re.compile(
        rf"^{re.escape(name)}<<(\S+)\n.*?\n\1$|^{re.escape(name)}=[^\n]*$",
        re.MULTILINE | re.DOTALL,
    )
    return entry.sub(_blank, text)


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
