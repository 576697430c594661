"""CI context providers: each CI's documented variables in, the exact ``CiRun`` out.

Every fixture holds realistic values of the variables its CI documents (the sources are cited
in each provider module), plus a secret or two that must never reach an attribute.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from last9_change_event.ci import CiRun, GitFacts, checkout, detect, read_git
from last9_change_event.ci._common import repository_from_url, strip_credentials
from tests.cli_process import in_process
from tests.github_run import RELEASE_EVENT, RUNNER_ENV

SHA = "0123456789abcdef0123456789abcdef01234567"

GITLAB_ENV: Mapping[str, str] = {
    "CI": "true",
    "GITLAB_CI": "true",
    "CI_SERVER_URL": "https://gitlab.com",
    "CI_PROJECT_PATH": "acme/platform/shop",
    "CI_PROJECT_NAME": "shop",
    "CI_PROJECT_URL": "https://gitlab.com/acme/platform/shop",
    "CI_REPOSITORY_URL": "https://gitlab-ci-token:SECRET-job-token@gitlab.com/acme/platform/shop.git",
    "CI_JOB_TOKEN": "SECRET-job-token",
    "CI_COMMIT_SHA": SHA,
    "CI_COMMIT_TITLE": "Release 1.2.3",
    "CI_COMMIT_MESSAGE": "Release 1.2.3\n\nChangelog: faster checkout",
    "CI_COMMIT_TAG": "v1.2.3",
    "CI_COMMIT_REF_NAME": "v1.2.3",
    "CI_PIPELINE_NAME": "Release v1.2.3",
    "CI_JOB_NAME": "deploy-production",
    "CI_JOB_STAGE": "deploy",
    "CI_PIPELINE_ID": "1234567890",
    "CI_PIPELINE_IID": "88",
    "CI_PIPELINE_URL": "https://gitlab.com/acme/platform/shop/-/pipelines/1234567890",
    "CI_JOB_ID": "9876543210",
    "CI_JOB_URL": "https://gitlab.com/acme/platform/shop/-/jobs/9876543210",
    "GITLAB_USER_LOGIN": "jdoe",
    "CI_PIPELINE_SOURCE": "push",
    "CI_ENVIRONMENT_NAME": "production",
    "CI_ENVIRONMENT_SLUG": "production",
}

BUILDKITE_ENV: Mapping[str, str] = {
    "CI": "true",
    "BUILDKITE": "true",
    "BUILDKITE_AGENT_ACCESS_TOKEN": "SECRET-agent-token",
    "BUILDKITE_ORGANIZATION_SLUG": "acme",
    "BUILDKITE_PIPELINE_SLUG": "shop-deploy",
    "BUILDKITE_PIPELINE_NAME": "Shop deploy",
    "BUILDKITE_REPO": "git@github.com:acme/shop.git",
    "BUILDKITE_COMMIT": SHA,
    "BUILDKITE_MESSAGE": "Faster checkout (#42)",
    "BUILDKITE_BRANCH": "main",
    "BUILDKITE_TAG": "",
    "BUILDKITE_STEP_KEY": "deploy",
    "BUILDKITE_LABEL": ":rocket: Deploy",
    "BUILDKITE_BUILD_ID": "0190b1a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
    "BUILDKITE_BUILD_NUMBER": "1514",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/shop-deploy/builds/1514",
    "BUILDKITE_JOB_ID": "0190b1a2-7777-4e5f-8a9b-0c1d2e3f4a5b",
    "BUILDKITE_BUILD_CREATOR": "Jane Doe",
    "BUILDKITE_SOURCE": "webhook",
}

CIRCLECI_ENV: Mapping[str, str] = {
    "CI": "true",
    "CIRCLECI": "true",
    "CIRCLE_PROJECT_USERNAME": "acme",
    "CIRCLE_PROJECT_REPONAME": "shop",
    "CIRCLE_REPOSITORY_URL": "git@github.com:acme/shop.git",
    "CIRCLE_SHA1": SHA,
    "CIRCLE_TAG": "v1.2.3",
    "CIRCLE_JOB": "deploy",
    "CIRCLE_WORKFLOW_ID": "6b8f3e2c-1d4a-4b5c-9e7f-0a1b2c3d4e5f",
    "CIRCLE_WORKFLOW_JOB_ID": "9c2d1e0f-8a7b-4c6d-5e4f-3a2b1c0d9e8f",
    "CIRCLE_BUILD_NUM": "4242",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/shop/4242",
    "CIRCLE_USERNAME": "jdoe",
}

JENKINS_ENV: Mapping[str, str] = {
    "JENKINS_URL": "https://jenkins.acme.example/",
    "JOB_NAME": "shop/main",
    "JOB_BASE_NAME": "main",
    "BUILD_NUMBER": "57",
    "BUILD_ID": "57",
    "BUILD_URL": "https://jenkins.acme.example/job/shop/job/main/57/",
    "BUILD_TAG": "jenkins-shop-main-57",
    "BRANCH_NAME": "main",
    "STAGE_NAME": "Deploy",
    "GIT_COMMIT": SHA,
    "GIT_BRANCH": "main",
    "GIT_URL": "https://deploy-bot:SECRET-jenkins-pat@github.com/acme/shop.git",
}

AZURE_ENV: Mapping[str, str] = {
    "TF_BUILD": "True",
    "SYSTEM_ACCESSTOKEN": "SECRET-azure-token",
    "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/",
    "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/acme/",
    "SYSTEM_TEAMPROJECT": "Web Shop",
    "BUILD_REPOSITORY_NAME": "acme/shop",
    "BUILD_REPOSITORY_URI": "https://acme@dev.azure.com/acme/Web%20Shop/_git/shop",
    "BUILD_SOURCEVERSION": SHA,
    "BUILD_SOURCEVERSIONMESSAGE": "Merged PR 77: release 2024.01",
    "BUILD_SOURCEBRANCH": "refs/heads/release/2024.01",
    "BUILD_SOURCEBRANCHNAME": "2024.01",
    "BUILD_DEFINITIONNAME": "shop-ci",
    "SYSTEM_JOBDISPLAYNAME": "Deploy production",
    "AGENT_JOBNAME": "Deploy production",
    "BUILD_BUILDID": "20481",
    "BUILD_BUILDNUMBER": "20240115.3",
    "BUILD_REQUESTEDFOR": "Jane Doe",
    "BUILD_REASON": "IndividualCI",
    "ENVIRONMENT_NAME": "production",
}

BITBUCKET_ENV: Mapping[str, str] = {
    "CI": "true",
    "BITBUCKET_BUILD_NUMBER": "311",
    "BITBUCKET_PIPELINE_UUID": "{3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b}",
    "BITBUCKET_STEP_UUID": "{8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5f6e}",
    "BITBUCKET_STEP_TRIGGERER_UUID": "{a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d}",
    "BITBUCKET_WORKSPACE": "acme",
    "BITBUCKET_REPO_FULL_NAME": "acme/shop",
    "BITBUCKET_REPO_SLUG": "shop",
    "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/shop",
    "BITBUCKET_COMMIT": SHA,
    "BITBUCKET_BRANCH": "main",
    "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "production",
}

GITHUB_RELEASE = CiRun(
    provider="github-actions",
    attributes=(
        ("repository", "acme/shop"),
        ("commit_sha", SHA),
        ("git_ref", "refs/tags/v1.2.3"),
        ("git_ref_name", "v1.2.3"),
        ("workflow", "Release"),
        ("job", "deploy"),
        ("run_id", "987654321"),
        ("run_number", "42"),
        ("run_attempt", "1"),
        ("actor", "octocat"),
        ("trigger_event", "release"),
        ("run_url", "https://github.com/acme/shop/actions/runs/987654321/attempts/1"),
        ("release_tag", "v1.2.3"),
        ("release_name", "Shop 1.2.3"),
        ("release_url", "https://github.com/acme/shop/releases/tag/v1.2.3"),
        ("tag", "v1.2.3"),
        ("ci_provider", "github-actions"),
    ),
    service_name="shop",
    deployment_id="987654321-1-deploy",
    environment=None,
    event_state=None,
    outcome=None,
)

EXPECTED: dict[str, tuple[Mapping[str, str], CiRun]] = {
    "gitlab": (
        GITLAB_ENV,
        CiRun(
            provider="gitlab-ci",
            attributes=(
                ("repository", "acme/platform/shop"),
                ("commit_sha", SHA),
                ("commit_message", "Release 1.2.3"),
                ("git_ref", "refs/tags/v1.2.3"),
                ("git_ref_name", "v1.2.3"),
                ("tag", "v1.2.3"),
                ("workflow", "Release v1.2.3"),
                ("job", "deploy-production"),
                ("run_id", "1234567890"),
                ("run_number", "88"),
                ("run_url", "https://gitlab.com/acme/platform/shop/-/pipelines/1234567890"),
                ("job_id", "9876543210"),
                ("job_url", "https://gitlab.com/acme/platform/shop/-/jobs/9876543210"),
                ("actor", "jdoe"),
                ("trigger_event", "push"),
                ("ci_provider", "gitlab-ci"),
            ),
            service_name="shop",
            deployment_id="1234567890",
            environment="production",
            event_state=None,
            outcome=None,
        ),
    ),
    "buildkite": (
        BUILDKITE_ENV,
        CiRun(
            provider="buildkite",
            attributes=(
                ("repository", "acme/shop"),
                ("commit_sha", SHA),
                ("commit_message", "Faster checkout (#42)"),
                ("git_ref", "refs/heads/main"),
                ("git_ref_name", "main"),
                ("workflow", "Shop deploy"),
                ("job", "deploy"),
                ("run_id", "0190b1a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"),
                ("run_number", "1514"),
                ("run_url", "https://buildkite.com/acme/shop-deploy/builds/1514"),
                ("job_id", "0190b1a2-7777-4e5f-8a9b-0c1d2e3f4a5b"),
                ("actor", "Jane Doe"),
                ("trigger_event", "webhook"),
                ("ci_provider", "buildkite"),
            ),
            service_name="shop",
            deployment_id="0190b1a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            environment=None,
            event_state=None,
            outcome=None,
        ),
    ),
    "circleci": (
        CIRCLECI_ENV,
        CiRun(
            provider="circleci",
            attributes=(
                ("repository", "acme/shop"),
                ("commit_sha", SHA),
                ("git_ref", "refs/tags/v1.2.3"),
                ("git_ref_name", "v1.2.3"),
                ("tag", "v1.2.3"),
                ("job", "deploy"),
                ("run_id", "6b8f3e2c-1d4a-4b5c-9e7f-0a1b2c3d4e5f"),
                ("run_url", "https://circleci.com/gh/acme/shop/4242"),
                ("job_number", "4242"),
                ("actor", "jdoe"),
                ("ci_provider", "circleci"),
            ),
            service_name="shop",
            deployment_id="6b8f3e2c-1d4a-4b5c-9e7f-0a1b2c3d4e5f",
            environment=None,
            event_state=None,
            outcome=None,
        ),
    ),
    "jenkins": (
        JENKINS_ENV,
        CiRun(
            provider="jenkins",
            attributes=(
                ("repository", "acme/shop"),
                ("commit_sha", SHA),
                ("git_ref", "refs/heads/main"),
                ("git_ref_name", "main"),
                ("workflow", "shop/main"),
                ("job", "Deploy"),
                ("run_id", "57"),
                ("run_number", "57"),
                ("run_url", "https://jenkins.acme.example/job/shop/job/main/57/"),
                ("ci_provider", "jenkins"),
            ),
            service_name="shop",
            deployment_id="shop/main-57",
            environment=None,
            event_state=None,
            outcome=None,
        ),
    ),
    "azure": (
        AZURE_ENV,
        CiRun(
            provider="azure-pipelines",
            attributes=(
                ("repository", "acme/shop"),
                ("commit_sha", SHA),
                ("commit_message", "Merged PR 77: release 2024.01"),
                ("git_ref", "refs/heads/release/2024.01"),
                ("git_ref_name", "release/2024.01"),
                ("workflow", "shop-ci"),
                ("job", "Deploy production"),
                ("run_id", "20481"),
                ("run_number", "20240115.3"),
                ("run_url", "https://dev.azure.com/acme/Web%20Shop/_build/results?buildId=20481"),
                ("actor", "Jane Doe"),
                ("trigger_event", "IndividualCI"),
                ("ci_provider", "azure-pipelines"),
            ),
            service_name="shop",
            deployment_id="20481",
            environment="production",
            event_state=None,
            outcome=None,
        ),
    ),
    "bitbucket": (
        BITBUCKET_ENV,
        CiRun(
            provider="bitbucket-pipelines",
            attributes=(
                ("repository", "acme/shop"),
                ("commit_sha", SHA),
                ("git_ref", "refs/heads/main"),
                ("git_ref_name", "main"),
                ("run_id", "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b"),
                ("run_number", "311"),
                ("run_url", "https://bitbucket.org/acme/shop/pipelines/results/311"),
                ("actor", "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
                ("ci_provider", "bitbucket-pipelines"),
            ),
            service_name="shop",
            deployment_id="3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b",
            environment="production",
            event_state=None,
            outcome=None,
        ),
    ),
    "github": (RUNNER_ENV, GITHUB_RELEASE),
}

#: Each CI's marker variable alone: what detection needs and nothing else.
MARKERS: dict[str, tuple[dict[str, str], str]] = {
    "github": ({"GITHUB_ACTIONS": "true"}, "github-actions"),
    "gitlab": ({"GITLAB_CI": "true"}, "gitlab-ci"),
    "buildkite": ({"BUILDKITE": "true"}, "buildkite"),
    "circleci": ({"CIRCLECI": "true"}, "circleci"),
    "jenkins": ({"JENKINS_URL": "http://ci.local:8080/"}, "jenkins"),
    "azure": ({"TF_BUILD": "True"}, "azure-pipelines"),
    "bitbucket": ({"BITBUCKET_BUILD_NUMBER": "7"}, "bitbucket-pipelines"),
}


def _attributes(run: CiRun) -> dict[str, str]:
    return dict(run.attributes)


@pytest.mark.parametrize("name", list(EXPECTED), ids=list(EXPECTED))
def test_provider_maps_documented_variables(name: str) -> None:
    """Each CI's documented variables give exactly the expected run."""
    env, expected = EXPECTED[name]
    event = RELEASE_EVENT if name == "github" else None
    assert detect(env, event=event) == expected


@pytest.mark.parametrize("name", list(EXPECTED), ids=list(EXPECTED))
def test_no_secret_reaches_the_run(name: str) -> None:
    """Tokens in the environment or in clone URLs appear nowhere in the run."""
    env, _ = EXPECTED[name]
    run = detect(env, event=RELEASE_EVENT)
    texts = [value for _, value in run.attributes]
    texts += [run.service_name or "", run.deployment_id or "", run.environment or ""]
    assert not [text for text in texts if "SECRET" in text or "acme@" in text]


@pytest.mark.parametrize("name", list(MARKERS), ids=list(MARKERS))
def test_marker_alone_degrades_to_provider_only(name: str) -> None:
    """With only its marker variable set, a provider still answers, with nothing invented."""
    env, provider = MARKERS[name]
    # Bitbucket's marker is its build number, which is also the run number and the id.
    number = env.get("BITBUCKET_BUILD_NUMBER")
    assert detect(env) == CiRun(
        provider=provider,
        attributes=(*((("run_number", number),) if number else ()), ("ci_provider", provider)),
        service_name=None,
        deployment_id=number,
        environment=None,
        event_state=None,
        outcome=None,
    )


@pytest.mark.parametrize("name", list(EXPECTED), ids=list(EXPECTED))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_subset_of_variables_degrades_gracefully(name: str, data: st.DataObject) -> None:
    """Any subset of a CI's variables (marker kept), blank or not: no error, clean attributes."""
    env, expected = EXPECTED[name]
    marker = MARKERS[name][0]
    names = data.draw(st.sets(st.sampled_from(sorted(env))))
    blank = data.draw(st.sets(st.sampled_from(sorted(env))))
    subset = {key: (" " if key in blank else env[key]) for key in names} | marker
    run = detect(subset, event=data.draw(st.sampled_from([None, RELEASE_EVENT])))
    assert run.provider == expected.provider
    keys = [key for key, _ in run.attributes]
    assert keys[-1] == "ci_provider"
    assert len(keys) == len(set(keys))
    assert all(value.strip() for _, value in run.attributes)
    assert set(keys) <= {key for key, _ in expected.attributes} | {"tag", "release_tag"} | {
        "release_name",
        "release_url",
        "git_ref",
    }


# --- what the command line sends in each CI ---------------------------------------------------

#: (event state, flags, the attributes the command line adds after the CI's, in this order)
DEFAULTS_CASES: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "start-ci-environment": ("start", (), {}),
    "start-environment-flag": ("start", ("--environment", "prod-eu"), {}),
    "stop-environment-flag": (
        "stop",
        ("--environment", "prod-eu", "--outcome", "success", "--started-at", "1705320000"),
        {"duration_seconds": "60", "outcome": "success"},
    ),
}


@pytest.mark.parametrize("case", list(DEFAULTS_CASES), ids=list(DEFAULTS_CASES))
@pytest.mark.parametrize("name", list(EXPECTED), ids=list(EXPECTED))
def test_command_line_sends_the_default_attributes(name: str, case: str, tmp_path: Path) -> None:
    """In every CI the command line sends the CI's attributes, then `service_name`, the
    environment under both of Last9's keys (`deployment_environment` and `env`, one value),
    `deployment_id`, and on a stop `duration_seconds` and `outcome`: exactly these, in order."""
    env, run = EXPECTED[name]
    state, flags, stop_attributes = DEFAULTS_CASES[case]
    variables = dict(env)
    if name == "github":
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(RELEASE_EVENT), encoding="utf-8")
        variables["GITHUB_EVENT_PATH"] = str(event_file)
    done = in_process(
        state, "--org", "acme", "--dry-run", "--timestamp", "2024-01-15T12:01:00Z", *flags,
        env=variables, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sent = json.loads(done.stdout)["payload"]["attributes"]
    environment = "prod-eu" if "--environment" in flags else run.environment
    assert run.service_name
    assert run.deployment_id
    expected = {
        **dict(run.attributes),
        "service_name": run.service_name,
        **({"deployment_environment": environment, "env": environment} if environment else {}),
        "deployment_id": run.deployment_id,
        **stop_attributes,
    }
    assert list(sent.items()) == list(expected.items())


# --- detection ------------------------------------------------------------------------------

ORDER = ["github", "gitlab", "buildkite", "circleci", "jenkins", "azure", "bitbucket"]


@pytest.mark.parametrize("first", range(len(ORDER)), ids=ORDER)
def test_detection_precedence(first: int) -> None:
    """With several CI markers set, the first in the documented order wins."""
    env: dict[str, str] = {}
    for name in ORDER[first:]:
        env |= MARKERS[name][0]
    assert detect(env, git=GitFacts(SHA, "main", None, None)).provider == MARKERS[ORDER[first]][1]


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"GITHUB_ACTIONS": "false"}, "none"),
        ({"GITHUB_ACTIONS": "TRUE"}, "github-actions"),
        ({"BUILDKITE": "1"}, "none"),
        ({"TF_BUILD": "true"}, "azure-pipelines"),
        ({"JENKINS_URL": "  "}, "none"),
        ({"GITLAB_CI": ""}, "none"),
        ({"CI": "true"}, "none"),
    ],
    ids=[
        "github-false",
        "github-upper",
        "buildkite-1",
        "tf-build-lower",
        "jenkins-blank",
        "gitlab-empty",
        "generic-ci",
    ],
)
def test_marker_values(env: dict[str, str], provider: str) -> None:
    """Boolean markers need ``true`` in any case; the others need a non-blank value."""
    assert detect(env).provider == provider


def test_nothing_detected_is_none() -> None:
    """No CI and no git facts: provider ``none`` and nothing else."""
    assert detect({"HOME": "/home/dev", "PATH": "/usr/bin"}) == CiRun(
        "none", (), None, None, None, None, None
    )


def test_git_facts_when_no_ci() -> None:
    """Outside CI, a checkout's facts describe the run; the remote's credentials are gone."""
    facts = GitFacts(
        commit=SHA,
        branch="main",
        tag="v1.2.3",
        remote_url="https://oauth2:SECRET-pat@gitlab.example.com/acme/platform/shop.git",
    )
    assert detect({}, git=facts) == CiRun(
        provider="git",
        attributes=(
            ("repository", "acme/platform/shop"),
            ("commit_sha", SHA),
            ("git_ref", "refs/heads/main"),
            ("git_ref_name", "main"),
            ("tag", "v1.2.3"),
            ("repository_url", "https://gitlab.example.com/acme/platform/shop.git"),
            ("ci_provider", "git"),
        ),
        service_name="shop",
        deployment_id=None,
        environment=None,
        event_state=None,
        outcome=None,
    )


def test_git_facts_detached_at_a_tag() -> None:
    """A detached HEAD at a tag: the tag is the ref."""
    run = detect({}, git=GitFacts(SHA, None, "v2.0.0", "git@github.com:acme/shop.git"))
    assert _attributes(run) == {
        "repository": "acme/shop",
        "commit_sha": SHA,
        "git_ref": "refs/tags/v2.0.0",
        "git_ref_name": "v2.0.0",
        "tag": "v2.0.0",
        "repository_url": "github.com:acme/shop.git",
        "ci_provider": "git",
    }


# --- provider variants ----------------------------------------------------------------------


def test_gitlab_branch_pipeline() -> None:
    """A branch pipeline: refs/heads/..., no tag."""
    env = {key: value for key, value in GITLAB_ENV.items() if key != "CI_COMMIT_TAG"}
    env |= {"CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}
    attributes = _attributes(detect(env))
    assert (attributes["git_ref"], attributes["git_ref_name"]) == ("refs/heads/main", "main")
    assert "tag" not in attributes


def test_gitlab_merge_request_pipeline() -> None:
    """A merge request pipeline has no branch variable; its ref path stands in."""
    env = {key: value for key, value in GITLAB_ENV.items() if key != "CI_COMMIT_TAG"}
    env |= {"CI_MERGE_REQUEST_REF_PATH": "refs/merge-requests/12/head"}
    assert _attributes(detect(env))["git_ref"] == "refs/merge-requests/12/head"


@pytest.mark.parametrize(
    ("variables", "ref", "name"),
    [
        ({"GIT_BRANCH": "origin/feature/login"}, "refs/heads/feature/login", "feature/login"),
        ({"GIT_BRANCH": "refs/heads/main"}, "refs/heads/main", "main"),
        ({"GIT_LOCAL_BRANCH": "main", "GIT_BRANCH": "origin/main"}, "refs/heads/main", "main"),
        ({"TAG_NAME": "v3.0.0", "BRANCH_NAME": "v3.0.0"}, "refs/tags/v3.0.0", "v3.0.0"),
        ({"BRANCH_NAME": "PR-24", "CHANGE_ID": "24"}, None, "PR-24"),
    ],
    ids=["git-plugin-remote", "git-plugin-ref", "local-branch", "tag", "change-request"],
)
def test_jenkins_branches(variables: dict[str, str], ref: str | None, name: str) -> None:
    """Jenkins' branch comes from the multibranch variables or the Git plugin's, cleaned up."""
    env = {"JENKINS_URL": "https://jenkins.acme.example/", **variables}
    attributes = _attributes(detect(env))
    assert attributes.get("git_ref") == ref
    assert attributes["git_ref_name"] == name


def test_azure_tag_build() -> None:
    """An Azure run for refs/tags/... names the tag."""
    env = {
        **AZURE_ENV,
        "BUILD_SOURCEBRANCH": "refs/tags/v1.2.3",
        "BUILD_SOURCEBRANCHNAME": "v1.2.3",
    }
    attributes = _attributes(detect(env))
    assert (attributes["tag"], attributes["git_ref_name"]) == ("v1.2.3", "v1.2.3")


def test_circleci_repository_from_url() -> None:
    """Without the GitHub-only owner/name variables, the repository comes from the clone URL."""
    env = {
        key: value
        for key, value in CIRCLECI_ENV.items()
        if key not in {"CIRCLE_PROJECT_USERNAME", "CIRCLE_PROJECT_REPONAME"}
    }
    env["CIRCLE_REPOSITORY_URL"] = "https://gitlab.com/acme/platform/shop.git"
    run = detect(env)
    assert (_attributes(run)["repository"], run.service_name) == ("acme/platform/shop", "shop")


def test_bitbucket_without_pipeline_uuid_uses_build_number() -> None:
    """Without the pipeline UUID, the build number is the deployment id."""
    env = {k: v for k, v in BITBUCKET_ENV.items() if k != "BITBUCKET_PIPELINE_UUID"}
    assert detect(env).deployment_id == "311"


# --- GitHub Actions -------------------------------------------------------------------------


def test_github_push_of_a_tag() -> None:
    """A pushed tag (GITHUB_REF_TYPE=tag) adds ``tag``; the deployment id stays run-attempt-job."""
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": "push", "GITHUB_REF_TYPE": "tag"}
    run = detect(env, event={"ref": "refs/tags/v1.2.3"})
    assert run.attributes[-2:] == (("tag", "v1.2.3"), ("ci_provider", "github-actions"))
    assert run.deployment_id == "987654321-1-deploy"


def test_github_branch_push_has_no_tag() -> None:
    """A branch push has no ``tag``."""
    env = {
        **RUNNER_ENV,
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_REF_TYPE": "branch",
    }
    assert "tag" not in _attributes(detect(env, event={}))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"head_commit": {"message": "Fix the checkout\n\nSigned-off-by: J <j@x.example>"}},
            "Fix the checkout\n\nSigned-off-by: J <j@x.example>",
        ),
        ({"head_commit": None, "commits": [{"message": "older"}]}, None),
        ({"head_commit": {"message": "   "}}, None),
    ],
    ids=["head-commit", "no-head-commit", "blank"],
)
def test_github_push_gives_the_commit_message(event: dict[str, Any], message: str | None) -> None:
    """A push gives its head commit's message, as it is (the event keeps its first line); not
    ``commits[0]``, the push's oldest commit, which is not the one deployed."""
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}
    assert _attributes(detect(env, event=event)).get("commit_message") == message


@pytest.mark.parametrize("name", ["release", "workflow_dispatch", "deployment"])
def test_github_only_a_push_gives_a_commit_message(name: str) -> None:
    """Other events' payloads hold no message of the deployed commit: none is sent."""
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": name}
    assert "commit_message" not in _attributes(detect(env, event={"head_commit": {"message": "x"}}))


def test_command_line_sends_the_first_line_of_a_commit_message(tmp_path: Path) -> None:
    """What is sent is the message's first line, at most 100 characters."""
    event_file = tmp_path / "event.json"
    subject = "Deploy " + "x" * 120
    event_file.write_text(json.dumps({"head_commit": {"message": f"\n{subject}\n\nbody"}}))
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event_file)}
    done = in_process("--org", "acme", "--dry-run", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sent = json.loads(done.stdout)["payload"]["attributes"]["commit_message"]
    assert sent == subject[:99] + "…"


def test_github_deployment_id_defaults() -> None:
    """Without attempt or job the id still forms; without a run id there is none."""
    env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "5"}
    assert detect(env).deployment_id == "5-1-job"
    assert detect({"GITHUB_ACTIONS": "true"}).deployment_id is None


DEPLOYMENT = {
    "id": 145988746,
    "url": "https://api.github.com/repos/acme/shop/deployments/145988746",
    "sha": SHA,
    "ref": "main",
    "task": "deploy",
    "environment": "production",
    "payload": {},
}
DEPLOY_ENV = {**RUNNER_ENV, "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}


def test_github_deployment_event() -> None:
    """A ``deployment`` event: today's two attributes, then sha, task and URL; its environment."""
    env = {**DEPLOY_ENV, "GITHUB_EVENT_NAME": "deployment"}
    run = detect(env, event={"action": "created", "deployment": DEPLOYMENT})
    assert run.attributes[12:] == (
        ("deployment_environment", "production"),
        ("deployment_ref", "main"),
        ("deployment_sha", SHA),
        ("deployment_task", "deploy"),
        ("deployment_url", "https://api.github.com/repos/acme/shop/deployments/145988746"),
        ("ci_provider", "github-actions"),
    )
    assert (run.environment, run.event_state, run.outcome) == ("production", None, None)


@pytest.mark.parametrize(
    ("state", "event_state", "outcome"),
    [
        ("in_progress", "start", None),
        ("success", "stop", "success"),
        ("failure", "stop", "failure"),
        ("error", "stop", "error"),
        ("queued", None, None),
        ("pending", None, None),
        ("inactive", None, None),
        ("something-new", None, None),
    ],
    ids=str,
)
def test_github_deployment_status(state: str, event_state: str | None, outcome: str | None) -> None:
    """A ``deployment_status`` event: its state decides start/stop and the outcome."""
    env = {**DEPLOY_ENV, "GITHUB_EVENT_NAME": "deployment_status"}
    status = {
        "url": "https://api.github.com/repos/acme/shop/deployments/145988746/statuses/1",
        "state": state,
        "environment": "production",
    }
    run = detect(env, event={"deployment_status": status, "deployment": DEPLOYMENT})
    assert (run.event_state, run.outcome, run.environment) == (event_state, outcome, "production")
    attributes = _attributes(run)
    assert attributes["deployment_state"] == state
    assert attributes["deployment_status_url"] == status["url"]
    assert attributes["deployment_environment"] == "production"


def test_github_deployment_status_environment_falls_back_to_the_status() -> None:
    """Without the deployment's environment, the status's environment is used."""
    env = {**DEPLOY_ENV, "GITHUB_EVENT_NAME": "deployment_status"}
    event = {"deployment_status": {"state": "success", "environment": "staging"}}
    assert detect(env, event=event).environment == "staging"


DISPATCH = {"inputs": {"version": "1.2.3", "dry-run": False, "replicas": 3, "notes": "", "x": None}}


def test_github_workflow_dispatch_inputs_only_when_asked() -> None:
    """``workflow_dispatch`` inputs become ``input_<name>`` only with the switch on."""
    env = {**DEPLOY_ENV, "GITHUB_EVENT_NAME": "workflow_dispatch"}
    without = detect(env, event=DISPATCH)
    assert not [key for key, _ in without.attributes if key.startswith("input_")]
    with_inputs = detect(env, event=DISPATCH, workflow_dispatch_inputs=True)
    assert with_inputs.attributes[-4:] == (
        ("input_version", "1.2.3"),
        ("input_dry_run", "false"),
        ("input_replicas", "3"),
        ("ci_provider", "github-actions"),
    )


def test_github_inputs_of_other_events_are_ignored() -> None:
    """Inputs are read from ``workflow_dispatch`` events only."""
    env = {**DEPLOY_ENV, "GITHUB_EVENT_NAME": "push"}
    run = detect(env, event=DISPATCH, workflow_dispatch_inputs=True)
    assert not [key for key, _ in run.attributes if key.startswith("input_")]


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "release",
        42,
        {"release": "v1"},
        {"release": {"tag_name": ["v1"], "name": {"x": 1}, "html_url": True}},
        {"deployment": [DEPLOYMENT]},
        {"deployment_status": "success"},
        {"inputs": ["a", "b"]},
        {"inputs": {"": "x", "---": "y", "1st": 1.5}},
    ],
    ids=[
        "none",
        "list",
        "string",
        "number",
        "release-string",
        "odd-fields",
        "deployment-list",
        "status-string",
        "inputs-list",
        "odd-input-names",
    ],
)
@pytest.mark.parametrize(
    "name",
    ["release", "deployment", "deployment_status", "workflow_dispatch"],
    ids=str,
)
def test_github_odd_payloads_degrade(event: Any, name: str) -> None:
    """Payloads of unexpected shapes give the env-only attributes, or what is usable."""
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": name}
    run = detect(env, event=event, workflow_dispatch_inputs=True)
    keys = [key for key, _ in run.attributes]
    assert keys[:11] == [key for key, _ in GITHUB_RELEASE.attributes[:11]]
    assert all(isinstance(value, str) and value.strip() for _, value in run.attributes)
    assert run.event_state is None


def test_github_odd_input_names_are_label_safe() -> None:
    """Input names become label-safe keys; names with nothing label-safe are left out."""
    env = {**RUNNER_ENV, "GITHUB_EVENT_NAME": "workflow_dispatch"}
    event = {"inputs": {"": "x", "---": "y", "1st": 1.5, "région": "eu"}}
    run = detect(env, event=event, workflow_dispatch_inputs=True)
    inputs = {key: value for key, value in run.attributes if key.startswith("input")}
    assert inputs == {"input_1st": "1.5", "input_r_gion": "eu"}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "release",
        "deployment",
        "deployment_status",
        "inputs",
        "action",
        "tag_name",
        "name",
        "html_url",
        "environment",
        "ref",
        "sha",
        "task",
        "url",
        "state",
    ]
)
SHAPED = st.recursive(
    JSON,
    lambda children: st.dictionaries(KEYS, children, max_size=6),
    max_leaves=30,
)


# 150: drawing these nested payloads costs far more than checking them.
@settings(max_examples=100, deadline=None)
@given(
    event=JSON | SHAPED,
    name=st.sampled_from(
        ["release", "deployment", "deployment_status", "workflow_dispatch", "push"]
    ),
    inputs=st.booleans(),
)
def test_github_any_json_payload_never_raises(event: Any, name: str, inputs: bool) -> None:
    """Whatever JSON the event file holds, detection answers with string attributes."""
    run = detect(
        {**RUNNER_ENV, "GITHUB_EVENT_NAME": name}, event=event, workflow_dispatch_inputs=inputs
    )
    assert run.provider == "github-actions"
    assert all(isinstance(value, str) and value.strip() for _, value in run.attributes)
    assert run.event_state in {None, "start", "stop"}
    assert run.attributes[-1] == ("ci_provider", "github-actions")


# --- credentials ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:token@github.com/acme/shop.git", "https://github.com/acme/shop.git"),
        ("https://oauth2:glpat-abc@gitlab.com/acme/shop.git", "https://gitlab.com/acme/shop.git"),
        ("https://x-access-token:ghs_x@github.com/acme/shop", "https://github.com/acme/shop"),
        ("https://token@github.com/acme/shop", "https://github.com/acme/shop"),
        ("https://a:b@c@host.example/x", "https://host.example/x"),
        ("https://host.example/x?private_token=abc#frag", "https://host.example/x"),
        ("ssh://git@github.com:22/acme/shop.git", "ssh://github.com:22/acme/shop.git"),
        ("git@github.com:acme/shop.git", "github.com:acme/shop.git"),
        ("https://github.com/acme/shop.git", "https://github.com/acme/shop.git"),
        ("/srv/git/shop.git", "/srv/git/shop.git"),
    ],
    ids=[
        "user-token",
        "oauth2",
        "x-access-token",
        "token-only",
        "at-in-password",
        "query",
        "ssh-user",
        "scp-like",
        "clean-https",
        "local-path",
    ],
)
def test_strip_credentials(url: str, clean: str) -> None:
    """User names, passwords, tokens, queries and fragments are removed from remote URLs."""
    assert strip_credentials(url) == clean


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("https://user:tok@github.com/acme/shop.git", "acme/shop"),
        ("git@github.com:acme/shop.git", "acme/shop"),
        ("https://gitlab.com/acme/platform/shop/", "acme/platform/shop"),
        ("ssh://git@bitbucket.example.com:7999/scm/plat/shop.git", "plat/shop"),
        ("https://dev.azure.com/acme/Web%20Shop/_git/shop", "acme/Web%20Shop/_git/shop"),
    ],
    ids=["https", "scp-like", "subgroups", "bitbucket-server", "azure-repos"],
)
def test_repository_from_url(url: str, repository: str) -> None:
    """The repository path of a remote URL, without host, credentials or ``.git``."""
    assert repository_from_url(url) == repository


SECRET = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:%", min_size=1)
HOST = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)
PATH = st.from_regex(r"[a-z0-9_./-]{0,40}", fullmatch=True)


@settings(max_examples=150)
@given(
    scheme=st.sampled_from(["https", "http", "ssh", "git+https"]),
    user=SECRET,
    password=st.none() | SECRET,
    host=HOST,
    path=PATH,
)
def test_credentials_never_survive(
    scheme: str, user: str, password: str | None, host: str, path: str
) -> None:
    """For any user and password (upper case here, so they cannot hide in the lower-case host
    and path), the stripped URL is exactly scheme, host and path."""
    userinfo = user if password is None else f"{user}:{password}"
    url = f"{scheme}://{userinfo}@{host}/{path}"
    assert strip_credentials(url) == f"{scheme}://{host}/{path}"


# --- read_git -------------------------------------------------------------------------------

pytestmark_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *arguments: str) -> str:
    """Run git in ``cwd`` without any user or system configuration."""
    done = subprocess.run(  # git from PATH, as a developer's shell would run it
        [  # noqa: S607
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            *arguments,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"},
    )
    return done.stdout.strip()


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A real repository: one commit on ``main``, tagged v1.0.0, a remote with credentials."""
    work = tmp_path / "shop"
    work.mkdir()
    _git(work, "init", "--quiet", "--initial-branch=main")
    (work / "README").write_text("shop\n")
    _git(work, "add", "README")
    _git(work, "commit", "--quiet", "-m", "first")
    _git(work, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    _git(work, "remote", "add", "origin", "https://deploy:SECRET-pat@github.com/acme/shop.git")
    return work


@pytestmark_git
def test_read_git_in_a_checkout(repository: Path) -> None:
    """Commit, branch, tag at HEAD, and the origin's URL without its credentials."""
    assert read_git(repository) == GitFacts(
        commit=_git(repository, "rev-parse", "HEAD"),
        branch="main",
        tag="v1.0.0",
        remote_url="https://github.com/acme/shop.git",
    )


@pytestmark_git
def test_read_git_from_a_subdirectory_detached_untagged(repository: Path) -> None:
    """A detached HEAD past the tag, read from a subdirectory: no branch, no tag."""
    (repository / "docs").mkdir()
    (repository / "docs" / "a").write_text("a\n")
    _git(repository, "add", "docs")
    _git(repository, "commit", "--quiet", "-m", "second")
    _git(repository, "checkout", "--quiet", "--detach")
    facts = read_git(repository / "docs")
    assert facts is not None
    assert (facts.branch, facts.tag) == (None, None)
    assert facts.commit == _git(repository, "rev-parse", "HEAD")


@pytestmark_git
def test_read_git_other_remote_name(repository: Path) -> None:
    """Without ``origin``, the first remote is used."""
    _git(repository, "remote", "rename", "origin", "upstream")
    facts = read_git(repository)
    assert facts is not None
    assert facts.remote_url == "https://github.com/acme/shop.git"


@pytestmark_git
def test_read_git_fresh_repository(tmp_path: Path) -> None:
    """A repository without commits or remotes: only the branch to be."""
    _git(tmp_path, "init", "--quiet", "--initial-branch=trunk")
    assert read_git(tmp_path) == GitFacts(commit=None, branch="trunk", tag=None, remote_url=None)


@pytestmark_git
@pytest.mark.parametrize("where", ["plain-directory", "missing"], ids=["plain", "missing"])
def test_read_git_outside_a_checkout(tmp_path: Path, where: str) -> None:
    """Outside a checkout, or in a directory that does not exist: ``None``, no exception."""
    target = tmp_path / "nothing-here"
    if where == "plain-directory":
        target.mkdir()
    assert read_git(target) is None


@pytestmark_git
def test_read_git_then_detect(repository: Path) -> None:
    """What read_git gathers is what the git provider describes, with no credential."""
    run = detect({}, git=read_git(repository))
    assert run.provider == "git"
    assert _attributes(run)["repository_url"] == "https://github.com/acme/shop.git"
    assert run.service_name == "shop"


def _fake_git(tmp_path: Path, script: str) -> Path:
    """A directory holding an executable ``git`` that runs ``script`` (a real program)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    return bin_dir


def test_read_git_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No git on PATH: ``None``, no exception."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert read_git(tmp_path) is None


def test_read_git_gives_up_on_a_hung_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A git that never answers costs at most the deadline, then ``None``."""
    monkeypatch.setenv("PATH", str(_fake_git(tmp_path, "exec sleep 30")))
    monkeypatch.setattr(checkout, "TIMEOUT", 0.5)
    started = time.monotonic()
    assert read_git(tmp_path) is None
    assert time.monotonic() - started < 5


def test_read_git_deadline_covers_all_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command answering slowly: the whole reading still ends near the deadline."""
    script = 'sleep 0.4; case "$1" in rev-parse) echo true;; *) echo x;; esac'
    monkeypatch.setenv("PATH", str(_fake_git(tmp_path, script)) + ":/usr/bin:/bin")
    monkeypatch.setattr(checkout, "TIMEOUT", 1.0)
    started = time.monotonic()
    facts = read_git(tmp_path)
    assert time.monotonic() - started < 2.5
    assert facts is not None
    assert facts.tag is None  # the last command found the deadline gone
