"""Jenkins: core build variables, Pipeline's multibranch variables and the Git plugin's.

Sources:
- core and Pipeline: https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables
  (the full list is served by every controller at ``${JENKINS_URL}env-vars.html``):
  ``JENKINS_URL``, ``JOB_NAME``, ``BUILD_NUMBER``, ``BUILD_ID``, ``BUILD_URL``, ``STAGE_NAME``,
  ``BRANCH_NAME``, ``TAG_NAME``, ``CHANGE_ID``
- Git plugin: https://plugins.jenkins.io/git/#plugin-content-environment-variables
  ``GIT_COMMIT``, ``GIT_BRANCH`` (with the remote, ``origin/main``), ``GIT_LOCAL_BRANCH``,
  ``GIT_URL``

The deployment id is ``<JOB_NAME>-<BUILD_NUMBER>`` (Jenkins' own ``BUILD_TAG`` without its
``jenkins-`` prefix): the same in every stage of one build, new for a rebuild. Jenkins names no
deployment environment and no triggering user without extra plugins, so ``environment``,
``actor`` and ``trigger_event`` are absent.
"""

from __future__ import annotations

from collections.abc import Mapping

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "jenkins"


def detect(env: Mapping[str, str]) -> CiRun:
    """The build described by Jenkins' variables."""
    tag = value(env, "TAG_NAME")
    branch = _branch(env)
    repository = _common.repository_from_url(value(env, "GIT_URL"))
    job_name, build_number = value(env, "JOB_NAME"), value(env, "BUILD_NUMBER")
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "GIT_COMMIT")),
        # A change request's BRANCH_NAME (PR-24) is no branch of the repository.
        ("git_ref", _common.git_ref(tag=tag, branch=None if value(env, "CHANGE_ID") else branch)),
        ("git_ref_name", tag or branch),
        ("tag", tag),
        ("workflow", job_name),
        ("job", value(env, "STAGE_NAME")),
        ("run_id", value(env, "BUILD_ID")),
        ("run_number", build_number),
        ("run_url", value(env, "BUILD_URL")),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=_common.last_segment(repository),
        deployment_id=f"{job_name}-{build_number}" if job_name and build_number else None,
    )


def _branch(env: Mapping[str, str]) -> str | None:
    """``BRANCH_NAME`` (multibranch), else the Git plugin's branch without ``origin/``."""
    found = value(env, "BRANCH_NAME", "GIT_LOCAL_BRANCH")
    if found:
        return found
    remote_branch = value(env, "GIT_BRANCH")
    if not remote_branch:
        return None
    if remote_branch.startswith("refs/"):
        return _common.ref_name(remote_branch)
    return remote_branch.removeprefix("origin/") or None
