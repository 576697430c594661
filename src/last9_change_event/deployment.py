"""One deployment, two events: the id the start and stop share, and the time between them."""

from __future__ import annotations

from collections.abc import Mapping

#: Exported by a start step through ``$GITHUB_ENV`` for the stop steps after it.
ID_VARIABLE = "LAST9_DEPLOYMENT_ID"
STARTED_AT_VARIABLE = "LAST9_DEPLOYMENT_STARTED_AT"


def deployment_id(env: Mapping[str, str], given: str | None) -> str | None:
    """``given``, else ``<run id>-<run attempt>-<job>``: the same for every step of one job run,
    new for a re-run attempt. ``None`` outside a workflow run."""
    if given:
        return given
    run_id = env.get("GITHUB_RUN_ID")
    if not run_id:
        return None
    attempt = env.get("GITHUB_RUN_ATTEMPT") or "1"
    job = env.get("GITHUB_JOB") or "job"
    return f"{run_id}-{attempt}-{job}"


def duration_seconds(
    env: Mapping[str, str], current_id: str | None, stopped_at: float
) -> int | None:
    """Seconds since the start of this deployment, when a start step of the job exported it."""
    if current_id is None or env.get(ID_VARIABLE) != current_id:
        return None
    try:
        started_at = float(env.get(STARTED_AT_VARIABLE, ""))
    except ValueError:
        return None
    elapsed = stopped_at - started_at
    return round(elapsed) if elapsed >= 0 else None
