"""The leak watch itself: it finds any 16-character fragment of a token's payload or signature
anywhere but the three places a token belongs, and a leak fails the test that wrote it."""

from __future__ import annotations

import os

import pytest

from tests.fake_last9 import FakeLast9
from tests.leaks import WATCH, WINDOW, Watch, current_test
from tests.runner import ROOT, Job

pytest_plugins = ["pytester"]


def heredoc(name: str, value: str) -> str:
    """A file-command entry as the toolkit writes it."""
    return f"{name}<<ghadelimiter_1\n{value}\nghadelimiter_1\n"


@pytest.fixture
def token(fake: FakeLast9) -> str:
    """A token the fake minted."""
    return fake.mint("access")


def parts(token: str) -> tuple[str, str, str]:
    """A JWT's header, payload and signature."""
    header, payload, signature = token.split(".")
    return header, payload, signature


def test_the_allowed_places_are_not_leaks(token: str) -> None:
    """The mask command, the `access-token` output and the `access_token` state are allowed."""
    watch = Watch()
    watch.track(token)
    watch.capture(
        "run",
        {
            "stdout": f"::add-mask::{token}\nSending...\n",
            "OUTPUT": heredoc("status", "sent") + heredoc("access-token", token),
            "STATE": heredoc("auto_stop", "true") + heredoc("access_token", token),
        },
    )
    watch.capture("one-line form", {"OUTPUT": f"access-token={token}\nstatus=sent\n"})
    assert watch.find_leaks() == []


def test_the_header_and_short_fragments_are_not_leaks(token: str) -> None:
    """The header is the same in every HS256 token, and 15 characters are not a leak."""
    header, payload, signature = parts(token)
    short = WINDOW - 1
    watch = Watch()
    watch.track(token)
    watch.capture(
        "run",
        {
            "stdout": f"{header}\n{payload[:short]} {payload[-short:]}\n",
            "stderr": f"{signature[:short]}.{signature[short : 2 * short]}\n",
        },
    )
    assert watch.find_leaks() == []


@pytest.mark.parametrize(
    ("place", "text"),
    [
        pytest.param("stdout", "Using token {token}\n", id="log-line"),
        pytest.param("stdout", "::debug::{token}\n", id="debug-command"),
        pytest.param("stderr", "Traceback ... {token}\n", id="stderr"),
        pytest.param("OUTPUT", heredoc("payload", '{{"t": "{token}"}}'), id="other-output"),
        pytest.param("OUTPUT", "status={token}\n", id="other-output-one-line"),
        pytest.param("STATE", heredoc("deployment_id", "{token}"), id="other-state"),
        pytest.param("ENV", heredoc("LAST9_DEPLOYMENT_ID", "{token}"), id="env-file"),
        pytest.param("STEP_SUMMARY", "| token | {token} |", id="summary"),
        pytest.param("stdout", "sig={signature}\n", id="signature-alone"),
        pytest.param("stdout", "claims={payload}\n", id="payload-alone"),
        pytest.param("stdout", "x{payload_fragment}x\n", id="16-chars-of-the-payload"),
        pytest.param("STEP_SUMMARY", "`{signature_fragment}`", id="16-chars-of-the-signature"),
        pytest.param("stdout", "::add-mask::x\n  {signature}\n", id="after-a-mask-line"),
    ],
)
def test_a_token_anywhere_else_is_a_leak(token: str, place: str, text: str) -> None:
    """A token, or any 16 characters of its payload or signature, in any other place is
    reported once, with the place and where in it."""
    _, payload, signature = parts(token)
    planted = text.format(
        token=token,
        signature=signature,
        payload=payload,
        payload_fragment=payload[7 : 7 + WINDOW],
        signature_fragment=signature[-WINDOW:],
    )
    watch = Watch()
    watch.track(token)
    watch.capture("run", {"stdout": "nothing here\n", place: planted})
    [leak] = watch.find_leaks()
    assert (leak.run, leak.place) == ("run", place)
    line = planted.splitlines()[leak.line - 1]
    fragment = line[leak.column - 1 : leak.column - 1 + WINDOW]
    assert fragment in payload or fragment in signature
    assert leak.fragment_start == fragment[:8]


def test_every_tracked_token_is_watched() -> None:
    """With many tokens tracked, a fragment of any one of them is found."""
    fakes = [f"eyJhbGciOiJIUzI1NiJ9.{n:04d}{'p' * 40}{n:04d}.{n:04d}{'s' * 39}" for n in range(50)]
    watch = Watch()
    for fake_token in fakes:
        watch.track(fake_token)
    watch.capture("run", {"stdout": f"...{fakes[37].split('.')[2][:WINDOW]}...\n"})
    [leak] = watch.find_leaks()
    assert leak.fragment_start == "0037ssss"


def test_a_token_pasted_into_attributes_is_never_written(fake: FakeLast9, job: Job) -> None:
    """The refresh token copied into `attributes` is refused, never sent, and nothing the action
    writes holds it (each test's watch checks every run; this checks this one on its own)."""
    refresh = fake.mint("refresh", ttl=None)
    inputs = {
        "org": "acme",
        "refresh-token": refresh,
        "api-url": fake.url,
        "attributes": f"copied={refresh}",
        "auto-stop": "true",
    }
    result = job.run(inputs)
    assert result.returncode == 1, result.log
    assert result.titles() == ["Last9: invalid attributes"]
    assert fake.received == []
    run, texts = WATCH.captures[-1]
    assert run == current_test()
    watch = Watch()
    watch.track(refresh)
    watch.capture(run, texts)
    assert watch.find_leaks() == []


PLANTED = """
import secrets

from tests.leaks import WATCH

TOKEN = f"eyJhbGciOiJIUzI1NiJ9.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(32)}"


def test_clean():
    WATCH.track(TOKEN)
    WATCH.capture("clean", {"stdout": f"::add-mask::{TOKEN}\\nok\\n"})


def test_leaky():
    WATCH.track(TOKEN)
    WATCH.capture("leaky", {"stdout": "ok\\n", "ENV": f"X={TOKEN[30:50]}\\n"})
"""


@pytest.mark.parametrize("workers", [None, 1], ids=["one-process", "xdist-worker"])
def test_a_leak_fails_the_test_that_wrote_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: int | None
) -> None:
    """In a session of its own, in one process or in an xdist worker: the test that wrote 16
    characters of a token fails at its teardown, naming the place; the clean test passes; the
    figures reach the terminal summary and count both tests' runs and the leak."""
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(test_planted=PLANTED)
    if workers is None:
        result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    else:
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "src")]))
        result = pytester.runpytest_subprocess(
            "-n",
            str(workers),
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
        )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaky*",
            "*leaky: token fragment * in ENV at line 1, column 3*",
            "leak watch: 2 runs captured, 0.00 MB scanned, 1 tokens tracked, 1 leaks found",
            "LEAK leaky: token fragment * in ENV*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
