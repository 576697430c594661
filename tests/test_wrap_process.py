"""``run_wrapped`` with real child processes: exit codes, pass-through, signals, callbacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from last9_change_event.cli.wrap import Finished, run_wrapped
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _harness(
    tmp_path: Path, command: list[str], *, mode: str = "plain"
) -> tuple[list[str], Path, dict[str, str]]:
    """The argv that runs ``command`` under tests/wrap_harness.py, its report path, its env."""
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    argv = [PY, "-m", "tests.wrap_harness", str(report), mode, "--", *command]
    return argv, report, env


def _report(report: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


class _Calls:
    """Records the callbacks' calls in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.finished: list[Finished] = []

    def before(self) -> None:
        self.log.append("before")

    def after(self, finished: Finished) -> None:
        self.log.append("after")
        self.finished.append(finished)


@pytest.mark.parametrize(
    ("code", "exit_code", "outcome", "died_of"),
    [
        ("pass", 0, "success", None),
        ("raise SystemExit(3)", 3, "failure", None),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 137, "failure", 9),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 143, "cancelled", 15),
    ],
    ids=["zero", "three", "killed", "died-of-sigterm"],
)
def test_exit_code_and_outcome(
    code: str, exit_code: int, outcome: str, died_of: int | None
) -> None:
    """The exit code is the shell's (128+N for signal N) and the outcome follows from it."""
    calls = _Calls()
    returned = run_wrapped([PY, "-c", code], before=calls.before, after=calls.after)
    assert returned == exit_code
    assert calls.log == ["before", "after"]
    (finished,) = calls.finished
    assert (finished.exit_code, finished.outcome, finished.signal) == (exit_code, outcome, died_of)


def test_before_runs_first_and_after_runs_last(tmp_path: Path) -> None:
    """The command sees what ``before`` did; ``after`` sees what the command did."""
    marker, output = tmp_path / "before", tmp_path / "output"
    seen: list[bool] = []
    code = (
        "import pathlib, sys; "
        f"ok = pathlib.Path({str(marker)!r}).exists(); "
        f"pathlib.Path({str(output)!r}).write_text('done'); "
        "sys.exit(0 if ok else 1)"
    )

    def before() -> None:
        marker.write_text("x")

    returned = run_wrapped(
        [PY, "-c", code],
        before=before,
        after=lambda _: seen.append(output.exists()),
    )
    assert returned == 0
    assert seen == [True]


def test_duration_comes_from_the_clock() -> None:
    """``duration_seconds`` is the clock's reading after the command minus the one before."""
    readings: Iterator[float] = iter([100.0, 102.5])
    calls = _Calls()
    run_wrapped(
        [PY, "-c", "pass"], before=calls.before, after=calls.after, clock=lambda: next(readings)
    )
    assert calls.finished[0].duration_seconds == 2.5


@pytest.mark.parametrize(
    ("failing", "code", "expected"),
    [
        ("before", "raise SystemExit(0)", 0),
        ("before", "raise SystemExit(5)", 5),
        ("after", "raise SystemExit(0)", 0),
        ("after", "raise SystemExit(5)", 5),
        ("both", "raise SystemExit(7)", 7),
    ],
    ids=["before-ok", "before-fail", "after-ok", "after-fail", "both"],
)
def test_raising_callbacks_change_nothing(failing: str, code: str, expected: int) -> None:
    """A callback that raises neither stops the command nor changes its exit code."""
    ran: list[str] = []

    def before() -> None:
        ran.append("before")
        if failing in {"before", "both"}:
            raise RuntimeError("cannot send start")

    def after(_: Finished) -> None:
        ran.append("after")
        if failing in {"after", "both"}:
            raise ValueError("cannot send stop")

    assert run_wrapped([PY, "-c", code], before=before, after=after) == expected
    assert ran == ["before", "after"]


def test_command_not_found(capfd: pytest.CaptureFixture[str]) -> None:
    """A command that does not exist: 127, one line on stderr, ``after`` told of the failure."""
    calls = _Calls()
    returned = run_wrapped(["no-such-command-here"], before=calls.before, after=calls.after)
    assert returned == 127
    assert calls.finished[0].outcome == "failure"
    assert calls.finished[0].signal is None
    assert capfd.readouterr().err == "no-such-command-here: command not found\n"


@pytest.mark.parametrize("kind", ["not-executable", "directory"], ids=["mode-644", "directory"])
def test_command_not_executable(
    tmp_path: Path, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """A file without the execute bit, or a directory: 126 and one line on stderr."""
    target = tmp_path / "deploy.sh"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("#!/bin/sh\nexit 0\n")
        target.chmod(0o644)
    calls = _Calls()
    assert run_wrapped([str(target)], before=calls.before, after=calls.after) == 126
    assert calls.log == ["before", "after"]
    assert calls.finished[0] == Finished(126, "failure", calls.finished[0].duration_seconds, None)
    assert capfd.readouterr().err == f"{target}: permission denied\n"


def test_empty_command_is_refused() -> None:
    """An empty command is the caller's mistake: ValueError, and no callback runs."""
    calls = _Calls()
    with pytest.raises(ValueError, match="no command"):
        run_wrapped([], before=calls.before, after=calls.after)
    assert calls.log == []


def test_previous_signal_handlers_come_back() -> None:
    """The handlers in place before the run are in place after it."""

    def mine(_signum: int, _frame: object) -> None:
        """A handler of the caller's own."""

    previous = signal.signal(signal.SIGTERM, mine)
    interrupt = signal.getsignal(signal.SIGINT)
    try:
        run_wrapped([PY, "-c", "pass"], before=lambda: None, after=lambda _: None)
        assert signal.getsignal(signal.SIGTERM) is mine
        assert signal.getsignal(signal.SIGINT) is interrupt
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_runs_from_another_thread() -> None:
    """Outside the main thread no handler is installed, and the command still runs."""
    results: list[int] = []
    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(
        target=lambda: results.append(
            run_wrapped(
                [PY, "-c", "raise SystemExit(4)"], before=lambda: None, after=lambda _: None
            )
        )
    )
    worker.start()
    worker.join(timeout=30)
    assert results == [4]
    assert signal.getsignal(signal.SIGTERM) is before


def test_output_passes_through_byte_for_byte(tmp_path: Path) -> None:
    """Binary stdout and stderr, over a megabyte each, reach the caller unchanged."""
    code = (
        "import sys; "
        "sys.stdout.buffer.write(bytes(range(256)) * 5000); "
        "sys.stderr.buffer.write(b'\\x00\\xff\\r\\n' * 300000)"
    )
    argv, report, env = _harness(tmp_path, [PY, "-c", code])
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout == bytes(range(256)) * 5000
    assert done.stderr == b"\x00\xff\r\n" * 300000
    assert _report(report)["outcome"] == "success"


def test_stdin_passes_through(tmp_path: Path) -> None:
    """What the caller feeds on stdin reaches the command unchanged."""
    data = os.urandom(2 * 1024 * 1024)
    code = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"
    argv, _, env = _harness(tmp_path, [PY, "-c", code])
    done = subprocess.run(argv, env=env, input=data, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stdout == data


@pytest.mark.parametrize(
    "mode", ["raise-before", "raise-after", "raise-both"], ids=["before", "after", "both"]
)
def test_raising_callbacks_print_nothing(tmp_path: Path, mode: str) -> None:
    """A failing callback adds nothing to the output; the exit code is the command's."""
    argv, report, env = _harness(
        tmp_path, [PY, "-c", "print('deployed'); raise SystemExit(2)"], mode=mode
    )
    done = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (2, b"deployed\n", b"")
    assert _report(report)["exit_code"] == 2


def _child_code(ready: Path, got: Path, *, handles: bool) -> str:
    """A command that says it is ready, then waits; it records a signal, or dies of it."""
    if handles:
        setup = (
            "def on(n, _): pathlib.Path(GOT).write_text(str(n)); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, on); signal.signal(signal.SIGINT, on)\n"
        )
    else:
        setup = (
            "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
            "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        )
    return (
        "import pathlib, signal, sys, time\n"
        f"GOT = {str(got)!r}\n"
        f"{setup}"
        f"pathlib.Path({str(ready)!r}).write_text('ready')\n"
        "time.sleep(30)\n"
        "sys.exit(9)\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("handles", [True, False], ids=["child-handles", "child-dies"])
def test_signal_is_forwarded_and_run_is_cancelled(
    tmp_path: Path, signum: signal.Signals, handles: bool
) -> None:
    """A signal sent to the wrapper reaches the command; ``after`` runs with ``cancelled``."""
    ready, got = tmp_path / "ready", tmp_path / "got"
    argv, report, env = _harness(tmp_path, [PY, "-c", _child_code(ready, got, handles=handles)])
    # A session of its own: no controlling terminal, as in a CI job.
    wrapper = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        wait_for(ready)
        wrapper.send_signal(signum)
        _, stderr = wrapper.communicate(timeout=20)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    finished = _report(report)
    assert finished["outcome"] == "cancelled"
    if handles:
        assert got.read_text() == str(int(signum))
        assert (wrapper.returncode, finished["exit_code"], finished["signal"]) == (0, 0, None)
    else:
        assert not got.exists()
        expected = 128 + int(signum)
        assert (wrapper.returncode, finished["exit_code"]) == (expected, expected)
        assert finished["signal"] == int(signum)
    assert stderr == b""
