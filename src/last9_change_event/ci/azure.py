"""Azure Pipelines: predefined variables, as the agent exports them (``Build.BuildId`` is
``BUILD_BUILDID``).

Sources:
- https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables
  (``TF_BUILD``, ``BUILD_REPOSITORY_NAME``, ``BUILD_SOURCEVERSION``, ``BUILD_SOURCEBRANCH``,
  ``BUILD_SOURCEBRANCHNAME``, ``BUILD_DEFINITIONNAME``, ``SYSTEM_JOBDISPLAYNAME``,
  ``AGENT_JOBNAME``, ``BUILD_BUILDID``, ``BUILD_BUILDNUMBER``, ``BUILD_REQUESTEDFOR``,
  ``BUILD_REASON``, ``SYSTEM_COLLECTIONURI``, ``SYSTEM_TEAMPROJECT``)
- deployment jobs: https://learn.microsoft.com/en-us/azure/devops/pipelines/process/deployment-jobs
  (``ENVIRONMENT_NAME``)

The deployment id is ``BUILD_BUILDID``: the same in every stage and job of one run, including a
re-run of a failed stage. ``BUILD_REPOSITORY_URI`` is never read (Azure Repos URIs carry a user
name before ``@``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from last9_change_event.ci import _common
from last9_change_event.ci._common import value
from last9_change_event.ci._model import CiRun

PROVIDER = "azure-pipelines"


def detect(env: Mapping[str, str]) -> CiRun:
    """The run described by Azure Pipelines' predefined variables."""
    ref = value(env, "BUILD_SOURCEBRANCH")
    repository = value(env, "BUILD_REPOSITORY_NAME")
    build_id = value(env, "BUILD_BUILDID")
    candidates = [
        ("repository", repository),
        ("commit_sha", value(env, "BUILD_SOURCEVERSION")),
        ("git_ref", ref),
        # BUILD_SOURCEBRANCHNAME is only the last path segment (feature/x gives x).
        ("git_ref_name", _common.ref_name(ref) or value(env, "BUILD_SOURCEBRANCHNAME")),
        ("tag", _common.tag_of(ref)),
        ("workflow", value(env, "BUILD_DEFINITIONNAME")),
        ("job", value(env, "SYSTEM_JOBDISPLAYNAME", "AGENT_JOBNAME")),
        ("run_id", build_id),
        ("run_number", value(env, "BUILD_BUILDNUMBER")),
        ("run_url", _run_url(env, build_id)),
        ("actor", value(env, "BUILD_REQUESTEDFOR")),
        ("trigger_event", value(env, "BUILD_REASON")),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=_common.last_segment(repository),
        deployment_id=build_id,
        environment=value(env, "ENVIRONMENT_NAME"),
    )


def _run_url(env: Mapping[str, str], build_id: str | None) -> str | None:
    """``<collection URI><project>/_build/results?buildId=<id>``, the run's page."""
    collection = value(env, "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
    project = value(env, "SYSTEM_TEAMPROJECT")
    if not (collection and project and build_id):
        return None
    base = _common.strip_credentials(collection).rstrip("/")
    return f"{base}/{quote(project)}/_build/results?buildId={quote(build_id)}"
