"""The action under a real runner nobody here wrote: nektos/act (see harness.py).

Each scenario is a `release: published` workflow that uses the action from the checkout
(`uses: ./`) as a new user would, with `auto-stop: true`, and checks what the fake Last9 got.
act differs from GitHub's runner where it matters here: it gives a Docker action's post step no
`STATE_*`, so every stop below also proves the state-less rule (edge.process.read_armed).
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import leaks
from tests.act.harness import Act, ActRun, act_binary, podman_api, workflow
from tests.certs import make_tls_files
from tests.container.engine import NoEngine, dockerfile_base, select_engine
from tests.fake_last9 import FakeLast9
from tests.github_run import RELEASE_EVENT

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
EVENT: dict[str, Any] = {
    **RELEASE_EVENT,
    "repository": {"full_name": "acme/shop", "name": "shop", "owner": {"login": "acme"}},
}


@pytest.fixture(scope="module")
def act() -> Iterator[Act]:
    """act and an engine to drive: Docker where it answers, else podman's Docker API."""
    try:
        engine = select_engine()
    except NoEngine as why:
        pytest.skip(f"no container engine: {why}")
    binary = act_binary()
    base = engine.base or dockerfile_base(ROOT)
    if engine.kind == "docker":
        network = "podman" if engine.server.startswith("Podman") else "bridge"
        yield Act(binary, engine, os.environ.get("DOCKER_HOST"), network, base)
        return
    with podman_api(engine) as host:
        yield Act(binary, engine, host, "podman", base)


@pytest.fixture(scope="module")
def tls(act: Act, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    gateway = act.engine.bridge_gateway()
    cert, key = make_tls_files(tmp_path_factory.mktemp("tls"), gateway)
    return gateway, cert, key


@dataclass(frozen=True)
class Last9:
    """A fake Last9 on the bridge's gateway, its URL as the job sees it, its certificate."""

    fake: FakeLast9
    url: str
    ca: Path


@pytest.fixture
def last9(tls: tuple[str, Path, Path]) -> Iterator[Last9]:
    gateway, cert, key = tls
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeLast9(org="acme", host="0.0.0.0", tls=context) as fake:  # noqa: S104 - the bridge
        yield Last9(fake, f"https://{gateway}:{fake.url.rsplit(':', 1)[1]}", cert)


def run(act: Act, last9: Last9, tmp_path: Path, text: str, **kwargs: Any) -> ActRun:
    """The workflow under act, with a refresh token of the fake's as the secret."""
    repo = act.workspace(tmp_path, last9.ca)
    refresh = last9.fake.mint("refresh", scopes=("write",), ttl=None)
    done = act.run(repo, text, EVENT, {"LAST9_REFRESH_TOKEN": refresh}, **kwargs)
    leaks.WATCH.capture(leaks.current_test(), {"act's log": done.log})
    return done


def states(fake: FakeLast9) -> list[tuple[str, str, str | None]]:
    return [
        (e["event_state"], e["attributes"].get("service_name"), e["attributes"].get("outcome"))
        for e in fake.events()
    ]


def test_the_manifest_loads_the_start_has_the_release_and_the_stop_arrives(
    act: Act, last9: Last9, tmp_path: Path
) -> None:
    fake, url = last9.fake, last9.url
    done = run(act, last9, tmp_path, workflow(url, steps="- run: echo deploying\n"))
    assert done.returncode == 0, done.log
    assert ("Success", "Main ./") in done.steps(), done.log
    assert states(fake) == [("start", "shop", None), ("stop", "shop", "success")], done.log
    start, stop = fake.events()
    attributes = start["attributes"]
    assert attributes["release_tag"] == "v1.2.3"
    assert attributes["release_name"] == "Shop 1.2.3"
    assert attributes["repository"] == "acme/shop"
    assert attributes["trigger_event"] == "release"
    assert attributes["deployment_environment"] == attributes["env"] == "production"
    assert stop["attributes"]["deployment_id"] == attributes["deployment_id"]
    assert "duration_seconds" in stop["attributes"]
    assert "passed no saved state" in done.log, "act drops the post step's state"
    assert "Traceback" not in done.log


def test_an_expression_in_a_description_is_refused_by_the_runner(
    act: Act, last9: Last9, tmp_path: Path
) -> None:
    """The manifest as it was: act, like GitHub's runner, refuses to load it."""
    fake, url = last9.fake, last9.url
    manifest = (ROOT / "action.yml").read_text(encoding="utf-8")
    broken = manifest.replace(
        "    description: Attribute `outcome`",
        "    description: Attribute `outcome` e.g. `${{ job.status }}`;",
        1,
    )
    assert broken != manifest
    repo = act.workspace(tmp_path, last9.ca, manifest=broken)
    done = act.run(repo, workflow(url), EVENT, {"LAST9_REFRESH_TOKEN": "unused"})
    assert done.returncode != 0
    assert fake.events() == []
    assert "expressions are not allowed here" in done.log, done.log


def test_a_failing_deploy_step_gets_a_failure_stop(act: Act, last9: Last9, tmp_path: Path) -> None:
    fake, url = last9.fake, last9.url
    done = run(act, last9, tmp_path, workflow(url, steps="- run: exit 3\n"))
    assert done.returncode != 0
    assert states(fake) == [("start", "shop", None), ("stop", "shop", "failure")], done.log


def test_last9_down_the_job_passes_with_a_warning(act: Act, last9: Last9, tmp_path: Path) -> None:
    """Nothing listens at the URL: `fail-on: config` warns; no start landed, so no stop."""
    fake, url = last9.fake, last9.url
    down = url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens there
    text = workflow(down, steps="- run: echo deploying\n", extra="timeout: 5\n")
    done = run(act, last9, tmp_path, text)
    assert done.returncode == 0, done.log
    assert "::warning title=Last9: API unavailable" in done.log.replace("%3A", ":"), done.log
    assert fake.events() == []
    assert "Traceback" not in done.log


def test_two_services_two_starts_two_stops(act: Act, last9: Last9, tmp_path: Path) -> None:
    fake, url = last9.fake, last9.url
    services = "service-name: |\n  api\n  worker\n"
    text = workflow(url, steps="- run: echo deploying\n", extra=services)
    done = run(act, last9, tmp_path, text)
    assert done.returncode == 0, done.log
    assert sorted(states(fake)) == [
        ("start", "api", None),
        ("start", "worker", None),
        ("stop", "api", "success"),
        ("stop", "worker", "success"),
    ], done.log


def test_a_cancelled_job_still_sends_the_stop(act: Act, last9: Last9, tmp_path: Path) -> None:
    """SIGINT to act mid-deploy cancels the job; the post step still runs and stops."""
    fake, url = last9.fake, last9.url
    text = workflow(url, steps="- run: sleep 120\n")
    started = time.monotonic()
    done = run(act, last9, tmp_path, text, cancel_when=lambda: len(fake.events()) >= 1)
    assert done.cancelled
    assert time.monotonic() - started < 120, "the deploy step was not cancelled"
    assert states(fake) == [("start", "shop", None), ("stop", "shop", "cancelled")], done.log


def test_host_mode_file_commands_cost_warnings_not_a_traceback(
    act: Act, last9: Last9, tmp_path: Path
) -> None:
    """act's host mode (a self-hosted act runner) hands the action's container file-command
    paths that do not exist in it: one warning each, the start still sent, the job passes.
    Nothing the step writes reaches the runner there, neither state nor exports, so no post
    step can know it armed a start: the README says to stop with a step of its own there.

    The checkout is bound at its own path there (``github.workspace`` is a copy that is not),
    so the certificate is named by that path.
    """
    ca = str(tmp_path / "repo" / "last9-ca.pem")
    text = workflow(last9.url, steps="- run: echo deploying\n", ca=ca)
    done = run(act, last9, tmp_path, text, host_mode=True)
    assert "Traceback" not in done.log
    assert done.returncode == 0, done.log
    assert states(last9.fake) == [("start", "shop", None)], done.log
    log = done.log.replace("%3A", ":")
    for variable in ("GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"):
        assert f"::warning title=Last9: {variable} not written::" in log, variable
