"""What the CI says about this run, as change-event attributes (interim: GitHub Actions only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CiRun:
    """A CI run's attributes, default service name, deployment id and environment."""

    provider: str = "none"
    attributes: tuple[tuple[str, str], ...] = ()
    service_name: str | None = None
    deployment_id: str | None = None
    environment: str | None = None
    event_state: str | None = None
    outcome: str | None = None


def detect(env: Mapping[str, str], *, event: Mapping[str, Any] | None = None) -> CiRun:
    """The run as the CI describes it."""
    from last9_change_event.ci import github  # noqa: PLC0415

    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_RUN_ID"):
        return github.run(env, event)
    return CiRun()
