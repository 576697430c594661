"""A broken or closed output stream never costs the deploy: wrap and the command line run as real
processes with their log on a pipe closed at each point, stderr closed, and stdout on
``/dev/full``. The command runs with its own streams, the exit code is the command's (or the
event's), the start and the stop are sent, and no traceback or exit code 120 ever shows."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_process import PY, capture, cli_env
from tests.fake_last9 import FakeLast9
from tests.waiting import wait_for

#: The wrapped command: says it ran, waits for ``go`` when asked, reports whether its stderr is
#: open, and exits 3. It writes only to stdout, a pipe of its own.
COMMAND = """
import os, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
(folder / "ran").write_text("yes")
if sys.argv[2] == "wait":
    while not (folder / "go").exists():
        time.sleep(0.01)
try:
    os.fstat(2)
    state = "open"
except OSError:
    state = "closed"
sys.stdout.write("stderr " + state + "\\n")
raise SystemExit(3)
"""


@pytest.fixture
def sending(fake: FakeLast9) -> dict[str, str]:
    """The command line's environment for ``fake``."""
    return cli_env(
        {
            "LAST9_REFRESH_TOKEN": fake.mint("refresh", ttl=None),
            "LAST9_ORG": "acme",
            "LAST9_API_URL": fake.url,
        }
    )


def _wrap(folder: Path, mode: str) -> list[str]:
    script = folder / "command.py"
    script.write_text(COMMAND, encoding="utf-8")
    return [PY, "-m", "last9_change_event", "wrap", "--", PY, str(script), str(folder), mode]


def _states(fake: FakeLast9) -> list[str]:
    return [event["event_state"] for event in fake.events()]


def _no_crash(text: bytes) -> None:
    capture(b"", text)
    assert b"Traceback" not in text
    assert b"Exception ignored" not in text


@pytest.mark.parametrize("github", [False, True], ids=["console", "github-run-step"])
@pytest.mark.parametrize("point", ["before-start", "mid-start", "during-command"])
def test_wrap_log_on_a_pipe_closed_early(
    fake: FakeLast9, sending: dict[str, str], tmp_path: Path, point: str, github: bool
) -> None:
    """wrap's log on a pipe whose reader leaves (before the start, after 10 bytes of it, while
    the command runs, so before the stop): the command runs, its exit code, start and stop."""
    env = {**sending, "GITHUB_ACTIONS": "true"} if github else sending
    read_end, write_end = os.pipe()
    if point == "before-start":
        os.close(read_end)
    process = subprocess.Popen(
        _wrap(tmp_path, "wait" if point == "during-command" else "go"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=write_end,
    )
    os.close(write_end)
    if point == "mid-start":
        os.read(read_end, 10)  # as `| head -c 10` does
        os.close(read_end)
    elif point == "during-command":
        wait_for(tmp_path / "ran")
        os.close(read_end)
        (tmp_path / "go").write_text("go")
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 3
    assert out == b"stderr open\n"
    assert _states(fake) == ["start", "stop"]
    assert fake.events()[1]["attributes"]["exit_code"] == "3"


def test_wrap_log_on_a_pipe_nobody_reads(
    fake: FakeLast9, sending: dict[str, str], tmp_path: Path
) -> None:
    """A pipe held open but never read: wrap's few lines fit in it, nothing waits on it."""
    read_end, write_end = os.pipe()
    try:
        done = subprocess.run(
            _wrap(tmp_path, "go"), env=sending, stdout=subprocess.PIPE, stderr=write_end,
            timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
        os.close(read_end)
    assert done.returncode == 3
    assert _states(fake) == ["start", "stop"]


@pytest.mark.parametrize("github", [False, True], ids=["console", "github-run-step"])
def test_wrap_with_stderr_closed(
    fake: FakeLast9, sending: dict[str, str], tmp_path: Path, github: bool
) -> None:
    """`2>&-`: the command runs with its stderr closed, as given; start and stop are sent."""
    env = {**sending, "GITHUB_ACTIONS": "true"} if github else sending
    done = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" 2>&-', "sh", *_wrap(tmp_path, "go")],
        env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stdout == b"stderr closed\n"
    assert _states(fake) == ["start", "stop"]


def test_wrap_with_stderr_on_a_full_disk(
    fake: FakeLast9, sending: dict[str, str], tmp_path: Path
) -> None:
    """stderr on `/dev/full`: every log line fails to write, the deploy does not."""
    with Path("/dev/full").open("wb") as full:
        done = subprocess.run(
            _wrap(tmp_path, "go"), env=sending, stdout=subprocess.PIPE, stderr=full,
            timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 3
    assert done.stdout == b"stderr open\n"
    assert _states(fake) == ["start", "stop"]


@pytest.mark.parametrize("state", ["start", "stop"])
@pytest.mark.parametrize("where", ["closed-pipe", "dev-full"])
def test_a_lost_result_line_is_not_a_failed_event(
    fake: FakeLast9, sending: dict[str, str], state: str, where: str
) -> None:
    """start/stop with stdout on a closed pipe or `/dev/full`: the event is sent, the exit code
    is the event's (0), no traceback, and stderr says the result was lost."""
    command = [PY, "-m", "last9_change_event", state]
    if where == "closed-pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run(
                command, env=sending, stdout=write_end, stderr=subprocess.PIPE, timeout=120,
                check=False,
            )  # fmt: skip
        finally:
            os.close(write_end)
    else:
        with Path("/dev/full").open("wb") as full:
            done = subprocess.run(
                command, env=sending, stdout=full, stderr=subprocess.PIPE, timeout=120,
                check=False,
            )  # fmt: skip
    _no_crash(done.stderr)
    assert done.returncode == 0, done.stderr
    assert _states(fake) == [state]
    assert b"The result could not be written to standard output" in done.stderr


def test_a_lost_result_line_keeps_a_failure_a_failure(sending: dict[str, str]) -> None:
    """Last9 down under `--fail-on any`, stdout on `/dev/full`: exit 1, as the event went."""
    with FakeLast9() as down:
        url = down.url
    with Path("/dev/full").open("wb") as full:
        done = subprocess.run(
            [PY, "-m", "last9_change_event", "start", "--fail-on", "any"],
            env={**sending, "LAST9_API_URL": url}, stdout=full, stderr=subprocess.PIPE,
            timeout=120, check=False,
        )  # fmt: skip
    _no_crash(done.stderr)
    assert done.returncode == 1
    assert b"API unavailable" in done.stderr


def test_the_action_with_its_stdout_on_a_full_disk(fake: FakeLast9, tmp_path: Path) -> None:
    """The runner's step with stdout on `/dev/full`: the event and the outputs still go."""
    output = tmp_path / "output"
    output.touch()
    env = {
        **cli_env(),
        "INPUT_ORG": "acme",
        "INPUT_REFRESH-TOKEN": fake.mint("refresh", ttl=None),
        "INPUT_API-URL": fake.url,
        "GITHUB_OUTPUT": str(output),
    }
    entrypoint = Path(__file__).resolve().parent.parent / "entrypoint.py"
    with Path("/dev/full").open("wb") as full:
        done = subprocess.run(
            [PY, str(entrypoint)], env=env, stdout=full, stderr=subprocess.PIPE, timeout=120,
            check=False,
        )  # fmt: skip
    _no_crash(done.stderr)
    assert done.returncode == 0
    assert _states(fake) == ["start"]
    assert "status<<" in output.read_text(encoding="utf-8")
