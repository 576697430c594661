"""Build the action's image and run it exactly the way the GitHub runner runs a Docker action.

How the runner does it (actions/runner, ``Handlers/ContainerActionHandler.cs`` and
``Container/DockerCommandManager.cs``, ``DockerRun``)::

    docker run --name <image>_<hex> --label <runner> --workdir /github/workspace --rm
        -e NAME ...                      # every variable by name only; values in docker's env
        -e GITHUB_ACTIONS=true -e CI=true
        [--entrypoint "<post-entrypoint>"] [--network <job network, when the job has services>]
        -v "/var/run/docker.sock":"/var/run/docker.sock"
        -v "<temp>":"/github/runner_temp"
        -v "<temp>/_github_home":"/github/home"
        -v "<temp>/_github_workflow":"/github/workflow"
        -v "<temp>/_runner_file_commands":"/github/file_commands"
        -v "<workspace>":"/github/workspace"
        <image>

Inputs become ``INPUT_<name, spaces as _, upper-cased>`` (hyphens kept). Every variable's value
goes through ``ContainerInfo.TranslateToContainerPath``: a value that is one of the mounted host
folders, or starts with one and ``/``, is rewritten to the container's path; the mappings are
tried workspace, file commands, workflow, home, then temp (``AddPathTranslateMapping`` inserts
at the front). So ``HOME``, ``GITHUB_OUTPUT`` & co. and a ``REQUESTS_CA_BUNDLE`` under the
workspace are given here as *host* paths, as the runner has them, and translated.

Without ``--network`` the container is on the engine's default bridge, as on a runner for a job
without services: the host's loopback is out of reach, so a fake Last9 for the container listens
on the bridge's gateway address, over TLS (see ``tests/certs.py``).

Differences, on purpose: no ``--label``; the docker.sock mount only when the socket exists; and
through podman's Docker API (podman 4.3, bug #18889: ``docker run --rm`` exits 0 whatever the
container returned) the container runs without ``--rm`` and its exit code is read with
``inspect`` before it is removed.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from tests.container.engine import Engine
from tests.container.podman import ImageBuildError

__all__ = [
    "RunnerDirs",
    "build",
    "input_env_name",
    "make_runner_dirs",
    "run_like_runner",
    "runner_command",
    "translate_path",
]

RUNNER_TEMP_MOUNT = "/github/runner_temp"
HOME_MOUNT = "/github/home"
WORKFLOW_MOUNT = "/github/workflow"
FILE_COMMANDS_MOUNT = "/github/file_commands"
WORKSPACE_MOUNT = "/github/workspace"
DOCKER_SOCKET = Path("/var/run/docker.sock")

STANDIN_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "standin-base"
_NO_ENV: Mapping[str, str] = MappingProxyType({})
_BUILD_TIMEOUT = 900.0
_RUN_TIMEOUT = 120.0


# --- the runner's folders ----------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerDirs:
    """The runner's temp layout on the host, and the file-command files of one step."""

    temp: Path  # <temp>                          -> /github/runner_temp
    home: Path  # <temp>/_github_home             -> /github/home
    workflow: Path  # <temp>/_github_workflow     -> /github/workflow
    file_commands: Path  # <temp>/_runner_file_commands -> /github/file_commands
    workspace: Path  # the checkout               -> /github/workspace
    event_path: Path  # workflow/event.json
    output: Path  # file_commands/set_output_<uuid>
    state: Path  # file_commands/save_state_<uuid>
    env: Path  # file_commands/set_env_<uuid>
    step_summary: Path  # file_commands/step_summary_<uuid>

    def mappings(self) -> list[tuple[Path, str]]:
        """Host folder -> container path, in the order the runner tries them."""
        return [
            (self.workspace, WORKSPACE_MOUNT),
            (self.file_commands, FILE_COMMANDS_MOUNT),
            (self.workflow, WORKFLOW_MOUNT),
            (self.home, HOME_MOUNT),
            (self.temp, RUNNER_TEMP_MOUNT),
        ]

    def runner_env(self) -> dict[str, str]:
        """The runner-provided variables for one step, as host paths (the runner translates)."""
        return {
            "HOME": str(self.home),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STATE": str(self.state),
            "GITHUB_ENV": str(self.env),
            "GITHUB_STEP_SUMMARY": str(self.step_summary),
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp),
        }


def make_runner_dirs(
    temp: Path, workspace: Path, *, event: Mapping[str, object] | None = None
) -> RunnerDirs:
    """Create the runner's temp layout under ``temp`` and the workspace folder.

    ``_github_home/``, ``_github_workflow/event.json`` (``event``, default ``{}``),
    ``_runner_file_commands/`` with empty ``set_output_``, ``save_state_``, ``set_env_`` and
    ``step_summary_`` files sharing one uuid (the runner makes new ones for every step).
    """
    home = temp / "_github_home"
    workflow = temp / "_github_workflow"
    file_commands = temp / "_runner_file_commands"
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
        temp=temp,
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


def translate_path(dirs: RunnerDirs, value: str) -> str:
    """``TranslateToContainerPath``: a mounted host folder, or a path under one, inside."""
    for host, mount in dirs.mappings():
        prefix = str(host)
        if value == prefix:
            return mount
        if value.startswith(prefix + "/"):
            return mount + value[len(prefix) :]
    return value


# --- building ----------------------------------------------------------------------------------


def build(engine: Engine, context: Path, tag: str, dockerfile: str = "Dockerfile") -> float:
    """``<cli> build -t TAG -f DOCKERFILE CONTEXT`` as the runner does; returns the seconds.

    With ``engine.base`` set, the stand-in takes the place of the Dockerfile's literal base
    (``scripts/standin-base``; the Dockerfile has no ARG for it): podman gets a named build
    context under the base's exact reference (and ``--pull=never``); the docker CLI's classic
    builder, which has no named contexts (podman's Docker API), gets ``-f`` a copy of the
    Dockerfile whose ``FROM`` names the stand-in, every other line the same.

    Raises:
        ImageBuildError: the build failed; the exception holds the whole build log.
    """
    args = [engine.cli, "build"]
    if engine.kind == "podman":
        args.append("--pull=never")
    with tempfile.TemporaryDirectory(prefix="last9-standin-") as scratch:
        file = context / dockerfile
        if engine.base is not None:
            if engine.kind == "podman":
                args += _standin("args", "podman", engine.base).split()
            else:
                file = Path(scratch) / "Dockerfile"
                _standin("dockerfile", str(file), engine.base)
        args += ["-t", tag, "-f", str(file), str(context)]
        start = time.monotonic()
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                text=True,
                env=engine.process_env(),
                timeout=_BUILD_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ImageBuildError(tag, -1, f"timed out after {_BUILD_TIMEOUT:.0f} s") from exc
    if done.returncode != 0:
        raise ImageBuildError(tag, done.returncode, done.stdout + done.stderr)
    return time.monotonic() - start


def _standin(*args: str) -> str:
    """``scripts/standin-base ARGS...``: its stdout (the one place that knows the rewrite)."""
    done = subprocess.run(
        [str(STANDIN_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ImageBuildError("(stand-in base)", done.returncode, done.stdout + done.stderr)
    return done.stdout


# --- running like the runner -------------------------------------------------------------------


def input_env_name(name: str) -> str:
    """``refresh-token`` -> ``INPUT_REFRESH-TOKEN``: the runner's rule (spaces become ``_``)."""
    return f"INPUT_{name.replace(' ', '_').upper()}"


def runner_command(
    engine: Engine,
    tag: str,
    dirs: RunnerDirs,
    inputs: Mapping[str, str],
    env: Mapping[str, str] = _NO_ENV,
    *,
    entrypoint: str | None = None,
    network: str | None = None,
    name: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The ``run`` argv and the CLI's process environment for one step.

    As the runner does, every variable goes as ``-e NAME`` with its (translated) value in the
    CLI's own environment, so values never appear in argv. A name the CLI's environment needs
    for itself (``PATH``, ``HOME``...) goes as ``-e NAME=value`` instead.
    """
    process_env = engine.process_env()
    container_env: dict[str, str] = {input_env_name(k): v for k, v in inputs.items()}
    container_env.update(dirs.runner_env())
    container_env.update(env)

    args = [engine.cli, "run", "--name", name or f"last9-step-{secrets.token_hex(6)}"]
    args += ["--workdir", WORKSPACE_MOUNT]
    if engine.reliable_rm:
        args.append("--rm")
    by_name: dict[str, str] = {}
    for variable, raw in container_env.items():
        if "=" in variable or not variable:
            raise ValueError(f"not a valid environment variable name: {variable!r}")
        value = translate_path(dirs, raw)
        if variable in process_env:
            args += ["-e", f"{variable}={value}"]
        else:
            args += ["-e", variable]
            by_name[variable] = value
    args += ["-e", "GITHUB_ACTIONS=true"]
    if "CI" not in container_env:
        args += ["-e", "CI=true"]
    if entrypoint is not None:
        args += ["--entrypoint", entrypoint]
    if network is not None:
        args += ["--network", network]
    mounts = list(reversed(dirs.mappings()))  # the runner's order: temp, home, ..., workspace
    if DOCKER_SOCKET.exists():
        mounts.insert(0, (DOCKER_SOCKET, str(DOCKER_SOCKET)))
    for host, mount in mounts:
        args += ["-v", f"{host}:{mount}"]
    args.append(tag)
    return args, {**process_env, **by_name}


def run_like_runner(
    engine: Engine,
    tag: str,
    dirs: RunnerDirs,
    inputs: Mapping[str, str],
    env: Mapping[str, str] = _NO_ENV,
    *,
    entrypoint: str | None = None,
    network: str | None = None,
    timeout: float = _RUN_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run one step of ``tag`` as the runner would; never raises on the step's exit code.

    ``inputs`` are the step's ``with:`` (defaults already merged, as the runner does), ``env``
    more variables (``STATE_...`` for a post step, ``REQUESTS_CA_BUNDLE``...), ``entrypoint`` the
    ``--entrypoint`` (``/action/post.py`` for the post step). The returned ``returncode`` is the
    container's, also where ``--rm`` would hide it.
    """
    name = f"last9-step-{secrets.token_hex(6)}"
    args, process_env = runner_command(
        engine, tag, dirs, inputs, env, entrypoint=entrypoint, network=network, name=name
    )
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=process_env,
            timeout=timeout,
            check=False,
        )
        if engine.reliable_rm:
            return done
        state = engine.run("inspect", "--format", "{{.State.ExitCode}}", name)
        if state.returncode != 0 or not state.stdout.strip().lstrip("-").isdigit():
            raise RuntimeError(f"cannot read the exit code of {name}: {state.stderr}")
        return subprocess.CompletedProcess(
            done.args, int(state.stdout.strip()), done.stdout, done.stderr
        )
    finally:
        if not engine.reliable_rm:
            engine.run("rm", "-f", name)
