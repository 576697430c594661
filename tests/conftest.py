"""Shared fixtures: a fake Last9 on loopback, and a job that runs the action like the runner.

Also the leak watch (tests/leaks.py): each test's captures are checked when it tears down, and a
leak fails that test. Each test's figures travel in its teardown report (``user_properties``,
which pytest-xdist ships from its workers), and the process that prints the terminal summary adds
them up, so the figures and the verdict are the same with or without ``-n``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import leaks
from tests.fake_last9 import FakeLast9
from tests.runner import Job

#: The ``user_properties`` entry that carries a test's ``leaks.Tally``.
PROPERTY = "leak-watch"
#: Tests that share an expensive module fixture run in one xdist worker: the wheel is built
#: once, the image is built once. They carry ``xdist_group`` marks, and ``GroupScheduling`` reads
#: the same table (pytest-xdist 3.8 cannot see the marks under pytest 9.2: pytest-xdist#1386).
GROUPS = {
    "tests/test_packaging.py": "wheel",
    "tests/container/": "container",
    "tests/act/": "act",
    "tests/release/test_rehearsal.py": "rehearsal",
}


def group_of(nodeid: str) -> str | None:
    """The xdist group of a test, if it belongs to one."""
    return next((group for prefix, group in GROUPS.items() if nodeid.startswith(prefix)), None)


def pytest_configure(config: pytest.Config) -> None:
    """Watch every token the fakes mint and everything the action writes (tests/leaks.py)."""
    leaks.install()
    config.pluginmanager.register(LeakFigures(config), "leak-figures")
    # Registered here too, so that --strict-markers accepts it when xdist is not loaded.
    config.addinivalue_line("markers", "xdist_group(name): run in the same xdist worker")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the tests of one expensive module fixture in one worker."""
    for item in items:
        group = group_of(item.nodeid)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: tests one at a time to whichever worker is free, but each group's
    tests together, in one worker."""
    if config.getvalue("dist") != "loadgroup":
        return None
    # Imported here: xdist runs this hook only when it is loaded. It ships no type hints.
    from xdist.scheduler import LoadGroupScheduling  # type: ignore[import-untyped]  # noqa: PLC0415

    class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            scope: str = super()._split_scope(nodeid)
            return (group_of(nodeid) or scope) if scope == nodeid else scope

    return GroupScheduling(config, log)


@pytest.fixture(autouse=True)
def leak_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    """Check what this test's runs wrote when it tears down; a leak fails the test."""
    yield
    tally, found = leaks.WATCH.checkpoint()
    request.node.user_properties.append((PROPERTY, tally.as_json()))
    if found:
        pytest.fail(
            "leak watch: a token was written where it does not belong:\n"
            + "\n".join(str(leak) for leak in found),
            pytrace=False,
        )


class LeakFigures:
    """Adds up the figures of every test, and prints them at the end of the terminal report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.totals = leaks.Totals()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """One test's figures, run here or in a worker (whose reports arrive here too)."""
        if report.when == "teardown":
            for name, value in report.user_properties:
                if name == PROPERTY and isinstance(value, dict):
                    self.totals.add(value)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        """pytest-xdist: a worker finished; add what it captured outside its tests."""
        tally = getattr(node, "workeroutput", {}).get(PROPERTY)
        if tally is not None:
            self.totals.add(tally)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Check what was captured outside any test (a module fixture's teardown, say): a worker
        sends it with its other output, a run on its own adds it here. A leak fails the run."""
        tally, _ = leaks.WATCH.checkpoint()
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[PROPERTY] = tally.as_json()
            return
        self.totals.add(tally.as_json())
        if self.totals.leaks and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The reliability figures: fault kinds, hostile inputs, the leak watch."""
        terminalreporter.section("reliability")
        for line in self.totals.summary_lines():
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
