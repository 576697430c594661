"""The container engine the tests use, chosen the way users' CI would have it.

- **Docker** when a Docker engine answers (``docker version`` reaches a server): a GitHub-hosted
  runner, where the tests run as the unprivileged ``runner`` user in the ``docker`` group. The
  Dockerfile is built on its real pinned ``python:3.12-slim`` base. The docker CLI talking to
  podman's Docker API service (``podman system service`` + ``DOCKER_HOST``) counts too: there is
  no registry behind it, so the build uses podman's stand-in base.
- **podman** (``scripts/container-env``: installs it, debootstraps a stand-in base) when no
  engine answers and the tests run as root: this machine and ``.ci/run``.
- **None** when no engine answers and the tests do not run as root: the stand-in needs root
  (apt-get, debootstrap, chroot, rootful podman). The container tests then skip, saying so.

``LAST9_CONTAINER_ENGINE`` (``docker``, ``podman`` or ``auto``, the default) forces a choice;
``LAST9_CONTAINER_BASE`` overrides the stand-in base (put in place of the Dockerfile's literal
base by ``scripts/standin-base``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tests.container.podman import STANDIN_BASE, ContainerUnavailable, ensure_environment

__all__ = ["ENGINE_VARIABLE", "Engine", "NoEngine", "select_engine"]

ENGINE_VARIABLE = "LAST9_CONTAINER_ENGINE"
BASE_VARIABLE = "LAST9_CONTAINER_BASE"
_PROBE_TIMEOUT = 30.0
_SERVER_FORMAT = "{{range .Server.Components}}{{.Name}} {{.Version}};{{end}}"


class NoEngine(Exception):  # noqa: N818  (a state, not an error: the tests skip on it)
    """No engine can run the image here, and that is expected (see the module docstring)."""


@dataclass(frozen=True)
class Engine:
    """How to drive one container engine: its CLI, the environment it needs, the base to use."""

    kind: Literal["docker", "podman"]
    cli: str  # absolute path of `docker` or `podman`
    env: Mapping[str, str]  # laid over os.environ for every call (CONTAINERS_CONF, DOCKER_HOST...)
    base: str | None  # a stand-in under the base's name (standin-base); None: the pinned base
    server: str  # what answers: "Docker Engine 28.1.1", "Podman Engine 4.3.1", "podman 4.3.1"
    reliable_rm: bool  # False: `docker run --rm` exits 0 whatever happened (podman 4.3 API bug)

    def describe(self) -> str:
        base = self.base or "the Dockerfile's pinned base"
        return f"{self.kind} CLI -> {self.server}, base {base}"

    def process_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **self.env, **(extra or {})}

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """``<cli> ARGS...`` with its output captured; never raises on the exit code."""
        return subprocess.run(
            [self.cli, *args],
            capture_output=True,
            text=True,
            env=self.process_env(),
            timeout=timeout,
            check=False,
        )

    def bridge_gateway(self) -> str:
        """The host's address on the default bridge network, which containers can reach."""
        if self.kind == "podman":
            args = ["network", "inspect", "podman", "--format", "{{range .Subnets}}{{.Gateway}}"]
            args[-1] += "{{end}}"
        else:
            args = ["network", "inspect", "bridge", "--format"]
            args.append("{{range .IPAM.Config}}{{.Gateway}} {{end}}")
        done = self.run(*args)
        gateways = [g for g in done.stdout.split() if "." in g]  # IPv4 first: the runner's
        if done.returncode != 0 or not gateways:
            raise ContainerUnavailable(
                f"cannot read the bridge network's gateway with {' '.join(args)}: "
                f"{done.stdout}{done.stderr}"
            )
        return gateways[0]


def select_engine() -> Engine:
    """The engine to use here (cached per process).

    Raises:
        NoEngine: no Docker engine and not root; the message says why and what would run them.
        ContainerUnavailable: an engine should work here but does not (a real failure).
    """
    return _select_engine()


@functools.cache
def _select_engine() -> Engine:
    wanted = os.environ.get(ENGINE_VARIABLE, "auto").strip().lower() or "auto"
    if wanted not in {"auto", "docker", "podman"}:
        raise ContainerUnavailable(f"{ENGINE_VARIABLE}={wanted!r}: use docker, podman or auto")
    docker, why_not = _docker_engine()
    if docker is not None and wanted in {"auto", "docker"}:
        return docker
    if wanted == "docker":
        raise ContainerUnavailable(f"{ENGINE_VARIABLE}=docker but {why_not}")
    if wanted == "auto" and os.geteuid() != 0:
        raise NoEngine(
            f"{why_not}, and this user (uid {os.geteuid()}) is not root: the podman stand-in "
            "needs root (apt-get, debootstrap, rootful podman). Run the tests as root, or as a "
            "user in the `docker` group next to a Docker engine (a GitHub-hosted runner)."
        )
    env = ensure_environment()
    podman = shutil.which("podman")
    if podman is None:  # ensure_environment checked it; keeps mypy and a race honest
        raise ContainerUnavailable("podman is not on PATH")
    version = subprocess.run(
        [podman, "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=_PROBE_TIMEOUT,
        check=False,
    ).stdout.strip()
    return Engine(
        kind="podman",
        cli=podman,
        env=env,
        base=os.environ.get(BASE_VARIABLE) or STANDIN_BASE,
        server=f"podman {version or '?'}",
        reliable_rm=True,
    )


def _docker_engine() -> tuple[Engine | None, str]:
    """The Docker engine the docker CLI reaches, or None and why not."""
    docker = shutil.which("docker")
    if docker is None:
        return None, "the docker CLI is not on PATH"
    try:
        done = subprocess.run(
            [
                docker,
                "version",
                "--format",
                "{{range .Server.Components}}{{.Name}} {{.Version}};{{end}}",
            ],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"`docker version` did not answer in {_PROBE_TIMEOUT:.0f} s"
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        return None, f"no Docker engine answers (`docker version`: {first})"
    server = done.stdout.split(";")[0].strip() or "unknown server"
    is_podman = server.startswith("Podman")
    env: dict[str, str] = {}
    if is_podman:
        env["DOCKER_BUILDKIT"] = "0"  # podman's API serves the classic builder only
    base = os.environ.get(BASE_VARIABLE) or (STANDIN_BASE if is_podman else None)
    return (
        Engine(
            kind="docker",
            cli=docker,
            env=env,
            base=base,
            server=server,
            reliable_rm=not is_podman,
        ),
        "",
    )


def dockerfile_base(root: Path) -> str:
    """The base image the Dockerfile pins: the reference on its one ``FROM`` line."""
    froms = [
        line.split()[1]
        for line in (root / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.split()[:1] == ["FROM"] and len(line.split()) > 1
    ]
    if len(froms) != 1:
        raise ValueError(f"the Dockerfile has {len(froms)} FROM lines, not one")
    return froms[0]
