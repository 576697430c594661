"""CI context providers: which CI runs us, and what it says about the run.

``detect`` picks the provider from the environment, first match wins:

=================================  =======================
variable                           provider
=================================  =======================
``GITHUB_ACTIONS=true``            ``github-actions``
``GITLAB_CI`` set                  ``gitlab-ci``
``BUILDKITE=true``                 ``buildkite``
``CIRCLECI=true``                  ``circleci``
``JENKINS_URL`` set                ``jenkins``
``TF_BUILD=True``                  ``azure-pipelines``
``BITBUCKET_BUILD_NUMBER`` set     ``bitbucket-pipelines``
(none, ``git`` facts given)        ``git``
(none)                             ``none``
=================================  =======================

Each CI but GitHub Actions is one row of ``providers.py``: its documented variables (cited
there) for each shared attribute (``repository``, ``commit_sha``, ``git_ref``, ``git_ref_name``,
``tag``, ``run_id``, ``run_number``, ``run_url``, ``job``, ``workflow``, ``actor``,
``trigger_event``, then ``ci_provider``), with the cleanup they share written once. GitHub
Actions, whose event payload says more, is ``github.py``; a plain checkout is ``git.py``.
Nothing here reads the environment or files: values come in, values go out. The one exception
is ``read_git``, which runs ``git`` and is called by the edge only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from last9_change_event.ci import git as plain_git
from last9_change_event.ci import github
from last9_change_event.ci._common import is_true
from last9_change_event.ci._model import NONE, CiRun, GitFacts
from last9_change_event.ci.checkout import read_git
from last9_change_event.ci.providers import PROVIDERS, describe

__all__ = ["CiRun", "GitFacts", "detect", "read_git"]


def detect(
    env: Mapping[str, str],
    *,
    event: Mapping[str, Any] | None = None,
    git: GitFacts | None = None,
    workflow_dispatch_inputs: bool = False,
) -> CiRun:
    """The run described by the first CI whose marker variable is set in ``env``.

    ``event`` is GitHub's event payload (any JSON value is tolerated); ``git`` the facts the
    edge gathered with ``read_git``, used when no CI is detected; ``workflow_dispatch_inputs``
    adds a ``workflow_dispatch`` event's inputs as ``input_<name>`` attributes.
    """
    if is_true(env, "GITHUB_ACTIONS"):
        return github.detect(env, event, workflow_dispatch_inputs=workflow_dispatch_inputs)
    for provider in PROVIDERS:
        if provider.marker(env):
            return describe(provider, env)
    if git is not None:
        return plain_git.detect(git)
    return NONE
