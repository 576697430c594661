"""Quick checks of the podman helpers that need no podman (the image tests are elsewhere)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.container.podman import (
    RunnerDirs,
    input_env_name,
    make_runner_dirs,
    read_file_command,
    runner_command,
)


def test_make_runner_dirs_lays_out_the_runners_temp_folders(tmp_path: Path) -> None:
    dirs = make_runner_dirs(tmp_path, event={"release": {"tag_name": "v1.2.3"}})

    for folder in (dirs.home, dirs.workflow, dirs.file_commands, dirs.workspace):
        assert folder.is_dir()
        assert folder.parent == tmp_path
    assert {p.name for p in tmp_path.iterdir()} == {
        "_github_home",
        "_github_workflow",
        "_runner_file_commands",
        "workspace",
    }
    assert json.loads(dirs.event_path.read_text()) == {"release": {"tag_name": "v1.2.3"}}

    files = sorted(p.name for p in dirs.file_commands.iterdir())
    step_ids = {name.rsplit("_", 1)[1] for name in files}
    assert len(step_ids) == 1, "one uuid per step, shared by its four files"
    (step,) = step_ids
    assert files == [
        f"save_state_{step}",
        f"set_env_{step}",
        f"set_output_{step}",
        f"step_summary_{step}",
    ]
    for path in (dirs.output, dirs.state, dirs.env, dirs.step_summary):
        assert path.is_file()
        assert path.stat().st_size == 0


def test_runner_env_points_into_the_mounts(tmp_path: Path) -> None:
    dirs = make_runner_dirs(tmp_path)
    env = dirs.runner_env()

    assert env["HOME"] == "/github/home"
    assert env["GITHUB_EVENT_PATH"] == "/github/workflow/event.json"
    assert env["GITHUB_WORKSPACE"] == "/github/workspace"
    assert env["GITHUB_OUTPUT"] == f"/github/file_commands/{dirs.output.name}"
    assert env["GITHUB_STATE"] == f"/github/file_commands/{dirs.state.name}"
    assert env["GITHUB_ENV"] == f"/github/file_commands/{dirs.env.name}"
    assert env["GITHUB_STEP_SUMMARY"] == f"/github/file_commands/{dirs.step_summary.name}"
    assert dirs.container_path(dirs.workspace) == "/github/workspace"
    with pytest.raises(ValueError, match="not under a folder mounted"):
        dirs.container_path(tmp_path / "elsewhere")


def test_two_steps_get_separate_file_command_files(tmp_path: Path) -> None:
    first = make_runner_dirs(tmp_path)
    second = make_runner_dirs(tmp_path)

    assert first.output != second.output
    assert first.file_commands == second.file_commands
    assert len(list(first.file_commands.iterdir())) == 8
    assert isinstance(second, RunnerDirs)


def test_runner_command_passes_inputs_by_name_like_the_runner(tmp_path: Path) -> None:
    dirs = make_runner_dirs(tmp_path)
    args, process_env = runner_command(
        "img:test",
        dirs,
        {"refresh-token": "s3cr3t", "event-state": "start"},
        {"GITHUB_REPOSITORY": "acme/shop"},
        entrypoint="/action/post.py",
        podman_env={"CONTAINERS_CONF": "/x/containers.conf"},
    )

    assert input_env_name("refresh-token") == "INPUT_REFRESH-TOKEN"
    assert input_env_name("a b") == "INPUT_A_B"
    assert Path(args[0]).name == "podman"
    assert args[1:6] == ["run", "--rm", "--network=host", "--workdir", "/github/workspace"]
    assert args[-1] == "img:test"
    assert "s3cr3t" not in " ".join(args), "secret values stay out of argv"
    assert process_env["INPUT_REFRESH-TOKEN"] == "s3cr3t"
    assert process_env["CONTAINERS_CONF"] == "/x/containers.conf"
    pairs = list(itertools.pairwise(args))
    assert ("-e", "INPUT_REFRESH-TOKEN") in pairs
    assert ("-e", "HOME=/github/home") in pairs, "podman's own HOME is left alone"
    assert ("-e", "GITHUB_ACTIONS=true") in pairs
    assert ("-e", "CI=true") in pairs
    assert ("--entrypoint", "/action/post.py") in pairs
    assert ("-v", f"{dirs.file_commands}:/github/file_commands") in pairs
    assert ("-v", f"{dirs.workspace}:/github/workspace") in pairs


def test_read_file_command_reads_both_forms(tmp_path: Path) -> None:
    path = tmp_path / "set_output"
    path.write_text('status=sent\npayload<<EOF_1\n{\n  "a": 1\n}\nEOF_1\nstatus=failed\n')

    assert read_file_command(path) == {"status": "failed", "payload": '{\n  "a": 1\n}'}
