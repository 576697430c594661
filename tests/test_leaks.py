"""The leak watch itself: it finds a token anywhere but the three places a token belongs."""

from __future__ import annotations

import pytest

from tests.fake_last9 import FakeLast9
from tests.leaks import WATCH, Watch, current_test
from tests.runner import Job


def heredoc(name: str, value: str) -> str:
    """A file-command entry as the toolkit writes it."""
    return f"{name}<<ghadelimiter_1\n{value}\nghadelimiter_1\n"


@pytest.fixture
def token(fake: FakeLast9) -> str:
    """A token the fake minted."""
    return fake.mint("access")


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
    assert watch.find_leaks() == []


@pytest.mark.parametrize(
    ("place", "text"),
    [
        pytest.param("stdout", "Using token {token}\n", id="log-line"),
        pytest.param("stdout", "::debug::{token}\n", id="debug-command"),
        pytest.param("stderr", "Traceback ... {token}\n", id="stderr"),
        pytest.param("OUTPUT", heredoc("payload", '{{"t": "{token}"}}'), id="other-output"),
        pytest.param("STATE", heredoc("deployment_id", "{token}"), id="other-state"),
        pytest.param("ENV", heredoc("LAST9_DEPLOYMENT_ID", "{token}"), id="env-file"),
        pytest.param("STEP_SUMMARY", "| token | {token} |", id="summary"),
        pytest.param("stdout", "sig={signature}\n", id="signature-alone"),
    ],
)
def test_a_token_anywhere_else_is_a_leak(token: str, place: str, text: str) -> None:
    """A token (or just its signature) in any other place is reported, with the place."""
    watch = Watch()
    watch.track(token)
    watch.capture("run", {place: text.format(token=token, signature=token.rpartition(".")[2])})
    [leak] = watch.find_leaks()
    assert leak.place == place


def test_a_token_pasted_into_attributes_is_never_written(fake: FakeLast9, job: Job) -> None:
    """The refresh token copied into `attributes` is refused, never sent, and nothing the action
    writes holds it (the session's watch checks every run; this checks this one on its own)."""
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
