"""The GitHub context (runner variables and the event payload) as change-event attributes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from last9_change_event.attributes import Attributes

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


def read_event(path: str | None) -> Mapping[str, Any] | None:
    """The event payload at ``GITHUB_EVENT_PATH``, or ``None`` when it is absent or unreadable."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def github_attributes(env: Mapping[str, str], event: Mapping[str, Any] | None) -> Attributes:
    """Repository, commit, ref, workflow, job, run, actor and trigger; the release of a release."""
    pairs: list[tuple[str, str | None]] = [
        (key, env[name]) for key, name in _FROM_ENV if env.get(name)
    ]
    run_url = _run_url(env)
    if run_url:
        pairs.append(("run_url", run_url))
    pairs.extend(_event_attributes(env.get("GITHUB_EVENT_NAME", ""), event or {}))
    return tuple(pairs)


def default_service_name(env: Mapping[str, str]) -> str | None:
    """The repository's name without its owner, the usual name of the service it deploys."""
    repository = env.get("GITHUB_REPOSITORY", "")
    return repository.rpartition("/")[2] or None


def deployment_environment(env: Mapping[str, str], event: Mapping[str, Any] | None) -> str | None:
    """The environment of a ``deployment`` event, when the workflow runs on one."""
    if env.get("GITHUB_EVENT_NAME") != "deployment" or not event:
        return None
    return _text(_dig(event, "deployment", "environment"))


def _run_url(env: Mapping[str, str]) -> str | None:
    server = env.get("GITHUB_SERVER_URL", "").rstrip("/")
    repository = env.get("GITHUB_REPOSITORY")
    run_id = env.get("GITHUB_RUN_ID")
    if not (server and repository and run_id):
        return None
    url = f"{server}/{repository}/actions/runs/{run_id}"
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    return f"{url}/attempts/{attempt}" if attempt else url


def _event_attributes(name: str, event: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    if name == "release":
        for key, field in (
            ("release_tag", "tag_name"),
            ("release_name", "name"),
            ("release_url", "html_url"),
        ):
            value = _text(_dig(event, "release", field))
            if value:
                found.append((key, value))
    elif name == "deployment":
        for key, field in (("deployment_environment", "environment"), ("deployment_ref", "ref")):
            value = _text(_dig(event, "deployment", field))
            if value:
                found.append((key, value))
    return found


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
