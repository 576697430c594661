"""podman on a machine without a Docker engine or a registry: set-up and image sizes.

There is no Docker engine and no registry on these machines: ``scripts/container-env`` sets up
podman, its settings and a stand-in base image (a debootstrapped Debian bookworm with python3, in
place of ``python:3.12-slim``). This module wraps that:

- :func:`ensure_environment` runs the script and returns the environment podman needs;
- :func:`image_size` reads an image's size.

Choosing between this and a real Docker engine is ``tests/container/engine.py``'s job; running
and building the image the way the runner does is ``tests/container/docker_run.py``'s.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "STANDIN_BASE",
    "ContainerUnavailable",
    "ImageBuildError",
    "ensure_environment",
    "image_size",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_ENV_SCRIPT = REPO_ROOT / "scripts" / "container-env"

#: The stand-in for ``python:3.12-slim`` that ``scripts/container-env`` creates (Debian bookworm).
STANDIN_BASE = "localhost/last9-standin-base:bookworm"

#: First set-up installs packages and debootstraps a base (about 90 s); later runs take < 1 s.
_SETUP_TIMEOUT = 1200.0
_PODMAN_TIMEOUT = 120.0


class ContainerUnavailable(RuntimeError):  # noqa: N818  (the name the tests use)
    """podman cannot be set up here: the reason says what failed and how to fix it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"CONTAINER TOOLING UNAVAILABLE: {reason}")
        self.reason = reason


class ImageBuildError(RuntimeError):
    """``podman build`` failed; ``log`` holds its whole output."""

    def __init__(self, tag: str, returncode: int, log: str) -> None:
        super().__init__(f"podman build of {tag} failed with exit code {returncode}:\n{log}")
        self.tag = tag
        self.returncode = returncode
        self.log = log


# --- environment -------------------------------------------------------------------------------


def ensure_environment() -> dict[str, str]:
    """Set podman up (``scripts/container-env --print-env``) and return the variables it needs.

    The result holds only the variables the script exports (``CONTAINERS_CONF``,
    ``CONTAINERS_STORAGE_CONF``); pass it as ``env``/``podman_env`` to the functions here, which
    lay it over ``os.environ``. The set-up runs once per process.

    Raises:
        ContainerUnavailable: not Linux, the script is missing, it failed (its report is in the
            reason), or podman is still not on PATH afterwards.
    """
    return dict(_ensure_environment())


@functools.cache
def _ensure_environment() -> tuple[tuple[str, str], ...]:
    if not sys.platform.startswith("linux"):
        raise ContainerUnavailable(f"podman containers need Linux, this is {sys.platform}")
    if not CONTAINER_ENV_SCRIPT.is_file():
        raise ContainerUnavailable(f"{CONTAINER_ENV_SCRIPT} is missing")
    bash = shutil.which("bash")
    if bash is None:
        raise ContainerUnavailable(f"bash is not on PATH, and {CONTAINER_ENV_SCRIPT} needs it")
    try:
        done = subprocess.run(
            [bash, str(CONTAINER_ENV_SCRIPT), "--print-env"],
            capture_output=True,
            text=True,
            timeout=_SETUP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ContainerUnavailable(
            f"{CONTAINER_ENV_SCRIPT} did not finish in {_SETUP_TIMEOUT:.0f} s"
        ) from exc
    if done.returncode != 0:
        raise ContainerUnavailable(
            f"{CONTAINER_ENV_SCRIPT} --print-env failed with exit code {done.returncode}:\n"
            f"{done.stderr.strip()}"
        )
    exported = _parse_exports(done.stdout)
    missing = {"CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF"} - exported.keys()
    if missing:
        raise ContainerUnavailable(
            f"{CONTAINER_ENV_SCRIPT} --print-env did not export {', '.join(sorted(missing))}; "
            f"it printed: {done.stdout!r}"
        )
    _podman()
    return tuple(sorted(exported.items()))


def _podman() -> str:
    """podman's absolute path (commands run by absolute path only)."""
    podman = shutil.which("podman")
    if podman is None:
        raise ContainerUnavailable(
            f"podman is not on PATH; run {CONTAINER_ENV_SCRIPT} as root once to install it"
        )
    return podman


def _parse_exports(text: str) -> dict[str, str]:
    """``export A=1 B='x y'`` lines (as printed by ``printf %q``) to a dict."""
    exported: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if not words or words[0] != "export":
            continue
        for word in words[1:]:
            name, sep, value = word.partition("=")
            if sep:
                exported[name] = value
    return exported


# --- images ------------------------------------------------------------------------------------


def image_size(tag: str, env: Mapping[str, str]) -> int:
    """The image's size in bytes, as ``podman image inspect`` reports it (all layers)."""
    done = subprocess.run(
        [_podman(), "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=_PODMAN_TIMEOUT,
        check=True,
    )
    return int(done.stdout.strip())
