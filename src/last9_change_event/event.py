"""The change event's JSON body, built from values: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from last9_change_event.attributes import Attributes, merge


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 with the offset kept, e.g. ``2024-01-15T17:57:22+05:30``."""
    spec = "seconds" if moment.microsecond == 0 else "milliseconds"
    return moment.isoformat(timespec=spec)


def event_attributes(
    *,
    github: Attributes,
    service_name: str | None,
    environment: str | None,
    deployment_id: str | None,
    duration_seconds: int | None,
    outcome: str | None,
    user: Attributes,
) -> dict[str, str]:
    """Automatic attributes first, then the dedicated inputs, then the user's, which win."""
    dedicated: list[tuple[str, str | None]] = [
        ("service_name", service_name),
        ("deployment_environment", environment),
        ("deployment_id", deployment_id),
        ("duration_seconds", None if duration_seconds is None else str(duration_seconds)),
        ("outcome", outcome),
    ]
    return merge(github, [(key, value) for key, value in dedicated if value is not None], user)


def build_payload(
    *,
    timestamp: str,
    event_name: str,
    event_state: str,
    attributes: Mapping[str, str],
    data_source: str | None,
) -> dict[str, Any]:
    """The body of ``PUT .../change_events``, as Last9's API guide documents it."""
    payload: dict[str, Any] = {
        "timestamp": timestamp,
        "event_name": event_name,
        "event_state": event_state,
        "attributes": dict(attributes),
    }
    if data_source:
        payload["data_source_name"] = data_source
    return payload
