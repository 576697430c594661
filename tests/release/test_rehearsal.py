"""The whole release, rehearsed on this machine (scripts/rehearse-release), and failing when a
step of release.yml or scripts/release-image is broken.

The rehearsal runs release.yml's own `run:` steps against a real registry (Debian's
docker-registry) and a real package index (pypiserver). It needs root (podman's stand-in base,
apt-get): as another user it exits 75 and these tests skip, saying so, like the container tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.runner import ROOT

#: Slow and needing an engine: outside the fast loop (``-m 'not container'``), and run once, not
#: again in the docker CLI pass (``scripts/test-paths docker-api`` leaves ``rehearsal`` out).
pytestmark = [pytest.mark.container, pytest.mark.rehearsal]

UNAVAILABLE = 75
_TIMEOUT = 1200.0


def rehearse(repo: Path) -> subprocess.CompletedProcess[str]:
    """Run REPO's scripts/rehearse-release; its output (stdout and stderr together) and code."""
    done = subprocess.run(
        [str(repo / "scripts" / "rehearse-release")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if done.returncode == UNAVAILABLE and os.geteuid() != 0:
        pytest.skip(f"the release rehearsal needs root: {done.stdout.strip().splitlines()[-1]}")
    return done


def copy_of_checkout(dest: Path) -> Path:
    """This checkout's files (committed or not), sharing its tool venvs.

    No copied file is newer than ``.venv``'s install stamp, so ``scripts/bootstrap`` in the copy
    never reinstalls into the shared ``.venv`` (which would point its editable install here).
    """
    stamp = (ROOT / ".venv" / ".installed").stat().st_mtime
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
            times = (dest / name).stat()
            os.utime(dest / name, (times.st_atime, min(times.st_mtime, stamp - 1)))
    subprocess.run(["git", "init", "-q", str(dest)], check=True, timeout=60)  # noqa: S607
    for venv in (".venv", ".venv-release", ".venv-rehearsal"):
        if (ROOT / venv).is_dir():
            (dest / venv).symlink_to(ROOT / venv)
    return dest


def test_the_release_rehearsal_passes() -> None:
    """Push by digest, private then public, smoke, pin, tag, image tags, PyPI and pipx: all pass."""
    done = rehearse(ROOT)
    assert done.returncode == 0, done.stdout[-6000:]
    for line in (
        "verify: anonymous pull refused, and the step says: The image is not public",
        "verify: step 'Smoke-run it on this runner's platform' passed",
        "check-release-commit: step 'Lint the release commit",
        "smoke-release: the tagged action.yml's image, pulled anonymously, ran the runner's way",
        "smoke-release: under act, the tagged action pulled its image anonymously; start and stop",
        "resolve anonymously to sha256:",
        "release-dists: smoke: last9-change-event --dry-run printed the payload",
        "pypi: pipx run last9-change-event --version: last9-change-event",
        "rehearsal passed",
    ):
        assert line in done.stdout, f"missing {line!r} in:\n{done.stdout[-6000:]}"


@pytest.mark.parametrize(
    ("path", "before", "after", "failure"),
    [
        (
            ".github/workflows/release.yml",
            'scripts/release-image build "$IMAGE" "$VERSION" --push',
            'scripts/release-image build "$IMAGE" "$VERSION"',
            "build: no digest output",
        ),
        (
            "scripts/release-image",
            'sed -i "s|^  image: Dockerfile\\$|  image: docker://$ref|" action.yml',
            'sed -i "s|^  image: Dockerfile\\$|  image: $ref|" action.yml',
            "release.yml, job check-release-commit, step 'pin' failed",
        ),
    ],
    ids=["release.yml-build-pushes-nothing", "release-image-pin-drops-docker-scheme"],
)
def test_a_broken_release_step_fails_the_rehearsal(
    tmp_path: Path, path: str, before: str, after: str, failure: str
) -> None:
    """A copy of the checkout with one release step broken: the rehearsal fails, naming it."""
    repo = copy_of_checkout(tmp_path)
    text = (repo / path).read_text(encoding="utf-8")
    assert text.count(before) == 1, f"{path} no longer has {before!r}"
    (repo / path).write_text(text.replace(before, after), encoding="utf-8")
    done = rehearse(repo)
    assert done.returncode not in (0, UNAVAILABLE), done.stdout[-6000:]
    assert f"FAILED: {failure}" in done.stdout, done.stdout[-6000:]
