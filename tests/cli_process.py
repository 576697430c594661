"""Run the command line as a user does: a fresh ``python -m last9_change_event`` process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
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
