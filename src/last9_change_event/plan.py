"""What to send: the events of one step, decided from inputs, context and the time. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from last9_change_event import context, deployment
from last9_change_event.event import build_payload, event_attributes, format_timestamp
from last9_change_event.inputs import Inputs


class Plan(NamedTuple):
    """The bodies to send (one per service), their shared timestamp and deployment id."""

    payloads: tuple[dict[str, Any], ...]
    timestamp: str
    epoch: float
    deployment_id: str | None


def make_plan(
    inputs: Inputs,
    env: Mapping[str, str],
    event: Mapping[str, Any] | None,
    now: datetime,
    *,
    started_at: float | None = None,
) -> Plan:
    """The events to send; ``started_at`` (epoch seconds) overrides the one exported by a start."""
    moment = inputs.timestamp or now
    timestamp = format_timestamp(moment)
    epoch = moment.timestamp()
    deployment_id = deployment.deployment_id(env, inputs.deployment_id)
    stop = inputs.event_state == "stop"
    duration = None
    if stop:
        duration = (
            deployment.duration_seconds(env, deployment_id, epoch)
            if started_at is None
            else max(0, round(epoch - started_at))
        )
    github = context.github_attributes(env, event) if inputs.github_attributes else ()
    environment = inputs.environment or context.deployment_environment(env, event)
    services: tuple[str | None, ...] = inputs.service_names or (
        context.default_service_name(env) if inputs.github_attributes else None,
    )
    payloads = tuple(
        build_payload(
            timestamp=timestamp,
            event_name=inputs.event_name,
            event_state=inputs.event_state,
            attributes=event_attributes(
                github=github,
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
    return Plan(payloads, timestamp, epoch, deployment_id)
