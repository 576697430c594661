"""Shared fixtures: a fake Last9 on loopback, and a job that runs the action like the runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_last9 import FakeLast9
from tests.runner import Job


@pytest.fixture
def fake() -> Iterator[FakeLast9]:
    """A fake Last9 API, fresh for each test."""
    with FakeLast9(org="acme") as server:
        yield server


@pytest.fixture
def job(tmp_path: Path) -> Job:
    """A release-triggered job on a fresh runner folder."""
    return Job(tmp_path)
