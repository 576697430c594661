"""Build the action's image with podman and run it exactly the way the GitHub runner runs it.

There is no Docker engine and no registry on these machines: ``scripts/container-env`` sets up
podman, its settings and a stand-in base image (a debootstrapped Debian bookworm with python3, in
place of ``python:3.12-slim``). This module wraps that for the container tests:

- :func:`ensure_environment` runs the script and returns the environment podman needs;
- :func:`build_image` builds the real ``Dockerfile`` on the stand-in base;
- :func:`make_runner_dirs` lays out the runner's temp folders (home, event, file commands);
- :func:`run_like_runner` runs the image with the runner's ``docker run`` arguments.

How the runner runs a Docker action (actions/runner, ``ContainerActionHandler.RunAsync`` and
``DockerCommandManager.DockerRun``)::

    docker run --name <image>_<6 hex> --label <runner> --workdir /github/workspace --rm
        -e NAME ...                      # every variable by name only; values in docker's env
        -e GITHUB_ACTIONS=true -e CI=true
        [--entrypoint "<entrypoint or post-entrypoint>"] [--network github_network_<id>]
        -v "/var/run/docker.sock":"/var/run/docker.sock"
        -v "<temp>/_github_home":"/github/home"
        -v "<temp>/_github_workflow":"/github/workflow"
        -v "<temp>/_runner_file_commands":"/github/file_commands"
        -v "<workspace>":"/github/workspace"
        <image> [args]

Inputs become ``INPUT_<name with spaces as _, upper-cased>`` (hyphens kept); host paths in
values are translated to their ``/github/...`` mount points. Differences here, on purpose:
``--network=host`` instead of the job's bridge network (so the container reaches a fake Last9
on the host's loopback), no docker.sock mount, no ``--name``/``--label``, and only the variables
listed in :func:`run_like_runner` plus the caller's (the runner also passes ``RUNNER_*``,
``ACTIONS_RUNTIME_*`` and the rest of the ``GITHUB_*`` context).
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from tests.runner import read_file_command

__all__ = [
    "STANDIN_BASE",
    "ContainerUnavailable",
    "ImageBuildError",
    "RunnerDirs",
    "build_image",
    "ensure_environment",
    "image_size",
    "input_env_name",
    "make_runner_dirs",
    "read_file_command",
    "run_like_runner",
    "runner_command",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTAINER_ENV_SCRIPT = REPO_ROOT / "scripts" / "container-env"

#: The stand-in for ``python:3.12-slim`` that ``scripts/container-env`` creates (Debian bookworm).
STANDIN_BASE = "localhost/last9-standin-base:bookworm"

#: First set-up installs packages and debootstraps a base (about 90 s); later runs take < 1 s.
_SETUP_TIMEOUT = 1200.0
_PODMAN_TIMEOUT = 120.0
_BUILD_TIMEOUT = 900.0

# Where the runner mounts its folders in the container.
HOME_MOUNT = "/github/home"
WORKFLOW_MOUNT = "/github/workflow"
FILE_COMMANDS_MOUNT = "/github/file_commands"
WORKSPACE_MOUNT = "/github/workspace"

_NO_ENV: Mapping[str, str] = MappingProxyType({})


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


def _process_env(extra: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}


# --- images ------------------------------------------------------------------------------------


def build_image(
    context: Path,
    tag: str,
    *,
    base: str = STANDIN_BASE,
    env: Mapping[str, str],
    dockerfile: str = "Dockerfile",
) -> float:
    """Build ``context/dockerfile`` as ``tag`` on ``base`` and return the seconds it took.

    Like the runner's ``docker build -t TAG -f DOCKERFILE CONTEXT``, plus ``--pull=never`` (there
    is no registry) and ``--build-arg BASE_IMAGE=<base>`` (the stand-in for the pinned base).

    Raises:
        ImageBuildError: the build failed; the exception holds the whole build log.
    """
    args = [
        _podman(),
        "build",
        "--pull=never",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "-t",
        tag,
        "-f",
        str(context / dockerfile),
        str(context),
    ]
    start = time.monotonic()
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=_process_env(env),
            timeout=_BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        log = _text(exc.stdout) + _text(exc.stderr)
        raise ImageBuildError(tag, -1, f"timed out after {_BUILD_TIMEOUT:.0f} s\n{log}") from exc
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise ImageBuildError(tag, done.returncode, done.stdout + done.stderr)
    return elapsed


def image_size(tag: str, env: Mapping[str, str]) -> int:
    """The image's size in bytes, as ``podman image inspect`` reports it (all layers)."""
    done = subprocess.run(
        [_podman(), "image", "inspect", "--format", "{{.Size}}", tag],
        capture_output=True,
        text=True,
        env=_process_env(env),
        timeout=_PODMAN_TIMEOUT,
        check=True,
    )
    return int(done.stdout.strip())


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


# --- the runner's folders ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerDirs:
    """The runner's temp layout on the host, and the file-command files of one step."""

    root: Path
    home: Path  # <temp>/_github_home             -> /github/home
    workflow: Path  # <temp>/_github_workflow     -> /github/workflow
    file_commands: Path  # <temp>/_runner_file_commands -> /github/file_commands
    workspace: Path  # the checkout               -> /github/workspace
    event_path: Path  # workflow/event.json
    output: Path  # file_commands/set_output_<uuid>
    state: Path  # file_commands/save_state_<uuid>
    env: Path  # file_commands/set_env_<uuid>
    step_summary: Path  # file_commands/step_summary_<uuid>

    def container_path(self, host_path: Path) -> str:
        """Where a host path under one of the mounts appears in the container."""
        for host_dir, mount in (
            (self.home, HOME_MOUNT),
            (self.workflow, WORKFLOW_MOUNT),
            (self.file_commands, FILE_COMMANDS_MOUNT),
            (self.workspace, WORKSPACE_MOUNT),
        ):
            if host_path == host_dir:
                return mount
            if host_path.is_relative_to(host_dir):
                return f"{mount}/{host_path.relative_to(host_dir).as_posix()}"
        raise ValueError(f"{host_path} is not under a folder mounted in the container")

    def runner_env(self) -> dict[str, str]:
        """The runner-provided variables for one step, with container paths."""
        return {
            "HOME": HOME_MOUNT,
            "GITHUB_OUTPUT": self.container_path(self.output),
            "GITHUB_STATE": self.container_path(self.state),
            "GITHUB_ENV": self.container_path(self.env),
            "GITHUB_STEP_SUMMARY": self.container_path(self.step_summary),
            "GITHUB_EVENT_PATH": self.container_path(self.event_path),
            "GITHUB_WORKSPACE": WORKSPACE_MOUNT,
        }


def make_runner_dirs(tmp: Path, *, event: Mapping[str, object] | None = None) -> RunnerDirs:
    """Create the runner's temp layout under ``tmp`` (e.g. pytest's ``tmp_path``).

    ``_github_home/``, ``_github_workflow/event.json`` (``event``, default ``{}``),
    ``_runner_file_commands/`` with empty ``set_output_``, ``save_state_``, ``set_env_`` and
    ``step_summary_`` files sharing one uuid (the runner makes new ones for every step), and
    ``workspace/``.
    """
    home = tmp / "_github_home"
    workflow = tmp / "_github_workflow"
    file_commands = tmp / "_runner_file_commands"
    workspace = tmp / "workspace"
    for folder in (home, workflow, file_commands, workspace):
        folder.mkdir(parents=True, exist_ok=True)
    event_path = workflow / "event.json"
    event_path.write_text(json.dumps(dict(event or {})), encoding="utf-8")
    step = uuid.uuid4()
    files = {
        prefix: file_commands / f"{prefix}_{step}"
        for prefix in ("set_output", "save_state", "set_env", "step_summary")
    }
    for path in files.values():
        path.touch()
    return RunnerDirs(
        root=tmp,
        home=home,
        workflow=workflow,
        file_commands=file_commands,
        workspace=workspace,
        event_path=event_path,
        output=files["set_output"],
        state=files["save_state"],
        env=files["set_env"],
        step_summary=files["step_summary"],
    )


# --- running like the runner -------------------------------------------------------------------


def input_env_name(name: str) -> str:
    """``refresh-token`` -> ``INPUT_REFRESH-TOKEN``: the runner's rule (spaces become ``_``)."""
    return f"INPUT_{name.replace(' ', '_').upper()}"


def runner_command(
    tag: str,
    dirs: RunnerDirs,
    inputs: Mapping[str, str],
    env: Mapping[str, str] = _NO_ENV,
    *,
    entrypoint: str | None = None,
    podman_env: Mapping[str, str],
) -> tuple[list[str], dict[str, str]]:
    """The ``podman run`` argv and process environment :func:`run_like_runner` uses.

    As the runner does, inputs and the caller's variables go as ``-e NAME`` with the value in
    podman's own environment (values never appear in argv, hyphenated names work). A name that
    podman's own environment already has (``PATH``, ``HOME``...) goes as ``-e NAME=value``
    instead, so that podman itself keeps running with its own.
    """
    process_env = _process_env(podman_env)
    container_env: dict[str, str] = {input_env_name(k): v for k, v in inputs.items()}
    container_env.update(dirs.runner_env())
    container_env.update(env)

    podman = shutil.which("podman") or "podman"  # argv can be shown without podman installed
    args = [podman, "run", "--rm", "--network=host", "--workdir", WORKSPACE_MOUNT]
    by_name: dict[str, str] = {}
    for name, value in container_env.items():
        if "=" in name or not name:
            raise ValueError(f"not a valid environment variable name: {name!r}")
        if name in process_env:
            args += ["-e", f"{name}={value}"]
        else:
            args += ["-e", name]
            by_name[name] = value
    args += ["-e", "GITHUB_ACTIONS=true"]
    if "CI" not in container_env:
        args += ["-e", "CI=true"]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    for host_dir, mount in (
        (dirs.home, HOME_MOUNT),
        (dirs.workflow, WORKFLOW_MOUNT),
        (dirs.file_commands, FILE_COMMANDS_MOUNT),
        (dirs.workspace, WORKSPACE_MOUNT),
    ):
        args += ["-v", f"{host_dir}:{mount}"]
    args.append(tag)
    return args, {**process_env, **by_name}


def run_like_runner(
    tag: str,
    dirs: RunnerDirs,
    inputs: Mapping[str, str],
    env: Mapping[str, str] = _NO_ENV,
    *,
    entrypoint: str | None = None,
    podman_env: Mapping[str, str],
    timeout: float = _PODMAN_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``tag`` as the GitHub runner runs a Docker action's step; never raises on exit codes.

    ``inputs`` are the step's ``with:`` (action.yml names, e.g. ``refresh-token``), ``env`` more
    variables (``GITHUB_REPOSITORY``, ``STATE_...`` for a post step...; they override the
    runner's), ``entrypoint`` the ``--entrypoint`` (e.g. ``/action/post.py`` for the post step).
    Read the results from ``dirs.output`` etc. with :func:`read_file_command`.
    """
    args, process_env = runner_command(
        tag, dirs, inputs, env, entrypoint=entrypoint, podman_env=podman_env
    )
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        env=process_env,
        timeout=timeout,
        check=False,
    )
