"""GitHub Actions: the runner's default variables and the triggering event's payload.

Sources:
- default variables: https://docs.github.com/en/actions/reference/variables-reference
  (``GITHUB_REPOSITORY``, ``GITHUB_SHA``, ``GITHUB_REF``, ``GITHUB_REF_NAME``,
  ``GITHUB_REF_TYPE``, ``GITHUB_WORKFLOW``, ``GITHUB_JOB``, ``GITHUB_RUN_ID``,
  ``GITHUB_RUN_NUMBER``, ``GITHUB_RUN_ATTEMPT``, ``GITHUB_ACTOR``, ``GITHUB_EVENT_NAME``,
  ``GITHUB_SERVER_URL``)
- payloads: https://docs.github.com/en/webhooks/webhook-events-and-payloads
  (``push``, ``release``, ``deployment``, ``deployment_status``, ``workflow_dispatch``)

``commit_message`` comes from a ``push`` payload's ``head_commit.message``, the commit the run
deploys; no other event's payload holds a message, and the action makes no API call for one.
(Last9's own action also sends it, whole: ``src/attribute-collector.ts`` in
last9/deployment-marker-action; the shared attribute building keeps its first line.)

The first attributes are exactly those the action has always sent (same keys, values and order);
``tag``, the further deployment attributes, ``input_*`` and ``ci_provider`` come after them.

``deployment_status`` is the one event whose payload says whether a deployment begins or ends:

=============================  ===============  ===========
``deployment_status.state``    ``event_state``  ``outcome``
=============================  ===============  ===========
``in_progress``                ``start``        (none)
``success``                    ``stop``         ``success``
``failure``                    ``stop``         ``failure``
``error``                      ``stop``         ``error``
``queued``, ``pending``        (none)           (none)
``inactive``, anything else    (none)           (none)
=============================  ===============  ===========

``queued`` and ``pending`` say the deployment is waiting, not running: deployers commonly post
``pending`` and then ``in_progress``, so reading both as ``start`` would open the change twice.
``inactive`` is what GitHub sets on an *earlier* deployment once a newer one succeeds; reading it
as ``stop`` would close a change that ended long ago. For these the caller's own choice stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from last9_change_event.attributes import label_key
from last9_change_event.ci import _common
from last9_change_event.ci._model import CiRun

PROVIDER = "github-actions"

# https://docs.github.com/en/actions/reference/variables-reference (default variables)
_FROM_ENV: tuple[tuple[str, str], ...] = (
    ("repository", "GITHUB_REPOSITORY"),
    ("commit_sha", "GITHUB_SHA"),
    ("git_ref", "GITHUB_REF"),
    ("git_ref_name", "GITHUB_REF_NAME"),
    ("workflow", "GITHUB_WORKFLOW"),
    ("job", "GITHUB_JOB"),
    ("run_id", "GITHUB_RUN_ID"),
    ("run_number", "GITHUB_RUN_NUMBER"),
    ("run_attempt", "GITHUB_RUN_ATTEMPT"),
    ("actor", "GITHUB_ACTOR"),
    ("trigger_event", "GITHUB_EVENT_NAME"),
)

# https://docs.github.com/en/webhooks/webhook-events-and-payloads#release
_RELEASE: tuple[tuple[str, str], ...] = (
    ("release_tag", "tag_name"),
    ("release_name", "name"),
    ("release_url", "html_url"),
)

# https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment
# (the ``deployment`` object, also part of a ``deployment_status`` payload)
_DEPLOYMENT_FIRST: tuple[tuple[str, str], ...] = (
    ("deployment_environment", "environment"),
    ("deployment_ref", "ref"),
)
_DEPLOYMENT_MORE: tuple[tuple[str, str], ...] = (
    ("deployment_sha", "sha"),
    ("deployment_task", "task"),
    ("deployment_url", "url"),
)

# https://docs.github.com/en/webhooks/webhook-events-and-payloads#deployment_status
_STATES: Mapping[str, tuple[str, str | None]] = {
    "in_progress": ("start", None),
    "success": ("stop", "success"),
    "failure": ("stop", "failure"),
    "error": ("stop", "error"),
}


def detect(
    env: Mapping[str, str], event: object, *, workflow_dispatch_inputs: bool = False
) -> CiRun:
    """The run described by the runner's variables and the event payload (any JSON value)."""
    name = env.get("GITHUB_EVENT_NAME", "")
    payload: Mapping[str, Any] = event if isinstance(event, Mapping) else {}
    deployment = _mapping(payload.get("deployment"))
    status = _mapping(payload.get("deployment_status"))

    candidates: list[tuple[str, str | None]] = [
        (key, _common.value(env, variable)) for key, variable in _FROM_ENV
    ]
    candidates.append(("run_url", _run_url(env)))
    # What the action sent before the providers existed ends here.
    if name == "release":
        release = _mapping(payload.get("release"))
        candidates.extend((key, _text(release.get(field))) for key, field in _RELEASE)
    elif name in {"deployment", "deployment_status"}:
        candidates.extend((key, _text(deployment.get(field))) for key, field in _DEPLOYMENT_FIRST)
    candidates.append(("tag", _tag(env)))
    if name == "push":  # the one payload that holds the message (``head_commit``)
        candidates.append(
            ("commit_message", _text(_mapping(payload.get("head_commit")).get("message")))
        )
    if name in {"deployment", "deployment_status"}:
        candidates.extend((key, _text(deployment.get(field))) for key, field in _DEPLOYMENT_MORE)
    event_state: str | None = None
    outcome: str | None = None
    environment: str | None = None
    if name in {"deployment", "deployment_status"}:
        environment = _text(deployment.get("environment"))
    if name == "deployment_status":
        state = _text(status.get("state"))
        candidates.append(("deployment_state", state))
        candidates.append(("deployment_status_url", _text(status.get("url"))))
        environment = environment or _text(status.get("environment"))
        event_state, outcome = _STATES.get(state or "", (None, None))
    if name == "workflow_dispatch" and workflow_dispatch_inputs:
        candidates.extend(_inputs(payload.get("inputs")))
    return _common.run(
        PROVIDER,
        candidates,
        service_name=_common.last_segment(_common.value(env, "GITHUB_REPOSITORY")),
        deployment_id=_deployment_id(env, deployment if name == "deployment_status" else None),
        environment=environment,
        event_state=event_state,
        outcome=outcome,
    )


def _deployment_id(env: Mapping[str, str], deployment: Mapping[str, Any] | None) -> str | None:
    """``<run id>-<run attempt>-<job>``: shared by every step of one job run, new per re-run.
    On ``deployment_status`` the start and the stop come from two runs (``in_progress``, then
    ``success``): GitHub's deployment id, ``github-deployment-<id>``, pairs them."""
    number = _text(deployment.get("id")) if deployment is not None else None
    if number:
        return f"github-deployment-{number}"
    run_id = env.get("GITHUB_RUN_ID")
    if not run_id:
        return None
    attempt = env.get("GITHUB_RUN_ATTEMPT") or "1"
    job = env.get("GITHUB_JOB") or "job"
    return f"{run_id}-{attempt}-{job}"


def _run_url(env: Mapping[str, str]) -> str | None:
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = env.get("GITHUB_REPOSITORY")
    run_id = env.get("GITHUB_RUN_ID")
    if not (server and repository and run_id):
        return None
    url = f"{server}/{repository}/actions/runs/{run_id}"
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    return f"{url}/attempts/{attempt}" if attempt else url


def _tag(env: Mapping[str, str]) -> str | None:
    """The pushed tag: ``GITHUB_REF_NAME`` when ``GITHUB_REF_TYPE`` is ``tag``, or the name in
    ``refs/tags/...``."""
    if env.get("GITHUB_REF_TYPE") == "tag" and _common.value(env, "GITHUB_REF_NAME"):
        return env["GITHUB_REF_NAME"]
    return _common.tag_of(env.get("GITHUB_REF"))


def _inputs(inputs: object) -> list[tuple[str, str | None]]:
    """``workflow_dispatch`` inputs as ``input_<name>``; strings, numbers and booleans only."""
    if not isinstance(inputs, Mapping):
        return []
    found: list[tuple[str, str | None]] = []
    for name, raw in inputs.items():
        # A name with nothing label-safe in it ("", "---") would only add a bare "input_".
        if not isinstance(name, str) or label_key(name) is None:
            continue
        key = label_key(f"input_{name}")
        if key is None:  # pragma: no cover - "input_" keeps every key label-safe
            continue
        if isinstance(raw, bool):
            found.append((key, "true" if raw else "false"))
        elif isinstance(raw, str | int | float):
            found.append((key, str(raw)))
    return found


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    """A non-blank string, or an integer as text (GitHub sends some ids as numbers)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
