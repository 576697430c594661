"""Run the action's steps the way the GitHub runner does: a fresh process per step,
``INPUT_<NAME>`` variables with hyphens kept, file commands under a temporary folder, the
job's ``$GITHUB_ENV`` carried to later steps, and ``$GITHUB_STATE`` to the post step.

Each step starts on empty file-command files, as on the runner; the files themselves are reused
from step to step (emptied first) rather than created, which spares the thousands of steps the
property tests run a folder and four files each.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from last9_change_event.core.inputs import SPECS
from last9_change_event.edge import process as edge
from last9_change_event.edge.workflow import FILE_COMMANDS, GitHubReporter
from last9_change_event.github import steps
from tests.fake_last9 import FakeLast9
from tests.github_run import (
    RELEASE_EVENT,
    RUNNER_ENV,
    parse_file_command,
)

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
POST = ROOT / "post.py"

#: Called after every step with its result and the raw text of its file commands, keyed
#: ``OUTPUT``, ``STATE``, ``ENV``, ``STEP_SUMMARY`` (``conftest.py`` adds the leak watch).
OBSERVERS: list[Callable[[StepResult, Mapping[str, str]], None]] = []

#: The file commands a step gets, as ``GITHUB_<NAME>`` paths.
FILE_COMMAND_NAMES = ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")


class _FileSets:
    """Sets of file-command files (and an event file), in one temporary folder per process: lent
    to one step at a time (threads may run steps at once), emptied before each step, deleted
    when the process exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[dict[str, Path]] = []
        self._root: Path | None = None
        self._made = 0

    @contextmanager
    def lend(self) -> Iterator[dict[str, Path]]:
        """A set of empty files, for one step."""
        with self._lock:
            files = self._free.pop() if self._free else self._make()
        try:
            for path in files.values():
                path.write_bytes(b"")
            yield files
        finally:
            with self._lock:
                self._free.append(files)

    def _make(self) -> dict[str, Path]:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="last9-runner-"))
            atexit.register(shutil.rmtree, self._root, ignore_errors=True)
        self._made += 1
        folder = self._root / f"step-files-{self._made}"
        folder.mkdir()
        files = {name: folder / f"{name.lower()}" for name in FILE_COMMAND_NAMES}
        return {**files, "EVENT": folder / "event.json"}


_FILES = _FileSets()


def step_inputs(fake: FakeLast9, **overrides: str) -> dict[str, str]:
    """A typical step's inputs for ``fake``: org, the refresh-token secret, the fake's URL, the
    environment; ``overrides`` use ``_`` for ``-`` (``event_state="stop"``)."""
    inputs = {
        "org": "acme",
        "refresh-token": fake.mint("refresh", ttl=None),
        "api-url": fake.url,
        "environment": "production",
    }
    inputs.update({name.replace("_", "-"): value for name, value in overrides.items()})
    return inputs


def action_defaults() -> dict[str, str]:
    """The defaults action.yml declares, which the runner merges into the inputs."""
    return dict(_action_defaults())


@functools.cache
def _action_defaults() -> tuple[tuple[str, str], ...]:
    spec = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return tuple((name, str(body.get("default", ""))) for name, body in spec["inputs"].items())


@dataclass
class StepResult:
    """What one step left behind."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    state: dict[str, str]
    exported: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        """Everything the step printed."""
        return self.stdout + self.stderr

    def annotations(self, kind: str) -> list[tuple[str, str]]:
        """The ``::error``/``::warning`` lines as (title, message), unescaped."""
        found = []
        for line in self.stdout.splitlines():
            match = re.fullmatch(rf"::{kind}(?: title=([^:]*))?::(.*)", line)
            if match:
                title, message = match.group(1) or "", match.group(2)
                found.append((_unescape(title), _unescape(message)))
        return found

    def titles(self, kind: str = "error") -> list[str]:
        """The titles of the ``::error`` (or other) annotations."""
        return [title for title, _ in self.annotations(kind)]


def run_in_process(env: dict[str, str], *, post: bool) -> tuple[int, str]:
    """The step as ``steps.main``/``steps.post`` run it, minus the interpreter: inputs read from
    ``INPUT_*`` in ``env``, the context and retry policy from ``env``. Returns the exit code
    and what the step printed."""
    out = io.StringIO()
    env = edge.as_text(env)
    raw = {spec.name: env.get(f"INPUT_{spec.name.upper()}", "") for spec in SPECS}
    result = steps.runner_step(
        "post" if post else "main",
        env,
        raw,
        GitHubReporter({name: env.get(f"GITHUB_{name}", "") for name in FILE_COMMANDS}, out=out),
    )
    return result.exit_code, out.getvalue()


def _unescape(text: str) -> str:
    for escaped, plain in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


@dataclass
class Job:
    """One job: its temporary folder, its env (grown by ``$GITHUB_ENV``), the event payload."""

    tmp: Path
    env: dict[str, str] = field(default_factory=lambda: dict(RUNNER_ENV))
    event: Mapping[str, Any] | None = field(default_factory=lambda: RELEASE_EVENT)
    merge_defaults: bool = True
    steps: list[StepResult] = field(default_factory=list)
    states: dict[str, dict[str, str]] = field(default_factory=dict)
    #: False: the post step gets no ``STATE_*``, as on act-based runners (act, Gitea, Forgejo).
    keeps_state: bool = True

    def run(
        self,
        inputs: Mapping[str, str],
        *,
        post: bool = False,
        step_id: str = "mark",
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        process: bool = False,
    ) -> StepResult:
        """Run the main (or post) step of the action with ``inputs``: in this process through
        the edge's own functions (fast), or with ``process=True`` as the runner does, a fresh
        interpreter running ``entrypoint.py`` or ``post.py``."""
        with _FILES.lend() as files:
            return self._run(
                files, inputs, post=post, step_id=step_id, env=env, timeout=timeout, process=process
            )

    def _run(
        self,
        files: Mapping[str, Path],
        inputs: Mapping[str, str],
        *,
        post: bool,
        step_id: str,
        env: Mapping[str, str] | None,
        timeout: float,
        process: bool,
    ) -> StepResult:
        process_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp / "_github_home"),
            **self.env,
            **{f"GITHUB_{name}": str(files[name]) for name in FILE_COMMAND_NAMES},
        }
        if self.event is not None:
            files["EVENT"].write_text(json.dumps(self.event), encoding="utf-8")
            process_env["GITHUB_EVENT_PATH"] = str(files["EVENT"])
        merged = {**action_defaults(), **inputs} if self.merge_defaults else dict(inputs)
        process_env.update({f"INPUT_{name.upper()}": value for name, value in merged.items()})
        process_env["GITHUB_ACTION"] = step_id
        if post and self.keeps_state:
            process_env.update(
                {f"STATE_{name}": value for name, value in self.states.get(step_id, {}).items()}
            )
        process_env.update(env or {})
        if process:
            completed = subprocess.run(
                [sys.executable, str(POST if post else ENTRYPOINT)],
                env=process_env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            code, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
        else:
            (code, stdout), stderr = run_in_process(process_env, post=post), ""
        raw = {name: files[name].read_text(encoding="utf-8") for name in FILE_COMMAND_NAMES}
        result = StepResult(
            returncode=code,
            stdout=stdout,
            stderr=stderr,
            outputs=parse_file_command(raw["OUTPUT"], "GITHUB_OUTPUT"),
            state=parse_file_command(raw["STATE"], "GITHUB_STATE"),
            exported=parse_file_command(raw["ENV"], "GITHUB_ENV"),
            summary=raw["STEP_SUMMARY"],
        )
        if not post:
            self.states[step_id] = result.state
        self.env.update(result.exported)
        self.steps.append(result)
        for observe in OBSERVERS:
            observe(result, raw)
        return result
