"""``read_git``: the only function of the ``ci`` package that does I/O.

It runs ``git`` in a directory and returns ``GitFacts``. Only the edge (the command line) calls
it, once, and hands the result to ``detect``; everything else in the package takes values.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from last9_change_event.ci._common import strip_credentials
from last9_change_event.ci._model import GitFacts

#: Seconds all the ``git`` commands of one ``read_git`` may take together; a slow or hung git
#: only costs the attributes it did not give in time.
TIMEOUT = 5.0


def read_git(cwd: str | os.PathLike[str]) -> GitFacts | None:
    """Commit, branch, tag at HEAD and the remote's URL (credentials stripped) of the checkout
    at ``cwd``; ``None`` outside a checkout, without git, or when git fails. Never raises."""
    deadline = time.monotonic() + TIMEOUT
    inside = _git(cwd, ["rev-parse", "--is-inside-work-tree"], deadline)
    if inside != "true":
        return None
    remote = _git(cwd, ["remote", "get-url", "origin"], deadline)
    if remote is None:
        first = (_git(cwd, ["remote"], deadline) or "").split()
        remote = _git(cwd, ["remote", "get-url", first[0]], deadline) if first else None
    return GitFacts(
        commit=_git(cwd, ["rev-parse", "--verify", "--quiet", "HEAD"], deadline),
        branch=_git(cwd, ["symbolic-ref", "--quiet", "--short", "HEAD"], deadline),
        tag=_git(cwd, ["describe", "--tags", "--exact-match", "HEAD"], deadline),
        remote_url=strip_credentials(remote) if remote else None,
    )


def _git(cwd: str | os.PathLike[str], arguments: Sequence[str], deadline: float) -> str | None:
    """The first line git printed, or ``None`` when it failed, printed nothing, was absent or
    the deadline came."""
    import subprocess  # noqa: PLC0415 - only the command line reads a checkout

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password
        "GIT_OPTIONAL_LOCKS": "0",  # a read must not take the index lock
        "LC_ALL": "C",
    }
    try:
        # git from PATH on purpose, with fixed arguments; no shell.
        completed = subprocess.run(  # noqa: S603
            ["git", *arguments],  # noqa: S607
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=remaining,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if completed.returncode != 0:
        return None
    lines = completed.stdout.decode("utf-8", "replace").splitlines()
    first = lines[0].strip() if lines else ""
    return first or None
