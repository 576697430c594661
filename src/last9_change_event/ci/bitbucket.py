"""Bitbucket Pipelines: default variables.

Source: https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
(``BITBUCKET_BUILD_NUMBER``, ``BITBUCKET_PIPELINE_UUID``, ``BITBUCKET_REPO_FULL_NAME``,
``BITBUCKET_REPO_SLUG``, ``BITBUCKET_COMMIT``, ``BITBUCKET_BRANCH``, ``BITBUCKET_TAG``,
``BITBUCKET_STEP_TRIGGERER_UUID``, ``BITBUCKET_DEPLOYMENT_ENVIRONMENT``)

The deployment id is the pipeline's UUID without its braces (``BITBUCKET_PIPELINE_UUID``, the
same in every step of one pipeline and unique across repositories), else the repository's
``BITBUCKET_BUILD_NUMBER``. Bitbucket names no pipeline, step or trigger in a variable, and the
triggering user only by UUID (``actor``). The run's page is on bitbucket.org, the only host
Bitbucket Pipelines runs for.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "bitbucket-pipelines"


def detect(env: Mapping[str, str]) -> CiRun:
    """The pipeline step described by Bitbucket's default variables."""
    tag = value(env, "BITBUCKET_TAG")
    branch = value(env, "BITBUCKET_BRANCH")
    repository = value(env, "BITBUCKET_REPO_FULL_NAME")
    number = value(env, "BITBUCKET_BUILD_NUMBER")
    pipeline = _unbraced(value(env, "BITBUCKET_PIPELINE_UUID"))
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "BITBUCKET_COMMIT")),
        ("git_ref", _common.git_ref(tag=tag, branch=branch)),
        ("git_ref_name", tag or branch),
        ("tag", tag),
        ("run_id", pipeline),
        ("run_number", number),
        ("run_url", _run_url(repository, number)),
        ("actor", _unbraced(value(env, "BITBUCKET_STEP_TRIGGERER_UUID"))),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=value(env, "BITBUCKET_REPO_SLUG") or _common.last_segment(repository),
        deployment_id=pipeline or number,
        environment=value(env, "BITBUCKET_DEPLOYMENT_ENVIRONMENT"),
    )


def _unbraced(uuid: str | None) -> str | None:
    """A Bitbucket UUID without the braces it comes in (``{a1b2...}``)."""
    if not uuid:
        return None
    return uuid.strip().strip("{}") or None


def _run_url(repository: str | None, number: str | None) -> str | None:
    if not (repository and number):
        return None
    return f"https://bitbucket.org/{quote(repository)}/pipelines/results/{quote(number)}"
