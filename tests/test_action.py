"""The action as the runner runs it: entrypoint.py in a subprocess against the fake Last9."""

from __future__ import annotations

import json
import time
from datetime import datetime

import jwt
import pytest

from tests.fake_last9 import FakeLast9, Fault
from tests.runner import Job, step_inputs


def test_start_event_is_sent_with_the_documented_body(fake: FakeLast9, job: Job) -> None:
    """A start step exchanges the refresh token once and PUTs the event Last9 documents."""
    result = job.run(step_inputs(fake))
    assert result.returncode == 0, result.log
    assert fake.exchanges() == 1
    [event] = fake.events()
    assert set(event) == {"timestamp", "event_name", "event_state", "attributes"}
    assert event["event_name"] == "deployment"
    assert event["event_state"] == "start"
    assert datetime.fromisoformat(event["timestamp"]).utcoffset() is not None
    put = next(r for r in fake.received if r.method == "PUT")
    assert put.path == "/api/v4/organizations/acme/change_events"
    assert put.headers["content-type"] == "application/json"
    assert put.headers["x-last9-api-token"].startswith("Bearer ")
    assert put.headers["user-agent"].startswith("last9-change-event/")
    assert result.outputs["status"] == "sent"
    assert json.loads(result.outputs["payload"]) == event
    assert result.outputs["timestamp"] == event["timestamp"]


def test_github_context_becomes_attributes(fake: FakeLast9, job: Job) -> None:
    """Repository, commit, ref, run, actor and the release come from the runner's context."""
    job.run(step_inputs(fake))
    attributes = fake.events()[0]["attributes"]
    assert attributes == {
        "repository": "acme/shop",
        "commit_sha": "0123456789abcdef0123456789abcdef01234567",
        "git_ref": "refs/tags/v1.2.3",
        "git_ref_name": "v1.2.3",
        "workflow": "Release",
        "job": "deploy",
        "run_id": "987654321",
        "run_number": "42",
        "run_attempt": "1",
        "actor": "octocat",
        "trigger_event": "release",
        "run_url": "https://github.com/acme/shop/actions/runs/987654321/attempts/1",
        "release_tag": "v1.2.3",
        "release_name": "Shop 1.2.3",
        "release_url": "https://github.com/acme/shop/releases/tag/v1.2.3",
        "tag": "v1.2.3",
        "ci_provider": "github-actions",
        "service_name": "shop",
        "deployment_environment": "production",
        "env": "production",
        "deployment_id": "987654321-1-deploy",
    }


def test_a_push_sends_the_first_line_of_its_commit_message(fake: FakeLast9, job: Job) -> None:
    """On a push, `commit_message` is the head commit's first line; `attributes` may remove it."""
    job.env.update({"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"})
    job.event = {"head_commit": {"message": "Fix the checkout (#42)\n\nCo-authored-by: A <a@b>"}}
    job.run(step_inputs(fake))
    job.run(step_inputs(fake, attributes="commit_message="))
    first, removed = (event["attributes"] for event in fake.events())
    assert first["commit_message"] == "Fix the checkout (#42)"
    assert "commit_message" not in removed


def test_github_enterprise_run_url_uses_the_server_url(fake: FakeLast9, job: Job) -> None:
    """The run URL is built from GITHUB_SERVER_URL, so GitHub Enterprise links work."""
    job.env["GITHUB_SERVER_URL"] = "https://github.example.com"
    job.run(step_inputs(fake))
    run_url = fake.events()[0]["attributes"]["run_url"]
    assert run_url.startswith("https://github.example.com/acme/shop/actions/runs/987654321")


def test_user_attributes_override_and_remove_automatic_ones(fake: FakeLast9, job: Job) -> None:
    """`attributes` wins over automatic attributes; null removes one; keys become label-safe."""
    attributes = json.dumps({"actor": None, "service_name": "api", "team.name": "payments"})
    job.run(step_inputs(fake, attributes=attributes))
    sent = fake.events()[0]["attributes"]
    assert "actor" not in sent
    assert sent["service_name"] == "api"
    assert sent["team_name"] == "payments"


def test_key_value_lines_are_accepted(fake: FakeLast9, job: Job) -> None:
    """`attributes` may be key=value lines."""
    job.run(step_inputs(fake, attributes="team=payments\n# a comment\nregion = eu-west-1\n"))
    sent = fake.events()[0]["attributes"]
    assert sent["team"] == "payments"
    assert sent["region"] == "eu-west-1"


def test_github_attributes_off_sends_only_given_ones(fake: FakeLast9, job: Job) -> None:
    """`github-attributes: false` leaves the context out, and the service name with it."""
    job.run(step_inputs(fake, github_attributes="false", attributes="team=payments"))
    assert fake.events()[0]["attributes"] == {
        "team": "payments",
        "deployment_environment": "production",
        "env": "production",
        "deployment_id": "987654321-1-deploy",
    }


def test_missing_event_file_degrades_to_env_attributes(fake: FakeLast9, job: Job) -> None:
    """An unreadable event payload is not an error: the release attributes are just absent."""
    job.event = None
    job.env["GITHUB_EVENT_PATH"] = "/nonexistent/event.json"
    result = job.run(step_inputs(fake))
    assert result.returncode == 0, result.log
    assert "release_tag" not in fake.events()[0]["attributes"]


def test_deployment_event_gives_the_environment(fake: FakeLast9, job: Job) -> None:
    """On a `deployment` event the environment comes from the payload when not given."""
    job.env["GITHUB_EVENT_NAME"] = "deployment"
    job.event = {"deployment": {"environment": "staging", "ref": "main"}}
    inputs = step_inputs(fake)
    del inputs["environment"]
    job.run(inputs)
    sent = fake.events()[0]["attributes"]
    assert sent["deployment_environment"] == sent["env"] == "staging"
    assert sent["deployment_ref"] == "main"


@pytest.mark.parametrize(
    ("attributes", "kept"),
    [
        ("env=", "deployment_environment"),
        ('{"deployment_environment": null}', "env"),
    ],
    ids=["env-line", "deployment_environment-json"],
)
def test_either_environment_key_can_be_removed(
    fake: FakeLast9, job: Job, attributes: str, kept: str
) -> None:
    """Both environment keys go out by default; `attributes` removes either, as any other."""
    job.run(step_inputs(fake, attributes=attributes))
    sent = fake.events()[0]["attributes"]
    assert [key for key in ("deployment_environment", "env") if key in sent] == [kept]
    assert sent[kept] == "production"


def test_event_name_data_source_and_timestamp_are_sent(fake: FakeLast9, job: Job) -> None:
    """`event-name`, `data-source` and `timestamp` go into the body as given."""
    job.run(
        step_inputs(
            fake,
            event_name="release-rollout",
            data_source="prod-cluster",
            timestamp="2024-01-15T17:57:22+05:30",
        )
    )
    [event] = fake.events()
    assert event["event_name"] == "release-rollout"
    assert event["data_source_name"] == "prod-cluster"
    assert event["timestamp"] == "2024-01-15T17:57:22+05:30"


def test_valid_access_token_is_used_without_exchange(fake: FakeLast9, job: Job) -> None:
    """An access token valid for more than 60 s is used as is: one request, no exchange."""
    access = fake.mint("access", ttl=3600)
    result = job.run(step_inputs(fake, access_token=access))
    assert result.returncode == 0, result.log
    assert fake.exchanges() == 0
    assert len(fake.received) == 1
    assert result.outputs["access-token"] == access


@pytest.mark.parametrize(
    "access",
    [
        pytest.param(lambda f: f.mint("access", ttl=30), id="expires-within-60s"),
        pytest.param(lambda f: f.mint("access", exp=int(time.time()) - 10), id="expired"),
        pytest.param(lambda _fake: "not-a-jwt", id="malformed"),
    ],
)
def test_unusable_access_token_is_exchanged(fake: FakeLast9, job: Job, access: object) -> None:
    """An absent, malformed or nearly expired access token means one exchange."""
    token = access(fake)  # type: ignore[operator]
    result = job.run(step_inputs(fake, access_token=token))
    assert result.returncode == 0, result.log
    assert fake.exchanges() == 1
    assert result.outputs["access-token"] != token
    assert len(fake.events()) == 1


def test_exchange_and_event_share_one_connection(fake: FakeLast9, job: Job) -> None:
    """Refresh and event go over one HTTP session: two requests, one connection."""
    job.run(step_inputs(fake))
    assert len(fake.received) == 2
    assert fake.connections() == 1


def test_outputs_describe_the_token_and_deployment(fake: FakeLast9, job: Job) -> None:
    """The access token (masked), its expiry, the deployment id are outputs."""
    result = job.run(step_inputs(fake))
    token = result.outputs["access-token"]
    assert f"::add-mask::{token}" in result.stdout
    claims = jwt.decode(token, fake.key, algorithms=["HS256"], options={"verify_aud": False})
    expires = datetime.fromisoformat(result.outputs["access-token-expires-at"])
    assert int(expires.timestamp()) == claims["exp"]
    assert result.outputs["deployment-id"] == "987654321-1-deploy"


def test_step_summary_is_a_markdown_table(fake: FakeLast9, job: Job) -> None:
    """The step summary shows the status and the attributes that were sent."""
    result = job.run(step_inputs(fake))
    assert result.summary.startswith("### Last9 change event: sent")
    assert "| `service_name` | shop |" in result.summary


def test_dry_run_sends_nothing_and_outputs_the_payload(fake: FakeLast9, job: Job) -> None:
    """`dry-run` validates, prints and outputs the payload, and makes no request."""
    result = job.run(step_inputs(fake, dry_run="true"))
    assert result.returncode == 0, result.log
    assert fake.received == []
    assert result.outputs["status"] == "dry-run"
    assert json.loads(result.outputs["payload"])["event_state"] == "start"
    assert '"event_name": "deployment"' in result.stdout


def test_dry_run_needs_no_token(job: Job) -> None:
    """A dry run with no token at all still validates and prints the payload."""
    result = job.run({"org": "acme", "dry-run": "true"})
    assert result.returncode == 0, result.log
    assert result.outputs["status"] == "dry-run"


def test_dry_run_still_checks_the_tokens(fake: FakeLast9, job: Job) -> None:
    """A dry run rejects an expired refresh token like a real run would."""
    expired = fake.mint("refresh", exp=int(time.time()) - 5)
    result = job.run(step_inputs(fake, refresh_token=expired, dry_run="true"))
    assert result.returncode == 1
    assert result.titles() == ["Last9: refresh token expired"]


def test_runs_without_action_yml_defaults(fake: FakeLast9, job: Job) -> None:
    """Run directly (no defaults merged by a runner), the code applies the same defaults."""
    job.merge_defaults = False
    result = job.run(step_inputs(fake))
    assert result.returncode == 0, result.log
    assert fake.events()[0]["event_name"] == "deployment"


def test_several_services_one_exchange_one_connection(fake: FakeLast9, job: Job) -> None:
    """`service-name` lines send one event per service, sharing id, token and connection."""
    result = job.run(step_inputs(fake, service_name="api\nworker\n\napi"))
    assert result.returncode == 0, result.log
    services = [event["attributes"]["service_name"] for event in fake.events()]
    assert services == ["api", "worker"]
    assert {event["attributes"]["deployment_id"] for event in fake.events()} == {
        "987654321-1-deploy"
    }
    assert fake.exchanges() == 1
    assert fake.connections() == 1
    assert [p["attributes"]["service_name"] for p in json.loads(result.outputs["payload"])] == [
        "api",
        "worker",
    ]


def test_401_expired_for_a_valid_looking_token_refreshes_once(fake: FakeLast9, job: Job) -> None:
    """A 401 `Authorization token is expired` means one refresh and one retry."""
    fake.script("event", Fault(status=401, body={"error": "Authorization token is expired"}))
    result = job.run(step_inputs(fake, access_token=fake.mint("access", ttl=3600)))
    assert result.returncode == 0, result.log
    assert fake.exchanges() == 1
    assert len(fake.events()) == 1


def test_repeated_401_never_loops(fake: FakeLast9, job: Job) -> None:
    """A second 401 fails the step: at most one refresh, never a loop."""
    expired = Fault(status=401, body={"error": "Authorization token is expired"})
    fake.script("event", expired, expired, expired)
    result = job.run(step_inputs(fake))
    assert result.returncode == 1
    assert fake.exchanges() == 2
    assert len([r for r in fake.received if r.method == "PUT"]) == 2
    [(title, message)] = result.annotations("error")
    assert title == "Last9: access token rejected"
    assert "freshly exchanged token too" in message


def test_retries_a_5xx_with_the_same_body(fake: FakeLast9, job: Job) -> None:
    """A 503 is retried, and the retry sends the very same body (same timestamp)."""
    fake.script("event", Fault(status=503, headers={"Retry-After": "0"}))
    result = job.run(step_inputs(fake))
    assert result.returncode == 0, result.log
    puts = [r.body for r in fake.received if r.method == "PUT"]
    assert len(puts) == 2
    assert puts[0] == puts[1]


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        ({"event_state": "begin"}, "Last9: invalid event-state"),
        ({"timestamp": "yesterday"}, "Last9: invalid timestamp"),
        ({"attributes": "{oops"}, "Last9: invalid attributes"),
        ({"api_url": "http://app.last9.io"}, "Last9: invalid api-url"),
        ({"org": "../admin"}, "Last9: invalid org"),
        ({"timeout": "forever"}, "Last9: invalid timeout"),
        ({"fail_on": "maybe"}, "Last9: invalid fail-on"),
    ],
    ids=["event-state", "timestamp", "attributes", "api-url", "org", "timeout", "fail-on"],
)
def test_invalid_input_fails_before_sending(
    fake: FakeLast9, job: Job, overrides: dict[str, str], title: str
) -> None:
    """A bad input is one ::error naming the input; nothing is sent; no traceback."""
    result = job.run(step_inputs(fake, **overrides))
    assert result.returncode == 1
    assert result.titles() == [title]
    assert fake.received == []
    assert "Traceback" not in result.log
    assert result.outputs["status"] == "failed"
    assert title in result.summary


def test_missing_token_explains_forks_and_dependabot(fake: FakeLast9, job: Job) -> None:
    """An empty token input (fork PRs, Dependabot) fails with a message that says so."""
    result = job.run({"org": "acme", "api-url": fake.url, "refresh-token": ""})
    assert result.returncode == 1
    [(title, message)] = result.annotations("error")
    assert title == "Last9: no token"
    assert "fork" in message
    assert "Dependabot" in message
    assert fake.received == []


def test_missing_token_with_fail_on_never_is_skipped(fake: FakeLast9, job: Job) -> None:
    """With `fail-on: never`, a run without secrets warns and reports `skipped`."""
    result = job.run({"org": "acme", "api-url": fake.url, "fail-on": "never"})
    assert result.returncode == 0
    assert result.titles("warning") == ["Last9: no token"]
    assert result.outputs["status"] == "skipped"


@pytest.mark.parametrize(
    ("token", "title"),
    [
        (lambda f: f.mint("refresh", scopes=("read",), ttl=None), "Last9: token lacks write scope"),
        (lambda f: f.mint("refresh", exp=int(time.time()) - 1), "Last9: refresh token expired"),
        (lambda _fake: "definitely-not-a-jwt", "Last9: invalid refresh-token"),
    ],
    ids=["read-scope", "expired", "not-a-jwt"],
)
def test_bad_refresh_token_fails_before_any_call(
    fake: FakeLast9, job: Job, token: object, title: str
) -> None:
    """Read scope, an expired or a malformed refresh token is caught locally: no request."""
    result = job.run(step_inputs(fake, refresh_token=token(fake)))  # type: ignore[operator]
    assert result.returncode == 1
    assert result.titles() == [title]
    assert fake.received == []


def test_read_scope_access_token_fails_before_any_call(fake: FakeLast9, job: Job) -> None:
    """A read-scope access token is a configuration error, not a reason to exchange."""
    access = fake.mint("access", scopes=("read",))
    result = job.run(step_inputs(fake, access_token=access))
    assert result.titles() == ["Last9: token lacks write scope"]
    assert fake.received == []


@pytest.mark.parametrize(
    ("fail_on", "code", "kind"),
    [("any", 1, "error"), ("config", 1, "error"), ("never", 0, "warning")],
    ids=["any", "config", "never"],
)
def test_revoked_refresh_token_follows_the_policy(
    fake: FakeLast9, job: Job, fail_on: str, code: int, kind: str
) -> None:
    """A revoked refresh token is a configuration error: fails unless `fail-on: never`."""
    revoked = fake.mint("refresh", ttl=None)
    fake.revoke(revoked)
    result = job.run(step_inputs(fake, refresh_token=revoked, fail_on=fail_on))
    assert result.returncode == code
    assert result.titles(kind) == ["Last9: refresh token rejected"]
    assert result.outputs["status"] == "failed"
    assert fake.events() == []


@pytest.mark.parametrize(
    ("fail_on", "code", "kind"),
    [("any", 1, "error"), ("config", 0, "warning"), ("never", 0, "warning")],
    ids=["any", "config", "never"],
)
def test_outage_follows_the_policy(
    fake: FakeLast9, job: Job, fail_on: str, code: int, kind: str
) -> None:
    """Last9 down until the timeout: fails only with `fail-on: any`, else warns."""
    down = Fault(status=503, headers={"Retry-After": "0"})
    fake.script("exchange", *[down] * 5)
    result = job.run(step_inputs(fake, fail_on=fail_on, timeout="5"))
    assert result.returncode == code
    assert result.titles(kind) == ["Last9: API unavailable"]
    assert result.outputs["status"] == "failed"
    assert fake.exchanges() == 5


def _deployment_status(job: Job, state: str) -> None:
    """Make ``job`` a run triggered by a `deployment_status` of deployment 4242."""
    job.env["GITHUB_EVENT_NAME"] = "deployment_status"
    job.event = {
        "deployment_status": {"state": state, "environment": "production"},
        "deployment": {"id": 4242, "environment": "production", "ref": "v1.2.3"},
    }


@pytest.mark.parametrize(
    ("state", "event_state", "outcome"),
    [("in_progress", "start", None), ("success", "stop", "success"), ("error", "stop", "error")],
)
def test_event_state_auto_follows_the_deployment_status(
    fake: FakeLast9, job: Job, state: str, event_state: str, outcome: str | None
) -> None:
    """`event-state: auto` sends what the deployment status means, paired by deployment id."""
    _deployment_status(job, state)
    result = job.run(step_inputs(fake, event_state="auto"))
    assert result.outputs["status"] == "sent", result.log
    [event] = fake.events()
    assert event["event_state"] == event_state
    assert event["attributes"].get("outcome") == outcome
    assert event["attributes"]["deployment_id"] == "github-deployment-4242"


def test_event_state_auto_skips_a_waiting_deployment(fake: FakeLast9, job: Job) -> None:
    """A `pending` deployment is neither start nor stop: nothing is sent, `status: skipped`."""
    _deployment_status(job, "pending")
    result = job.run(step_inputs(fake, event_state="auto"))
    assert result.returncode == 0
    assert result.outputs == {"status": "skipped"}
    assert fake.received == []


def test_event_state_auto_needs_a_deployment_status(fake: FakeLast9, job: Job) -> None:
    """`auto` on any other event is a configuration error naming the input."""
    result = job.run(step_inputs(fake, event_state="auto"))
    assert result.titles() == ["Last9: invalid event-state"]
    assert fake.received == []


@pytest.mark.parametrize("asked", ["true", "false"])
def test_workflow_dispatch_inputs_only_when_asked(fake: FakeLast9, job: Job, asked: str) -> None:
    """A manual run's inputs become `input_<name>` attributes only with the input set."""
    job.env["GITHUB_EVENT_NAME"] = "workflow_dispatch"
    job.event = {"inputs": {"version": "1.2.3", "dry": True}}
    job.run(step_inputs(fake, workflow_dispatch_inputs=asked))
    attributes = fake.events()[0]["attributes"]
    if asked == "true":
        assert (attributes["input_version"], attributes["input_dry"]) == ("1.2.3", "true")
    else:
        assert not [key for key in attributes if key.startswith("input_")]


def test_a_pushed_tag_and_a_deployment_become_attributes(fake: FakeLast9, job: Job) -> None:
    """A `deployment` event: its environment and sha; a tag ref: the `tag` attribute."""
    job.env.update({"GITHUB_EVENT_NAME": "deployment", "GITHUB_REF": "refs/tags/v2.0.0"})
    job.env["GITHUB_REF_NAME"] = "v2.0.0"
    job.event = {"deployment": {"id": 7, "environment": "staging", "sha": "abc123", "ref": "v2"}}
    job.run({k: v for k, v in step_inputs(fake).items() if k != "environment"})
    attributes = fake.events()[0]["attributes"]
    assert attributes["tag"] == "v2.0.0"
    assert attributes["deployment_environment"] == "staging"
    assert attributes["deployment_sha"] == "abc123"
