"""The real image, built from the Dockerfile and run the way the GitHub runner runs it.

Podman stands in for the Docker engine (none runs here) and a Debian base stands in for the
pinned ``python:3.12-slim`` (no registry is reachable). If containers cannot run on this machine
the tests fail loudly; set ``LAST9_SKIP_CONTAINER_TESTS=1`` to skip them on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.container.podman import (
    STANDIN_BASE,
    ContainerUnavailable,
    RunnerDirs,
    build_image,
    ensure_environment,
    image_size,
    make_runner_dirs,
    read_file_command,
    run_like_runner,
)
from tests.fake_last9 import FakeLast9
from tests.runner import (
    OBSERVERS,
    RELEASE_EVENT,
    ROOT,
    RUNNER_ENV,
    StepResult,
    action_defaults,
    step_inputs,
)

pytestmark = pytest.mark.container
TAG = "localhost/last9-change-event:test"
OPT_OUT = "LAST9_SKIP_CONTAINER_TESTS"


@dataclass(frozen=True)
class Image:
    """The built image and the environment podman needs."""

    tag: str
    podman_env: Mapping[str, str]
    build_seconds: float


@pytest.fixture(scope="module")
def image() -> Image:
    """Build the real Dockerfile once for this module, on the stand-in base."""
    try:
        env = ensure_environment()
        seconds = build_image(ROOT, TAG, env=env)
    except ContainerUnavailable as error:
        if os.environ.get(OPT_OUT) == "1":
            pytest.skip(f"{OPT_OUT}=1: container tests skipped on purpose ({error})")
        pytest.fail(f"Cannot build or run containers here: {error}. Set {OPT_OUT}=1 to skip.")
    return Image(TAG, env, seconds)


@pytest.fixture
def fake() -> Iterator[FakeLast9]:
    """A fake Last9 on the host's loopback (the container shares the host's network)."""
    with FakeLast9(org="acme") as server:
        yield server


def run_step(
    image: Image,
    tmp: Path,
    inputs: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    *,
    post: bool = False,
) -> StepResult:
    """One step: new file-command files in the runner's folders, defaults merged like the runner."""
    dirs: RunnerDirs = make_runner_dirs(tmp, event=RELEASE_EVENT)
    done = run_like_runner(
        image.tag,
        dirs,
        {**action_defaults(), **inputs},
        {**RUNNER_ENV, **(env or {})},
        entrypoint="/action/post.py" if post else None,
        podman_env=image.podman_env,
    )
    result = StepResult(
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        outputs=read_file_command(dirs.output),
        state=read_file_command(dirs.state),
        exported=read_file_command(dirs.env),
        summary=dirs.step_summary.read_text(encoding="utf-8"),
    )
    raw = {
        name: path.read_text(encoding="utf-8")
        for name, path in (
            ("OUTPUT", dirs.output),
            ("STATE", dirs.state),
            ("ENV", dirs.env),
            ("STEP_SUMMARY", dirs.step_summary),
        )
    }
    for observe in OBSERVERS:  # the leak watch sees the container's steps too
        observe(result, raw)
    return result


def test_start_then_stop(image: Image, fake: FakeLast9, tmp_path: Path) -> None:
    """A start and a stop step in containers: one exchange, shared id, duration, outputs."""
    inputs = step_inputs(fake)
    start = run_step(image, tmp_path, inputs)
    assert start.returncode == 0, start.stdout + start.stderr
    assert start.outputs["status"] == "sent"
    assert start.exported["LAST9_DEPLOYMENT_ID"] == "987654321-1-deploy"
    assert "| `release_tag` | v1.2.3 |" in start.summary
    stop = run_step(
        image,
        tmp_path,
        {**inputs, "event-state": "stop", "access-token": start.outputs["access-token"]},
        env=start.exported,
    )
    assert stop.returncode == 0, stop.stdout + stop.stderr
    first, second = fake.events()
    assert (first["event_state"], second["event_state"]) == ("start", "stop")
    assert second["attributes"]["deployment_id"] == first["attributes"]["deployment_id"]
    assert "duration_seconds" in second["attributes"]
    assert first["attributes"]["release_tag"] == "v1.2.3"
    assert fake.exchanges() == 1


def test_auto_stop_through_the_post_entrypoint(
    image: Image, fake: FakeLast9, tmp_path: Path
) -> None:
    """`auto-stop`: the state file feeds the post-entrypoint, which sends the stop."""
    inputs = step_inputs(fake, auto_stop="true")
    start = run_step(image, tmp_path, inputs)
    assert start.returncode == 0, start.stdout + start.stderr
    assert start.state["auto_stop"] == "true"
    post = run_step(
        image, tmp_path, inputs, {f"STATE_{k}": v for k, v in start.state.items()}, post=True
    )
    assert post.returncode == 0, post.stdout + post.stderr
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]
    assert fake.exchanges() == 1


def test_post_entrypoint_without_auto_stop_sends_nothing(
    image: Image, fake: FakeLast9, tmp_path: Path
) -> None:
    """The post-entrypoint of a step without auto-stop exits 0 and sends nothing."""
    post = run_step(image, tmp_path, step_inputs(fake), post=True)
    assert post.returncode == 0, post.stdout + post.stderr
    assert fake.received == []


def test_dry_run(image: Image, fake: FakeLast9, tmp_path: Path) -> None:
    """A dry run in the container outputs the payload and sends nothing."""
    step = run_step(image, tmp_path, {"org": "acme", "api-url": fake.url, "dry-run": "true"})
    assert step.returncode == 0, step.stdout + step.stderr
    assert step.outputs["status"] == "dry-run"
    assert '"event_state":"start"' in step.outputs["payload"]
    assert fake.received == []


def test_configuration_error(image: Image, fake: FakeLast9, tmp_path: Path) -> None:
    """A bad input: exit 1, one ::error, a summary, nothing sent, no traceback."""
    step = run_step(image, tmp_path, step_inputs(fake, event_state="finish"))
    assert step.returncode == 1
    errors = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert errors == [line for line in errors if "invalid event-state" in line] != []
    assert "Traceback" not in step.stdout + step.stderr
    assert step.outputs["status"] == "failed"
    assert fake.received == []


def test_image_carries_only_what_runs(image: Image) -> None:
    """No PyGithub, cryptography or PyNaCl in the image; only our files under /action."""
    probe = (
        "import importlib.util as u, os;"
        "print(sorted(m for m in ('github', 'cryptography', 'nacl', 'jwt', 'requests')"
        " if u.find_spec(m)));"
        "print(sorted(os.listdir('/action')))"
    )
    done = subprocess.run(
        [
            shutil.which("podman") or "podman",
            "run",
            "--rm",
            "--entrypoint",
            "python",
            image.tag,
            "-c",
            probe,
        ],
        env={**os.environ, **image.podman_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules, files = done.stdout.splitlines()
    assert modules == "['jwt', 'requests']"
    assert files == "['entrypoint.py', 'post.py', 'src']"
    added = image_size(image.tag, image.podman_env) - image_size(STANDIN_BASE, image.podman_env)
    print(f"\nimage: built in {image.build_seconds:.1f} s, adds {added / 1e6:.1f} MB over its base")


def test_dockerfile_has_no_user_line() -> None:
    """Docker actions must run as root: the Dockerfile never switches user."""
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert not [line for line in lines if line.strip().upper().startswith("USER ")]
