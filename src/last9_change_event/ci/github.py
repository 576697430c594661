"""GitHub Actions: the runner's default variables and the event payload."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from last9_change_event.ci import CiRun

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


def run(env: Mapping[str, str], event: Mapping[str, Any] | None) -> CiRun:
    """Repository, commit, ref, workflow, job, run, actor and trigger; the release of a release."""
    pairs = [(key, env[name]) for key, name in _FROM_ENV if env.get(name)]
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository, run_id = env.get("GITHUB_REPOSITORY", ""), env.get("GITHUB_RUN_ID", "")
    attempt = env.get("GITHUB_RUN_ATTEMPT", "")
    if server and repository and run_id:
        url = f"{server}/{repository}/actions/runs/{run_id}"
        pairs.append(("run_url", f"{url}/attempts/{attempt}" if attempt else url))
    name = env.get("GITHUB_EVENT_NAME", "")
    payload = event or {}
    fields: tuple[tuple[str, str], ...] = ()
    section = ""
    if name == "release":
        section = "release"
        fields = (
            ("release_tag", "tag_name"),
            ("release_name", "name"),
            ("release_url", "html_url"),
        )
    elif name == "deployment":
        section = "deployment"
        fields = (("deployment_environment", "environment"), ("deployment_ref", "ref"))
    found = {key: _text(_dig(payload, section, field)) for key, field in fields}
    pairs.extend((key, value) for key, value in found.items() if value)
    return CiRun(
        provider="github-actions",
        attributes=tuple(pairs),
        service_name=repository.rpartition("/")[2] or None,
        deployment_id=f"{run_id}-{attempt or '1'}-{env.get('GITHUB_JOB') or 'job'}"
        if run_id
        else None,
        environment=found.get("deployment_environment") if name == "deployment" else None,
    )


def _dig(data: Mapping[str, Any], *path: str) -> object:
    current: object = data
    for part in path:
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
