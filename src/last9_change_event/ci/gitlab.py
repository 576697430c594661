"""GitLab CI/CD: predefined variables.

Source: https://docs.gitlab.com/ci/variables/predefined_variables/

The deployment id is ``CI_PIPELINE_ID``: instance-wide unique, and the same in every job of one
pipeline, so a start in one job (or before the deploy command) and a stop in a later job of the
same pipeline share it. A retried job keeps its pipeline, so a retry continues the same
deployment. A pipeline that deploys more than once (say staging, then production) should pass
its own id for each.

``CI_REPOSITORY_URL`` is never read: it carries the job token (``gitlab-ci-token:...@``).
"""

from __future__ import annotations

from collections.abc import Mapping

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "gitlab-ci"


def detect(env: Mapping[str, str]) -> CiRun:
    """The pipeline job described by GitLab's predefined variables."""
    tag = value(env, "CI_COMMIT_TAG")
    branch = value(env, "CI_COMMIT_BRANCH")
    repository = value(env, "CI_PROJECT_PATH")
    # https://docs.gitlab.com/ci/variables/predefined_variables/ : CI_PROJECT_PATH,
    # CI_COMMIT_SHA, CI_COMMIT_TAG / CI_COMMIT_BRANCH / CI_MERGE_REQUEST_REF_PATH,
    # CI_COMMIT_REF_NAME, CI_PIPELINE_NAME, CI_JOB_NAME, CI_PIPELINE_ID, CI_PIPELINE_IID,
    # CI_PIPELINE_URL, CI_JOB_ID, CI_JOB_URL, GITLAB_USER_LOGIN, CI_PIPELINE_SOURCE,
    # CI_ENVIRONMENT_NAME, CI_PROJECT_NAME.
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "CI_COMMIT_SHA")),
        (
            "git_ref",
            _common.git_ref(tag=tag, branch=branch) or value(env, "CI_MERGE_REQUEST_REF_PATH"),
        ),
        ("git_ref_name", value(env, "CI_COMMIT_REF_NAME")),
        ("tag", tag),
        ("workflow", value(env, "CI_PIPELINE_NAME")),
        ("job", value(env, "CI_JOB_NAME")),
        ("run_id", value(env, "CI_PIPELINE_ID")),
        ("run_number", value(env, "CI_PIPELINE_IID")),
        ("run_url", value(env, "CI_PIPELINE_URL")),
        ("job_id", value(env, "CI_JOB_ID")),
        ("job_url", value(env, "CI_JOB_URL")),
        ("actor", value(env, "GITLAB_USER_LOGIN")),
        ("trigger_event", value(env, "CI_PIPELINE_SOURCE")),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=value(env, "CI_PROJECT_NAME") or _common.last_segment(repository),
        deployment_id=value(env, "CI_PIPELINE_ID"),
        environment=value(env, "CI_ENVIRONMENT_NAME"),
    )
