"""Waiting for something another process or thread does, with a guard against hanging."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_until(done: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll ``done`` until it is true; fail the test naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout  # a guard against hanging, not a measurement
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened")
        time.sleep(0.02)


def wait_for(path: Path, timeout: float = 30) -> None:
    """Wait until ``path`` exists (a child process writes it when it is ready)."""
    wait_until(path.exists, f"{path.name} appearing", timeout)
