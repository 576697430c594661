"""Shared fixtures: a fake Last9 on loopback, and a job that runs the action like the runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import leaks
from tests.fake_last9 import FakeLast9
from tests.runner import Job

_LEAKS = pytest.StashKey[list[leaks.Leak]]()


def pytest_configure() -> None:
    """Watch every token the fakes mint and everything the action writes (tests/leaks.py)."""
    leaks.install()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A token found where it does not belong fails the whole run."""
    session.config.stash[_LEAKS] = found = leaks.WATCH.find_leaks()
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability figures: fault kinds, hostile inputs, the leak watch."""
    terminalreporter.section("reliability")
    for line in leaks.summary_lines(terminalreporter.config.stash.get(_LEAKS, [])):
        terminalreporter.write_line(line)


@pytest.fixture
def fake() -> Iterator[FakeLast9]:
    """A fake Last9 API, fresh for each test."""
    with FakeLast9(org="acme") as server:
        yield server


@pytest.fixture
def job(tmp_path: Path) -> Job:
    """A release-triggered job on a fresh runner folder."""
    return Job(tmp_path)
