"""Tests of the fake Last9 server itself, over real HTTP with requests."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.fake_last9 import EXCHANGE_PATH, FakeLast9, Fault

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 5.0

Headers = dict[str, str]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLast9]:
    """One running fake for the module; tests get it reset."""
    with FakeLast9(org="acme") as fake:
        yield fake


@pytest.fixture
def fake(server: FakeLast9) -> FakeLast9:
    """The module's fake with no requests, scripts or counters left over."""
    server.reset()
    return server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A requests session that is closed after the test."""
    with requests.Session() as s:
        yield s


def event_url(fake: FakeLast9, org: str | None = None) -> str:
    return f"{fake.url}/api/v4/organizations/{org or fake.org}/change_events"


def good_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "timestamp": "2024-01-15T17:57:22+05:30",
        "event_name": "deployment",
        "event_state": "start",
        "attributes": {"service_name": "api", "env": "production"},
    }
    event.update(overrides)
    return event


def auth(token: str) -> Headers:
    return {"X-LAST9-API-TOKEN": f"Bearer {token}"}


def put_event(
    session: requests.Session,
    fake: FakeLast9,
    *,
    headers: Headers | None = None,
    body: Any = None,
    org: str | None = None,
) -> requests.Response:
    sent = auth(fake.mint()) if headers is None else headers
    payload = good_event() if body is None else body
    return session.put(event_url(fake, org), json=payload, headers=sent, timeout=TIMEOUT)


def decode(key: bytes, token: str) -> dict[str, Any]:
    """Verify a token's signature with key and return its claims (expiry not checked)."""
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["HS256"], options={"verify_aud": False, "verify_exp": False}
    )
    return claims


def exchange(session: requests.Session, fake: FakeLast9, body: Any) -> requests.Response:
    return session.post(fake.url + EXCHANGE_PATH, json=body, timeout=TIMEOUT)


# -- token exchange -----------------------------------------------------------------


def test_exchange_returns_new_access_token_and_same_refresh(
    fake: FakeLast9, session: requests.Session
) -> None:
    """A valid refresh token (no exp) yields an access token; the refresh is not rotated."""
    refresh = fake.mint("refresh", scopes=("read", "write"), ttl=None)
    response = exchange(session, fake, {"refresh_token": refresh})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["refresh_token"] == refresh
    assert body["type"] == "Bearer"
    assert body["scopes"] == ["read", "write"]
    assert body["expires_at"] - body["issued_at"] == fake.access_ttl
    assert abs(body["issued_at"] - time.time()) < 5
    claims = decode(fake.key, body["access_token"])
    assert claims["type"] == "access"
    assert claims["exp"] == body["expires_at"]
    assert claims["scopes"] == ["read", "write"]
    assert claims["organization_slug"] == "acme"
    assert put_event(session, fake, headers=auth(body["access_token"])).status_code == 200


def test_exchange_keeps_org_of_refresh_token(fake: FakeLast9, session: requests.Session) -> None:
    """The new access token carries the refresh token's organization_slug."""
    refresh = fake.mint("refresh", org="other-org")
    access = exchange(session, fake, {"refresh_token": refresh}).json()["access_token"]
    claims = decode(fake.key, access)
    assert claims["organization_slug"] == "other-org"


REFRESH_REJECTED: list[tuple[str, Callable[[FakeLast9], str]]] = [
    ("garbage", lambda _: "not-a-jwt"),
    ("wrong-key", lambda _: jwt.encode({"type": "refresh"}, b"k" * 32, algorithm="HS256")),
    ("expired", lambda f: f.mint("refresh", exp=int(time.time()) - 10)),
    ("access-token", lambda f: f.mint("access")),
    ("revoked", lambda f: _revoked(f, f.mint("refresh", ttl=None))),
]


def _revoked(fake: FakeLast9, token: str) -> str:
    fake.revoke(token)
    return token


@pytest.mark.parametrize(
    "make_token", [row[1] for row in REFRESH_REJECTED], ids=[row[0] for row in REFRESH_REJECTED]
)
def test_exchange_rejects_bad_refresh_token(
    fake: FakeLast9, session: requests.Session, make_token: Callable[[FakeLast9], str]
) -> None:
    """Bad, expired, wrong-type and revoked refresh tokens get 401 invalid refresh token."""
    response = exchange(session, fake, {"refresh_token": make_token(fake)})
    assert response.status_code == 401
    assert response.json() == {"error": "invalid refresh token"}


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": 42}, {"refresh_token": ""}, ["x"], "plain"],
    ids=["missing", "not-string", "empty", "array", "string"],
)
def test_exchange_requires_refresh_token(
    fake: FakeLast9, session: requests.Session, body: Any
) -> None:
    """A body without a string refresh_token gets 400."""
    response = exchange(session, fake, body)
    assert response.status_code == 400
    assert response.json() == {"error": "refresh_token is required"}


def test_exchanges_counts_every_outcome(fake: FakeLast9, session: requests.Session) -> None:
    """exchanges() counts successful and failed exchange requests."""
    exchange(session, fake, {"refresh_token": fake.mint("refresh")})
    exchange(session, fake, {"refresh_token": "nope"})
    put_event(session, fake)
    assert fake.exchanges() == 2


# -- change events: authorization -------------------------------------------------------

AUTH_ERRORS: list[tuple[str, Callable[[FakeLast9], Headers], int, str]] = [
    ("missing-header", lambda _: {}, 401, "missing access token"),
    ("no-bearer-prefix", lambda f: {"X-LAST9-API-TOKEN": f.mint()}, 400, "invalid access token"),
    ("malformed", lambda _: auth("not.a.jwt"), 401, "invalid access token"),
    (
        "wrong-key",
        lambda _: auth(jwt.encode({"type": "access"}, b"k" * 32, algorithm="HS256")),
        401,
        "invalid access token",
    ),
    ("refresh-as-access", lambda f: auth(f.mint("refresh")), 401, "invalid access token"),
    ("revoked", lambda f: auth(_revoked(f, f.mint())), 401, "invalid access token"),
    (
        "expired",
        lambda f: auth(f.mint(exp=int(time.time()) - 10)),
        401,
        "Authorization token is expired",
    ),
    ("read-scope", lambda f: auth(f.mint(scopes=("read",))), 403, "insufficient scope"),
    ("other-org", lambda f: auth(f.mint(org="globex")), 403, "organization mismatch"),
]


@pytest.mark.parametrize(
    ("make_headers", "status", "message"),
    [row[1:] for row in AUTH_ERRORS],
    ids=[row[0] for row in AUTH_ERRORS],
)
def test_change_event_auth_errors(
    fake: FakeLast9,
    session: requests.Session,
    make_headers: Callable[[FakeLast9], Headers],
    status: int,
    message: str,
) -> None:
    """Each authorization failure gets its documented status and exact error body."""
    response = put_event(session, fake, headers=make_headers(fake))
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": message}
    assert fake.events() == []


def test_token_header_name_is_case_insensitive(fake: FakeLast9, session: requests.Session) -> None:
    """The X-LAST9-API-TOKEN header is found whatever its case."""
    headers = {"x-last9-api-token": f"Bearer {fake.mint()}"}
    assert put_event(session, fake, headers=headers).status_code == 200


# -- change events: body validation -----------------------------------------------------

_NO_TS = good_event()
del _NO_TS["timestamp"]

BODY_ERRORS: list[tuple[str, Any, str]] = [
    ("array", ["x"], "JSON object"),
    ("unknown-field", good_event(service="api"), "unknown field"),
    ("missing-timestamp", _NO_TS, "timestamp"),
    ("timestamp-number", good_event(timestamp=1705321642), "timestamp"),
    ("timestamp-no-offset", good_event(timestamp="2024-01-15T17:57:22"), "timestamp"),
    ("timestamp-date-only", good_event(timestamp="2024-01-15"), "timestamp"),
    ("timestamp-bad-month", good_event(timestamp="2024-13-15T17:57:22Z"), "timestamp"),
    ("empty-name", good_event(event_name=""), "event_name"),
    ("name-not-string", good_event(event_name=7), "event_name"),
    ("bad-state", good_event(event_state="started"), "event_state"),
    ("attributes-array", good_event(attributes=["a"]), "attributes"),
    ("attributes-null", good_event(attributes=None), "attributes"),
    ("attribute-key-dash", good_event(attributes={"service-name": "api"}), "service-name"),
    ("attribute-key-digit", good_event(attributes={"1env": "prod"}), "1env"),
    ("attribute-reserved", good_event(attributes={"event_name": "x"}), "reserved"),
    ("attribute-number", good_event(attributes={"replicas": 3}), "replicas"),
    ("data-source-empty", good_event(data_source_name=""), "data_source_name"),
]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [row[1:] for row in BODY_ERRORS],
    ids=[row[0] for row in BODY_ERRORS],
)
def test_change_event_body_errors(
    fake: FakeLast9, session: requests.Session, body: Any, mentions: str
) -> None:
    """Each invalid body gets 400 with an error saying what is wrong."""
    response = put_event(session, fake, body=body)
    assert response.status_code == 400
    assert mentions in response.json()["error"]
    assert fake.events() == []


def test_change_event_requires_json_content_type(
    fake: FakeLast9, session: requests.Session
) -> None:
    """A body sent without Content-Type application/json gets 400."""
    headers = {**auth(fake.mint()), "Content-Type": "text/plain"}
    response = session.put(
        event_url(fake), data=json.dumps(good_event()), headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert "Content-Type" in response.json()["error"]


def test_change_event_rejects_invalid_json(fake: FakeLast9, session: requests.Session) -> None:
    """A body that is not JSON gets 400."""
    headers = {**auth(fake.mint()), "Content-Type": "application/json"}
    response = session.put(event_url(fake), data=b"{nope", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json() == {"error": "body is not valid JSON"}


# -- change events: success ---------------------------------------------------------------


def test_valid_event_is_accepted_and_recorded(fake: FakeLast9, session: requests.Session) -> None:
    """A valid event gets 200 success and shows up in events() and received."""
    response = put_event(session, fake)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "success"}
    assert fake.events() == [good_event()]
    (received,) = fake.received
    assert received.method == "PUT"
    assert received.path == "/api/v4/organizations/acme/change_events"
    assert received.headers["x-last9-api-token"].startswith("Bearer ")
    assert received.json == good_event()
    assert json.loads(received.body) == good_event()
    assert received.status == 200
    assert received.connection >= 1


@pytest.mark.parametrize(
    "body",
    [
        good_event(timestamp="2024-01-15T12:27:22Z", event_state="stop"),
        good_event(timestamp="2024-01-15T12:27:22.123456-03:00"),
        {"timestamp": "2024-01-15T12:27:22Z", "event_name": "x", "event_state": "start"},
        good_event(data_source_name="github-actions", attributes={}),
    ],
    ids=["zulu-stop", "fraction-negative-offset", "no-attributes", "data-source"],
)
def test_valid_event_variants_are_accepted(
    fake: FakeLast9, session: requests.Session, body: dict[str, Any]
) -> None:
    """Other valid shapes of a change event are accepted too."""
    assert put_event(session, fake, body=body).status_code == 200
    assert fake.events() == [body]


def test_content_type_with_charset_is_accepted(fake: FakeLast9, session: requests.Session) -> None:
    """application/json with a charset parameter is still JSON."""
    headers = {**auth(fake.mint()), "Content-Type": "application/json; charset=utf-8"}
    response = session.put(
        event_url(fake), data=json.dumps(good_event()), headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 200


# -- other routes -------------------------------------------------------------------------


def test_unknown_path_is_404(fake: FakeLast9, session: requests.Session) -> None:
    """Paths the fake does not serve get 404 not found."""
    response = session.get(fake.url + "/api/v4/organizations/acme/alerts", timeout=TIMEOUT)
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", EXCHANGE_PATH, "POST"),
        ("POST", "/api/v4/organizations/acme/change_events", "PUT"),
    ],
    ids=["get-exchange", "post-events"],
)
def test_wrong_method_is_405(
    fake: FakeLast9, session: requests.Session, method: str, path: str, allow: str
) -> None:
    """A known path with the wrong method gets 405 with Allow."""
    response = session.request(method, fake.url + path, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow


# -- scripted faults ----------------------------------------------------------------------


def test_fault_status_and_retry_after_then_normal(
    fake: FakeLast9, session: requests.Session
) -> None:
    """A scripted 429 with Retry-After answers once, then normal handling resumes."""
    fake.script("event", Fault(429, {"error": "slow down"}, headers={"Retry-After": "1"}))
    first = put_event(session, fake)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {"error": "slow down"}
    assert put_event(session, fake).status_code == 200
    assert [r.status for r in fake.received] == [429, 200]
    assert len(fake.events()) == 1


def test_faults_apply_in_order_per_route(fake: FakeLast9, session: requests.Session) -> None:
    """Faults queue per route and answer in order; the other route is unaffected."""
    fake.script("exchange", Fault(), Fault(502, "bad gateway", content_type="text/plain"))
    refresh = fake.mint("refresh")
    assert put_event(session, fake).status_code == 200
    first = exchange(session, fake, {"refresh_token": refresh})
    assert (first.status_code, first.json()) == (503, {"error": "service unavailable"})
    second = exchange(session, fake, {"refresh_token": refresh})
    assert (second.status_code, second.text) == (502, "bad gateway")
    assert second.headers["Content-Type"] == "text/plain"
    assert exchange(session, fake, {"refresh_token": refresh}).status_code == 200


def test_fault_delay(fake: FakeLast9, session: requests.Session) -> None:
    """A delayed fault answers after its delay."""
    fake.script("event", Fault(status=503, delay=0.1))
    started = time.monotonic()
    response = put_event(session, fake)
    assert time.monotonic() - started >= 0.1
    assert response.status_code == 503


def test_fault_close_drops_connection(fake: FakeLast9, session: requests.Session) -> None:
    """A close fault reads the request and hangs up without answering."""
    fake.script("event", Fault(close=True))
    with pytest.raises(requests.ConnectionError):
        put_event(session, fake)
    assert put_event(session, fake).status_code == 200
    assert [r.status for r in fake.received] == [0, 200]
    assert fake.received[0].json == good_event()
    assert len(fake.events()) == 1


def test_scripted_200_is_not_an_accepted_event(fake: FakeLast9, session: requests.Session) -> None:
    """A scripted answer replaces validation, so events() does not list it."""
    fake.script("event", Fault(200, {"message": "success"}))
    assert put_event(session, fake).status_code == 200
    assert fake.events() == []


def test_reset_clears_scripts_and_records(fake: FakeLast9, session: requests.Session) -> None:
    """reset() forgets requests, events, scripts and counters but keeps revocations."""
    refresh = _revoked(fake, fake.mint("refresh"))
    put_event(session, fake)
    fake.script("event", Fault())
    fake.reset()
    assert (fake.received, fake.events(), fake.exchanges(), fake.connections()) == ([], [], 0, 0)
    assert put_event(session, fake).status_code == 200
    assert exchange(session, fake, {"refresh_token": refresh}).status_code == 401


# -- connections and lifecycle -------------------------------------------------------------


def test_session_reuses_one_connection(fake: FakeLast9, session: requests.Session) -> None:
    """Two requests on one keep-alive session share one TCP connection."""
    put_event(session, fake)
    put_event(session, fake)
    assert fake.connections() == 1
    first, second = fake.received
    assert first.connection == second.connection


def test_separate_sessions_open_separate_connections(fake: FakeLast9) -> None:
    """Two sessions open two TCP connections with distinct ids."""
    for _ in range(2):
        with requests.Session() as s:
            put_event(s, fake)
    assert fake.connections() == 2
    first, second = fake.received
    assert first.connection != second.connection


def test_stop_does_not_wait_for_a_sleeping_handler() -> None:
    """stop() returns within a second while a handler sleeps in a long delay."""
    outcome: list[BaseException | requests.Response] = []
    with FakeLast9() as fake:
        fake.script("event", Fault(delay=30))

        def client() -> None:
            with requests.Session() as s:
                try:
                    outcome.append(put_event(s, fake))
                except requests.RequestException as error:
                    outcome.append(error)

        thread = threading.Thread(target=client)
        thread.start()
        while not fake.received:
            time.sleep(0.01)
        started = time.monotonic()
        fake.stop()
        assert time.monotonic() - started < 1.0
    thread.join(TIMEOUT)
    assert isinstance(outcome[0], requests.ConnectionError)


def test_stopped_server_refuses_connections() -> None:
    """After the context manager exits, the port no longer answers."""
    with FakeLast9() as fake:
        url = fake.url
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=TIMEOUT)
    with pytest.raises(RuntimeError):
        _ = fake.url


# -- tokens -------------------------------------------------------------------------------


def test_mint_claims(fake: FakeLast9) -> None:
    """mint() signs Last9-like claims; ttl=None omits exp and None extras drop a claim."""
    token = fake.mint("refresh", scopes=("read",), iat=1000, ttl=60, team="core")
    claims = decode(fake.secret, token)
    assert claims["aud"] == ["127.0.0.1"]
    assert (claims["organization_slug"], claims["email"]) == ("acme", "ci@example.com")
    assert (claims["type"], claims["scopes"], claims["team"]) == ("refresh", ["read"], "core")
    assert (claims["iat"], claims["exp"]) == (1000, 1060)
    bare = fake.mint(ttl=None, organization_slug=None)
    claims = decode(fake.key, bare)
    assert "exp" not in claims
    assert "organization_slug" not in claims


# -- demo entry point -----------------------------------------------------------------------


def test_demo_main_prints_url_and_received_events() -> None:
    """python -m tests.fake_last9 prints its URL and token, and logs accepted events."""
    command = [sys.executable, "-m", "tests.fake_last9", "--org", "demo"]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            assert info["org"] == "demo"
            with requests.Session() as s:
                answer = s.post(
                    info["url"] + EXCHANGE_PATH,
                    json={"refresh_token": info["refresh_token"]},
                    timeout=TIMEOUT,
                )
                headers = auth(answer.json()["access_token"])
                url = f"{info['url']}/api/v4/organizations/demo/change_events"
                response = s.put(url, json=good_event(), headers=headers, timeout=TIMEOUT)
            assert response.status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert "received change event: start deployment" in stderr
    assert '"service_name": "api"' in stderr
