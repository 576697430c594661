"""A stop for every start on runners that drop the post step's state (act, Gitea, Forgejo).

GitHub's runner gives a Docker action's post step ``STATE_<name>`` for every saved name; act
(and the Gitea and Forgejo runners built on it) gives it none, but passes the job's exports and
the same ``GITHUB_ACTION`` (the step's id) as the main step had. The rule
(``edge.process.read_armed``): state decides wherever there is any; without any, only the
export named after this very step arms the post step.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from last9_change_event.core.context import AUTO_STOP_PREFIX, auto_stop_variable
from last9_change_event.edge.process import read_armed
from tests.fake_last9 import FakeLast9, Fault
from tests.runner import Job, step_inputs


def export(step: str, **fields: object) -> dict[str, str]:
    value = {"step": step, "deployment_id": "9-1-deploy", "started_at": 1700000000.5}
    value.update({"services": ["shop"], **fields})
    return {auto_stop_variable(step): json.dumps(value)}


# -- the rule, as a unit -------------------------------------------------------------------------


def test_state_decides_wherever_the_runner_keeps_it() -> None:
    """With any ``STATE_*``, the exports are not read: the runner keeps state, as GitHub's."""
    env = {"STATE_ran": "true", **export("deploy-marker")}
    assert read_armed(env, "deploy-marker").armed is False
    armed = read_armed({**env, "STATE_auto_stop": "true", "STATE_access_token": "t"}, "x")
    assert armed.armed is True
    assert armed.from_export is False
    assert armed.access_token == "t"


def test_no_state_and_this_steps_export_arms_the_post_step() -> None:
    armed = read_armed(export("deploy-marker", services=["api", None]), "deploy-marker")
    assert armed.armed is True
    assert armed.from_export is True
    assert armed.deployment_id == "9-1-deploy"
    assert armed.started_at == 1700000000.5
    assert armed.services == ("api", None)
    assert armed.access_token is None, "a token never travels in an export"


@pytest.mark.parametrize(
    ("env", "step"),
    [
        pytest.param({}, "mark", id="nothing-exported"),
        pytest.param(export("other-use"), "mark", id="another-steps-export"),
        pytest.param(
            {auto_stop_variable("mark"): json.dumps({"step": "other", "services": []})},
            "mark",
            id="export-naming-another-step",
        ),
        pytest.param(export("mark"), None, id="no-step-id"),
        pytest.param({auto_stop_variable("mark"): "{not json"}, "mark", id="not-json"),
        pytest.param({auto_stop_variable("mark"): "[1]"}, "mark", id="not-an-object"),
        pytest.param(
            {"LAST9_DEPLOYMENT_ID": "9-1-deploy", "LAST9_DEPLOYMENT_STARTED_AT": "1"},
            "mark",
            id="only-the-job-wide-exports",
        ),
    ],
)
def test_no_state_and_no_export_of_this_step_arms_nothing(
    env: dict[str, str], step: str | None
) -> None:
    """Absence of state alone is no proof: a start this step did not arm gets no stop."""
    assert read_armed(env, step).armed is False


def test_export_names_are_distinct_per_step_id() -> None:
    """Step ids that read alike (``a-b``, ``a_b``) still name two exports."""
    names = {auto_stop_variable(step) for step in ("a-b", "a_b", "__run", "__run_2", "a.b")}
    assert len(names) == 5
    assert all(name.startswith(AUTO_STOP_PREFIX) and name.isidentifier() for name in names)


# -- the steps, as a runner without state runs them ----------------------------------------------


def test_a_stateless_runner_still_gets_the_stop(fake: FakeLast9, job: Job) -> None:
    """The post step without ``STATE_*`` sends the stop of its own start, with a new token."""
    job.keeps_state = False
    inputs = step_inputs(fake, auto_stop="true")
    start = job.run(inputs)
    assert start.returncode == 0, start.log
    assert start.state["ran"] == "true"
    post = job.run({**inputs, "outcome": "failure"}, post=True)
    assert post.returncode == 0, post.log
    start_event, stop_event = fake.events()
    assert stop_event["event_state"] == "stop"
    assert stop_event["attributes"]["deployment_id"] == start_event["attributes"]["deployment_id"]
    assert stop_event["attributes"]["outcome"] == "failure"
    assert "duration_seconds" in stop_event["attributes"]
    assert fake.exchanges() == 2, "the token cannot travel in an export: exchanged again"
    assert "passed no saved state" in post.log


def test_a_runner_with_state_behaves_as_before(fake: FakeLast9, job: Job) -> None:
    """With state, the post step uses the start's token: one exchange in all."""
    inputs = step_inputs(fake, auto_stop="true")
    job.run(inputs)
    post = job.run(inputs, post=True)
    assert post.returncode == 0, post.log
    assert [e["event_state"] for e in fake.events()] == ["start", "stop"]
    assert fake.exchanges() == 1
    assert "passed no saved state" not in post.log


def test_a_stateless_runner_never_stops_a_start_this_step_did_not_arm(
    fake: FakeLast9, job: Job
) -> None:
    """Two uses in one job: the armed one is stopped once; the other's post step sends nothing."""
    job.keeps_state = False
    armed = step_inputs(fake, auto_stop="true", service_name="api")
    plain = step_inputs(fake, service_name="worker")
    job.run(armed, step_id="mark-api")
    job.run(plain, step_id="mark-worker")
    job.run(plain, post=True, step_id="mark-worker")
    job.run(armed, post=True, step_id="mark-api")
    sent = [(e["event_state"], e["attributes"]["service_name"]) for e in fake.events()]
    assert sent == [("start", "api"), ("start", "worker"), ("stop", "api")]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        pytest.param((Fault(400, {"error": "no"}),), ["api"], id="first-refused"),
        pytest.param(
            (Fault(200, {"message": "success"}), Fault(400, {"error": "no"})),
            ["api", "worker"],
            id="second-refused",
        ),
    ],
)
def test_a_stateless_runner_stops_the_same_starts_as_a_runner_with_state(
    fake: FakeLast9, tmp_path: Path, faults: tuple[Fault, ...], expected: list[str]
) -> None:
    """The export is rewritten after sending, as the state is: both runners stop the same
    starts, those that may have landed, not every service the start was armed for."""
    stops: dict[bool, list[str]] = {}
    for keeps_state in (True, False):
        fake.reset()
        run = Job(tmp_path / str(keeps_state), keeps_state=keeps_state)
        inputs = step_inputs(fake, auto_stop="true", service_name="api\nworker", fail_on="never")
        fake.script("event", *faults)
        start = run.run(inputs)
        armed_for = json.loads(start.exported[auto_stop_variable("mark")])["services"]
        run.run(inputs, post=True)
        stops[keeps_state] = [
            e["attributes"]["service_name"] for e in fake.events() if e["event_state"] == "stop"
        ]
    assert stops[False] == stops[True] == expected
    assert armed_for == stops[False], "the export was rewritten with what may have landed"


def test_the_export_never_holds_a_token(fake: FakeLast9, job: Job) -> None:
    inputs = step_inputs(fake, auto_stop="true")
    start = job.run(inputs)
    (name,) = [n for n in start.exported if n.startswith(AUTO_STOP_PREFIX)]
    assert name == auto_stop_variable("mark")
    value = json.loads(start.exported[name])
    assert set(value) == {"step", "deployment_id", "started_at", "services"}
    assert start.outputs["access-token"] not in start.exported[name]
