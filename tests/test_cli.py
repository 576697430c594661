"""The command line sending one event: flags, variables, any CI's context, its words."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from last9_change_event.cli import voice as cli_voice
from last9_change_event.cli.args import send_parser, wrap_parser
from last9_change_event.core.inputs import SPECS, Spec
from tests.cli_process import in_process as cli
from tests.fake_last9 import FakeLast9

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXBhcnQ"
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/shop",
    "CI_PROJECT_NAME": "shop",
    "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
    "CI_COMMIT_BRANCH": "main",
    "CI_PIPELINE_ID": "5550123",
    "CI_PIPELINE_URL": "https://gitlab.example.com/acme/shop/-/pipelines/5550123",
    "CI_ENVIRONMENT_NAME": "production",
}


def _sending(fake: FakeLast9, **more: str) -> dict[str, str]:
    """Variables for a real send to ``fake``."""
    return {
        "LAST9_REFRESH_TOKEN": fake.mint("refresh", ttl=None),
        "LAST9_ORG": "acme",
        "LAST9_API_URL": fake.url,
        **more,
    }


def _json(done: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_dry_run_needs_no_token_and_prints_the_payload(tmp_path: Path) -> None:
    """`--dry-run` works without tokens and prints the payload as JSON on stdout."""
    done = cli("--org", "acme", "--dry-run", "--attribute", "team=payments", "stop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = _json(done)
    assert result["status"] == "dry-run"
    assert result["payload"]["event_state"] == "stop"
    assert result["payload"]["attributes"] == {"team": "payments"}
    assert b"::" not in done.stdout + done.stderr


def test_sends_with_the_variables(fake: FakeLast9, tmp_path: Path) -> None:
    """`LAST9_REFRESH_TOKEN`, `LAST9_ORG` and `LAST9_API_URL` stand in for the inputs."""
    env = _sending(fake)
    done = cli("start", "--service-name", "shop", "--deployment-id", "d-1", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [event] = fake.events()
    assert event["attributes"] == {"service_name": "shop", "deployment_id": "d-1"}
    result = _json(done)
    assert result["status"] == "sent"
    assert not any(name.startswith("access") for name in result)
    assert env["LAST9_REFRESH_TOKEN"].encode() not in done.stdout + done.stderr


def test_repeated_service_names_accumulate(fake: FakeLast9, tmp_path: Path) -> None:
    """`--service-name a --service-name b` sends one event per service, none dropped."""
    done = cli("--service-name", "a", "--service-name", "b", env=_sending(fake), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [e["attributes"]["service_name"] for e in fake.events()] == ["a", "b"]


def test_attributes_accumulate_and_the_flag_wins(tmp_path: Path) -> None:
    """`--attribute` repeats; it overrides `--attributes`; `KEY=` removes an automatic one."""
    done = cli(
        "--org", "acme", "--dry-run", "--deployment-id", "d-1",
        "--attributes", '{"team": "pay", "tier": "1"}',
        "--attribute", "tier=2", "--attribute", "region=eu", "--attribute", "deployment_id=",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _json(done)["payload"]["attributes"] == {"team": "pay", "tier": "2", "region": "eu"}


@pytest.mark.parametrize(
    "args",
    [
        ("--org", "a", "--org", "b"),
        ("--environment", "prod", "--environment", "staging"),
        ("--event-state", "start", "--event-state", "stop"),
        ("--timeout", "5", "--timeout", "10"),
    ],
    ids=["org", "environment", "event-state", "timeout"],
)
def test_single_flags_given_twice_are_refused(args: tuple[str, ...], tmp_path: Path) -> None:
    """A flag that takes one value is refused when given twice, never silently overwritten."""
    done = cli(*args, "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{args[0]} was given twice".encode() in done.stderr
    assert done.stdout == b""


def test_positional_and_flag_state_must_agree(tmp_path: Path) -> None:
    """`stop --event-state start` is a contradiction, refused."""
    done = cli("stop", "--event-state", "start", "--org", "acme", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert b"disagree" in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--auto-stop", "true"), b"wrap"),
        (("--auto-stop",), b"wrap"),
        (("--refresh-token", JWT_LIKE), b"LAST9_REFRESH_TOKEN"),
        ((f"--access-token={JWT_LIKE}",), b"LAST9_ACCESS_TOKEN"),
    ],
    ids=["auto-stop-value", "auto-stop-bare", "refresh-token", "access-token"],
)
def test_action_only_inputs_are_explained(
    args: tuple[str, ...], says: bytes, tmp_path: Path
) -> None:
    """The action's inputs that are not flags say what to do instead, not "invalid choice"."""
    done = cli("--org", "acme", *args, "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert says in done.stderr
    assert b"invalid choice" not in done.stderr
    assert JWT_LIKE.encode() not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--refresh-tokn", JWT_LIKE),
        (f"--refresh-tokn={JWT_LIKE}",),
        (JWT_LIKE,),
        ("stop", JWT_LIKE),
        ("--ci-attributes", JWT_LIKE),
        ("--output", JWT_LIKE),
        ("wrap", "--org", JWT_LIKE[:20], "--nope", JWT_LIKE, "--", "true"),
    ],
    ids=[
        "misspelt-flag",
        "misspelt-flag-equals",
        "positional",
        "extra",
        "boolean",
        "choice",
        "wrap",
    ],
)
def test_argument_errors_never_echo_a_token(args: tuple[str, ...], tmp_path: Path) -> None:
    """Argument errors name the flag, never a value shaped like a token."""
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2 or args[0] == "wrap"
    assert b"error" in done.stderr
    assert b"eyJ" not in done.stderr + done.stdout
    assert b"Traceback" not in done.stderr


def test_a_misspelt_flag_gets_a_suggestion(tmp_path: Path) -> None:
    """An unknown flag is named with the closest real one."""
    done = cli("--servce-name", "shop", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert b"unknown flag --servce-name; did you mean --service-name?" in done.stderr


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--org", "acme", "--timestamp", "yesterday", "--dry-run"), ["invalid --timestamp"]),
        (("--dry-run",), ["missing --org", "`--org` (LAST9_ORG)"]),
        (("--org", "acme", "--api-url", "http://example.com", "--dry-run"), ["invalid --api-url"]),
        (("--org", "acme", "--fail-on", "sometimes", "--dry-run"), ["`--fail-on`"]),
        (
            ("--org", "acme", "--ci-attributes", "true", "--timeout", "0", "--dry-run"),
            ["`--timeout`"],
        ),
        (("--org", "acme"), ["LAST9_REFRESH_TOKEN", "`--fail-on never`"]),
        (("--org", "acme", "--attributes", "{nope", "--dry-run"), ["invalid --attributes"]),
    ],
    ids=["timestamp", "org", "api-url", "fail-on", "timeout", "no-token", "attributes"],
)
def test_errors_name_flags_and_variables_never_yaml(
    args: tuple[str, ...], names: list[str], tmp_path: Path
) -> None:
    """A configuration error names the flag or the variable, and never speaks workflow YAML."""
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 1
    text = done.stderr.decode()
    assert text.startswith("error: Last9: ")
    for name in names:
        assert name in text
    assert "${{" not in text
    assert "Input `" not in text
    assert "`fail-on:" not in text
    assert "Traceback" not in text


def test_no_token_with_fail_on_never_is_skipped(tmp_path: Path) -> None:
    """Without a token and with `--fail-on never`: a warning in CLI words, exit 0, skipped."""
    done = cli("--org", "acme", "--fail-on", "never", cwd=tmp_path)
    assert done.returncode == 0
    assert _json(done)["status"] == "skipped"
    assert b"warning: Last9: no token: Neither LAST9_REFRESH_TOKEN" in done.stderr
    assert b"`--fail-on never`)" in done.stderr


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_the_voice_spells_each_input_as_a_flag_or_a_variable(spec: Spec) -> None:
    """The command line names every input by its flag or variable, never by its input name."""
    spoken = cli_voice.CLI.name(spec.name) + cli_voice.CLI.setting(spec.name, "x")
    assert f"`{spec.name}`" not in spoken
    assert f"`{spec.name}:" not in spoken
    assert (spec.flag or spec.row.env or f"--{spec.name}") in spoken


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings or a.dest == "state"]


@pytest.mark.parametrize("parser", [send_parser(), wrap_parser()], ids=["send", "wrap"])
def test_every_flag_has_help(parser: argparse.ArgumentParser) -> None:
    """Every flag and positional explains itself in `--help`."""
    for action in _actions(parser):
        assert action.help, action.option_strings
        assert action.help != argparse.SUPPRESS


def test_flags_mirror_the_inputs() -> None:
    """Every input has a flag, or is explained (tokens, auto-stop) when used as one."""
    flags = {s for a in _actions(send_parser()) for s in a.option_strings}
    for spec in SPECS:
        assert (spec.flag or f"--{spec.name}") in flags


@pytest.mark.parametrize(
    "needle",
    [
        "GitLab CI", "Jenkins", "Buildkite", "CircleCI", "Azure Pipelines",
        "Bitbucket Pipelines", "GitHub Actions (a run: step", "plain shell",
        "LAST9_REFRESH_TOKEN", "LAST9_ACCESS_TOKEN", "LAST9_ORG", "LAST9_API_URL",
        "LAST9_DEPLOYMENT_STARTED_AT",
    ],
    ids=lambda needle: needle.split()[0],
)  # fmt: skip
def test_help_lists_variables_and_one_example_per_ci(needle: str, tmp_path: Path) -> None:
    """`--help` lists the environment variables and shows an example for each CI."""
    done = cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert needle.encode() in done.stdout


def test_wrap_help_says_what_fail_on_means_there(tmp_path: Path) -> None:
    """`wrap --help` says that `--fail-on` governs the events only."""
    done = cli("wrap", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert b"governs the events only" in done.stdout.replace(b"\n", b" ").replace(b"  ", b" ")


def test_text_output_feeds_the_stop(fake: FakeLast9, tmp_path: Path) -> None:
    """`--output text` prints NAME=value lines; given to a stop, they pair it with its start."""
    env = _sending(fake, **GITLAB)
    start = cli("start", "--output", "text", "--timestamp", "2024-01-15T12:00:00Z", env=env)
    assert start.returncode == 0, start.stderr
    lines = dict(line.split("=", 1) for line in start.stdout.decode().splitlines())
    assert lines["LAST9_STATUS"] == "sent"
    assert lines["LAST9_DEPLOYMENT_ID"] == "5550123"
    assert lines["LAST9_DEPLOYMENT_STARTED_AT"] == "1705320000"
    stop = cli("stop", "--timestamp", "2024-01-15T12:01:30Z", env={**env, **lines}, cwd=tmp_path)
    assert stop.returncode == 0, stop.stderr
    started, stopped = fake.events()
    assert started["attributes"]["deployment_id"] == stopped["attributes"]["deployment_id"]
    assert stopped["attributes"]["duration_seconds"] == "90"


@pytest.mark.parametrize(
    "started_at", ["1705320000", "2024-01-15T12:00:00+00:00"], ids=["epoch", "rfc3339"]
)
def test_started_at_gives_the_stop_its_duration(started_at: str, tmp_path: Path) -> None:
    """`--started-at` (what the start's JSON carries as `started-at`) gives `duration_seconds`."""
    done = cli(
        "stop", "--org", "acme", "--dry-run", "--started-at", started_at,
        "--timestamp", "2024-01-15T12:02:00Z", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _json(done)["payload"]["attributes"]["duration_seconds"] == "120"


def test_a_start_carries_started_at(tmp_path: Path) -> None:
    """A start's JSON result holds `started-at`, seconds since the epoch."""
    done = cli("--org", "acme", "--dry-run", "--timestamp", "2024-01-15T12:00:00Z", cwd=tmp_path)
    assert _json(done)["started-at"] == "1705320000"


def test_gitlab_start_and_stop_share_the_pipeline_id(fake: FakeLast9, tmp_path: Path) -> None:
    """In GitLab, two separate commands share the deployment id: the pipeline's."""
    env = _sending(fake, **GITLAB)
    for state in ("start", "stop"):
        assert cli(state, env=env, cwd=tmp_path).returncode == 0
    started, stopped = fake.events()
    for event in (started, stopped):
        assert event["attributes"]["deployment_id"] == "5550123"
        assert event["attributes"]["ci_provider"] == "gitlab-ci"
        assert event["attributes"]["deployment_environment"] == "production"
        assert event["attributes"]["service_name"] == "shop"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_outside_any_ci_the_git_checkout_is_read(tmp_path: Path) -> None:
    """Outside a CI, the checkout gives repository, commit and branch; no credentials."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: S607

    git("init", "-q", "-b", "main")
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    git("remote", "add", "origin", "https://user:secret-value@github.com/acme/shop.git")
    done = cli("--org", "acme", "--dry-run", cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    attributes = _json(done)["payload"]["attributes"]
    assert attributes["repository"] == "acme/shop"
    assert attributes["service_name"] == "shop"
    assert attributes["git_ref_name"] == "main"
    assert attributes["ci_provider"] == "git"
    assert b"secret-value" not in done.stdout + done.stderr


def _github(tmp_path: Path, event_name: str, event: dict[str, Any]) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_JOB": "mark",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(path),
    }


def _status_event(state: str) -> dict[str, Any]:
    return {
        "deployment": {"id": 4242, "environment": "production", "ref": "main"},
        "deployment_status": {"state": state},
    }


@pytest.mark.parametrize(
    ("state", "event_state", "outcome"),
    [
        ("in_progress", "start", None),
        ("success", "stop", "success"),
        ("failure", "stop", "failure"),
    ],
    ids=["in_progress", "success", "failure"],
)
def test_auto_follows_the_deployment_status(
    state: str, event_state: str, outcome: str | None, tmp_path: Path
) -> None:
    """`--event-state auto` maps a `deployment_status` to start or stop, paired by deployment."""
    env = _github(tmp_path, "deployment_status", _status_event(state))
    done = cli("--event-state", "auto", "--org", "acme", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = _json(done)["payload"]
    assert payload["event_state"] == event_state
    assert payload["attributes"].get("outcome") == outcome
    assert payload["attributes"]["deployment_id"] == "github-deployment-4242"
    assert payload["attributes"]["deployment_environment"] == "production"


def test_auto_sends_nothing_for_a_waiting_deployment(tmp_path: Path) -> None:
    """A `pending` deployment is neither start nor stop: skipped, exit 0."""
    env = _github(tmp_path, "deployment_status", _status_event("pending"))
    done = cli("auto", "--org", "acme", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"status=skipped" not in done.stdout
    assert b'"status": "skipped"' in done.stdout


def test_auto_outside_a_deployment_status_is_an_error(tmp_path: Path) -> None:
    """`auto` without a `deployment_status` event is a configuration error naming the flag."""
    done = cli("auto", "--org", "acme", "--dry-run", cwd=tmp_path)
    assert done.returncode == 1
    assert b"`--event-state`" in done.stderr


@pytest.mark.parametrize("asked", [True, False], ids=["asked", "not-asked"])
def test_workflow_dispatch_inputs_only_when_asked(asked: bool, tmp_path: Path) -> None:
    """A `workflow_dispatch` run's inputs become `input_*` attributes only with the flag."""
    env = _github(tmp_path, "workflow_dispatch", {"inputs": {"version": "1.2.3"}})
    flags = ["--workflow-dispatch-inputs"] if asked else []
    done = cli("--org", "acme", "--dry-run", *flags, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _json(done)["payload"]["attributes"].get("input_version") == ("1.2.3" if asked else None)


def test_in_a_github_run_step_it_speaks_workflow_commands(tmp_path: Path) -> None:
    """In a `run:` step, errors are `::error` annotations naming flags, and outputs are written."""
    output = tmp_path / "output"
    output.touch()
    env = {**_github(tmp_path, "push", {}), "GITHUB_OUTPUT": str(output)}
    done = cli("--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert (
        b"::error title=Last9%3A missing --org::The Last9 organization slug is required. "
        b"Set `--org` (LAST9_ORG)" in done.stderr
    )
    assert _json(done) == {"status": "failed"}
    assert "status" in output.read_text(encoding="utf-8")


def test_the_command_line_never_imports_actions_toolkit(tmp_path: Path) -> None:
    """With an actions_toolkit that cannot be imported, the command line still works."""
    poisoned = tmp_path / "poison" / "actions_toolkit"
    poisoned.mkdir(parents=True)
    (poisoned / "__init__.py").write_text("raise ImportError('not for the CLI')\n")
    src = Path(__file__).resolve().parent.parent / "src"
    env = {"PYTHONPATH": f"{src}:{poisoned.parent}"}
    done = cli("--org", "acme", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_crash_shows_no_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unexpected exception prints its traceback without anything shaped like a token."""
    from last9_change_event.cli import command as cli  # noqa: PLC0415 - the module under test, patched

    def boom(*_: object) -> None:
        raise RuntimeError(f"bad value {JWT_LIKE} and secret-refresh-value")

    monkeypatch.setattr(cli, "_send", boom)
    code = cli.main(["--org", "acme"], env={"LAST9_REFRESH_TOKEN": "secret-refresh-value"})
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err
    assert "RuntimeError" in err
    assert "eyJ" not in err
    assert "secret-refresh-value" not in err


def test_in_a_workflow_the_result_cannot_act_as_a_workflow_command(tmp_path: Path) -> None:
    """Under GITHUB_ACTIONS the JSON result holding `::` is printed with commands stopped."""
    env = _github(tmp_path, "release", {})
    done = cli(
        "--org", "acme", "--dry-run", "--event-name", "deploy ##[set-output name=status;]sent",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].startswith("::stop-commands::")
    assert lines[-1] == f"::{lines[0].split('::')[2]}::"


# -- what a new user sees ---------------------------------------------------------------------


def test_a_missing_org_is_called_missing_and_said_once(tmp_path: Path) -> None:
    """No `--org`: the title says it is missing (not invalid), and the flag is named once."""
    done = cli("--dry-run", cwd=tmp_path)
    text = done.stderr.decode()
    assert done.returncode == 1
    assert text.startswith("error: Last9: missing --org: The Last9 organization slug")
    assert "invalid" not in text
    assert text.count("`--org` (LAST9_ORG)") == 1


def test_a_zero_timeout_says_what_is_accepted_in_command_words(tmp_path: Path) -> None:
    """`--timeout 0`: the accepted range, without contradiction, about the command."""
    done = cli("--org", "acme", "--timeout", "0", "--dry-run", cwd=tmp_path)
    text = done.stderr.decode()
    assert done.returncode == 1
    assert '"0" is not a number of seconds above 0 and at most 3600.' in text
    assert "the command may spend" in text
    assert "`--timeout 60`" in text
    assert "between 0" not in text
    assert "step" not in text


def test_an_unknown_state_shows_its_harmless_value(tmp_path: Path) -> None:
    """A mistyped state is shown (it is no secret); a token-shaped one is not."""
    done = cli("strat", "--org", "acme", "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert b'"strat" is not start, stop or auto' in done.stderr
    assert b"not shown" not in done.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--org", "acme", "--nope"), 2),
        (("--org", "acme", "--output", "xml"), 2),
        (("--org", "acme", "--fail-on", "sometimes", "--dry-run"), 1),
        (("--dry-run",), 1),
    ],
    ids=["unknown-flag", "bad-choice", "bad-value", "missing-value"],
)
def test_argument_and_input_errors_look_alike(
    args: tuple[str, ...], code: int, tmp_path: Path
) -> None:
    """Argparse's errors and the inputs' read `error: Last9: <what>: ...`; 2 means bad
    arguments (nothing tried), 1 a failure by `--fail-on`."""
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == code
    assert done.stderr.decode().startswith("error: Last9: ")
    assert b"usage:" not in done.stderr
    assert b"last9-change-event: error" not in done.stderr


def test_help_gives_the_exit_codes(tmp_path: Path) -> None:
    """`--help` says what 0, 1 and 2 mean, and `wrap --help` that the code is COMMAND's."""
    send = " ".join(cli("--help", cwd=tmp_path).stdout.decode().split())
    wrap = " ".join(cli("wrap", "--help", cwd=tmp_path).stdout.decode().split())
    assert "exit status: 0 when the event was sent" in send
    assert "2 when the arguments are wrong" in send
    assert "exit status: COMMAND's own" in wrap


def test_wrap_help_words_fail_on_plainly(tmp_path: Path) -> None:
    """`wrap --help` says what `--fail-on` does in one plain sentence."""
    text = " ".join(cli("wrap", "--help", cwd=tmp_path).stdout.decode().split())
    assert "--fail-on any|config|never which failures are errors" in text
    assert "which failures to send" not in text


def test_the_stop_example_sends_the_outcome_wrap_sends(tmp_path: Path) -> None:
    """The start/stop example passes `success` or `failure`, never an exit status."""
    text = cli("--help", cwd=tmp_path).stdout.decode()
    assert '--outcome "$?"' not in text
    assert "then outcome=success; else outcome=failure; fi" in text
    assert '--outcome "$outcome"' in text


@pytest.mark.parametrize("state", ["start", "stop", "auto"])
def test_a_state_has_its_own_help(state: str, tmp_path: Path) -> None:
    """`start --help` is the help of `start`, not the top-level one."""
    done = cli(state, "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.decode().startswith(f"usage: last9-change-event {state} [flags]")
    assert b"start|stop|auto  the event state" not in done.stdout
