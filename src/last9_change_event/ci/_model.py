"""What a CI provider tells about the run: the two value types of the ``ci`` package (named
tuples: frozen, and cheaper to load than dataclasses on the step's start-up path)."""

from __future__ import annotations

from typing import NamedTuple

#: Ordered (key, value) pairs, every value a non-empty string.
Pairs = tuple[tuple[str, str], ...]


class CiRun(NamedTuple):
    """The context of the current run, as one CI provider (or a git checkout) describes it.

    ``provider`` is one of ``github-actions``, ``gitlab-ci``, ``buildkite``, ``circleci``,
    ``jenkins``, ``azure-pipelines``, ``bitbucket-pipelines``, ``git`` or ``none``.
    ``attributes`` holds only non-empty values and, except for ``none``, ends with
    ``("ci_provider", provider)``. ``deployment_id`` is the same for a start and a stop sent
    by separate commands or steps of one pipeline run. ``event_state`` and ``outcome`` are
    set only where the CI context itself says whether a deployment starts or ends (GitHub's
    ``deployment_status``).
    """

    provider: str
    attributes: Pairs
    service_name: str | None
    deployment_id: str | None
    environment: str | None
    event_state: str | None
    outcome: str | None


class GitFacts(NamedTuple):
    """What ``git`` says about a checkout; gathered by the edge, read by the ``git`` provider.

    ``remote_url`` never carries credentials (``read_git`` strips them).
    """

    commit: str | None
    branch: str | None
    tag: str | None
    remote_url: str | None


NONE = CiRun(
    provider="none",
    attributes=(),
    service_name=None,
    deployment_id=None,
    environment=None,
    event_state=None,
    outcome=None,
)
