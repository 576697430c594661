"""Signals reach the wrapped command exactly once, whatever sent them: a terminal's Ctrl-C (in a
real pseudo-terminal), ``kill`` on wrap, a CI agent signalling wrap's process group, a wrap in
the background; a second Ctrl-C still works, and Ctrl-Z stops and resumes the job.

The command records every SIGINT and SIGTERM it gets and who sent it, in order, and ends on
SIGTERM. Each test ends by sending SIGTERM to wrap alone: a duplicate SIGINT would be forwarded,
or delivered, before it (wrap's handlers run in signal number order, and the lowest pending
signal is taken first), so the record is complete without waiting for anything that might not
come. The sender matters because the kernel keeps one pending instance of a signal: two copies
sent close together may arrive as one, but a copy that reached the command from outside, beside
wrap's forwarded one, shows as a sender other than wrap or the terminal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import wait_for, wait_until

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

#: The command: takes SIGINT and SIGTERM one by one with ``sigwaitinfo`` (a Python handler
#: would run once for two signals that came close together), records each with its sender
#: (``terminal``: the kernel, for a key typed; ``wrap``: its parent; else ``other``), and ends
#: on SIGTERM.
RECORDER = """
import os, signal, sys
from pathlib import Path
folder = Path(sys.argv[1])
wanted = {signal.SIGINT, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
try:
    place = "foreground" if os.tcgetpgrp(0) == os.getpgrp() else "background"
except OSError:
    place = "no-terminal"
(folder / "ready.tmp").write_text(place)
os.rename(folder / "ready.tmp", folder / "ready")
while True:
    info = signal.sigwaitinfo(wanted)
    got = info.si_signo
    sender = {0: "terminal", os.getppid(): "wrap"}.get(info.si_pid, "other")
    with (folder / "signals").open("a") as log:
        log.write(signal.Signals(got).name + "-from-" + sender + "\\n")
    if got == signal.SIGTERM:
        raise SystemExit(0)
"""

#: Run in a new session on the pseudo-terminal: makes it the controlling terminal, then becomes
#: wrap (the terminal's foreground job) or starts wrap as a background job and waits for it.
LAUNCHER = """
import fcntl, os, subprocess, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
place, pid_file, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
def record(pid):
    open(pid_file + ".tmp", "w").write(str(pid))
    os.rename(pid_file + ".tmp", pid_file)
if place == "foreground":
    record(os.getpid())
    os.execv(argv[0], argv)
job = subprocess.Popen(argv, process_group=0)
record(job.pid)
sys.exit(job.wait())
"""


@dataclass
class Wrapped:
    """A wrap process around the recorder, and what the recorder wrote."""

    process: subprocess.Popen[bytes]
    folder: Path
    terminal: int | None = None

    @property
    def pid(self) -> int:
        """wrap's own process id."""
        pid_file = self.folder / "wrap.pid"
        if self.terminal is None:
            return self.process.pid
        wait_for(pid_file)
        return int(pid_file.read_text())

    def signals(self) -> list[str]:
        """The signals the command got, in order."""
        log = self.folder / "signals"
        return log.read_text().split() if log.exists() else []

    def wait_for_signals(self, count: int) -> None:
        """Until the command has recorded ``count`` signals."""
        wait_until(lambda: len(self.signals()) >= count, f"signal {count} reaching the command")

    def place(self) -> str:
        """Where the command stood on the terminal when it started."""
        return (self.folder / "ready").read_text()

    def type(self, keys: bytes) -> None:
        """Keys typed at the terminal."""
        assert self.terminal is not None
        os.write(self.terminal, keys)

    def end(self) -> dict[str, Any]:
        """SIGTERM to wrap alone; wrap's report of how the command ended."""
        os.kill(self.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        report: dict[str, Any] = json.loads((self.folder / "report.json").read_text())
        return report


def _argv(folder: Path) -> list[str]:
    recorder = folder / "recorder.py"
    recorder.write_text(RECORDER, encoding="utf-8")
    report = folder / "report.json"
    return [PY, "-m", "tests.wrap_harness", str(report), "plain", "--", PY, str(recorder),
            str(folder)]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


@contextlib.contextmanager
def in_terminal(folder: Path, place: str = "foreground") -> Iterator[Wrapped]:
    """wrap in a pseudo-terminal of its own, as the foreground or a background job."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [PY, "-c", LAUNCHER, place, str(folder / "wrap.pid"), *_argv(folder)],
        env=_env(), stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    drain = threading.Thread(target=_drain, args=(master,), daemon=True)
    drain.start()
    try:
        wrapped = Wrapped(process, folder, terminal=master)
        wait_for(folder / "ready")
        yield wrapped
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        drain.join(timeout=5)
        os.close(master)


def _drain(master: int) -> None:
    """Read what the terminal shows, so that no write to it ever waits."""
    with contextlib.suppress(OSError):
        while os.read(master, 65536):
            pass


@contextlib.contextmanager
def without_terminal(folder: Path) -> Iterator[Wrapped]:
    """wrap in a session and process group of its own, on pipes: a CI job's step."""
    process = subprocess.Popen(
        _argv(folder), env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(folder / "ready")
        yield Wrapped(process, folder)
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_ctrl_c_at_the_terminal_reaches_the_command_once(tmp_path: Path) -> None:
    """Ctrl-C, twice: the command gets each once; it has the terminal while it runs."""
    with in_terminal(tmp_path) as wrapped:
        assert wrapped.place() == "foreground"
        wrapped.type(b"\x03")
        wrapped.wait_for_signals(1)
        wrapped.type(b"\x03")
        wrapped.wait_for_signals(2)
        report = wrapped.end()
        assert wrapped.signals() == [
            "SIGINT-from-terminal",
            "SIGINT-from-terminal",
            "SIGTERM-from-wrap",
        ]
    assert report["outcome"] == "cancelled"


def test_kill_on_wrap_in_a_terminal_reaches_the_command_once(tmp_path: Path) -> None:
    """`kill -INT <wrap>` while wrap holds the terminal: forwarded, once."""
    with in_terminal(tmp_path) as wrapped:
        os.kill(wrapped.pid, signal.SIGINT)
        wrapped.wait_for_signals(1)
        report = wrapped.end()
        assert wrapped.signals() == ["SIGINT-from-wrap", "SIGTERM-from-wrap"]
    assert report["outcome"] == "cancelled"


def test_a_signal_to_wraps_group_in_a_terminal_reaches_the_command_once(tmp_path: Path) -> None:
    """`kill -INT -<wrap's group>` in a terminal: once."""
    with in_terminal(tmp_path) as wrapped:
        os.killpg(os.getpgid(wrapped.pid), signal.SIGINT)
        wrapped.wait_for_signals(1)
        wrapped.end()
        assert wrapped.signals() == ["SIGINT-from-wrap", "SIGTERM-from-wrap"]


def test_a_wrap_in_the_background_forwards_and_leaves_the_terminal(tmp_path: Path) -> None:
    """A background wrap never takes the terminal, and a kill on it is forwarded once."""
    with in_terminal(tmp_path, "background") as wrapped:
        assert wrapped.place() == "background"
        os.kill(wrapped.pid, signal.SIGINT)
        wrapped.wait_for_signals(1)
        wrapped.end()
        assert wrapped.signals() == ["SIGINT-from-wrap", "SIGTERM-from-wrap"]


@pytest.mark.parametrize("target", ["wrap", "wraps-group"])
def test_without_a_terminal_each_signal_arrives_once(tmp_path: Path, target: str) -> None:
    """A CI agent signalling wrap, or wrap's whole process group: the command gets it once."""
    with without_terminal(tmp_path) as wrapped:
        assert wrapped.place() == "no-terminal"
        if target == "wrap":
            os.kill(wrapped.pid, signal.SIGINT)
        else:
            os.killpg(wrapped.pid, signal.SIGINT)
        wrapped.wait_for_signals(1)
        report = wrapped.end()
        assert wrapped.signals() == ["SIGINT-from-wrap", "SIGTERM-from-wrap"]
    assert report["outcome"] == "cancelled"


def _state(pid: int) -> str:
    """A process's state letter (``T``: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_ctrl_z_stops_the_job_and_it_resumes(tmp_path: Path) -> None:
    """Ctrl-Z stops the command and wrap with it; continued, the command has the terminal back
    and the next Ctrl-C reaches it."""
    with in_terminal(tmp_path) as wrapped:
        wrap_pid = wrapped.pid
        wrapped.type(b"\x1a")
        wait_until(lambda: _state(wrap_pid) == "T", "wrap stopping with its command")
        master = wrapped.terminal
        assert master is not None
        assert os.tcgetpgrp(master) == os.getpgid(wrap_pid)
        os.kill(wrap_pid, signal.SIGCONT)  # what a shell's `fg` sends
        wait_until(
            lambda: os.tcgetpgrp(master) != os.getpgid(wrap_pid), "the command getting the terminal"
        )
        wrapped.type(b"\x03")
        wrapped.wait_for_signals(1)
        wrapped.end()
        assert wrapped.signals() == ["SIGINT-from-terminal", "SIGTERM-from-wrap"]
