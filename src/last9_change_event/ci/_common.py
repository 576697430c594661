"""Small helpers every provider mapping shares: picking values, refs, URLs without secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from last9_change_event.ci._model import CiRun, Pairs

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def value(env: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` set to something other than white space, else ``None``."""
    for name in names:
        found = env.get(name)
        if isinstance(found, str) and found.strip():
            return found
    return None


def is_true(env: Mapping[str, str], name: str) -> bool:
    """``name`` is set to ``true`` in any case (``TF_BUILD=True``, ``CIRCLECI=true``)."""
    found = env.get(name)
    return isinstance(found, str) and found.strip().lower() == "true"


def pairs(candidates: Iterable[tuple[str, str | None]]) -> Pairs:
    """The candidates whose value is not empty or white space, in order; the first of a key wins."""
    seen: set[str] = set()
    kept: list[tuple[str, str]] = []
    for key, found in candidates:
        if found is None or not found.strip() or key in seen:
            continue
        seen.add(key)
        kept.append((key, found))
    return tuple(kept)


def git_ref(*, tag: str | None, branch: str | None) -> str | None:
    """``refs/tags/<tag>`` for a tag, else ``refs/heads/<branch>``, else ``None``."""
    if tag:
        return f"refs/tags/{tag}"
    if branch:
        return f"refs/heads/{branch}"
    return None


def ref_name(ref: str | None) -> str | None:
    """``ref`` without ``refs/heads/`` or ``refs/tags/``; other refs as they are."""
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :] or None
    return ref


def tag_of(ref: str | None) -> str | None:
    """The tag of a ``refs/tags/...`` ref, else ``None``."""
    if ref and ref.startswith("refs/tags/"):
        return ref[len("refs/tags/") :] or None
    return None


def strip_credentials(url: str) -> str:
    """``url`` without user name, password or token, query or fragment.

    ``https://user:token@host/x?private_token=y`` becomes ``https://host/x``, and the
    scp-like ``git@host:owner/repo.git`` becomes ``host:owner/repo.git``: whatever stood
    before ``@`` in the host part may be a secret, so none of it is kept.
    """
    text = url.strip()
    match = _SCHEME.match(text)
    if match:
        scheme, rest = match.group(0), text[match.end() :]
        authority, slash, path = rest.partition("/")
        authority = authority.rpartition("@")[2]
        path = re.split(r"[?#]", path, maxsplit=1)[0]
        return f"{scheme}{authority}{slash}{path}"
    # scp-like (``user@host:path``) or a local path: drop anything up to the last ``@``
    # that comes before the first ``/`` (where a host part ends).
    head, slash, tail = text.partition("/")
    return head.rpartition("@")[2] + slash + tail


def repository_from_url(url: str | None) -> str | None:
    """``owner/name`` (or ``group/subgroup/name``) from a remote URL, without ``.git``."""
    if not url:
        return None
    clean = strip_credentials(url)
    match = _SCHEME.match(clean)
    if match:
        path = clean[match.end() :].partition("/")[2]
    elif ":" in clean.partition("/")[0]:
        path = clean.partition(":")[2]  # scp-like host:path
    else:
        path = clean
    path = path.strip("/")
    path = path.removesuffix(".git").rstrip("/")
    if path.startswith("scm/"):  # Bitbucket Server clone URLs: /scm/<project>/<repo>.git
        path = path[len("scm/") :]
    return path or None


def last_segment(repository: str | None) -> str | None:
    """The repository's own name, without owner or group: ``acme/shop`` gives ``shop``."""
    if not repository:
        return None
    return repository.rstrip("/").rpartition("/")[2] or None


def run(
    provider: str,
    candidates: Iterable[tuple[str, str | None]],
    *,
    service_name: str | None,
    deployment_id: str | None,
    environment: str | None = None,
    event_state: str | None = None,
    outcome: str | None = None,
) -> CiRun:
    """A ``CiRun`` whose attributes are the non-empty candidates plus ``ci_provider``."""
    return CiRun(
        provider=provider,
        attributes=pairs([*candidates, ("ci_provider", provider)]),
        service_name=service_name or None,
        deployment_id=deployment_id or None,
        environment=environment if environment and environment.strip() else None,
        event_state=event_state,
        outcome=outcome,
    )
