"""Run the command line: as a user does, a fresh ``python -m last9_change_event`` process, or
(``in_process``) through the same ``cli.main`` in this interpreter, for speed."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests import leaks
from tests.runner import ROOT

PY = sys.executable
_MASK_LINE = re.compile(r"^::add-mask::[^\r\n]*$", re.MULTILINE)


def cli_env(extra: Mapping[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """A clean environment outside any CI, with instant retries, plus ``extra``."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "src"),
        "LAST9_INSTANT_RETRIES": "true",
    }
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


def cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the command line with ``args``; what it printed is handed to the leak watch."""
    done = subprocess.run(
        [PY, "-m", "last9_change_event", *args],
        env=cli_env(env),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    capture(done.stdout, done.stderr, github=(env or {}).get("GITHUB_ACTIONS") == "true")
    return done


def in_process(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``cli.main`` in this interpreter with the same environment, folder and streams as a
    process would have; what it printed is handed to the leak watch."""
    from last9_change_event.cli import command  # noqa: PLC0415

    out, err = io.BytesIO(), io.BytesIO()
    with _streams(out, err), _folder(cwd):
        try:
            code = command.main(list(args), env=cli_env(env))
        except SystemExit as exit_:  # --help and --version end through argparse
            code = exit_.code if isinstance(exit_.code, int) else 0
    done = subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
    capture(done.stdout, done.stderr, github=(env or {}).get("GITHUB_ACTIONS") == "true")
    return done


@contextlib.contextmanager
def _streams(out: io.BytesIO, err: io.BytesIO) -> Iterator[None]:
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        yield
    stdout.detach()
    stderr.detach()


@contextlib.contextmanager
def _folder(cwd: Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    with contextlib.chdir(cwd):
        yield


def capture(stdout: bytes, stderr: bytes, *, github: bool = False) -> None:
    """Hand what a command line run printed to the leak watch.

    In a GitHub ``run:`` step the command line writes its workflow commands on stderr (the
    runner reads them there as on stdout), so there an ``::add-mask::`` line is where a token
    belongs, as it is on the action's stdout.
    """
    err = stderr.decode("utf-8", "replace")
    if github:
        err = _MASK_LINE.sub("", err)
    leaks.WATCH.capture(
        leaks.current_test(), {"stdout": stdout.decode("utf-8", "replace"), "stderr": err}
    )
