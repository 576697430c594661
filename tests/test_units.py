"""Unit tests of the pieces with one job each: the retry schedule, the auth flow, the
redactor and the summary. Values in, values out: no server, no process."""

from __future__ import annotations

import io
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from last9_change_event.core.summary import render
from last9_change_event.edge import workflow
from last9_change_event.edge.workflow import MAX_SUMMARY_BYTES, GitHubReporter
from last9_change_event.errors import AuthError, OutageError
from last9_change_event.last9 import tokens
from last9_change_event.last9.retry import Deadline, RetryPolicy, Schedule, retry_after
from last9_change_event.last9.tokens import AuthFlow, Token
from last9_change_event.redact import FRAGMENT_CHARS, Redactor, printable

KEY = b"k" * 32


def token(
    kind: str = "access", exp: float | None = None, scopes: tuple[str, ...] = ("write",)
) -> str:
    """A signed token like Last9's."""
    claims: dict[str, object] = {"type": kind, "scopes": list(scopes), "organization_slug": "acme"}
    if exp is not None:
        claims["exp"] = exp
    return jwt.encode(claims, KEY, algorithm="HS256")


class Clock:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now


class SleepyDeadline(Deadline):
    """A deadline on ``Clock`` whose sleeps advance it and are recorded."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        super().__init__(seconds, clock)
        self.clock = clock

    def sleep(self, seconds: float) -> None:
        self.clock.slept.append(seconds)
        self.clock.now += seconds


# -- the retry schedule ----------------------------------------------------------------------


def test_schedule_gives_the_policy_s_attempts_with_growing_waits() -> None:
    """Five attempts, four waits, each in the upper half of a doubling window."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(), SleepyDeadline(600, clock))
    assert list(schedule) == [1, 2, 3, 4, 5]
    assert schedule.ended == "attempts"
    assert len(clock.slept) == 4
    for retry, wait in enumerate(clock.slept, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (retry - 1))
        assert ceiling / 2 <= wait <= ceiling


def test_schedule_honours_a_server_s_wait() -> None:
    """`Retry-After` is the floor of the next wait only, with a spread on top."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(attempts=3), SleepyDeadline(600, clock))
    for _ in schedule:
        schedule.ask(7.0 if schedule.attempt == 1 else None)
    assert 7.0 <= clock.slept[0] <= 14.0
    assert clock.slept[1] <= 1.0


def _seeded(seed: int) -> random.Random:
    """Jitter that repeats from run to run."""
    return random.Random(seed)  # noqa: S311 - a schedule's jitter, not a secret


@pytest.mark.parametrize("asked", [0.0, 0.2, 2.0, 30.0], ids=str)
def test_a_server_s_wait_is_never_shortened_and_spreads_after_it(asked: float) -> None:
    """Jitter on top of `Retry-After`: never sooner, spread after it, wider with each retry."""
    policy, rng = RetryPolicy(), _seeded(7)
    for retry in (1, 2, 3, 6):
        spread = min(policy.cap, max(asked, policy.base) * 2 ** (retry - 1))
        waits = [policy.after(asked, retry, rng) for _ in range(2000)]
        assert min(waits) >= asked
        assert max(waits) <= asked + spread
        assert max(waits) - min(waits) > spread * 0.9  # spread over the whole window


def test_told_when_to_come_back_the_deadline_bounds_the_attempts() -> None:
    """After `Retry-After`, a job keeps its place while it has time, beyond five attempts."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(), SleepyDeadline(30, clock), rng=_seeded(1))
    for _ in schedule:
        schedule.ask(2.0)
    assert schedule.attempt > RetryPolicy().attempts
    assert schedule.ended == "deadline"
    assert all(wait >= 2.0 for wait in clock.slept)
    assert sum(clock.slept) <= 30


def test_the_spread_never_pushes_an_allowed_retry_past_the_deadline() -> None:
    """A server's wait that fits in the time left is kept, its spread cut to fit."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(), SleepyDeadline(3, clock), rng=_seeded(3))
    assert next(schedule) == 1
    clock.now += 0.5
    schedule.ask(2.0)
    assert next(schedule) == 2
    (slept,) = clock.slept
    assert 2.0 <= slept < 2.5


def test_blind_retries_stay_bounded_by_attempts() -> None:
    """Without a server's wait, the small attempt count still bounds the retries."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(), SleepyDeadline(600, clock))
    assert list(schedule) == [1, 2, 3, 4, 5]
    assert schedule.ended == "attempts"


def test_schedule_refuses_a_wait_that_would_pass_the_deadline() -> None:
    """A wait ending after the deadline ends the schedule at once, saying so."""
    clock = Clock()
    schedule = Schedule(RetryPolicy(), SleepyDeadline(5, clock))
    for _ in schedule:
        schedule.ask(120.0)
    assert schedule.attempt == 1
    assert schedule.ended == "deadline"
    assert schedule.refused_wait == 120.0
    assert clock.slept == []


def test_schedule_starts_no_attempt_after_the_deadline() -> None:
    """Once the deadline has passed, or the wait is abandoned, no attempt starts."""
    clock = Clock()
    deadline = SleepyDeadline(1, clock)
    schedule = Schedule(RetryPolicy(), deadline)
    assert next(schedule) == 1
    clock.now += 2
    assert list(schedule) == []
    assert schedule.ended == "deadline"
    abandoned = Deadline(60)
    abandoned.abandoned.set()
    assert list(Schedule(RetryPolicy(), abandoned)) == []


def test_instant_policy_never_waits() -> None:
    """The tests' switch: the same attempts, no wait, whatever the server asks."""
    clock = Clock()
    schedule = Schedule(RetryPolicy.instant(), SleepyDeadline(600, clock))
    for _ in schedule:
        schedule.ask(30.0)
    assert schedule.attempt == 5
    assert clock.slept == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 12 ", 12.0),
        ("\u0661\u0662", None),
        ("-1", None),
        ("1e3", None),
        ("99999999999999999999", 86400.0),
        ("Wed, 01 Dec 2026 00:00:10 GMT", 10.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799 - 1796083200.0),
        ("Tue, 01 Dec 2020 00:00:00 GMT", 0.0),
        ("not a date", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_dates(header: str, expected: float | None) -> None:
    """Delta-seconds (ASCII digits only, capped at a day) or an HTTP-date; else nothing."""
    now = 1796083200.0  # 2026-12-01T00:00:00Z
    found = retry_after(header, now)
    assert found == (None if expected is None else pytest.approx(expected))


# -- the auth flow -----------------------------------------------------------------------------


def flow_with(
    *, access: str | None = None, refresh: str | None = None
) -> tuple[AuthFlow, list[str], list[str]]:
    """An auth flow, what it masked, and the refresh tokens it exchanged."""
    masked: list[str] = []
    return (
        AuthFlow(access_token=access, refresh_token=refresh, clock=time.time, mask=masked.append),
        masked,
        [],
    )


def exchanger(exchanged: list[str]) -> Callable[[str], Token]:
    """An exchange that records its calls and returns a fresh token."""

    def exchange(refresh: str) -> Token:
        exchanged.append(refresh)
        return Token.of(token(exp=time.time() + 3600))

    return exchange


def test_a_valid_access_token_is_used_without_an_exchange() -> None:
    """A token valid for more than a minute is handed out as is."""
    access = token(exp=time.time() + 3600)
    flow, masked, exchanged = flow_with(access=access, refresh=token("refresh"))
    steps = flow.flow(exchanger(exchanged))
    assert next(steps).value == access
    with pytest.raises(StopIteration):
        steps.send(200)
    assert exchanged == []
    assert access in masked


def test_a_401_renews_once_and_never_loops() -> None:
    """After a 401 the flow exchanges once, hands out the new token, then stops."""
    refresh = token("refresh")
    flow, masked, exchanged = flow_with(access=token(exp=time.time() + 3600), refresh=refresh)
    steps = flow.flow(exchanger(exchanged))
    first = next(steps)
    second = steps.send(401)
    assert second.value != first.value
    with pytest.raises(StopIteration):
        steps.send(401)
    assert exchanged == [refresh]
    assert second.value in masked
    assert flow.renewed


def test_without_a_refresh_token_a_401_is_final() -> None:
    """No refresh token: nothing to renew with, the flow ends after the first answer."""
    flow, _, exchanged = flow_with(access=token(exp=time.time() + 3600))
    steps = flow.flow(exchanger(exchanged))
    next(steps)
    with pytest.raises(StopIteration):
        steps.send(401)
    assert not flow.can_renew


@pytest.mark.parametrize("exp", [math.inf, math.nan, -1.0, 1e300, "soon", None])
def test_an_expiry_that_is_not_a_date_is_unknown(exp: object) -> None:
    """`exp` of inf, NaN, negative, year 10^292, a string or missing: no expiry is trusted."""
    claims: dict[str, object] = {"type": "access", "scopes": ["write"]}
    if exp is not None:
        claims["exp"] = exp
    assert Token.of(jwt.encode(claims, KEY, algorithm="HS256")).expires_at is None


def test_each_token_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow reads a token's claims once, however often it looks at it."""
    calls: list[str] = []
    real = tokens.read_claims

    def counting(value: str) -> tokens.Claims | None:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(tokens, "read_claims", counting)
    access, refresh = token(exp=time.time() + 3600), token("refresh")
    flow, _, exchanged = flow_with(access=access, refresh=refresh)
    flow.check()
    flow.organizations()
    flow.token(exchanger(exchanged))
    flow.token(exchanger(exchanged))
    assert sorted(calls) == sorted([access, refresh])


def test_local_checks_come_before_any_exchange() -> None:
    """A read-scope refresh token or an expired one is refused without a call."""
    for refresh, title in (
        (token("refresh", scopes=("read",)), "Last9: token lacks write scope"),
        (token("refresh", exp=time.time() - 5), "Last9: refresh token expired"),
    ):
        flow, _, exchanged = flow_with(refresh=refresh)
        with pytest.raises(AuthError) as raised:
            flow.token(exchanger(exchanged))
        assert raised.value.title == title
        assert exchanged == []


def test_an_exchanged_token_a_header_cannot_carry_is_refused() -> None:
    """CR, LF or non-Latin-1 in an exchanged token: an outage, never a header."""
    flow, masked, _ = flow_with(refresh=token("refresh"))
    with pytest.raises(OutageError):
        flow.token(lambda _r: Token.of("abc\r\nX-Evil: 1"))
    assert not any("X-Evil" in m for m in masked)


# -- the redactor ------------------------------------------------------------------------------

TOKEN_TEXT = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.",
    min_size=40,
    max_size=300,
)


@given(
    secret=TOKEN_TEXT,
    start=st.integers(0, 300),
    size=st.integers(FRAGMENT_CHARS, 300),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_no_piece_of_sixteen_characters_survives(
    secret: str, start: int, size: int, before: str, after: str
) -> None:
    """Any run of 16 or more characters of a secret, anywhere in a text, is redacted."""
    redactor = Redactor()
    redactor.add(secret)
    piece = secret[start % len(secret) :][:size]
    if len(piece) < FRAGMENT_CHARS:
        return
    shown = redactor.redact(before + piece + after)
    for i in range(len(secret) - FRAGMENT_CHARS + 1):
        assert secret[i : i + FRAGMENT_CHARS] not in shown


def test_short_runs_and_other_text_are_kept() -> None:
    """Fifteen characters of a secret, and unrelated text, stay as they are."""
    redactor = Redactor()
    secret = "abcdefghijklmnopqrstuvwxyz0123456789"
    redactor.add(secret)
    assert redactor.redact("id abcdefghijklmno ok") == "id abcdefghijklmno ok"
    assert redactor.redact(f"x{secret}y") == "x***y"
    assert redactor.redact(f"a {secret[3:30]} b") == "a *** b"


def test_printable_strips_controls_and_bidirectional_marks() -> None:
    """Control and bidirectional characters go; tabs and line breaks stay."""
    assert printable("a\u202eb\u2066c\x07d\x1be\tf\ng") == "abcde\tf\ng"


# -- the summary -------------------------------------------------------------------------------


def test_the_summary_is_a_table_per_event_with_the_problem_first() -> None:
    """Status heading, the problem, then field rows and one row per attribute."""
    payload = {
        "timestamp": "2026-12-01T00:00:00+00:00",
        "event_name": "deploy *now*",
        "event_state": "start",
        "attributes": {"service_name": "shop|web"},
    }
    markdown = render(
        status="failed",
        org="acme",
        payloads=[payload],
        deployment_id="1-1-deploy",
        problem=("Last9: API unavailable", "<b>down</b>"),
    )
    lines = markdown.splitlines()
    assert lines[0] == "### Last9 change event: failed ❌"
    assert lines[2] == "**Last9: API unavailable**: &lt;b&gt;down&lt;/b&gt;"
    assert "| event | deploy \\*now\\* start |" in lines
    assert "| `service_name` | shop\\|web |" in lines
    assert "| deployment id | 1-1-deploy |" in lines


def test_the_summary_stays_within_github_s_limit(tmp_path: Path) -> None:
    """A summary of 3 MiB is cut to fit GitHub's 1 MiB, and says so."""
    path = tmp_path / "summary"
    path.touch()  # the runner makes the file; the step only appends to it
    reporter = GitHubReporter({"STEP_SUMMARY": str(path)}, out=io.StringIO())
    reporter.summary("| `k` | " + "é" * (3 << 20) + " |")
    written = path.read_bytes()
    assert len(written) <= MAX_SUMMARY_BYTES < 1 << 20
    assert written.decode("utf-8").rstrip().endswith("*(summary cut: too long)*")


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("Last9: invalid org", "plain"),
        ("a:b,c%d", "line one\nline two\r\n100%"),
        ("", "::set-output name=x::y"),
        ("ünïcode, title: yes", "%0A already escaped"),
    ],
    ids=["plain", "specials", "command-text", "unicode"],
)
def test_workflow_commands_are_the_toolkits(title: str, message: str) -> None:
    """A workflow command reads exactly as actions-toolkit's `core` writes it."""
    from actions_toolkit.command import Command  # noqa: PLC0415 - the reference, for tests

    ours = workflow.command("warning", {"title": title} if title else {}, message)
    assert ours == str(Command("warning", {"title": title} if title else {}, message))
