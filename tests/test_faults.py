"""The fault matrix: each way Last9 or the network can fail, under each `fail-on` policy.

Every row runs the step (in-process, through the edge, instant retries) against the fake Last9
with scripted faults, once per policy, and checks the same contract: an event that may not have
landed is sent again (at least once), every try sends the very same bytes, every request stays
under ``/api/v4/``, the exit code and the ``status`` output follow the policy (configuration
and token errors fail under ``any`` and ``config``; outages fail only under ``any``; ``never``
only warns), and the annotation names the cause and the remedy.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Literal

import pytest

from tests.fake_last9 import FakeLast9, Fault, Route
from tests.leaks import WATCH
from tests.runner import Job, StepResult

Outcome = Literal["sent", "config", "outage"]
#: Sets the fault up on the fake; returns the inputs that differ from a typical start step.
Cause = Callable[[FakeLast9], dict[str, str]]
POLICIES = ("any", "config", "never")
#: The policies under which each outcome fails the step.
FAILS: dict[Outcome, frozenset[str]] = {
    "sent": frozenset(),
    "config": frozenset({"any", "config"}),
    "outage": frozenset({"any"}),
}
NOW = Fault(503, headers={"Retry-After": "0"})
EXPIRED = Fault(401, body={"error": "Authorization token is expired"})
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True)
class Row:
    """One fault: how to cause it, and what the step must do about it."""

    cause: Cause
    outcome: Outcome
    title: str = ""
    says: tuple[str, ...] = ()  # in the annotation: the cause, then the remedy
    puts: int | None = None  # change-event requests Last9 must see (None: not checked)
    exchanges: int | None = None
    within_seconds: float = 10.0  # the step's timeout plus start-up, or less
    also_warns: tuple[str, ...] = field(default_factory=tuple)
    env: dict[str, str] = field(default_factory=dict)


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def script(route: Route, *faults: Fault, **inputs: str) -> Cause:
    """A cause that queues ``faults`` on ``route`` and sets ``inputs``."""

    def cause(fake: FakeLast9) -> dict[str, str]:
        fake.script(route, *faults)
        return inputs

    return cause


def retry_after_date(fake: FakeLast9) -> dict[str, str]:
    """A 429 asking to come back two seconds from now, as an HTTP-date."""
    fake.script(
        "event", Fault(429, headers={"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    )
    return {}


def expired_401(*, refresh: bool) -> Cause:
    """Last9 says `Authorization token is expired` to an access token that looked valid."""

    def cause(fake: FakeLast9) -> dict[str, str]:
        fake.script("event", EXPIRED)
        inputs = {"access-token": fake.mint("access", ttl=3600)}
        return inputs if refresh else {**inputs, "refresh-token": ""}

    return cause


def revoked_refresh_token(fake: FakeLast9) -> dict[str, str]:
    """A refresh token an admin revoked."""
    token = fake.mint("refresh", ttl=None)
    fake.revoke(token)
    return {"refresh-token": token}


ROWS: dict[str, Row] = {
    "5xx-once-then-success": Row(script("event", NOW), "sent", puts=2),
    "5xx-persistently": Row(
        script("event", *[Fault(503)] * 20),
        "outage",
        "Last9: API unavailable",
        ("HTTP 503", "failed 5 times", "outage", "may or may not have recorded"),
        puts=5,
    ),
    "429-retry-after-seconds": Row(
        script("event", Fault(429, headers={"Retry-After": "1"})), "sent", puts=2
    ),
    "429-retry-after-http-date": Row(retry_after_date, "sent", puts=2),
    "429-retry-after-non-ascii-digits": Row(
        script("event", Fault(429, headers={"Retry-After": "\u0661\u0662"})), "sent", puts=2
    ),
    "429-retry-after-beyond-timeout": Row(
        script("event", Fault(429, headers={"Retry-After": "120"}), timeout="5"),
        "outage",
        "Last9: API unavailable",
        ("HTTP 429", "in 120.0 s", "would pass it", "5 s timeout", "raise `timeout`"),
        puts=1,
        env={"LAST9_INSTANT_RETRIES": "false"},
    ),
    "connection-refused": Row(
        lambda _fake: {"api-url": f"http://127.0.0.1:{closed_port()}"},
        "outage",
        "Last9: API unavailable",
        ("connection refused", "failed 5 times", "`api-url`"),
        puts=0,
    ),
    "connection-closed-before-the-answer": Row(script("event", Fault(close=True)), "sent", puts=2),
    "connection-closed-until-the-end": Row(
        script("event", *[Fault(close=True)] * 5),
        "outage",
        "Last9: API unavailable",
        ("closed before the answer", "failed 5 times", "may or may not have recorded"),
        puts=5,
    ),
    "exchange-connection-closed-once": Row(
        script("exchange", Fault(close=True)), "sent", puts=1, exchanges=2
    ),
    "answer-slower-than-timeout": Row(
        script("event", Fault(200, body={"message": "success"}, delay=3), timeout="1"),
        "outage",
        "Last9: API unavailable",
        ("within the 1 s timeout", "no answer", "may or may not have recorded", "`timeout`"),
        puts=1,
        within_seconds=2.5,
    ),
    "html-error-page": Row(
        script(
            "event",
            *[Fault(502, HTML_PAGE, {"Retry-After": "0"}, content_type="text/html")] * 5,
        ),
        "outage",
        "Last9: API unavailable",
        ('HTTP 502: an HTML page, "502 Bad Gateway"', "failed 5 times", "raise `timeout`"),
        puts=5,
    ),
    "200-body-not-json": Row(
        script("event", Fault(200, "OK", content_type="text/plain")),
        "outage",
        "Last9: unexpected answer",
        ("without its success body", "OK.", "may or may not have recorded", "check `api-url`"),
        puts=1,
    ),
    "200-failure-body": Row(
        script("event", Fault(200, {"message": "failure"})),
        "outage",
        "Last9: unexpected answer",
        ("without its success body", "may or may not have recorded"),
        puts=1,
    ),
    "200-error-body": Row(
        script("event", Fault(200, {"message": "success", "error": "quota"})),
        "outage",
        "Last9: unexpected answer",
        ("quota", "without its success body"),
        puts=1,
    ),
    "401-expired-for-a-valid-looking-token": Row(
        expired_401(refresh=True),
        "sent",
        puts=2,
        exchanges=1,
    ),
    "401-expired-without-refresh-token": Row(
        expired_401(refresh=False),
        "config",
        "Last9: access token rejected",
        ("Authorization token is expired", "Pass `refresh-token`"),
        puts=1,
        exchanges=0,
    ),
    "exchange-5xx-once": Row(
        script("exchange", Fault(500, headers={"Retry-After": "0"})), "sent", exchanges=2
    ),
    "exchange-5xx-persistently": Row(
        script("exchange", *[Fault(500, headers={"Retry-After": "0"})] * 5),
        "outage",
        "Last9: API unavailable",
        ("token exchange failed 5 times", "HTTP 500", "outage"),
        puts=0,
        exchanges=5,
    ),
    "revoked-refresh-token": Row(
        revoked_refresh_token,
        "config",
        "Last9: refresh token rejected",
        ("401: invalid refresh token", "revoked", "Generate new tokens"),
        puts=0,
        exchanges=1,
    ),
    "expired-refresh-token": Row(
        lambda fake: {"refresh-token": fake.mint("refresh", exp=int(time.time()) - 5)},
        "config",
        "Last9: refresh token expired",
        ("has expired", "Generate new tokens"),
        puts=0,
        exchanges=0,
    ),
    "read-scope-refresh-token": Row(
        lambda fake: {"refresh-token": fake.mint("refresh", ttl=None, scopes=("read",))},
        "config",
        "Last9: token lacks write scope",
        ("scopes read", "*write* token pair"),
        puts=0,
        exchanges=0,
    ),
    "read-scope-access-token": Row(
        lambda fake: {"access-token": fake.mint("access", scopes=("read",)), "refresh-token": ""},
        "config",
        "Last9: token lacks write scope",
        ("access token has scopes read", "*write* token pair"),
        puts=0,
        exchanges=0,
    ),
    "org-mismatch": Row(
        lambda fake: {"refresh-token": fake.mint("refresh", ttl=None, org="other")},
        "config",
        "Last9: token rejected",
        ("403: organization mismatch", "organization named in `org`"),
        puts=1,
        also_warns=("Last9: organization mismatch",),
    ),
    "404-not-found": Row(
        script("event", Fault(404, {"error": "not found"})),
        "config",
        "Last9: not found",
        ("404", "Check `org`"),
        puts=1,
    ),
    "400-rejected-not-retried": Row(
        script("event", Fault(400, {"error": "attributes must be an object"})),
        "config",
        "Last9: request rejected",
        ("400: attributes must be an object", "not retried"),
        puts=1,
    ),
    "dns-failure": Row(
        lambda _fake: {"api-url": "https://last9.invalid"},
        "config",
        "Last9: unknown host",
        ("last9.invalid does not resolve", "Check `api-url`", "`HTTPS_PROXY`"),
        puts=0,
        within_seconds=5.0,  # one failed lookup, not retried until the 60 s timeout
    ),
}


@dataclass(frozen=True)
class Run:
    """One run of the step under one policy, with the fake it talked to."""

    policy: str
    fake: FakeLast9
    result: StepResult
    seconds: float


def run_under(policy: str, row: Row, tmp: Path) -> Run:
    """Run the step once under ``policy``, against a fake of its own that ``row`` sets up."""
    with FakeLast9(org="acme") as fake:
        inputs = {
            "org": "acme",
            "refresh-token": fake.mint("refresh", ttl=None),
            "api-url": fake.url,
            "fail-on": policy,
            **row.cause(fake),
        }
        started = time.monotonic()
        result = Job(tmp / policy).run(inputs, env=row.env)
        return Run(policy, fake, result, time.monotonic() - started)


@pytest.mark.parametrize("fault", ROWS)
def test_fault(tmp_path: Path, fault: str) -> None:
    """The step survives the fault as its row says, under each failure policy."""
    row = ROWS[fault]
    with ThreadPoolExecutor(len(POLICIES)) as pool:
        runs = list(pool.map(lambda policy: run_under(policy, row, tmp_path), POLICIES))
    for run in runs:
        check(row, run)
    WATCH.tally("fault run", kind=fault, count=len(runs))


def check(row: Row, run: Run) -> None:
    """What every fault owes every policy: the same bytes on every try, the right ending."""
    fake, result, policy = run.fake, run.result, run.policy
    context = f"under fail-on: {policy}\n{result.log}"
    puts = [r.body for r in fake.received if r.method == "PUT"]
    posts = [r.body for r in fake.received if r.method == "POST"]
    assert len(fake.events()) == (1 if row.outcome == "sent" else 0), (
        context
    )  # a fault records none
    assert len(set(puts)) <= 1, f"a retry must resend the same bytes, {context}"
    assert len(set(posts)) <= 1, context
    assert all(r.path.startswith("/api/v4/") for r in fake.received), context
    if row.puts is not None:
        assert len(puts) == row.puts, context
    if row.exchanges is not None:
        assert fake.exchanges() == row.exchanges, context
    assert run.seconds < row.within_seconds, context

    fails = policy in FAILS[row.outcome]
    assert result.returncode == (1 if fails else 0), context
    assert result.outputs["status"] == ("sent" if row.outcome == "sent" else "failed"), context
    assert "Traceback" not in result.stderr, context
    errors, warnings = result.annotations("error"), result.annotations("warning")
    extra = [warning for warning in warnings if warning[0] in row.also_warns]
    assert [title for title, _ in extra] == list(row.also_warns), context
    if row.outcome == "sent":
        assert errors == warnings == [], context
        return
    annotated = errors if fails else [w for w in warnings if w not in extra]
    assert errors == (annotated if fails else []), context
    [(title, message)] = annotated
    assert title == row.title, context
    for fragment in row.says:
        assert fragment in message, context
    if not fails:
        assert message.endswith(f"(not failing the step: `fail-on: {policy}`)"), context
    assert f"**{row.title}**" in result.summary, context
