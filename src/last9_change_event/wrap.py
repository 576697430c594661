"""Run a command between two callbacks: ``before`` it starts, ``after`` it ends, whatever happens.

Independent of Last9: the command line passes a ``before`` that sends ``start`` and an ``after``
that sends ``stop`` with the outcome. The command's standard input, output and error are the
caller's own (inherited, never read or buffered here), and its exit code is returned as a shell
reports it: ``128 + N`` when signal ``N`` ended it, ``127`` when it was not found, ``126`` when it
could not be executed.

Signals. While the command runs, SIGINT and SIGTERM sent to this process are forwarded to it
(the previous handlers come back afterwards), so a cancelled CI job stops the deploy and still
gets its ``stop``. One exception: a SIGINT while this process is the foreground process group of
its terminal came from Ctrl-C, which the terminal already delivered to the command (it is in
the same group); forwarding it would interrupt it twice. Handlers can only be installed from the
main thread; from any other thread the command runs without forwarding.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from last9_change_event import streams

#: Signals forwarded to the command; receiving one makes the outcome ``cancelled``.
FORWARDED = (signal.SIGINT, signal.SIGTERM)

NOT_FOUND = 127
NOT_EXECUTABLE = 126

_Handler = Callable[[int, FrameType | None], object] | int | None


@dataclass(frozen=True)
class Finished:
    """How the command ended."""

    #: The exit code as a shell reports it (``128 + N`` for signal ``N``).
    exit_code: int
    #: ``success`` (0), ``failure`` (non-zero) or ``cancelled`` (SIGINT/SIGTERM reached it).
    outcome: str
    duration_seconds: float
    #: The signal that ended the command, if one did.
    signal: int | None


def run_wrapped(
    command: Sequence[str],
    *,
    before: Callable[[], None],
    after: Callable[[Finished], None],
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call ``before``, run ``command``, call ``after`` with how it ended; its exit code.

    An exception from ``before`` or ``after`` never stops the command nor changes the exit code;
    reporting it is the callbacks' business. ``command`` must not be empty.
    """
    if not command:
        raise ValueError("no command to run")
    _contained(before)
    with _Forwarding() as forwarding:
        started = clock()
        try:
            if os.sep not in command[0] and shutil.which(command[0]) is None:
                # As a shell decides it: no executable of that name on PATH is "not found",
                # even when a folder on PATH cannot be searched (Python would say EACCES).
                raise FileNotFoundError(command[0])
            process = subprocess.Popen(list(command))  # noqa: S603 - running it is the point
        except OSError as error:
            exit_code, reason = _start_failure(error)
            streams.write(streams.stderr(), f"{command[0]}: {reason}\n")
            finished = Finished(exit_code, "failure", clock() - started, None)
        else:
            forwarding.attach(process)
            returncode = process.wait()
            duration = clock() - started
            received = forwarding.received
            finished = _finished(returncode, duration, cancelled=bool(received))
    _contained(lambda: after(finished))
    return finished.exit_code


def _finished(returncode: int, duration: float, *, cancelled: bool) -> Finished:
    died_of = -returncode if returncode < 0 else None
    exit_code = 128 + died_of if died_of is not None else returncode
    if cancelled or died_of in FORWARDED:
        outcome = "cancelled"
    elif exit_code == 0:
        outcome = "success"
    else:
        outcome = "failure"
    return Finished(exit_code, outcome, duration, died_of)


def _start_failure(error: OSError) -> tuple[int, str]:
    """A shell's exit code and message for a command that could not be started."""
    if isinstance(error, FileNotFoundError):
        return NOT_FOUND, "command not found"
    if isinstance(error, PermissionError):
        return NOT_EXECUTABLE, "permission denied"
    return NOT_EXECUTABLE, error.strerror or str(error)


def _contained(callback: Callable[[], object]) -> None:
    """Run ``callback``; an ``Exception`` from it is swallowed (the callbacks report their own)."""
    with contextlib.suppress(Exception):
        callback()


class _Forwarding:
    """SIGINT/SIGTERM handlers that pass the signal on to the child, installed for a ``with``."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, _Handler] = {}

    def __enter__(self) -> _Forwarding:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        """Forward to ``process`` from now on, and any signal that came while it was starting."""
        self._process = process
        for signum in self.received:
            self._forward(signum)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._process is not None:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        if signum == signal.SIGINT and _terminal_delivered_it():
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)


def _terminal_delivered_it() -> bool:
    """This process is its terminal's foreground group, to which Ctrl-C goes as a whole."""
    for stream in (0, 1, 2):  # stdin, stdout, stderr: whichever is the terminal
        with contextlib.suppress(OSError):
            if os.isatty(stream):
                return os.tcgetpgrp(stream) == os.getpgrp()
    return False
