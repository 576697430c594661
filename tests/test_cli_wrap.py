"""``last9-change-event wrap -- COMMAND`` with real child processes, through the command line."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_process import PY, capture, cli, cli_env
from tests.fake_last9 import FakeLast9, Fault
from tests.waiting import wait_for

BINARY_OUT = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 2000)"


def _sending(fake: FakeLast9, **more: str) -> dict[str, str]:
    return {
        "LAST9_REFRESH_TOKEN": fake.mint("refresh", ttl=None),
        "LAST9_ORG": "acme",
        "LAST9_API_URL": fake.url,
        **more,
    }


@pytest.mark.parametrize(
    ("code", "exit_code", "outcome"),
    [
        ("pass", 0, "success"),
        ("raise SystemExit(3)", 3, "failure"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 137, "failure"),
    ],
    ids=["success", "exit-3", "killed"],
)
def test_start_command_stop(
    fake: FakeLast9, tmp_path: Path, code: str, exit_code: int, outcome: str
) -> None:
    """A start, the command, a stop with outcome, duration and exit code; its exit code."""
    done = cli(
        "wrap", "--deployment-id", "d-7", "--service-name", "shop", "--attribute", "team=pay",
        "--", PY, "-c", code,
        env=_sending(fake), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == exit_code, done.stderr
    assert done.stdout == b""
    start, stop = fake.events()
    assert start["event_state"] == "start"
    assert stop["event_state"] == "stop"
    assert start["attributes"]["deployment_id"] == stop["attributes"]["deployment_id"] == "d-7"
    assert stop["attributes"]["outcome"] == outcome
    assert stop["attributes"]["exit_code"] == str(exit_code)
    assert stop["attributes"]["team"] == "pay"
    assert stop["attributes"]["duration_seconds"].isdigit()
    assert "outcome" not in start["attributes"]


def test_output_is_untouched_byte_for_byte(fake: FakeLast9, tmp_path: Path) -> None:
    """The command's stdout is wrap's whole stdout; its stderr is there in one piece."""
    code = (
        f"{BINARY_OUT}; "
        "sys.stderr.buffer.write(b'\\x00\\xff\\r\\n' * 50000); "
        "sys.stdout.buffer.write(sys.stdin.buffer.read())"
    )
    fed = bytes(range(255, -1, -1)) * 1000
    done = cli("wrap", "--", PY, "-c", code, env=_sending(fake), cwd=tmp_path, stdin=fed)
    assert done.returncode == 0
    assert done.stdout == bytes(range(256)) * 2000 + fed
    assert b"\x00\xff\r\n" * 50000 in done.stderr
    assert len(fake.events()) == 2


@pytest.mark.parametrize("fail_on", ["any", "config", "never"], ids=str)
@pytest.mark.parametrize("code", [0, 4], ids=["ok", "fails"])
def test_last9_down_changes_nothing(tmp_path: Path, fail_on: str, code: int) -> None:
    """Connection refused: the command runs, its output and exit code are its own."""
    with FakeLast9(org="acme") as fake:
        env = _sending(fake)
    # The fake is stopped: its port refuses connections.
    done = cli(
        "wrap", "--fail-on", fail_on, "--timeout", "5",
        "--", PY, "-c", f"print('deployed'); raise SystemExit({code})",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == code
    assert done.stdout == b"deployed\n"
    assert b"Last9: API unavailable" in done.stderr
    level = b"error:" if fail_on == "any" else b"warning:"
    assert level + b" Last9: API unavailable" in done.stderr


def test_a_slow_last9_neither_blocks_nor_changes_the_command(
    fake: FakeLast9, tmp_path: Path
) -> None:
    """Last9 answering after the timeout: the command still runs, with its exit code."""
    fake.script("event", *[Fault(status=200, body={"message": "success"}, delay=3)] * 2)
    done = cli(
        "wrap", "--timeout", "0.5", "--", PY, "-c", "print('deployed'); raise SystemExit(5)",
        env=_sending(fake), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 5
    assert done.stdout == b"deployed\n"
    assert b"Last9" in done.stderr


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ((), b"missing --org"),
        (("--org", "acme", "--timeout", "zero"), b"invalid --timeout"),
        (("--orgg", "acme"), b"unknown flag --orgg"),
    ],
    ids=["no-org", "bad-timeout", "usage-error"],
)
def test_misconfiguration_never_stops_the_command(
    tmp_path: Path, flags: tuple[str, ...], says: bytes
) -> None:
    """A configuration or usage error is reported, and the command runs as ever."""
    done = cli(
        "wrap", *flags, "--", PY, "-c", "print('deployed'); raise SystemExit(6)",
        env={"LAST9_REFRESH_TOKEN": "x"}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 6
    assert done.stdout == b"deployed\n"
    assert says in done.stderr


def test_no_token_runs_the_command_and_sends_no_stop(tmp_path: Path) -> None:
    """Without a token: one error in CLI words, the command runs, no second error."""
    done = cli("wrap", "--org", "acme", "--", PY, "-c", "print('x')", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == b"x\n"
    assert done.stderr.count(b"Last9: no token") == 1
    assert b"LAST9_REFRESH_TOKEN" in done.stderr


def test_dry_run_shows_both_events(tmp_path: Path) -> None:
    """`wrap --dry-run` needs no token and shows the start and the stop on stderr."""
    done = cli("wrap", "--org", "acme", "--dry-run", "--", PY, "-c", "pass", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == b""
    assert b'"event_state": "start"' in done.stderr
    assert b'"event_state": "stop"' in done.stderr
    assert b'"exit_code": "0"' in done.stderr


@pytest.mark.parametrize("args", [(), ("--org", "acme"), ("--org", "acme", "--")], ids=str)
def test_wrap_needs_a_command(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Without a command after `--`, wrap is a usage error."""
    done = cli("wrap", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert b"-- COMMAND" in done.stderr


def test_command_not_found_is_127(fake: FakeLast9, tmp_path: Path) -> None:
    """A command that does not exist: 127, and a stop with outcome failure."""
    done = cli("wrap", "--", "no-such-command-here", env=_sending(fake), cwd=tmp_path)
    assert done.returncode == 127
    assert fake.events()[-1]["attributes"]["outcome"] == "failure"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signals_reach_the_command_and_the_stop_says_cancelled(
    fake: FakeLast9, tmp_path: Path, signum: signal.Signals
) -> None:
    """A signal sent to wrap reaches the command; the stop is sent with outcome cancelled."""
    ready, got = tmp_path / "ready", tmp_path / "got"
    code = (
        "import pathlib, signal, sys, time\n"
        f"def on(n, _): pathlib.Path({str(got)!r}).write_text(str(n)); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, on); signal.signal(signal.SIGINT, on)\n"
        f"pathlib.Path({str(ready)!r}).write_text('ready')\n"
        "time.sleep(60)\n"
    )
    wrapper = subprocess.Popen(
        [PY, "-m", "last9_change_event", "wrap", "--", PY, "-c", code],
        env=cli_env(_sending(fake)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(ready)
        wrapper.send_signal(signum)
        stdout, stderr = wrapper.communicate(timeout=60)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    capture(stdout, stderr)
    assert got.read_text() == str(int(signum))
    assert wrapper.returncode == 0
    stop = fake.events()[-1]
    assert stop["event_state"] == "stop"
    assert stop["attributes"]["outcome"] == "cancelled"


def test_a_cancel_during_the_start_does_not_run_the_command(
    fake: FakeLast9, tmp_path: Path
) -> None:
    """SIGTERM while the start is in flight: the command never starts; the stop says cancelled."""
    fake.script("event", Fault(status=200, body={"message": "success"}, delay=10))
    ran = tmp_path / "ran"
    wrapper = subprocess.Popen(
        [PY, "-m", "last9_change_event", "wrap", "--",
         PY, "-c", f"import pathlib; pathlib.Path({str(ran)!r}).write_text('x')"],
        env=cli_env(_sending(fake)),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not any(r.method == "PUT" for r in fake.received):
            if time.monotonic() > deadline:
                pytest.fail("the start never reached the fake")
            time.sleep(0.02)
        wrapper.send_signal(signal.SIGTERM)
        stdout, stderr = wrapper.communicate(timeout=60)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
    capture(stdout, stderr)
    assert wrapper.returncode == 128 + signal.SIGTERM
    assert not ran.exists()
    [stop] = fake.events()
    assert stop["attributes"]["outcome"] == "cancelled"


def test_in_a_github_run_step_stdout_stays_the_commands(fake: FakeLast9, tmp_path: Path) -> None:
    """Under GitHub, workflow commands go to stderr; stdout is the command's alone."""
    output, env_file = tmp_path / "output", tmp_path / "env"
    output.touch()
    env_file.touch()
    env = _sending(
        fake,
        GITHUB_ACTIONS="true",
        GITHUB_RUN_ID="9",
        GITHUB_JOB="deploy",
        GITHUB_OUTPUT=str(output),
        GITHUB_ENV=str(env_file),
    )
    done = cli("wrap", "--", PY, "-c", BINARY_OUT, env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == bytes(range(256)) * 2000
    assert b"::add-mask::" in done.stderr
    assert b"::group::Change event payload" in done.stderr
    assert "LAST9_DEPLOYMENT_ID" in env_file.read_text(encoding="utf-8")
    start, stop = fake.events()
    assert (
        start["attributes"]["deployment_id"] == stop["attributes"]["deployment_id"] == "9-1-deploy"
    )
