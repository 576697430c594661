"""Quick checks of the runner-like `docker run` helpers that need no engine (images elsewhere)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from tests.container import engine as engine_module
from tests.container.docker_run import (
    input_env_name,
    make_runner_dirs,
    runner_command,
    translate_path,
)
from tests.container.engine import Engine, NoEngine, dockerfile_base
from tests.runner import ROOT


def engine(*, reliable_rm: bool = True) -> Engine:
    return Engine(
        kind="docker",
        cli="/usr/bin/docker",
        env={"DOCKER_HOST": "unix:///x/docker.sock"},
        base=None,
        server="Docker Engine 28.0.0",
        reliable_rm=reliable_rm,
    )


def test_make_runner_dirs_lays_out_the_runners_temp_folders(tmp_path: Path) -> None:
    """The temp folder holds home, workflow (with the event) and one step's four files."""
    dirs = make_runner_dirs(tmp_path / "_temp", tmp_path / "ws", event={"release": {"x": 1}})

    assert {p.name for p in (tmp_path / "_temp").iterdir()} == {
        "_github_home",
        "_github_workflow",
        "_runner_file_commands",
    }
    assert dirs.workspace.is_dir()
    assert json.loads(dirs.event_path.read_text()) == {"release": {"x": 1}}
    files = sorted(p.name for p in dirs.file_commands.iterdir())
    (step,) = {name.rsplit("_", 1)[1] for name in files}
    assert files == [f"{p}_{step}" for p in ("save_state", "set_env", "set_output", "step_summary")]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("ws", "/github/workspace"),
        ("ws/ca.pem", "/github/workspace/ca.pem"),
        ("_temp/_runner_file_commands/set_output_1", "/github/file_commands/set_output_1"),
        ("_temp/_github_home", "/github/home"),
        ("_temp/_github_workflow/event.json", "/github/workflow/event.json"),
        ("_temp/other/file", "/github/runner_temp/other/file"),
        ("wsx/file", None),
    ],
    ids=["workspace", "under-workspace", "file-command", "home", "event", "temp", "prefix-only"],
)
def test_translate_path_like_the_runner(
    tmp_path: Path, relative: str, expected: str | None
) -> None:
    """Host paths under a mount become container paths; a mere name prefix does not."""
    dirs = make_runner_dirs(tmp_path / "_temp", tmp_path / "ws")
    value = str(tmp_path / relative)
    assert translate_path(dirs, value) == (value if expected is None else expected)


def test_runner_command_passes_inputs_by_name_like_the_runner(tmp_path: Path) -> None:
    """Values stay out of argv, host paths are translated, mounts and flags as the runner's."""
    dirs = make_runner_dirs(tmp_path / "_temp", tmp_path / "ws")
    args, process_env = runner_command(
        engine(),
        "img:test",
        dirs,
        {"refresh-token": "s3cr3t", "event-state": "start"},
        {"GITHUB_REPOSITORY": "acme/shop", "REQUESTS_CA_BUNDLE": str(dirs.workspace / "ca.pem")},
        entrypoint="/action/post.py",
        name="step1",
    )

    assert input_env_name("refresh-token") == "INPUT_REFRESH-TOKEN"
    assert input_env_name("a b") == "INPUT_A_B"
    assert args[:4] == ["/usr/bin/docker", "run", "--name", "step1"]
    assert "--network" not in args, "the default bridge, as for a job without services"
    assert "--rm" in args
    assert args[-1] == "img:test"
    assert "s3cr3t" not in " ".join(args), "secret values stay out of argv"
    assert process_env["INPUT_REFRESH-TOKEN"] == "s3cr3t"
    assert process_env["DOCKER_HOST"] == "unix:///x/docker.sock"
    pairs = list(itertools.pairwise(args))

    def seen(name: str) -> str:  # by name (value in the CLI's env) or NAME=value
        if ("-e", name) in pairs:
            return process_env[name]
        (value,) = [b.partition("=")[2] for a, b in pairs if a == "-e" and b.startswith(name + "=")]
        return value

    assert seen("REQUESTS_CA_BUNDLE") == "/github/workspace/ca.pem"
    assert seen("GITHUB_OUTPUT") == f"/github/file_commands/{dirs.output.name}"
    assert ("-e", "HOME=/github/home") in pairs, "the CLI's own HOME is left alone"
    assert ("--workdir", "/github/workspace") in pairs
    assert ("-e", "GITHUB_ACTIONS=true") in pairs
    assert ("-e", "CI=true") in pairs
    assert ("--entrypoint", "/action/post.py") in pairs
    mounts = [b for a, b in pairs if a == "-v" and "docker.sock" not in b]
    assert mounts == [
        f"{dirs.temp}:/github/runner_temp",
        f"{dirs.home}:/github/home",
        f"{dirs.workflow}:/github/workflow",
        f"{dirs.file_commands}:/github/file_commands",
        f"{dirs.workspace}:/github/workspace",
    ]


def test_runner_command_keeps_the_container_when_rm_hides_exit_codes(tmp_path: Path) -> None:
    """Through podman 4.3's Docker API `--rm` hides the exit code: run without it, inspect."""
    dirs = make_runner_dirs(tmp_path / "_temp", tmp_path / "ws")
    args, _ = runner_command(engine(reliable_rm=False), "img", dirs, {}, network="job_net")
    assert "--rm" not in args
    assert ("--network", "job_net") in list(itertools.pairwise(args))


def test_dockerfile_base_is_pinned_by_digest() -> None:
    """The base a Docker engine builds on is python:3.12-slim pinned by its index digest."""
    assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", dockerfile_base(ROOT))


# dependabot-core, docker/lib/dependabot/docker/file_parser.rb (FROM_LINE) and
# shared/shared_file_parser.rb (REGISTRY, IMAGE), commit 54c10285: the lines Dependabot updates.
_NAME_COMPONENT = r"(?:[a-z\d]+(?:(?:[._]|__|[-]*)[a-z\d]+)*)"
_DOMAIN_COMPONENT = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DEPENDABOT_FROM_LINE = re.compile(
    r"^FROM\s+(--platform=(?P<platform>\S+)\s+)?"
    rf"((?P<registry>(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+)(?::\d+)?)/)?"
    rf"(?P<image>{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*)"
    r"(:(?P<tag>[\w][\w.-]{0,127}))?(?:@sha256:(?P<digest>[0-9a-f]{64}))?",
    re.IGNORECASE,
)


def test_dependabot_reads_the_base_with_its_tag_and_digest() -> None:
    """Dependabot's Docker parser finds python, tag 3.12-slim and the digest on the FROM line."""
    found = [
        match.groupdict()
        for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if (match := _DEPENDABOT_FROM_LINE.match(line))
    ]
    assert len(found) == 1
    assert found[0]["image"] == "python"
    assert found[0]["tag"] == "3.12-slim"
    assert found[0]["digest"] == dockerfile_base(ROOT).rpartition(":")[2]
    assert not _DEPENDABOT_FROM_LINE.match("FROM ${BASE_IMAGE}"), "an ARG is invisible to it"


def test_no_engine_and_not_root_is_a_stated_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-root without a Docker engine: NoEngine, whose message says what would run them."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("LAST9_CONTAINER_ENGINE", "auto")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    engine_module._select_engine.cache_clear()
    try:
        with pytest.raises(NoEngine, match="not root: the podman stand-in needs root"):
            engine_module.select_engine()
    finally:
        engine_module._select_engine.cache_clear()
