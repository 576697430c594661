"""The real image, built from the Dockerfile and run the way the GitHub runner runs it.

The engine is the one users' CI has (``tests/container/engine.py``): a Docker engine when one
answers (a hosted runner: the unprivileged ``runner`` user, the real pinned base), else podman
with a stand-in base when running as root (this machine, ``.ci/run``). Without an engine and
without root the tests skip and say why. Where an engine should work but does not they fail
loudly; set ``LAST9_SKIP_CONTAINER_TESTS=1`` to skip them on purpose.

Every step runs with the runner's arguments: the default bridge network (not the host's), the
runner's mounts, host paths translated to ``/github/...``, ``--entrypoint`` for the post step.
The fake Last9 listens on the bridge's gateway over TLS; the action trusts its certificate
through ``REQUESTS_CA_BUNDLE``, given as a host path under the workspace, as a workflow would.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.certs import make_tls_files
from tests.container.docker_run import (
    RunnerDirs,
    build,
    make_runner_dirs,
    run_like_runner,
    runner_command,
)
from tests.container.engine import Engine, NoEngine, select_engine
from tests.container.podman import ContainerUnavailable, ImageBuildError
from tests.fake_last9 import FakeLast9, Fault
from tests.github_run import RELEASE_EVENT, RUNNER_ENV, read_file_command
from tests.runner import (
    OBSERVERS,
    ROOT,
    StepResult,
    action_defaults,
    step_inputs,
)

pytestmark = pytest.mark.container
TAG = "localhost/last9-change-event:test"
OPT_OUT = "LAST9_SKIP_CONTAINER_TESTS"


@dataclass(frozen=True)
class Image:
    """The built image and the engine that runs it."""

    tag: str
    engine: Engine
    build_seconds: float


@pytest.fixture(scope="module")
def image() -> Image:
    """Build the real Dockerfile once for this module, with the engine this machine has."""
    try:
        engine = select_engine()
        seconds = build(engine, ROOT, TAG)
    except NoEngine as reason:
        pytest.skip(f"container tests skipped: {reason}")
    except (ContainerUnavailable, ImageBuildError) as error:
        if os.environ.get(OPT_OUT) == "1":
            pytest.skip(f"{OPT_OUT}=1: container tests skipped on purpose ({error})")
        pytest.fail(f"Cannot build or run containers here: {error}. Set {OPT_OUT}=1 to skip.")
    print(f"\ncontainer engine: {engine.describe()}; image built in {seconds:.1f} s")
    return Image(TAG, engine, seconds)


@dataclass(frozen=True)
class BridgeFake:
    """A fake Last9 the container reaches over the bridge, and the certificate it trusts."""

    fake: FakeLast9
    url: str  # https://<bridge gateway>:<port>
    ca: Path  # host path of the certificate (copied into each step's workspace)


@pytest.fixture(scope="module")
def tls_files(image: Image, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """The bridge's gateway address and a certificate for it."""
    gateway = image.engine.bridge_gateway()
    cert, key = make_tls_files(tmp_path_factory.mktemp("tls"), gateway)
    return gateway, cert, key


@pytest.fixture
def bridge_fake(tls_files: tuple[str, Path, Path]) -> Iterator[BridgeFake]:
    """A fresh fake Last9 over TLS, listening on every address (the bridge may not exist yet)."""
    gateway, cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeLast9(org="acme", host="0.0.0.0", tls=context) as fake:  # noqa: S104
        port = urlsplit(fake.url).port
        yield BridgeFake(fake, f"https://{gateway}:{port}", cert)


@dataclass
class Job:
    """One job on one runner: a temp folder and a workspace shared by its steps."""

    image: Image
    temp: Path
    workspace: Path
    env: dict[str, str]

    def step(
        self,
        inputs: Mapping[str, str],
        env: Mapping[str, str] | None = None,
        *,
        post: bool = False,
    ) -> StepResult:
        """One step: new file-command files, the action.yml defaults merged like the runner."""
        dirs: RunnerDirs = make_runner_dirs(self.temp, self.workspace, event=RELEASE_EVENT)
        done = run_like_runner(
            self.image.engine,
            self.image.tag,
            dirs,
            {**action_defaults(), **inputs},
            {**RUNNER_ENV, **self.env, **(env or {})},
            entrypoint="/action/post.py" if post else None,
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


@pytest.fixture
def job(image: Image, bridge_fake: BridgeFake, tmp_path: Path) -> Job:
    """A job whose workspace holds the fake's certificate, trusted by the action."""
    workspace = tmp_path / "work" / "shop"
    workspace.mkdir(parents=True)
    ca = workspace / "fake-last9-ca.pem"
    shutil.copyfile(bridge_fake.ca, ca)
    return Job(image, tmp_path / "_temp", workspace, {"REQUESTS_CA_BUNDLE": str(ca)})


def inputs_for(bridge_fake: BridgeFake, **overrides: str) -> dict[str, str]:
    """A typical step's inputs, with the fake's address as the container sees it."""
    return {**step_inputs(bridge_fake.fake, **overrides), "api-url": bridge_fake.url}


def test_start_then_stop(job: Job, bridge_fake: BridgeFake) -> None:
    """A start and a stop step in containers: one exchange, shared id, duration, outputs."""
    fake = bridge_fake.fake
    inputs = inputs_for(bridge_fake)
    start = job.step(inputs)
    assert start.returncode == 0, start.log
    assert start.outputs["status"] == "sent"
    assert start.exported["LAST9_DEPLOYMENT_ID"] == "987654321-1-deploy"
    assert "| `release_tag` | v1.2.3 |" in start.summary
    stop = job.step(
        {**inputs, "event-state": "stop", "access-token": start.outputs["access-token"]},
        env=start.exported,
    )
    assert stop.returncode == 0, stop.log
    first, second = fake.events()
    assert (first["event_state"], second["event_state"]) == ("start", "stop")
    assert second["attributes"]["deployment_id"] == first["attributes"]["deployment_id"]
    assert "duration_seconds" in second["attributes"]
    assert first["attributes"]["release_tag"] == "v1.2.3"
    assert fake.exchanges() == 1


def test_auto_stop_through_the_post_entrypoint(job: Job, bridge_fake: BridgeFake) -> None:
    """`auto-stop`: the state file feeds the post-entrypoint (--entrypoint), which sends stop."""
    fake = bridge_fake.fake
    inputs = inputs_for(bridge_fake, auto_stop="true", outcome="failure")
    start = job.step(inputs)
    assert start.returncode == 0, start.log
    assert start.state["auto_stop"] == "true"
    post = job.step(inputs, {f"STATE_{k}": v for k, v in start.state.items()}, post=True)
    assert post.returncode == 0, post.log
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]
    assert fake.events()[1]["attributes"]["outcome"] == "failure"
    assert fake.exchanges() == 1


def test_post_entrypoint_without_auto_stop_sends_nothing(job: Job, bridge_fake: BridgeFake) -> None:
    """The post-entrypoint of a step without auto-stop exits 0 and sends nothing."""
    post = job.step(inputs_for(bridge_fake), post=True)
    assert post.returncode == 0, post.log
    assert bridge_fake.fake.received == []


def test_cancel_while_the_start_is_in_flight_still_sends_the_stop(
    job: Job, bridge_fake: BridgeFake
) -> None:
    """A job cancelled while its start may be landing: the post step still sends the stop."""
    fake = bridge_fake.fake
    fake.script("event", Fault(delay=120, close=True))  # the start's PUT hangs
    inputs = inputs_for(bridge_fake, auto_stop="true", outcome="cancelled", timeout="120")
    dirs = make_runner_dirs(job.temp, job.workspace, event=RELEASE_EVENT)
    engine, name = job.image.engine, "last9-cancelled-start"
    args, env = runner_command(
        engine,
        job.image.tag,
        dirs,
        {**action_defaults(), **inputs},
        {**RUNNER_ENV, **job.env},
        name=name,
    )
    try:
        with subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as cli:
            deadline = time.monotonic() + 120  # a guard against hanging, not a measurement
            while not any(r.method == "PUT" for r in fake.received):
                assert cli.poll() is None, "the step ended before sending its start"
                assert time.monotonic() < deadline, "the start never reached the fake"
                time.sleep(0.05)
            cli.send_signal(signal.SIGINT)  # the runner's cancel: SIGINT to the docker CLI
            try:
                out, err = cli.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                cli.kill()
                out, err = cli.communicate()
    finally:
        engine.run("rm", "-f", name)
    state = read_file_command(dirs.state)
    assert state.get("auto_stop") == "true", out + err
    assert state.get("services") == '["shop"]', "the start was in flight: it may have landed"
    assert "Last9%3A cancelled" in out, out + err
    assert "Traceback" not in out + err
    post = job.step(inputs, {f"STATE_{k}": v for k, v in state.items()}, post=True)
    assert post.returncode == 0, post.log
    assert [e["event_state"] for e in fake.events()] == ["stop"]
    assert fake.events()[0]["attributes"]["outcome"] == "cancelled"


def test_host_loopback_is_out_of_reach(job: Job) -> None:
    """On the bridge, as on a runner, `localhost` is the container's own: nothing answers."""
    with FakeLast9(org="acme") as loopback:
        step = job.step({**step_inputs(loopback), "fail-on": "any", "timeout": "5"})
        assert step.returncode == 1, step.log
        assert step.outputs["status"] == "failed"
        assert loopback.received == []


def test_untrusted_certificate_is_refused(job: Job, bridge_fake: BridgeFake) -> None:
    """Without the CA bundle the fake's certificate is refused: TLS is verified in the image."""
    step = job.step(
        {**inputs_for(bridge_fake), "fail-on": "any", "timeout": "5"},
        {"REQUESTS_CA_BUNDLE": ""},
    )
    assert step.returncode == 1, step.log
    assert bridge_fake.fake.events() == []


def test_dry_run(job: Job, bridge_fake: BridgeFake) -> None:
    """A dry run in the container outputs the payload and sends nothing."""
    step = job.step({"org": "acme", "api-url": bridge_fake.url, "dry-run": "true"})
    assert step.returncode == 0, step.log
    assert step.outputs["status"] == "dry-run"
    assert '"event_state":"start"' in step.outputs["payload"]
    assert bridge_fake.fake.received == []


def test_configuration_error(job: Job, bridge_fake: BridgeFake) -> None:
    """A bad input: exit 1, one ::error, a summary, nothing sent, no traceback."""
    step = job.step(inputs_for(bridge_fake, event_state="finish"))
    assert step.returncode == 1
    errors = [line for line in step.stdout.splitlines() if line.startswith("::error")]
    assert errors == [line for line in errors if "invalid event-state" in line] != []
    assert "Traceback" not in step.log
    assert step.outputs["status"] == "failed"
    assert bridge_fake.fake.received == []


def test_image_carries_only_what_runs(image: Image) -> None:
    """No PyGithub, cryptography or PyNaCl in the image; only our files under /action."""
    probe = (
        "import importlib.util as u, os;"
        "print(sorted(m for m in ('github', 'cryptography', 'nacl', 'jwt', 'requests')"
        " if u.find_spec(m)));"
        "print(sorted(os.listdir('/action')))"
    )
    done = image.engine.run("run", "--rm", "--entrypoint", "python", image.tag, "-c", probe)
    assert done.returncode == 0, done.stderr
    modules, files = done.stdout.splitlines()
    assert modules == "['jwt', 'requests']"
    assert files == "['entrypoint.py', 'post.py', 'src']"


def test_dockerfile_has_no_user_line() -> None:
    """Docker actions must run as root: the Dockerfile never switches user."""
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    assert not [line for line in lines if line.strip().upper().startswith("USER ")]


def test_the_image_is_the_command_line_for_other_cis(image: Image, bridge_fake: BridgeFake) -> None:
    """The README's `docker run --entrypoint python ... -m last9_change_event` in a GitLab job:
    the start is sent with GitLab's context and the pipeline's deployment id."""
    token = bridge_fake.fake.mint("refresh", ttl=None)
    name = f"last9-cli-{secrets.token_hex(4)}"
    args = ["run", "--name", name, "--entrypoint", "python"]
    args += ["-v", f"{bridge_fake.ca}:/ca.pem:ro", "-e", "REQUESTS_CA_BUNDLE=/ca.pem"]
    args += ["-e", "PYTHONPATH=/action/src", "-e", f"LAST9_REFRESH_TOKEN={token}"]
    for variable, value in {
        "GITLAB_CI": "true",
        "CI_PIPELINE_ID": "4711",
        "CI_PROJECT_PATH": "acme/shop",
        "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
    }.items():
        args += ["-e", f"{variable}={value}"]
    args += [image.tag, "-m", "last9_change_event", "start", "--org", "acme"]
    args += ["--api-url", bridge_fake.url, "--environment", "production"]
    try:
        done = image.engine.run(*args)  # no --rm: podman 4.3's Docker API hides the exit code
    finally:
        image.engine.run("rm", "-f", name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert token not in done.stdout + done.stderr
    [event] = bridge_fake.fake.events()
    assert event["attributes"]["ci_provider"] == "gitlab-ci"
    assert event["attributes"]["deployment_id"] == "4711"
    assert event["attributes"]["repository"] == "acme/shop"
