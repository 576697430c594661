"""The command line: the same action from any shell, tokens from the environment only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from last9_change_event.cli import build_parser
from last9_change_event.inputs import SPECS
from tests.fake_last9 import FakeLast9
from tests.runner import ROOT


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m last9_change_event`` outside any workflow run."""
    process_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "src"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "last9_change_event", *args],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dry_run_needs_no_token_and_prints_the_payload() -> None:
    """`--dry-run` works without tokens and prints the payload as JSON on stdout."""
    done = cli("--org", "acme", "--dry-run", "--attributes", "team=payments", "stop")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "dry-run"
    assert result["payload"]["event_state"] == "stop"
    assert result["payload"]["attributes"] == {"team": "payments"}
    assert "::" not in done.stdout + done.stderr


def test_sends_with_the_refresh_token_from_the_environment(fake: FakeLast9) -> None:
    """`LAST9_REFRESH_TOKEN`, `LAST9_ORG` and `LAST9_API_URL` stand in for the inputs."""
    refresh = fake.mint("refresh", ttl=None)
    done = cli(
        "start",
        "--service-name",
        "shop",
        "--deployment-id",
        "d-1",
        env={"LAST9_REFRESH_TOKEN": refresh, "LAST9_ORG": "acme", "LAST9_API_URL": fake.url},
    )
    assert done.returncode == 0, done.stderr
    [event] = fake.events()
    assert event["attributes"] == {"service_name": "shop", "deployment_id": "d-1"}
    assert json.loads(done.stdout)["status"] == "sent"
    assert refresh not in done.stdout + done.stderr
    assert "access-token" not in json.loads(done.stdout)


def test_error_is_one_plain_line_and_exit_code_1() -> None:
    """A configuration error prints `error: <title>: <message>` and exits 1, no traceback."""
    done = cli("--org", "acme", "--timestamp", "yesterday", "--dry-run")
    assert done.returncode == 1
    assert "error: Last9: invalid timestamp: Input `timestamp`" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_token_fails_unless_fail_on_never() -> None:
    """Without a token a real send is refused; with `--fail-on never` it is skipped."""
    assert cli("--org", "acme").returncode == 1
    done = cli("--org", "acme", "--fail-on", "never")
    assert done.returncode == 0
    assert json.loads(done.stdout)["status"] == "skipped"


def test_flags_mirror_the_inputs() -> None:
    """Every input but the tokens and `auto-stop` has a flag of the same name."""
    flags = {a.dest.replace("_", "-") for a in build_parser()._actions if a.help != "==SUPPRESS=="}
    expected = {s.name for s in SPECS} - {"refresh-token", "access-token", "auto-stop"}
    assert expected <= flags


@pytest.mark.parametrize("flag", ["--refresh-token", "--access-token"], ids=str)
def test_tokens_are_not_accepted_as_flags(flag: str) -> None:
    """Tokens never come from flags, which shells keep in their history."""
    done = cli("--org", "acme", flag, "x.y.z", "--dry-run")
    assert done.returncode == 2
    assert "LAST9_" in done.stderr
    assert "x.y.z" not in done.stderr
