"""The four promises under real faults: no crash, a hard deadline, no token piece, a stop for
every start. Raw-socket answers (``tests/rawserver.py``) break HTTP at any byte; the step runs
in-process through the edge unless a test needs the real process (signals, the environment
that requests reads itself)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest

from last9_change_event.core.summary import text
from last9_change_event.last9.client import describe
from last9_change_event.last9.outcomes import Answer, MaybeSent
from last9_change_event.last9.retry import Deadline
from last9_change_event.last9.transport import attempt
from tests.fake_last9 import FakeLast9, Fault
from tests.github_run import read_file_command
from tests.rawserver import Play, RawLast9, answer, gzip_bomb
from tests.runner import ENTRYPOINT, Job, StepResult, step_inputs
from tests.waiting import wait_until


@pytest.fixture
def raw() -> Iterator[RawLast9]:
    """A raw-socket Last9 lookalike."""
    with RawLast9() as server:
        yield server


def raw_inputs(server: RawLast9, **overrides: str) -> dict[str, str]:
    """A start step's inputs for the raw server."""
    return {
        "org": "acme",
        "refresh-token": server.minter.mint("refresh", ttl=None),
        "api-url": server.url,
        **{name.replace("_", "-"): value for name, value in overrides.items()},
    }


def outside_masks(text: str) -> str:
    """``text`` without the ``::add-mask::`` lines, the one place a token belongs."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def ended_cleanly(result: StepResult) -> None:
    """No traceback, a status, a summary."""
    assert "Traceback" not in result.log
    assert result.outputs["status"] in ("sent", "failed", "dry-run", "skipped")
    assert result.summary.startswith("### Last9 change event")


CUT_OFF: dict[str, Play] = {
    "shorter-than-content-length": Play(answer(200, b'{"message": "succ', length=200)),
    "reset-after-the-headers": Play(answer(200, b"", length=40), reset=True),
    "reset-mid-body": Play(answer(200, b'{"mess', length=40), reset=True),
    "malformed-chunking": Play(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"
    ),
    "chunked-then-closed": Play(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"me'),
    "closed-before-the-status-line": Play(b"HTTP/1.1 2"),
}


@pytest.mark.parametrize("route", ["event", "exchange"])
@pytest.mark.parametrize("play", CUT_OFF.values(), ids=CUT_OFF.keys())
def test_an_answer_cut_off_is_retried_with_the_same_bytes(
    raw: RawLast9, tmp_path: Path, route: str, play: Play
) -> None:
    """An answer cut off mid-way may hide a recorded event: it is sent again, identical."""
    raw.script(route, play)
    result = Job(tmp_path).run(raw_inputs(raw))
    ended_cleanly(result)
    assert result.outputs["status"] == "sent", result.log
    puts = raw.puts()
    assert len(puts) == (2 if route == "event" else 1)
    assert len(set(puts)) == 1


def test_a_corrupt_compressed_body_is_an_unexpected_answer(raw: RawLast9, tmp_path: Path) -> None:
    """A gzip body that does not inflate is reported, not a crash."""
    raw.script("event", Play(answer(200, b"\x1f\x8b\x08garbage", "Content-Encoding: gzip")))
    result = Job(tmp_path).run(raw_inputs(raw, fail_on="any"))
    ended_cleanly(result)
    assert result.titles() == ["Last9: unexpected answer"]
    assert "does not decompress" in result.annotations("error")[0][1]


HUGE: dict[str, Callable[[], bytes]] = {
    "gzip-bomb": lambda: answer(200, gzip_bomb(64 << 20), "Content-Encoding: gzip"),
    "8-MiB-body": lambda: answer(200, b"a" * (8 << 20)),
    "body-until-close": lambda: answer(200, b"x" * (4 << 20), length=-1),
}


@pytest.mark.parametrize("make", HUGE.values(), ids=HUGE.keys())
def test_any_answer_is_read_within_a_memory_bound(raw: RawLast9, make: Callable[[], bytes]) -> None:
    """However big the answer, or its inflated body, reading it stays under 2 MiB of memory."""
    raw.script("event", Play(make()))
    import requests  # noqa: PLC0415

    with requests.Session() as session:
        tracemalloc.start()
        outcome = attempt(
            session, "PUT", f"{raw.url}/x/change_events", b"{}", {}, deadline=Deadline(10)
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert isinstance(outcome, Answer | MaybeSent)
    assert peak < 2 << 20, f"peak {peak / 2**20:.1f} MiB"


def test_a_crafted_error_page_is_described_in_linear_time() -> None:
    """An unclosed `<title>` over a megabyte is described from its start, not searched through."""
    page = "<title" + " a=b" * 250_000 + ">" + "x" * 1_000_000
    shown = describe(Answer(502, None, page))
    assert shown.startswith("<title a=b")
    assert len(shown) <= 200


@pytest.mark.parametrize(
    ("play", "where"),
    [
        (Play(answer(200, b'{"message": "success"}'), piece=1, pause=0.2), "body"),
        (Play(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200, piece=1, pause=0.2), "headers"),
    ],
    ids=["trickled-body", "trickled-headers"],
)
def test_timeout_is_a_wall_clock_deadline_against_a_trickle(
    raw: RawLast9, tmp_path: Path, play: Play, where: str
) -> None:
    """A server sending a byte every 0.2 s cannot hold a `timeout: 1` step past its deadline."""
    raw.script("event", play)
    started = time.monotonic()
    result = Job(tmp_path).run(raw_inputs(raw, timeout="1", fail_on="any"))
    elapsed = time.monotonic() - started
    ended_cleanly(result)
    assert elapsed < 2.5, f"{where}: {elapsed:.1f} s"
    [(title, message)] = result.annotations("error")
    assert title == "Last9: API unavailable"
    assert "1 s timeout" in message
    assert "may or may not have recorded" in message


@pytest.mark.parametrize(
    "token",
    ["eyJhbGciOiJub25lIn0.e30.\r\nX-Injected: 1", "eyJhbGciOiJub25lIn0.e30.é€", "a b"],
    ids=["cr-lf", "non-latin-1", "space"],
)
def test_an_exchanged_token_no_header_can_carry_is_an_unexpected_answer(
    raw: RawLast9, tmp_path: Path, token: str
) -> None:
    """An exchange answering with a token a header cannot carry ends cleanly; nothing is sent."""
    body = json.dumps({"access_token": token, "expires_at": 4102444800}).encode()
    raw.script("exchange", Play(answer(200, body)))
    result = Job(tmp_path).run(raw_inputs(raw, fail_on="any"))
    ended_cleanly(result)
    assert result.titles() == ["Last9: unexpected answer"]
    assert raw.puts() == []


@pytest.mark.parametrize("expires_at", [b"1e999", b"-1e999", b"NaN", b'"soon"', b"1e300"])
def test_an_exchanged_expiry_that_is_not_a_date_falls_back_to_the_claim(
    raw: RawLast9, tmp_path: Path, expires_at: bytes
) -> None:
    """`expires_at` of inf, NaN, a string or year 10^292: the token's own `exp` is used."""
    token = raw.minter.mint("access").encode()
    body = b'{"access_token": "' + token + b'", "expires_at": ' + expires_at + b"}"
    raw.script("exchange", Play(answer(200, body)))
    result = Job(tmp_path).run(raw_inputs(raw))
    ended_cleanly(result)
    assert result.outputs["status"] == "sent"
    assert result.outputs["access-token-expires-at"].startswith(str(time.gmtime().tm_year))


@pytest.mark.parametrize("exp", [math.inf, -math.inf, math.nan, 1e300, -5.0, True])
def test_a_given_token_whose_exp_is_not_a_date_is_exchanged(
    fake: FakeLast9, job: Job, exp: float
) -> None:
    """An access token whose `exp` is not a date is not trusted: the refresh token renews it."""
    claims = jwt.decode(fake.mint("access"), options={"verify_signature": False})
    given = jwt.encode({**claims, "exp": exp}, fake.key, algorithm="HS256")
    result = job.run(step_inputs(fake, access_token=given))
    ended_cleanly(result)
    assert result.outputs["status"] == "sent"
    assert fake.exchanges() == 1


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400], ids=["inf", "-inf", "big"])
def test_an_attribute_number_too_large_for_a_float(fake: FakeLast9, job: Job, number: str) -> None:
    """A JSON number beyond a float is refused (inf) or kept as its digits (an integer)."""
    result = job.run(step_inputs(fake, attributes='{"n": ' + number + "}"))
    ended_cleanly(result)
    if number.isdigit():
        assert json.loads(result.outputs["payload"])["attributes"]["n"] == number
    else:
        assert result.titles() == ["Last9: invalid attributes"]


@pytest.mark.parametrize(
    "env",
    [
        {"REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem"},
        {"HTTPS_PROXY": "http://[::1"},
        {"HTTPS_PROXY": "gopher://proxy:70"},
    ],
    ids=["missing-ca-bundle", "malformed-proxy", "unsupported-proxy-scheme"],
)
def test_http_settings_that_cannot_be_used_are_a_configuration_error(
    fake: FakeLast9, job: Job, env: dict[str, str]
) -> None:
    """A CA bundle that is not there or a proxy URL requests cannot use: one clear error."""
    inputs = step_inputs(fake, api_url="https://api.last9.invalid")
    result = job.run(inputs, env=env, process=True)
    ended_cleanly(result)
    assert result.returncode == 1
    assert result.titles() == ["Last9: unusable HTTP settings"]


def test_a_loopback_api_is_never_reached_through_a_proxy(fake: FakeLast9, job: Job) -> None:
    """An `http` loopback `api-url` ignores `HTTP_PROXY`: the token never passes a proxy."""
    result = job.run(
        step_inputs(fake), env={"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}, process=True
    )
    assert result.outputs["status"] == "sent", result.log


@pytest.mark.parametrize("started_at", ["nan", "inf", "-inf", "1e400", "soon"])
def test_a_start_time_that_is_not_finite_gives_no_duration(
    fake: FakeLast9, job: Job, started_at: str
) -> None:
    """A non-finite exported start time is ignored: the stop is sent without a duration."""
    job.env.update(
        {"LAST9_DEPLOYMENT_ID": "987654321-1-deploy", "LAST9_DEPLOYMENT_STARTED_AT": started_at}
    )
    result = job.run(step_inputs(fake, event_state="stop"))
    ended_cleanly(result)
    assert "duration_seconds" not in fake.events()[0]["attributes"]


def test_invalid_utf8_in_a_runner_variable(fake: FakeLast9, job: Job) -> None:
    """Bytes that are not UTF-8 in a runner variable become U+FFFD, in the real process."""
    job.env["GITHUB_REF_NAME"] = "v1.2.3-\udcff"
    result = job.run(step_inputs(fake), process=True)
    ended_cleanly(result)
    assert fake.events()[0]["attributes"]["git_ref_name"] == "v1.2.3-\ufffd"


@pytest.mark.parametrize("policy", ["any", "config", "never"])
def test_an_unexpected_exception_is_an_internal_error(
    fake: FakeLast9, job: Job, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    """A bug ends as `Last9: internal error`, counted as an outage by `fail-on`."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError

    monkeypatch.setattr("last9_change_event.core.run.make_plan", broken)
    result = job.run(step_inputs(fake, fail_on=policy))
    ended_cleanly(result)
    assert result.returncode == (1 if policy == "any" else 0)
    kind = "error" if policy == "any" else "warning"
    assert result.titles(kind) == ["Last9: internal error"]
    assert "ZeroDivisionError" in result.annotations(kind)[0][1]
    assert "**Last9: internal error**" in result.summary


def test_no_piece_of_an_echoed_token_reaches_any_output(fake: FakeLast9, job: Job) -> None:
    """A server echoing most of the refresh token: no 16 characters of it reach any channel."""
    inputs = step_inputs(fake, fail_on="any")
    refresh = inputs["refresh-token"]
    fake.script("exchange", Fault(401, {"error": f"bad token {refresh[4:120]}"}))
    result = job.run(inputs)
    everything = outside_masks(result.log) + result.summary + json.dumps(result.outputs)
    signature_part = refresh.split(".", 1)[1]
    for start in range(len(signature_part) - 15):
        assert signature_part[start : start + 16] not in everything
    assert result.titles() == ["Last9: refresh token rejected"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("attributes", "k={token}xyz"), ("event-name", "{token}"), ("timestamp", "{token}")],
)
def test_a_token_pasted_into_an_input_is_never_echoed(
    fake: FakeLast9, job: Job, name: str, value: str
) -> None:
    """A JWT in an input is named, never shown nor sent as an attribute."""
    token = fake.mint("access")
    result = job.run(step_inputs(fake, **{name.replace("-", "_"): value.format(token=token)}))
    body = token.split(".", 1)[1]
    for start in range(0, len(body) - 15, 4):
        assert body[start : start + 16] not in outside_masks(result.log) + result.summary
    assert all(body[:16] not in json.dumps(e) for e in fake.events())


def test_the_summary_shows_markdown_and_html_as_text() -> None:
    """Markdown and HTML in a value cannot format, link or inject."""
    shown = text("<img src=x onerror=alert(1)> [link](http://e) **b** | `c`")
    assert "<" not in shown
    assert ">" not in shown
    assert "\\[link\\]\\(http://e\\)" in shown
    assert "\\*\\*b\\*\\*" in shown
    assert "\\|" in shown
    assert "\\`c\\`" in shown


def test_server_text_loses_control_and_bidirectional_characters(fake: FakeLast9, job: Job) -> None:
    """A server's error text cannot reorder or hide what the annotation shows."""
    fake.script("event", Fault(400, {"error": "bad\u202eevil\u0007bell\x1b[31m"}))
    result = job.run(step_inputs(fake))
    [(_, message)] = result.annotations("error")
    assert not {"\u202e", "\x07", "\x1b"} & set(message)
    assert "badevilbell[31m" in message


@pytest.mark.parametrize(
    "api_url",
    [
        "https://app.\nlast9.io",
        "https://app.last9.io\x00/",
        "https://a pp.io",
        "https://x.io\t:443",
    ],
)
def test_an_api_url_with_white_space_or_controls_is_refused(
    fake: FakeLast9, job: Job, api_url: str
) -> None:
    """`api-url` is refused, not silently rewritten, when it holds white space or controls."""
    result = job.run(step_inputs(fake, api_url=api_url))
    assert result.titles() == ["Last9: invalid api-url"]
    assert fake.received == []


def test_a_non_jwt_access_token_without_refresh_token_is_named_so(
    fake: FakeLast9, job: Job
) -> None:
    """A non-JWT access token alone is reported as not a JWT, not as expired."""
    result = job.run(step_inputs(fake, refresh_token="", access_token="abcdefghijklmnop"))
    assert result.titles() == ["Last9: invalid access-token"]
    assert "not a JWT" in result.annotations("error")[0][1]


def test_too_many_services_is_a_configuration_error(fake: FakeLast9, job: Job) -> None:
    """More than 20 services in one step is refused before anything is sent."""
    names = "\n".join(f"svc{i}" for i in range(21))
    result = job.run(step_inputs(fake, service_name=names))
    assert result.titles() == ["Last9: invalid service-name"]
    assert fake.received == []


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "directory"])
def test_an_event_file_that_is_not_a_small_regular_file_is_ignored(
    fake: FakeLast9, job: Job, tmp_path: Path, kind: str
) -> None:
    """A FIFO, /dev/zero, a 5 MiB file or a folder as the event payload: env-only attributes."""
    path = tmp_path / "event"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/zero")
    elif kind == "huge":
        path.write_text(json.dumps({"release": {"tag_name": "x" * (5 << 20)}}))
    else:
        path.mkdir()
    job.event = None
    result = job.run(step_inputs(fake), env={"GITHUB_EVENT_PATH": str(path)})
    ended_cleanly(result)
    assert result.outputs["status"] == "sent"
    assert "release_tag" not in fake.events()[0]["attributes"]


def test_the_event_file_is_not_read_without_github_attributes(
    fake: FakeLast9, job: Job, tmp_path: Path
) -> None:
    """With `github-attributes: false` the payload file is never opened (a FIFO would hang)."""
    fifo = tmp_path / "event"
    os.mkfifo(fifo)
    job.event = None
    result = job.run(
        step_inputs(fake, github_attributes="false"), env={"GITHUB_EVENT_PATH": str(fifo)}
    )
    assert result.outputs["status"] == "sent"


# -- a stop for every start -------------------------------------------------------------------

START_FAILURES: dict[str, tuple[dict[str, str], tuple[Fault, ...], list[str]]] = {
    "config-error-before-sending": ({"org": "other"}, (), []),
    "5xx-until-the-end": ({}, tuple([Fault(503)] * 5), ["shop"]),
    "closed-before-the-answer": ({}, tuple([Fault(close=True)] * 5), ["shop"]),
    "answer-slower-than-timeout": (
        {"timeout": "1"},
        (Fault(200, {"message": "success"}, delay=2.5),),
        ["shop"],
    ),
    "rejected-400": ({}, (Fault(400, {"error": "bad"}),), ["shop"]),
}


@pytest.mark.parametrize("failure", START_FAILURES)
def test_the_post_step_stops_exactly_the_starts_that_may_have_landed(
    fake: FakeLast9, job: Job, failure: str
) -> None:
    """After any failed start, the post step sends a stop for each start that may have landed."""
    overrides, faults, expected = START_FAILURES[failure]
    inputs = {**step_inputs(fake, auto_stop="true"), **overrides}
    fake.script("event", *faults)
    start = job.run(inputs)
    assert start.outputs["status"] == "failed"
    post = job.run({**inputs, "outcome": "failure"}, post=True)
    if expected:
        ended_cleanly(post)
    stops = [e for e in fake.events() if e["event_state"] == "stop"]
    assert [e["attributes"]["service_name"] for e in stops] == expected
    assert all(e["attributes"]["outcome"] == "failure" for e in stops)


def test_one_failing_service_of_two_still_gets_its_stop(fake: FakeLast9, job: Job) -> None:
    """Two services, the second's start refused: the post step stops both starts that were sent."""
    inputs = step_inputs(fake, auto_stop="true", service_name="api\nworker", fail_on="never")
    fake.script("event", Fault(200, {"message": "success"}), Fault(400, {"error": "no"}))
    job.run(inputs)
    job.run(inputs, post=True)
    stops = [e["attributes"]["service_name"] for e in fake.events() if e["event_state"] == "stop"]
    assert stops == ["api", "worker"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cancelled_mid_send_the_step_reports_and_the_post_step_stops(
    fake: FakeLast9, job: Job, signum: signal.Signals
) -> None:
    """The runner's cancel signal while the start is in flight: the real entrypoint is out
    within 2 s with its state written, then the post step's stop arrives."""
    inputs = step_inputs(fake, auto_stop="true")
    fake.script("event", Fault(200, {"message": "success"}, delay=20))
    files = job.tmp / "_runner_file_commands"
    files.mkdir(parents=True, exist_ok=True)
    for name in ("output", "state", "env", "step_summary"):
        (files / name).touch()  # as the runner makes them before the step
    env = {
        **os.environ,
        **job.env,
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
        **{
            f"GITHUB_{n}": str(files / n.lower())
            for n in ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")
        },
    }
    process = subprocess.Popen(
        [sys.executable, str(ENTRYPOINT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_until(lambda: any(r.method == "PUT" for r in fake.received), "the start's PUT")
    process.send_signal(signum)
    sent_at = time.monotonic()
    out, err = process.communicate(timeout=5)
    assert time.monotonic() - sent_at < 2
    assert b"Traceback" not in out + err
    assert b"Last9%3A cancelled" in out
    state = read_file_command(files / "state")
    assert json.loads(state["services"]) == ["shop"]
    assert read_file_command(files / "output")["status"] == "failed"
    job.states["mark"] = state
    job.run({**inputs, "outcome": "cancelled"}, post=True)
    stops = [e for e in fake.events() if e["event_state"] == "stop"]
    assert [e["attributes"]["outcome"] for e in stops] == ["cancelled"]
