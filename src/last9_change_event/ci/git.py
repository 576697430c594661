"""A plain git checkout outside any CI: what ``git`` said about it (``GitFacts``).

Nothing ties two separate commands in a plain checkout together (the same commit may be
deployed many times), so there is no deployment id: the caller passes one, or keeps its own.
"""

from __future__ import annotations

from last9_change_event.ci import _common
from last9_change_event.ci._model import CiRun, GitFacts

PROVIDER = "git"


def detect(facts: GitFacts) -> CiRun:
    """The checkout: its repository (from the remote), commit, branch and tag."""
    remote = _common.strip_credentials(facts.remote_url) if facts.remote_url else None
    repository = _common.repository_from_url(remote)
    candidates = [
        ("repository", repository),
        ("commit_sha", facts.commit),
        ("git_ref", _common.git_ref(tag=None, branch=facts.branch) or _tag_ref(facts.tag)),
        ("git_ref_name", facts.branch or facts.tag),
        ("tag", facts.tag),
        ("repository_url", remote),
    ]
    return _common.run(
        PROVIDER,
        candidates,
        service_name=_common.last_segment(repository),
        deployment_id=None,
    )


def _tag_ref(tag: str | None) -> str | None:
    return _common.git_ref(tag=tag, branch=None)
