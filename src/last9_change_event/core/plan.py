"""What to send: the events of one step, decided from inputs, context and the time. Pure.

One deployment, two events: the start and the stop share a ``deployment_id`` (the input, else
the one the CI run gives), and a stop carries ``duration_seconds`` since the start that the job
exported (or that armed the post step).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, NamedTuple, cast

from last9_change_event.ci import CiRun
from last9_change_event.core.context import Context
from last9_change_event.core.event import build_payload, event_attributes, format_timestamp
from last9_change_event.core.inputs import EventState, Inputs
from last9_change_event.errors import InputError


class Plan(NamedTuple):
    """The bodies to send (one per service), their shared timestamp and deployment id."""

    services: tuple[str | None, ...]
    payloads: tuple[dict[str, Any], ...]
    timestamp: str
    epoch: float
    deployment_id: str | None

    def bodies(self) -> tuple[bytes, ...]:
        """Each payload as the exact bytes every attempt sends."""
        return tuple(json.dumps(p, separators=(",", ":")).encode() for p in self.payloads)


def resolve_auto(inputs: Inputs, ci: CiRun) -> Inputs | None:
    """``event-state: auto``: a start or a stop as GitHub's ``deployment_status`` says, with its
    outcome unless one is given; ``None`` for a state that is neither (``queued``, ``pending``).
    Any other state comes back as it is."""
    if inputs.event_state != "auto":
        return inputs
    if ci.event_state in ("start", "stop"):
        return inputs._replace(
            event_state=cast(EventState, ci.event_state),
            outcome=inputs.outcome or (ci.outcome if ci.event_state == "stop" else None),
        )
    if dict(ci.attributes).get("trigger_event") == "deployment_status":
        return None
    raise InputError(
        "event-state",
        "`auto` reads the state of a GitHub `deployment_status` event, and this run has none.",
        remedy=lambda v: (
            f"Set {v.name('event-state')} to `start` or `stop`, or run on `deployment_status`."
        ),
    )


def make_plan(inputs: Inputs, context: Context, now: datetime) -> Plan:
    """The events to send for ``inputs`` in ``context`` at ``now``."""
    moment = inputs.timestamp or now
    timestamp = format_timestamp(moment)
    epoch = moment.timestamp()
    deployment_id = inputs.deployment_id or context.ci.deployment_id
    stop = inputs.event_state == "stop"
    duration = _duration(context, deployment_id, epoch) if stop else None
    ci = context.ci if inputs.github_attributes else None
    environment = inputs.environment or (ci.environment if ci else None)
    services: tuple[str | None, ...] = inputs.service_names or (ci.service_name if ci else None,)
    payloads = tuple(
        build_payload(
            timestamp=timestamp,
            event_name=inputs.event_name,
            event_state=inputs.event_state,
            attributes=event_attributes(
                github=ci.attributes if ci else (),
                service_name=service,
                environment=environment,
                deployment_id=deployment_id,
                duration_seconds=duration,
                outcome=inputs.outcome if stop else None,
                user=inputs.attributes,
            ),
            data_source=inputs.data_source,
        )
        for service in services
    )
    return Plan(services, payloads, timestamp, epoch, deployment_id)


def _duration(context: Context, deployment_id: str | None, stopped_at: float) -> int | None:
    """Seconds since this deployment's start, when the job knows when it started."""
    started_at = context.armed.started_at
    if started_at is None and deployment_id and context.exported_id == deployment_id:
        started_at = context.exported_started_at
    if started_at is None or not math.isfinite(started_at):
        return None
    elapsed = stopped_at - started_at
    return round(elapsed) if 0 <= elapsed < 10**9 else None
