"""Run a command between two callbacks: ``before`` it starts, ``after`` it ends, whatever happens.

Independent of Last9: the command line passes a ``before`` that sends ``start`` and an ``after``
that sends ``stop`` with the outcome. The command's standard input, output and error are the
caller's own (inherited, never read or buffered here), and its exit code is returned as a shell
reports it: ``128 + N`` when signal ``N`` ended it, ``127`` when it was not found, ``126`` when it
could not be executed.

Signals: each reaches the command exactly once, whatever sent it. The command runs in a process
group of its own, as under ``tini`` and ``dumb-init``; ``wrap`` forwards every SIGINT, SIGTERM,
SIGHUP and SIGQUIT it receives to that group, and receiving one makes the outcome
``cancelled``. Since no group signal meant for ``wrap`` reaches the command by itself, the
source does not matter: ``kill`` on wrap, a CI agent signalling wrap's process group (GitLab's
runner does), a wrap in the background. When wrap holds its terminal's foreground, it hands the
foreground to the command's group before the command runs (as a shell does for a job, and as
``tini`` does), so a terminal's Ctrl-C goes to the command alone, once, and the next one too; a
wrap in the background never takes the terminal. Ctrl-Z stops the command; wrap then takes the
terminal back and stops itself, so the shell sees the job stopped, and ``fg`` or ``bg`` resume
both. ``timeout(1)`` decides differently: it moves itself into a group of its own, so that
outside a shell prompt it no longer gets the terminal's signals at all, and with
``--foreground`` a Ctrl-C reaches the command twice. The one signal nobody can forward is
SIGKILL: a wrap killed with it leaves the command running in its group. Handlers can only be
installed from the main thread; from any other thread the command runs in wrap's own group,
without forwarding.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from last9_change_event.edge import streams

#: Signals forwarded to the command; receiving one makes the outcome ``cancelled``.
if sys.platform == "win32":
    # Windows, kept apart: no SIGHUP, SIGQUIT nor process groups to signal. Ctrl-C and
    # Ctrl-Break (SIGBREAK) go from the console to every process attached to it, the command
    # included, so they are only recorded, never sent again (see _Forwarding._forward).
    FORWARDED: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGBREAK)
else:
    FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

NOT_FOUND = 127
NOT_EXECUTABLE = 126

_Handler = Callable[[int, FrameType | None], object] | int | None


@dataclass(frozen=True)
class Finished:
    """How the command ended."""

    #: The exit code as a shell reports it (``128 + N`` for signal ``N``).
    exit_code: int
    #: ``success`` (0), ``failure`` (non-zero) or ``cancelled`` (a forwarded signal came, or
    #: one of them ended the command).
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
    with _Forwarding() as forwarding, _Terminal.of(enabled=forwarding.active) as terminal:
        started = clock()
        try:
            if os.sep not in command[0] and shutil.which(command[0]) is None:
                # As a shell decides it: no executable of that name on PATH is "not found",
                # even when a folder on PATH cannot be searched (Python would say EACCES).
                raise FileNotFoundError(command[0])
            process = subprocess.Popen(  # noqa: S603 - running it is the point
                list(command),
                process_group=0 if forwarding.active else None,
                preexec_fn=terminal.hand_over,  # noqa: PLW1509 - only with a terminal to hand
            )
        except OSError as error:
            exit_code, reason = _start_failure(error)
            streams.write(streams.stderr(), f"{command[0]}: {reason}\n")
            finished = Finished(exit_code, "failure", clock() - started, None)
        else:
            forwarding.attach(process)
            terminal.group = process.pid if terminal.held else None
            returncode = _wait(process, terminal)
            duration = clock() - started
            finished = _finished(returncode, duration, cancelled=bool(forwarding.received))
    _contained(lambda: after(finished))
    return finished.exit_code


def _wait(process: subprocess.Popen[bytes], terminal: _Terminal) -> int:
    """The command's return code, as ``Popen.wait`` gives it; a stopped command (Ctrl-Z)
    stops wrap too, while the terminal is wrap's to give."""
    if not terminal.held:
        return process.wait()
    while True:
        _, status = os.waitpid(process.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode
        terminal.suspend(process.pid)


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
    """Handlers that pass every ``FORWARDED`` signal on to the command's process group,
    installed for a ``with`` (from the main thread only: ``active``)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.active = threading.current_thread() is threading.main_thread()
        self._process: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, _Handler] = {}

    def __enter__(self) -> _Forwarding:
        if self.active:
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
        if sys.platform == "win32":  # see FORWARDED: the console delivered Ctrl-C/Ctrl-Break
            if signum == signal.SIGTERM:
                with contextlib.suppress(OSError):
                    process.terminate()
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # Its group: the command and whatever it started, as a terminal's Ctrl-C reaches
            # a foreground job. The group outlives the command only with its children in it.
            os.killpg(process.pid, signum)


class _Terminal:
    """wrap's controlling terminal, when wrap's group holds its foreground: handed to the
    command's group while it runs, taken back after."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        #: The command's group, once it has the foreground.
        self.group: int | None = None

    @classmethod
    def of(cls, *, enabled: bool) -> _Terminal:
        """The terminal, if ``enabled`` and this process's group is its foreground."""
        if not enabled or sys.platform == "win32":  # Windows: no terminal to hand over
            return cls(None)
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            return cls(None)  # no controlling terminal: a CI job, a daemon
        try:
            if os.tcgetpgrp(fd) == os.getpgrp():
                return cls(fd)
        except OSError:
            pass
        os.close(fd)  # a wrap in the background never takes the terminal
        return cls(None)

    @property
    def held(self) -> bool:
        """Whether wrap holds the terminal's foreground to give."""
        return self._fd is not None

    @property
    def hand_over(self) -> Callable[[], None] | None:
        """What the command's process runs before it starts: take the foreground for its new
        group, so that it reads the terminal and gets its Ctrl-C (``None``: no terminal)."""
        fd = self._fd
        if fd is None:
            return None
        return lambda: _set_foreground(fd, os.getpgrp())

    def suspend(self, group: int) -> None:
        """The command stopped (Ctrl-Z): take the terminal back and stop wrap, so that the shell
        sees its job stopped; once continued, give the terminal back if wrap is in the
        foreground again (``fg``), and continue the command."""
        fd = self._fd
        if fd is None:
            return
        self._take_back(fd)
        os.kill(os.getpid(), signal.SIGSTOP)
        with contextlib.suppress(OSError):
            if os.tcgetpgrp(fd) == os.getpgrp():
                _set_foreground(fd, group)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGCONT)

    def __enter__(self) -> _Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self._take_back(fd)
            os.close(fd)

    def _take_back(self, fd: int) -> None:
        """The foreground back to wrap's group, if the command's group has it (after ``bg``,
        the shell has it, and keeps it)."""
        with contextlib.suppress(OSError):
            if self.group is not None and os.tcgetpgrp(fd) == self.group:
                _set_foreground(fd, os.getpgrp())


def _set_foreground(fd: int, group: int) -> None:
    """Make ``group`` the terminal's foreground; from a background group this needs SIGTTOU
    blocked, as a shell does it."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, group)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
