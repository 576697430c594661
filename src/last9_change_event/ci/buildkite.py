"""Buildkite: the agent's environment variables.

Source: https://buildkite.com/docs/pipelines/environment_variables

The deployment id is ``BUILDKITE_BUILD_ID``, the build's UUID: the same in every job (step) of
one build, so start and stop in separate steps share it. Buildkite has no deployment
environment of its own, so ``environment`` is left to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "buildkite"


def detect(env: Mapping[str, str]) -> CiRun:
    """The build job described by the Buildkite agent's variables."""
    tag = value(env, "BUILDKITE_TAG")
    branch = value(env, "BUILDKITE_BRANCH")
    # BUILDKITE_REPO is the clone URL (git@github.com:acme/shop.git or https://...); only the
    # path survives, never a credential.
    repository = _common.repository_from_url(value(env, "BUILDKITE_REPO"))
    # https://buildkite.com/docs/pipelines/environment_variables : BUILDKITE_REPO,
    # BUILDKITE_COMMIT, BUILDKITE_TAG, BUILDKITE_BRANCH, BUILDKITE_PIPELINE_NAME,
    # BUILDKITE_PIPELINE_SLUG, BUILDKITE_STEP_KEY, BUILDKITE_LABEL, BUILDKITE_BUILD_ID,
    # BUILDKITE_BUILD_NUMBER, BUILDKITE_BUILD_URL, BUILDKITE_JOB_ID, BUILDKITE_BUILD_CREATOR,
    # BUILDKITE_SOURCE.
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "BUILDKITE_COMMIT")),
        ("git_ref", _common.git_ref(tag=tag, branch=branch)),
        ("git_ref_name", tag or branch),
        ("tag", tag),
        ("workflow", value(env, "BUILDKITE_PIPELINE_NAME", "BUILDKITE_PIPELINE_SLUG")),
        ("job", value(env, "BUILDKITE_STEP_KEY", "BUILDKITE_LABEL")),
        ("run_id", value(env, "BUILDKITE_BUILD_ID")),
        ("run_number", value(env, "BUILDKITE_BUILD_NUMBER")),
        ("run_url", value(env, "BUILDKITE_BUILD_URL")),
        ("job_id", value(env, "BUILDKITE_JOB_ID")),
        ("actor", value(env, "BUILDKITE_BUILD_CREATOR")),
        ("trigger_event", value(env, "BUILDKITE_SOURCE")),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=_common.last_segment(repository),
        deployment_id=value(env, "BUILDKITE_BUILD_ID"),
    )
