"""CircleCI: built-in environment variables.

Source: https://circleci.com/docs/reference/variables/

The deployment id is ``CIRCLE_WORKFLOW_ID``: the same in every job of one workflow, new when a
workflow is re-run. CircleCI has no variable for the workflow's name or for what triggered the
pipeline (those are pipeline values, not environment variables), so ``workflow`` and
``trigger_event`` are absent; ``run_url`` is the job's page (``CIRCLE_BUILD_URL``).
``CIRCLE_PROJECT_USERNAME``/``CIRCLE_PROJECT_REPONAME`` exist for GitHub OAuth and Bitbucket
projects; elsewhere the repository comes from ``CIRCLE_REPOSITORY_URL``.
"""

from __future__ import annotations

from collections.abc import Mapping

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "circleci"


def detect(env: Mapping[str, str]) -> CiRun:
    """The job described by CircleCI's built-in variables."""
    tag = value(env, "CIRCLE_TAG")
    branch = value(env, "CIRCLE_BRANCH")
    owner, name = value(env, "CIRCLE_PROJECT_USERNAME"), value(env, "CIRCLE_PROJECT_REPONAME")
    repository = (
        f"{owner}/{name}"
        if owner and name
        else _common.repository_from_url(value(env, "CIRCLE_REPOSITORY_URL"))
    )
    # https://circleci.com/docs/reference/variables/ : CIRCLE_PROJECT_USERNAME,
    # CIRCLE_PROJECT_REPONAME, CIRCLE_REPOSITORY_URL, CIRCLE_SHA1, CIRCLE_TAG, CIRCLE_BRANCH,
    # CIRCLE_JOB, CIRCLE_WORKFLOW_ID, CIRCLE_BUILD_NUM, CIRCLE_BUILD_URL, CIRCLE_USERNAME.
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "CIRCLE_SHA1")),
        ("git_ref", _common.git_ref(tag=tag, branch=branch)),
        ("git_ref_name", tag or branch),
        ("tag", tag),
        ("job", value(env, "CIRCLE_JOB")),
        ("run_id", value(env, "CIRCLE_WORKFLOW_ID")),
        ("run_url", value(env, "CIRCLE_BUILD_URL")),
        ("job_number", value(env, "CIRCLE_BUILD_NUM")),
        ("actor", value(env, "CIRCLE_USERNAME")),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=name or _common.last_segment(repository),
        deployment_id=value(env, "CIRCLE_WORKFLOW_ID"),
    )
