"""Every image the docs name is one the release pushes: `scripts/release-image tags` decides."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import last9_change_event
from tests.runner import ROOT

RELEASE_IMAGE = ROOT / "scripts" / "release-image"
#: ghcr.io/OWNER/last9-change-event, then `:TAG`, `@sha256:...` or nothing (which means latest).
IMAGE_REFERENCE = re.compile(
    r"ghcr\.io/[A-Za-z0-9_.-]+/last9-change-event(?P<rest>[:@][^\s\"'`)\]},]*)?"
)
DOCS = sorted(
    [ROOT / "README.md", *(p for p in (ROOT / "docs").rglob("*") if p.is_file())],
)


def release_tags(version: str) -> list[str]:
    """The tags `scripts/release-image tags VERSION` says a release of VERSION pushes."""
    done = subprocess.run(
        [str(RELEASE_IMAGE), "tags", version],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()


def references(text: str) -> list[str]:
    """Each image reference's tail: `:TAG`, `@sha256:...`, or "" for none."""
    return [match.group("rest") or "" for match in IMAGE_REFERENCE.finditer(text)]


def cli_help() -> str:
    """`last9-change-event --help`, as a user sees it."""
    done = subprocess.run(
        [sys.executable, "-m", "last9_change_event", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def test_a_release_pushes_the_full_minor_and_major_tags() -> None:
    """X.Y.Z, X.Y and X, without a `v`: what users of an image expect."""
    assert release_tags("1.2.3") == ["1.2.3", "1.2", "1"]
    assert release_tags(last9_change_event.__version__)[0] == last9_change_event.__version__


@pytest.mark.parametrize(
    "text",
    [
        "ghcr.io/OWNER/last9-change-event:v1",
        "ghcr.io/OWNER/last9-change-event:latest",
        "ghcr.io/OWNER/last9-change-event -m x",
        "ghcr.io/OWNER/last9-change-event:1.2.3.4",
    ],
    ids=["v-prefixed", "latest", "no-tag", "not-semver"],
)
def test_the_check_refuses_a_tag_the_release_does_not_push(text: str) -> None:
    """The check below would catch a `v1`, a `latest`, a bare name (latest) and a non-version."""
    assert not all(_pushed(rest) for rest in references(text))


def _pushed(rest: str) -> bool:
    """A digest, or a tag that `release-image tags` gives for some version (1, 1.2 or 1.2.3)."""
    if rest.startswith("@"):
        return True  # by digest (`@sha256:...`, `@$digest`): what action.yml pins, no tag
    tag = rest.removeprefix(":")
    if not rest.startswith(":") or not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", tag):
        return False
    version = ".".join([*tag.split("."), "0", "0"][:3])
    return tag in release_tags(version)


def test_docs_and_help_name_only_tags_the_release_pushes() -> None:
    """README.md, docs/** and --help: each ghcr.io image is by a pushed tag, or by digest."""
    sources = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in DOCS}
    sources["last9-change-event --help"] = cli_help()
    wrong = [
        f"{where}: ghcr.io/.../last9-change-event{rest}"
        for where, text in sources.items()
        for rest in references(text)
        if not _pushed(rest)
    ]
    assert sum(len(references(text)) for text in sources.values()) > 0
    assert not wrong, f"tags no release pushes (X.Y.Z, X.Y and X are): {wrong}"
