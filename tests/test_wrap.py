"""Wrapping a deploy: the runner's sequences replayed in order, step by step, in subprocesses.

start step → $GITHUB_ENV → stop step, and main step → $GITHUB_STATE → post step (STATE_*).
"""

from __future__ import annotations

from tests.fake_last9 import FakeLast9
from tests.runner import Job, step_inputs


def test_two_steps_share_deployment_id_and_token(fake: FakeLast9, job: Job) -> None:
    """A stop given the start's token makes no exchange and carries the same deployment id."""
    inputs = step_inputs(fake)
    start = job.run({**inputs, "event-state": "start"})
    assert fake.exchanges() == 1
    stop = job.run(
        {
            **inputs,
            "event-state": "stop",
            "access-token": start.outputs["access-token"],
            "outcome": "success",
        }
    )
    assert stop.returncode == 0, stop.log
    assert fake.exchanges() == 1
    first, second = fake.events()
    assert first["attributes"]["deployment_id"] == second["attributes"]["deployment_id"]
    assert stop.outputs["deployment-id"] == start.outputs["deployment-id"] == "987654321-1-deploy"
    assert second["attributes"]["outcome"] == "success"
    assert "outcome" not in first["attributes"]


def test_start_exports_its_time_and_stop_reports_duration(fake: FakeLast9, job: Job) -> None:
    """The start exports its time through $GITHUB_ENV; the stop carries duration_seconds."""
    inputs = step_inputs(fake)
    start = job.run({**inputs, "timestamp": "2024-01-15T17:57:22+05:30"})
    assert start.exported == {
        "LAST9_DEPLOYMENT_ID": "987654321-1-deploy",
        "LAST9_DEPLOYMENT_STARTED_AT": "1705321642.000",
    }
    job.run({**inputs, "event-state": "stop", "timestamp": "2024-01-15T18:02:52+05:30"})
    assert fake.events()[1]["attributes"]["duration_seconds"] == "330"


def test_failing_deploy_still_gets_its_stop(fake: FakeLast9, job: Job) -> None:
    """A deploy that fails between start and stop: the stop goes out with the failure."""
    inputs = step_inputs(fake)
    job.run(inputs)
    deploy_failed = "failure"  # what ${{ job.status }} is after a failed step
    stop = job.run({**inputs, "event-state": "stop", "outcome": deploy_failed})
    assert stop.returncode == 0, stop.log
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]
    assert fake.events()[1]["attributes"]["outcome"] == "failure"
    assert "duration_seconds" in fake.events()[1]["attributes"]


def test_rerun_attempt_is_a_new_deployment(fake: FakeLast9, job: Job) -> None:
    """A re-run attempt of the job gets a new deployment id."""
    job.run(step_inputs(fake))
    job.env["GITHUB_RUN_ATTEMPT"] = "2"
    job.run(step_inputs(fake))
    ids = [e["attributes"]["deployment_id"] for e in fake.events()]
    assert ids == ["987654321-1-deploy", "987654321-2-deploy"]


def test_deployment_id_input_overrides(fake: FakeLast9, job: Job) -> None:
    """`deployment-id` replaces the derived id."""
    job.run(step_inputs(fake, deployment_id="shop-2024-01-15"))
    assert fake.events()[0]["attributes"]["deployment_id"] == "shop-2024-01-15"


def test_stop_without_start_has_no_duration(fake: FakeLast9, job: Job) -> None:
    """A stop with no start before it in the job sends no duration."""
    job.run(step_inputs(fake, event_state="stop"))
    assert "duration_seconds" not in fake.events()[0]["attributes"]


def test_auto_stop_sends_stop_from_the_post_step(fake: FakeLast9, job: Job) -> None:
    """`auto-stop` arms the post step, which sends the stop with the same id and token."""
    inputs = step_inputs(fake, auto_stop="true")
    start = job.run(inputs)
    assert start.returncode == 0, start.log
    assert start.state["auto_stop"] == "true"
    assert start.state["deployment_id"] == "987654321-1-deploy"
    assert start.state["access_token"] == start.outputs["access-token"]
    post = job.run({**inputs, "outcome": "failure"}, post=True)
    assert post.returncode == 0, post.log
    start_event, stop_event = fake.events()
    assert stop_event["event_state"] == "stop"
    assert stop_event["attributes"]["deployment_id"] == start_event["attributes"]["deployment_id"]
    assert stop_event["attributes"]["outcome"] == "failure"
    assert "duration_seconds" in stop_event["attributes"]
    assert fake.exchanges() == 1


def test_post_step_renews_an_expiring_start_token(fake: FakeLast9, job: Job) -> None:
    """When the start's token expires within a minute, the post step exchanges once."""
    inputs = step_inputs(fake, auto_stop="true")
    job.run(inputs)
    job.states["mark"]["access_token"] = fake.mint("access", ttl=30)  # < 60 s left at the end
    post = job.run(inputs, post=True)
    assert post.returncode == 0, post.log
    assert fake.exchanges() == 2
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]


def test_post_step_without_auto_stop_does_nothing(fake: FakeLast9, job: Job) -> None:
    """Without `auto-stop` the post step sends nothing and says so in one debug line."""
    inputs = step_inputs(fake)
    job.run(inputs)
    post = job.run(inputs, post=True)
    assert post.returncode == 0
    assert len(fake.events()) == 1
    assert [line for line in post.stdout.splitlines() if line] == [
        line for line in post.stdout.splitlines() if line.startswith(("::debug::", "::add-mask::"))
    ]
    assert len([line for line in post.stdout.splitlines() if line.startswith("::debug::")]) == 1


def test_post_step_after_a_failed_start_sends_nothing(fake: FakeLast9, job: Job) -> None:
    """A main step that failed before sending `start` leaves the post step nothing to send."""
    revoked = fake.mint("refresh", ttl=None)
    fake.revoke(revoked)
    inputs = step_inputs(fake, auto_stop="true", refresh_token=revoked)
    start = job.run(inputs)
    assert start.returncode == 1
    assert start.state["services"] == "[]", "armed before sending, then told nothing landed"
    post = job.run(inputs, post=True)
    assert post.returncode == 0
    assert fake.events() == []
    assert [r for r in fake.received if r.method == "PUT"] == []


def test_auto_stop_with_several_services(fake: FakeLast9, job: Job) -> None:
    """One step, two services: two starts, then two stops from the post step, one id."""
    inputs = step_inputs(fake, auto_stop="true", service_name="api\nworker")
    job.run(inputs)
    job.run(inputs, post=True)
    states = [(e["event_state"], e["attributes"]["service_name"]) for e in fake.events()]
    assert states == [("start", "api"), ("start", "worker"), ("stop", "api"), ("stop", "worker")]
    assert len({e["attributes"]["deployment_id"] for e in fake.events()}) == 1
    assert fake.exchanges() == 1


def test_auto_stop_dry_run_post_is_a_dry_run(fake: FakeLast9, job: Job) -> None:
    """A dry-run start with auto-stop gets a dry-run stop: still nothing is sent."""
    inputs = step_inputs(fake, auto_stop="true", dry_run="true")
    job.run(inputs)
    post = job.run(inputs, post=True)
    assert post.returncode == 0, post.log
    assert '"event_state": "stop"' in post.stdout
    assert fake.received == []


def test_auto_stop_on_a_stop_step_is_refused(fake: FakeLast9, job: Job) -> None:
    """`auto-stop` on a stop step is a configuration error; nothing is sent."""
    result = job.run(step_inputs(fake, auto_stop="true", event_state="stop"))
    assert result.returncode == 1
    assert result.titles() == ["Last9: invalid auto-stop"]
    assert fake.received == []


def test_state_never_appears_in_the_log(fake: FakeLast9, job: Job) -> None:
    """The token saved for the post step is in the state file only, never printed."""
    start = job.run(step_inputs(fake, auto_stop="true"))
    token = start.state["access_token"]
    printed = [line for line in start.log.splitlines() if token in line]
    assert printed == [f"::add-mask::{token}"]
