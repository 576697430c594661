"""The wheel built from this checkout: one version, typed, the command, the right dependencies.

Builds with ``pip wheel --no-deps`` (pip fetches the build backend from the package index, as any
install from source does).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

import last9_change_event

ROOT = Path(__file__).resolve().parent.parent


class Wheel:
    """A built wheel's file names and metadata."""

    def __init__(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            self.names = archive.namelist()
            info = next(name for name in self.names if name.endswith(".dist-info/METADATA"))
            self.metadata: Message = Parser().parsestr(archive.read(info).decode("utf-8"))
            entry = info.replace("METADATA", "entry_points.txt")
            self.entry_points = archive.read(entry).decode("utf-8")

    def requirements(self) -> list[str]:
        """The ``Requires-Dist`` lines, as written."""
        return list(self.metadata.get_all("Requires-Dist") or [])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    """The wheel ``pip wheel --no-deps`` builds from the checkout."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = out.glob("last9_change_event-*.whl")
    return Wheel(path)


def test_version_is_the_package_version(wheel: Wheel) -> None:
    """The wheel's version is ``__version__``: one source."""
    assert wheel.metadata["Version"] == last9_change_event.__version__


def test_ships_type_hints(wheel: Wheel) -> None:
    """``py.typed`` is inside, next to the package."""
    assert "last9_change_event/py.typed" in wheel.names


def test_ships_every_module_and_no_tests(wheel: Wheel) -> None:
    """Every module of the source tree is inside (the ``ci`` package included); no tests."""
    source = {
        path.relative_to(ROOT / "src").as_posix()
        for path in (ROOT / "src" / "last9_change_event").rglob("*.py")
    }
    assert source <= set(wheel.names)
    assert "last9_change_event/ci/github.py" in wheel.names
    assert not [name for name in wheel.names if name.startswith("tests/")]


def test_console_script(wheel: Wheel) -> None:
    """``last9-change-event`` runs ``last9_change_event.cli:main``."""
    lines = [line.strip() for line in wheel.entry_points.splitlines()]
    section = lines[lines.index("[console_scripts]") + 1 :]
    assert "last9-change-event = last9_change_event.cli:main" in section


def test_dependencies_and_the_action_extra(wheel: Wheel) -> None:
    """requests and PyJWT always; actions-toolkit only with the ``action`` extra."""
    requirements = wheel.requirements()
    unconditional = sorted(line for line in requirements if ";" not in line)
    assert unconditional == ["PyJWT>=2.8", "requests>=2.31"]
    conditional = [line for line in requirements if ";" in line]
    assert conditional == ['actions-toolkit==0.1.15; extra == "action"']
    assert wheel.metadata.get_all("Provides-Extra") == ["action"]


def test_license_and_links(wheel: Wheel) -> None:
    """An SPDX license (and its file, where the checkout has one), Python and the links."""
    assert wheel.metadata["License-Expression"] == "MIT"
    if (ROOT / "LICENSE").exists():
        assert wheel.metadata.get_all("License-File") == ["LICENSE"]
    urls = dict(line.split(", ", 1) for line in wheel.metadata.get_all("Project-URL") or [])
    assert urls["Repository"] == "https://github.com/last9/last9-change-event"
    assert wheel.metadata["Requires-Python"] == ">=3.11"
