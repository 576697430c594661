"""Every CI but GitHub Actions, as data: one row each, the shared cleanup written once.

A row names the CI's marker and, for each field, the variables that give it (the first one set
wins). ``describe`` reads a row: it derives ``git_ref``, ``git_ref_name`` and ``tag`` from the
tag, branch or full ref the CI gives, the repository from a clone URL (never a credential), the
service from the repository, and puts the attributes in one order. A CI that needs more than
variables says so in its ``adjust``, the only code a row holds. (GitHub Actions, with its event
payload, is ``github.py``; a plain checkout is ``git.py``.)

Fields besides the attributes: ``branch``, ``ref`` (a full ``refs/...``), ``clone_url`` (the
repository, from its path only), ``service_name``, ``deployment_id`` and ``environment``. A
listed ``git_ref`` or ``git_ref_name`` stands in when the tag, branch and ref give none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import quote

from last9_change_event.ci import _common
from last9_change_event.ci._common import is_true, value
from last9_change_event.ci._model import CiRun

Found = dict[str, str | None]
#: The attributes a CI may give, in the order they are sent.
ORDER = (
    "repository",
    "commit_sha",
    "commit_message",
    "git_ref",
    "git_ref_name",
    "tag",
    "workflow",
    "job",
    "run_id",
    "run_number",
    "run_url",
    "job_id",
    "job_number",
    "job_url",
    "actor",
    "trigger_event",
)


class Provider(NamedTuple):
    """One CI: its name, its marker, and the variables of each field (first set wins)."""

    name: str
    marker: Callable[[Mapping[str, str]], bool]
    variables: Mapping[str, tuple[str, ...]]
    #: What variables alone cannot say, computed from the environment and what was found.
    adjust: Callable[[Mapping[str, str], Found], None] | None = None


def describe(provider: Provider, env: Mapping[str, str]) -> CiRun:
    """The run as ``provider``'s variables in ``env`` describe it."""
    found: Found = {field: value(env, *names) for field, names in provider.variables.items()}
    if provider.adjust is not None:
        provider.adjust(env, found)
    ref, branch = found.pop("ref", None), found.pop("branch", None)
    tag = found.get("tag") or _common.tag_of(ref)
    found["tag"] = tag
    found["git_ref"] = ref or _common.git_ref(tag=tag, branch=branch) or found.get("git_ref")
    found["git_ref_name"] = _common.ref_name(ref) or tag or branch or found.get("git_ref_name")
    repository = found.get("repository") or _common.repository_from_url(found.get("clone_url"))
    found["repository"] = repository
    return _common.run(
        provider.name,
        [(key, found.get(key)) for key in ORDER],
        service_name=found.get("service_name") or _common.last_segment(repository),
        deployment_id=found.get("deployment_id"),
        environment=found.get("environment"),
    )


# GitLab CI/CD: https://docs.gitlab.com/ci/variables/predefined_variables/
# The deployment id is CI_PIPELINE_ID: instance-wide unique, and the same in every job of one
# pipeline, so a start in one job and a stop in a later job share it; a retried job keeps its
# pipeline. A pipeline that deploys more than once (staging, then production) should pass its
# own id for each. CI_REPOSITORY_URL is never read: it carries the job token.
GITLAB = Provider(
    "gitlab-ci",
    lambda env: bool(value(env, "GITLAB_CI")),
    {
        "repository": ("CI_PROJECT_PATH",),
        "commit_sha": ("CI_COMMIT_SHA",),
        "commit_message": ("CI_COMMIT_TITLE", "CI_COMMIT_MESSAGE"),
        "tag": ("CI_COMMIT_TAG",),
        "branch": ("CI_COMMIT_BRANCH",),
        "git_ref": ("CI_MERGE_REQUEST_REF_PATH",),
        "git_ref_name": ("CI_COMMIT_REF_NAME",),
        "workflow": ("CI_PIPELINE_NAME",),
        "job": ("CI_JOB_NAME",),
        "run_id": ("CI_PIPELINE_ID",),
        "run_number": ("CI_PIPELINE_IID",),
        "run_url": ("CI_PIPELINE_URL",),
        "job_id": ("CI_JOB_ID",),
        "job_url": ("CI_JOB_URL",),
        "actor": ("GITLAB_USER_LOGIN",),
        "trigger_event": ("CI_PIPELINE_SOURCE",),
        "service_name": ("CI_PROJECT_NAME",),
        "deployment_id": ("CI_PIPELINE_ID",),
        "environment": ("CI_ENVIRONMENT_NAME",),
    },
)

# Buildkite: https://buildkite.com/docs/pipelines/environment_variables
# The deployment id is BUILDKITE_BUILD_ID, the build's UUID: the same in every step of one
# build. BUILDKITE_REPO is the clone URL: only its path survives. No deployment environment.
BUILDKITE = Provider(
    "buildkite",
    lambda env: is_true(env, "BUILDKITE"),
    {
        "clone_url": ("BUILDKITE_REPO",),
        "commit_sha": ("BUILDKITE_COMMIT",),
        "commit_message": ("BUILDKITE_MESSAGE",),
        "tag": ("BUILDKITE_TAG",),
        "branch": ("BUILDKITE_BRANCH",),
        "workflow": ("BUILDKITE_PIPELINE_NAME", "BUILDKITE_PIPELINE_SLUG"),
        "job": ("BUILDKITE_STEP_KEY", "BUILDKITE_LABEL"),
        "run_id": ("BUILDKITE_BUILD_ID",),
        "run_number": ("BUILDKITE_BUILD_NUMBER",),
        "run_url": ("BUILDKITE_BUILD_URL",),
        "job_id": ("BUILDKITE_JOB_ID",),
        "actor": ("BUILDKITE_BUILD_CREATOR",),
        "trigger_event": ("BUILDKITE_SOURCE",),
        "deployment_id": ("BUILDKITE_BUILD_ID",),
    },
)


def _circleci(env: Mapping[str, str], found: Found) -> None:
    """The owner/name variables exist for GitHub OAuth and Bitbucket projects only."""
    owner, name = value(env, "CIRCLE_PROJECT_USERNAME"), value(env, "CIRCLE_PROJECT_REPONAME")
    if owner and name:
        found["repository"] = f"{owner}/{name}"


# CircleCI: https://circleci.com/docs/reference/variables/
# The deployment id is CIRCLE_WORKFLOW_ID: the same in every job of one workflow, new when a
# workflow is re-run. The workflow's name and the trigger are pipeline values, not variables;
# run_url is the job's page.
CIRCLECI = Provider(
    "circleci",
    lambda env: is_true(env, "CIRCLECI"),
    {
        "clone_url": ("CIRCLE_REPOSITORY_URL",),
        "commit_sha": ("CIRCLE_SHA1",),
        "tag": ("CIRCLE_TAG",),
        "branch": ("CIRCLE_BRANCH",),
        "job": ("CIRCLE_JOB",),
        "run_id": ("CIRCLE_WORKFLOW_ID",),
        "run_url": ("CIRCLE_BUILD_URL",),
        "job_number": ("CIRCLE_BUILD_NUM",),
        "actor": ("CIRCLE_USERNAME",),
        "service_name": ("CIRCLE_PROJECT_REPONAME",),
        "deployment_id": ("CIRCLE_WORKFLOW_ID",),
    },
    _circleci,
)


def _jenkins(env: Mapping[str, str], found: Found) -> None:
    """The Git plugin's branch without its remote; a change request's branch (``PR-24``) is
    no branch of the repository; the build's id from job and number."""
    if not found.get("branch"):
        remote = value(env, "GIT_BRANCH")
        if remote and remote.startswith("refs/"):
            found["branch"] = _common.ref_name(remote)
        elif remote:
            found["branch"] = remote.removeprefix("origin/") or None
    if value(env, "CHANGE_ID"):
        found["git_ref_name"], found["branch"] = found.get("branch"), None
    job, number = value(env, "JOB_NAME"), value(env, "BUILD_NUMBER")
    found["deployment_id"] = f"{job}-{number}" if job and number else None


# Jenkins: https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables
# (every controller lists its own at ${JENKINS_URL}env-vars.html) and the Git plugin's,
# https://plugins.jenkins.io/git/#plugin-content-environment-variables. The deployment id is
# <JOB_NAME>-<BUILD_NUMBER> (BUILD_TAG without "jenkins-"): the same in every stage of one
# build. No deployment environment or triggering user without extra plugins.
JENKINS = Provider(
    "jenkins",
    lambda env: bool(value(env, "JENKINS_URL")),
    {
        "clone_url": ("GIT_URL",),
        "commit_sha": ("GIT_COMMIT",),
        "tag": ("TAG_NAME",),
        "branch": ("BRANCH_NAME", "GIT_LOCAL_BRANCH"),
        "workflow": ("JOB_NAME",),
        "job": ("STAGE_NAME",),
        "run_id": ("BUILD_ID",),
        "run_number": ("BUILD_NUMBER",),
        "run_url": ("BUILD_URL",),
    },
    _jenkins,
)


def _azure(env: Mapping[str, str], found: Found) -> None:
    """The run's page: ``<collection URI><project>/_build/results?buildId=<id>``."""
    collection = value(env, "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
    project, build = value(env, "SYSTEM_TEAMPROJECT"), found.get("run_id")
    if collection and project and build:
        base = _common.strip_credentials(collection).rstrip("/")
        found["run_url"] = f"{base}/{quote(project)}/_build/results?buildId={quote(build)}"


# Azure Pipelines: https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables and
# https://learn.microsoft.com/en-us/azure/devops/pipelines/process/deployment-jobs
# (ENVIRONMENT_NAME). The deployment id is BUILD_BUILDID: the same in every stage and job of one
# run, a re-run of a failed stage included. BUILD_SOURCEBRANCHNAME is only the ref's last
# segment (feature/x gives x). BUILD_REPOSITORY_URI is never read (a user name before "@").
AZURE = Provider(
    "azure-pipelines",
    lambda env: is_true(env, "TF_BUILD"),
    {
        "repository": ("BUILD_REPOSITORY_NAME",),
        "commit_sha": ("BUILD_SOURCEVERSION",),
        "commit_message": ("BUILD_SOURCEVERSIONMESSAGE",),
        "ref": ("BUILD_SOURCEBRANCH",),
        "git_ref_name": ("BUILD_SOURCEBRANCHNAME",),
        "workflow": ("BUILD_DEFINITIONNAME",),
        "job": ("SYSTEM_JOBDISPLAYNAME", "AGENT_JOBNAME"),
        "run_id": ("BUILD_BUILDID",),
        "run_number": ("BUILD_BUILDNUMBER",),
        "actor": ("BUILD_REQUESTEDFOR",),
        "trigger_event": ("BUILD_REASON",),
        "deployment_id": ("BUILD_BUILDID",),
        "environment": ("ENVIRONMENT_NAME",),
    },
    _azure,
)


def _bitbucket(_env: Mapping[str, str], found: Found) -> None:
    """UUIDs without their braces; the pipeline's page on bitbucket.org, the only host."""
    for field in ("run_id", "actor"):
        found[field] = (found.get(field) or "").strip().strip("{}") or None
    repository, number = found.get("repository"), found.get("run_number")
    if repository and number:
        found["run_url"] = (
            f"https://bitbucket.org/{quote(repository)}/pipelines/results/{quote(number)}"
        )
    found["deployment_id"] = found.get("run_id") or number


# Bitbucket Pipelines: https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/
# The deployment id is the pipeline's UUID (the same in every step of one pipeline, unique
# across repositories), else the repository's build number. No pipeline, step or trigger names;
# the triggering user only by UUID.
BITBUCKET = Provider(
    "bitbucket-pipelines",
    lambda env: bool(value(env, "BITBUCKET_BUILD_NUMBER")),
    {
        "repository": ("BITBUCKET_REPO_FULL_NAME",),
        "commit_sha": ("BITBUCKET_COMMIT",),
        "tag": ("BITBUCKET_TAG",),
        "branch": ("BITBUCKET_BRANCH",),
        "run_id": ("BITBUCKET_PIPELINE_UUID",),
        "run_number": ("BITBUCKET_BUILD_NUMBER",),
        "actor": ("BITBUCKET_STEP_TRIGGERER_UUID",),
        "service_name": ("BITBUCKET_REPO_SLUG",),
        "environment": ("BITBUCKET_DEPLOYMENT_ENVIRONMENT",),
    },
    _bitbucket,
)

#: After GitHub Actions, in order: the first CI whose marker is set describes the run.
PROVIDERS = (GITLAB, BUILDKITE, CIRCLECI, JENKINS, AZURE, BITBUCKET)
