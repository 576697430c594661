"""The change event's JSON body, built from values: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from last9_change_event.attributes import Attributes, first_line, merge

#: The environment's attribute keys. Last9's sources name it two ways, and a marker overlays a
#: service's APM charts only when its labels match the service's:
#: - the change-events guide sends ``deployment_environment`` next to ``service_name``
#:   (https://last9.io/docs/change-events/);
#: - Last9's own GitHub action sends ``env`` (last9/deployment-marker-action,
#:   ``src/attribute-collector.ts``: ``attributes['env'] = config.env``), and its README says
#:   "The `service_name` and `env` attributes must match your APM service labels exactly";
#: - Last9's integration pages for that action and for its Buildkite plugin say the ``env`` value
#:   "must match the `deployment_environment` label" of the APM services
#:   (https://last9.io/docs/integrations/ci-cd/github-actions/,
#:   https://last9.io/docs/integrations/ci-cd/buildkite/), and its Jenkins plugin sends
#:   ``deployment_environment`` (last9/last9-jenkins-plugin, ``event/EventBuilder.java``).
#: Sending both costs one label with the same value, and no extra series.
ENVIRONMENT_KEYS: tuple[str, ...] = ("deployment_environment", "env")


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
    """Automatic attributes first, then the dedicated inputs, then the user's, which win.

    A CI's ``commit_message`` is cut to its first line (``first_line``), whatever CI gave it.
    The environment goes out under both of the keys Last9 uses for it (``ENVIRONMENT_KEYS``), so
    a marker overlays the APM charts whichever one a dashboard matches on; the user removes
    either as any attribute is removed (``env=`` or ``"env": null``).
    """
    dedicated: list[tuple[str, str | None]] = [
        ("service_name", service_name),
        *((key, environment) for key in ENVIRONMENT_KEYS),
        ("deployment_id", deployment_id),
        ("duration_seconds", None if duration_seconds is None else str(duration_seconds)),
        ("outcome", outcome),
    ]
    context = [
        (key, first_line(value) if key == "commit_message" and value is not None else value)
        for key, value in github
    ]
    return merge(context, [(key, value) for key, value in dedicated if value is not None], user)


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
