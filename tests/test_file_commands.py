"""A file command that cannot be written costs what it would have held, said in one warning.

`$GITHUB_OUTPUT`, `$GITHUB_STATE`, `$GITHUB_ENV` and `$GITHUB_STEP_SUMMARY` absent, in a missing
folder, under a regular file, a directory, read-only or on a full disk: the event goes out as
with a good file, the step says once which file it could not write and what was lost, and the
exit code is the one `fail-on` gives the event. For the main step, the post step, and the
command line in a GitHub `run:` step (`wrap` included). Read-only is `/proc/version`, which
refuses writes to root too (a chmod does not stop root); a full disk is `/dev/full`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_process import PY, cli, in_process
from tests.fake_last9 import FakeLast9, Fault
from tests.github_run import RUNNER_ENV
from tests.runner import Job, step_inputs

FILES = ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")


def _absent(tmp: Path) -> Path:
    return tmp / "absent"


def _missing_folder(tmp: Path) -> Path:
    return tmp / "no-such-folder" / "file"


def _under_a_file(tmp: Path) -> Path:
    regular = tmp / "regular"
    regular.write_text("", encoding="utf-8")
    return regular / "file"


def _directory(tmp: Path) -> Path:
    folder = tmp / "folder"
    folder.mkdir()
    return folder


BROKEN: dict[str, Callable[[Path], Path]] = {
    "absent": _absent,
    "in a missing folder": _missing_folder,
    "under a regular file": _under_a_file,
    "a directory": _directory,
    "read-only": lambda _: Path("/proc/version"),
    "on a full disk": lambda _: Path("/dev/full"),
}

#: The files each front end writes; breaking another one costs nothing, so says nothing.
WRITES = {
    "main": {"OUTPUT", "STATE", "ENV", "STEP_SUMMARY"},  # with auto-stop
    "post": {"OUTPUT", "STEP_SUMMARY"},
    "cli start": {"OUTPUT", "ENV", "STEP_SUMMARY"},
    "wrap": {"OUTPUT", "ENV", "STEP_SUMMARY"},
}

#: What each file's warning says was lost.
LOSS = {
    "OUTPUT": "outputs",
    "STATE": "no state",
    "ENV": "`LAST9_DEPLOYMENT_ID`",
    "STEP_SUMMARY": "summary",
}

_WARNING = re.compile(r"^::warning title=([^:]*)::(.*)$", re.MULTILINE)


def warnings(text: str) -> list[tuple[str, str]]:
    """The ``::warning`` annotations in ``text`` as (title, message), titles unescaped."""
    return [(t.replace("%3A", ":").replace("%2C", ","), m) for t, m in _WARNING.findall(text)]


def outside_masks(text: str) -> str:
    """``text`` without its ``::add-mask::`` lines, where a token belongs."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def good_files(tmp: Path) -> dict[str, str]:
    """A `GITHUB_<NAME>` file for each file command, as the runner makes them."""
    folder = tmp / "files"
    folder.mkdir()
    files = {}
    for name in FILES:
        path = folder / name.lower()
        path.touch()
        files[f"GITHUB_{name}"] = str(path)
    return files


def run_front(front: str, fake: FakeLast9, job: Job, broken: dict[str, str]) -> tuple[int, str]:
    """Run one front end with `broken` file paths and `fail-on: any`: its exit code and log."""
    if front in ("main", "post"):
        inputs = step_inputs(fake, auto_stop="true", fail_on="any")
        if front == "post":
            assert job.run(inputs).returncode == 0
        step = job.run(inputs, post=front == "post", env=broken)
        return step.returncode, step.log
    env = {
        **RUNNER_ENV,
        **good_files(job.tmp),
        "LAST9_REFRESH_TOKEN": fake.mint("refresh", ttl=None),
        "LAST9_ORG": "acme",
        "LAST9_API_URL": fake.url,
        **broken,
    }
    args = ["start"] if front == "cli start" else ["wrap"]
    args += ["--fail-on", "any"]
    if front == "wrap":
        args += ["--", PY, "-c", "pass"]
    done = in_process(*args, env=env, cwd=job.tmp)
    return done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace")


#: The events each front end sends, as with good files.
SENT = {
    "main": ["start"],
    "post": ["start", "stop"],
    "cli start": ["start"],
    "wrap": ["start", "stop"],
}


@pytest.mark.parametrize("front", list(WRITES))
@pytest.mark.parametrize("kind", list(BROKEN))
@pytest.mark.parametrize("name", FILES)
def test_an_unwritable_file_costs_one_warning_and_nothing_else(
    fake: FakeLast9, job: Job, front: str, kind: str, name: str
) -> None:
    """The events go out, one warning names the file it wrote to and what was lost, exit 0 with
    `fail-on: any`, no traceback, no token."""
    path = BROKEN[kind](job.tmp)
    code, log = run_front(front, fake, job, {f"GITHUB_{name}": str(path)})
    assert [e["event_state"] for e in fake.events()] == SENT[front]
    assert code == 0, log
    found = warnings(log)
    if name in WRITES[front]:
        [(title, message)] = found
        assert title == f"Last9: GITHUB_{name} not written"
        assert f"`GITHUB_{name}`" in message
        assert LOSS[name] in message
    else:
        assert found == []
    assert "Traceback" not in log
    assert "internal error" not in log
    token = fake.mint("refresh", ttl=None)
    assert token[:20] not in outside_masks(log)


@pytest.mark.parametrize("name", FILES)
def test_the_main_step_as_a_process_on_a_full_disk(fake: FakeLast9, job: Job, name: str) -> None:
    """`entrypoint.py` as the runner starts it: the start is sent, one warning, exit 0."""
    inputs = step_inputs(fake, auto_stop="true", fail_on="any")
    step = job.run(inputs, env={f"GITHUB_{name}": "/dev/full"}, process=True)
    assert step.returncode == 0, step.log
    assert len(fake.events()) == 1
    assert [t for t, _ in warnings(step.stdout)] == [f"Last9: GITHUB_{name} not written"]
    assert "Traceback" not in step.log


@pytest.mark.parametrize("kind", list(BROKEN))
def test_the_command_line_as_a_process(fake: FakeLast9, tmp_path: Path, kind: str) -> None:
    """The command line in a `run:` step, as a process: the start is sent, one warning."""
    env = {
        **RUNNER_ENV,
        **good_files(tmp_path),
        "LAST9_REFRESH_TOKEN": fake.mint("refresh", ttl=None),
        "LAST9_ORG": "acme",
        "LAST9_API_URL": fake.url,
        "GITHUB_OUTPUT": str(BROKEN[kind](tmp_path)),
    }
    done = cli("start", "--fail-on", "any", env=env, cwd=tmp_path)
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, err
    assert len(fake.events()) == 1
    assert [t for t, _ in warnings(err)] == ["Last9: GITHUB_OUTPUT not written"]
    assert b'"status": "sent"' in done.stdout
    assert "Traceback" not in err


@pytest.mark.parametrize(("fail_on", "code"), [("any", 1), ("config", 0)])
@pytest.mark.parametrize("name", FILES)
def test_the_exit_code_is_the_events_own(
    fake: FakeLast9, job: Job, name: str, fail_on: str, code: int
) -> None:
    """With Last9 down, the exit code is what `fail-on` gives the outage, as with good files;
    the unwritable file adds its warning to the outage's annotation."""
    down = Fault(status=503, headers={"Retry-After": "0"})
    fake.script("event", *[down] * 20)
    inputs = step_inputs(fake, auto_stop="true", fail_on=fail_on)
    good = job.run(inputs)
    broken = job.run(inputs, env={f"GITHUB_{name}": str(_absent(job.tmp))})
    assert good.returncode == broken.returncode == code
    assert fake.events() == []
    assert good.titles() == broken.titles()
    title = f"Last9: GITHUB_{name} not written"
    found = warnings(broken.stdout)
    assert [t for t, _ in found].count(title) == 1
    assert [w for w in found if w[0] != title] == warnings(good.stdout)


def test_auto_stop_survives_an_unwritable_state_file(fake: FakeLast9, job: Job) -> None:
    """With `$GITHUB_STATE` unwritable in the main step, the post step gets no state, as on a
    runner that drops it, and sends the stop from the step's export."""
    inputs = step_inputs(fake, auto_stop="true")
    start = job.run(inputs, env={"GITHUB_STATE": "/dev/full"})
    assert [t for t, _ in warnings(start.stdout)] == ["Last9: GITHUB_STATE not written"]
    assert start.state == {}
    post = job.run({**inputs, "outcome": "success"}, post=True)
    assert post.returncode == 0, post.log
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]
