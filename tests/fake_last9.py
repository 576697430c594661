"""A fake Last9 API: a real HTTP/1.1 server on loopback for tests and demos.

``FakeLast9`` serves the two Last9 endpoints this project talks to, from a
daemon thread, using only the standard library's ``http.server`` plus PyJWT:

``POST /api/v4/oauth/access_token``
    Body ``{"refresh_token": "<jwt>"}``. A refresh token is valid when it is
    signed (HS256) with this fake's ``key``, has ``type == "refresh"``, is not
    revoked, and its ``exp`` (optional: refresh tokens may have none) has not
    passed. Answers 200 with a new access token (the refresh token's scopes and
    ``organization_slug``, ``exp = now + access_ttl``), ``expires_at``,
    ``issued_at``, ``type: "Bearer"``, ``scopes`` and the *same* refresh token
    (Last9 does not rotate them). Errors: 400 ``refresh_token is required``
    when the body is not a JSON object with a non-empty string
    ``refresh_token``; 401 ``invalid refresh token`` for every other failure,
    including an expired refresh token (the fake never answers "Authorization
    token is expired" on this route; script a ``Fault`` to simulate that).

``PUT /api/v4/organizations/{org}/change_events``
    Header ``X-LAST9-API-TOKEN: Bearer <access jwt>``. Checked in this order:
    401 ``missing access token``; 400 ``invalid access token`` (no ``Bearer``
    prefix); 401 ``Authorization token is expired``; 401 ``invalid access
    token`` (bad signature, malformed, ``type != "access"``, revoked); 403
    ``insufficient scope`` (no ``write`` scope); 403 ``organization mismatch``
    (path org differs from the token's ``organization_slug``). Then the body is
    validated strictly (400 with a message saying what is wrong), and a valid
    event answers 200 ``{"message": "success"}`` and is kept in ``events()``.

Any other path answers 404 ``{"error": "not found"}``; a wrong method on a
known path answers 405 with an ``Allow`` header. Every JSON answer has
``Content-Type: application/json`` and a correct ``Content-Length``;
connections stay open (keep-alive) unless the client asks otherwise.

``mint_from_exchange(org=..., scopes=...)`` makes every later exchange hand back an access
token of another organization, or with other scopes (``scopes`` in the answer says the same),
whatever the refresh token holds: a compromised or misconfigured exchange.

``limit_events(per_second, retry_after)`` puts a shared rate limit on change events: over it,
``429`` with ``Retry-After``.

Tests steer failures with ``script(route, *faults)``: the next requests to that
route get the scripted ``Fault`` answers in order (a status and body, extra
headers such as ``Retry-After``, a delay, or a connection closed without any
response), then normal behaviour resumes. A scripted answer never records an
event, even one with status 200.

Every request is recorded in ``received`` (in arrival order, recorded before
the answer is written, so a test sees it as soon as its client has a
response). ``Received.headers`` has lower-cased names. ``Received.connection``
identifies the TCP connection (1, 2, 3, ... in accept order, never reused
within one ``FakeLast9``), which lets tests check connection reuse.

The server is quiet: nothing is logged to stderr. ``stop()`` returns within
about a second even when a handler is sleeping in a scripted delay or a client
holds an idle keep-alive connection.

Run ``python -m tests.fake_last9 [--port N] [--org SLUG]`` for a demo server in
the foreground: it prints one JSON line ``{"url", "org", "refresh_token"}`` to
stdout, then one line per accepted change event to stderr, until SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import secrets
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import jwt

__all__ = ["FakeLast9", "Fault", "Received", "Route", "main"]

Route = Literal["exchange", "event"]

EXCHANGE_PATH = "/api/v4/oauth/access_token"
_EVENT_PATH = re.compile(r"^/api/v4/organizations/(?P<org>[^/]+)/change_events$")
_ALGORITHM = "HS256"
_EMAIL = "ci@example.com"

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$",
)
_ATTRIBUTE_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_EVENT_FIELDS = frozenset(
    {"timestamp", "event_name", "event_state", "attributes", "data_source_name"},
)
_REQUIRED_EVENT_FIELDS = ("timestamp", "event_name", "event_state")
_RESERVED_ATTRIBUTES = frozenset({"event_name", "event_state"})

_JOIN_TIMEOUT = 1.0
_POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class Fault:
    """One scripted answer that replaces the normal handling of one request.

    ``body`` may be bytes, text, or a dict (sent as JSON). ``close=True``
    reads the request, then closes the connection without writing anything
    (after ``delay``, if any); the request is recorded with status 0.
    """

    status: int = 503
    body: bytes | str | dict[str, Any] = b'{"error": "service unavailable"}'
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False
    content_type: str = "application/json"

    def encoded_body(self) -> bytes:
        """The body as bytes: dicts as JSON, text as UTF-8."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it, and the status it answered (0: closed)."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any | None
    connection: int
    status: int
    #: When it arrived (``time.monotonic()``).
    at: float = 0.0


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False


def _json_answer(status: int, payload: Mapping[str, Any], **headers: str) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), headers=headers)


def _error(status: int, message: str) -> _Answer:
    return _json_answer(status, {"error": message})


def _parse_json(body: bytes) -> Any | None:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its fake and tracks its connections."""

    daemon_threads = True
    block_on_close = False  # FakeLast9.stop joins handler threads itself, with a deadline

    def __init__(self, address: tuple[str, int], fake: FakeLast9) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.active: dict[socket.socket, int] = {}
        self.handler_threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can block on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(
        self,
        request: socket.socket | tuple[bytes, socket.socket],
        client_address: Any,
    ) -> None:
        assert isinstance(request, socket.socket)
        connection_id = self.fake._connection_opened()
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"fake-last9-connection-{connection_id}",
            daemon=True,
        )
        with self.lock:
            self.active[request] = connection_id
            self.handler_threads = [t for t in self.handler_threads if t.is_alive()]
            self.handler_threads.append(thread)
        thread.start()

    def connection_id(self, request: socket.socket) -> int:
        with self.lock:
            return self.active.get(request, 0)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        with self.lock:
            if isinstance(request, socket.socket):
                self.active.pop(request, None)
        super().shutdown_request(request)

    def wake_connections(self) -> None:
        """Shut down every open connection so handlers blocked on reads return."""
        with self.lock:
            for sock in self.active:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def join_handlers(self, deadline: float) -> None:
        with self.lock:
            threads = list(self.handler_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client hanging up mid-answer is normal in tests."""


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeLast9/1.0"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _Server

    _ROUTE_METHODS: ClassVar[dict[str, str]] = {"exchange": "POST", "event": "PUT"}

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        """Stay quiet."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ConnectionError("client closed mid-body")
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # skip trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise ConnectionError("client closed mid-body")
        return body

    def _dispatch(self) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
        except (ValueError, ConnectionError):
            self.close_connection = True
            return
        path = urlsplit(self.path).path
        route: Route | None = None
        org = ""
        if path == EXCHANGE_PATH:
            route = "exchange"
        elif match := _EVENT_PATH.match(path):
            route = "event"
            org = match["org"]

        fault = fake._next_fault(route) if route is not None else None
        if fault is not None:
            answer = _Answer(
                fault.status,
                fault.encoded_body(),
                content_type=fault.content_type,
                headers=fault.headers,
                delay=fault.delay,
                close=fault.close,
            )
        elif route is None:
            answer = _error(404, "not found")
        elif self.command != self._ROUTE_METHODS[route]:
            answer = _json_answer(
                405,
                {"error": "method not allowed"},
                Allow=self._ROUTE_METHODS[route],
            )
        elif route == "exchange":
            answer = fake._exchange(body)
        else:
            answer = fake._change_event(
                org,
                token_header=self.headers.get("X-LAST9-API-TOKEN"),
                content_type=self.headers.get("Content-Type"),
                body=body,
            )

        fake._record(
            Received(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                json=_parse_json(body),
                connection=self.server.connection_id(self.request),
                status=0 if answer.close else answer.status,
                at=time.monotonic(),
            ),
            route,
        )
        if answer.delay > 0 and fake._stopping.wait(answer.delay):
            self.close_connection = True
            return
        if answer.close:
            self.close_connection = True
            return
        self._write(answer)

    def _write(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()


class FakeLast9:
    """A fake Last9 API on loopback; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        org: str = "acme",
        access_ttl: int = 86400,
        host: str = "127.0.0.1",
        port: int = 0,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.org = org
        self.tls = tls
        self.access_ttl = access_ttl
        self.host = host
        self.port = port
        self.on_event = on_event
        self.key = secrets.token_bytes(32)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._revoked: set[str] = set()
        self._scripts: dict[str, deque[Fault]] = {"exchange": deque(), "event": deque()}
        self._events: list[dict[str, Any]] = []
        self._exchanges = 0
        self._connections = 0
        self._next_connection_id = 0
        self._exchange_org: str | None = None
        self._exchange_scopes: tuple[str, ...] | None = None
        self._exchange_scopes_claim = True
        self._limit: tuple[int, str] | None = None
        self._accepted_at: deque[float] = deque()

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> FakeLast9:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FakeLast9:
        """Bind and serve from a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeLast9 is already running")
        self._stopping.clear()
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), self)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name="fake-last9-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections, close the socket. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        deadline = time.monotonic() + _JOIN_TIMEOUT
        self._stopping.set()
        server.shutdown()
        server.wake_connections()
        server.server_close()
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        server.join_handlers(deadline)
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeLast9 is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self._server.server_port}"

    @property
    def secret(self) -> bytes:
        """The HS256 signing key (same as ``key``)."""
        return self.key

    # -- tokens ----------------------------------------------------------------

    def mint(
        self,
        kind: Literal["access", "refresh"] = "access",
        *,
        scopes: Sequence[str] | None = ("write",),
        ttl: int | None = 3600,
        exp: int | None = None,
        org: str | None = None,
        iat: int | None = None,
        **extra: Any,
    ) -> str:
        """Sign a token like Last9's.

        ``ttl=None`` and no ``exp`` gives a token without an ``exp`` claim, and
        ``scopes=None`` one without a ``scopes`` claim;
        ``exp`` is an absolute override (e.g. in the past). ``extra`` claims
        are added last and override the defaults; an extra claim set to None is
        removed (e.g. ``organization_slug=None``). Every token carries a random
        ``jti``, so two tokens minted alike are still distinct.
        """
        now = int(time.time())
        issued = now if iat is None else iat
        claims: dict[str, Any] = {
            "aud": [self.host],
            "organization_slug": self.org if org is None else org,
            "scopes": None if scopes is None else list(scopes),
            "email": _EMAIL,
            "iat": issued,
            "type": kind,
            "jti": uuid.uuid4().hex,
        }
        if exp is not None:
            claims["exp"] = exp
        elif ttl is not None:
            claims["exp"] = issued + ttl
        if scopes is None:
            del claims["scopes"]
        for name, value in extra.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, self.key, algorithm=_ALGORITHM)

    def mint_from_exchange(
        self,
        *,
        org: str | None = None,
        scopes: Sequence[str] | None = None,
        scopes_claim: bool = True,
    ) -> None:
        """From now on, exchanges hand back access tokens of ``org`` and with ``scopes``
        (``None``: the refresh token's own, as Last9 does); ``scopes_claim=False`` leaves the
        ``scopes`` claim out of the token, so that only the answer's ``scopes`` tells them."""
        with self._lock:
            self._exchange_org = org
            self._exchange_scopes = None if scopes is None else tuple(scopes)
            self._exchange_scopes_claim = scopes_claim

    def limit_events(self, per_second: int, retry_after: str = "2") -> None:
        """From now on, at most ``per_second`` change events in any second: the others are
        answered ``429`` with ``Retry-After: retry_after``, as a shared rate limit does."""
        with self._lock:
            self._limit = (per_second, retry_after)
            self._accepted_at.clear()

    def _over_limit(self) -> str | None:
        """The ``Retry-After`` to answer when this event is over the limit, else ``None``."""
        with self._lock:
            if self._limit is None:
                return None
            per_second, retry_after = self._limit
            now = time.monotonic()
            while self._accepted_at and self._accepted_at[0] <= now - 1.0:
                self._accepted_at.popleft()
            if len(self._accepted_at) >= per_second:
                return retry_after
            self._accepted_at.append(now)
            return None

    def revoke(self, token: str) -> None:
        """Reject this token (refresh or access) from now on."""
        with self._lock:
            self._revoked.add(token)

    def _decode(self, token: str) -> dict[str, Any]:
        """Verify signature, expiry (if any) and iat; raises jwt errors."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.key,
            algorithms=[_ALGORITHM],
            options={"verify_aud": False, "require": []},
        )
        return claims

    def _is_revoked(self, token: str) -> bool:
        with self._lock:
            return token in self._revoked

    # -- scripting and inspection ------------------------------------------------

    def script(self, route: Route, *faults: Fault) -> None:
        """Queue answers for the next requests to ``route`` ("exchange" or "event")."""
        if route not in self._scripts:
            raise ValueError(f"unknown route {route!r}; expected 'exchange' or 'event'")
        with self._lock:
            self._scripts[route].extend(faults)

    def events(self) -> list[dict[str, Any]]:
        """JSON bodies of the change events accepted (200) so far."""
        with self._lock:
            return list(self._events)

    def exchanges(self) -> int:
        """Requests to the token exchange route, whatever the outcome."""
        with self._lock:
            return self._exchanges

    def connections(self) -> int:
        """TCP connections accepted since start (or the last reset())."""
        with self._lock:
            return self._connections

    def reset(self) -> None:
        """Forget requests, events, scripts and counters; keep the key and revocations.

        Connection ids keep increasing, so they stay unique across a reset.
        """
        with self._lock:
            self.received.clear()
            self._events.clear()
            for queue in self._scripts.values():
                queue.clear()
            self._exchanges = 0
            self._connections = 0
            self._exchange_org = None
            self._exchange_scopes = None
            self._exchange_scopes_claim = True
            self._limit = None
            self._accepted_at.clear()

    # -- called from handler threads ---------------------------------------------

    def _connection_opened(self) -> int:
        with self._lock:
            self._connections += 1
            self._next_connection_id += 1
            return self._next_connection_id

    def _next_fault(self, route: Route) -> Fault | None:
        with self._lock:
            queue = self._scripts[route]
            return queue.popleft() if queue else None

    def _record(self, received: Received, route: Route | None) -> None:
        with self._lock:
            self.received.append(received)
            if route == "exchange":
                self._exchanges += 1

    def _exchange(self, body: bytes) -> _Answer:
        payload = _parse_json(body)
        token = payload.get("refresh_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            return _error(400, "refresh_token is required")
        try:
            claims = self._decode(token)
        except jwt.InvalidTokenError:
            return _error(401, "invalid refresh token")
        if claims.get("type") != "refresh" or self._is_revoked(token):
            return _error(401, "invalid refresh token")
        scopes = claims.get("scopes")
        scope_list = [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else []
        org = claims.get("organization_slug")
        with self._lock:
            org = self._exchange_org or org
            if self._exchange_scopes is not None:
                scope_list = list(self._exchange_scopes)
            claimed = scope_list if self._exchange_scopes_claim else None
        now = int(time.time())
        expires_at = now + self.access_ttl
        extra = {"email": claims["email"]} if isinstance(claims.get("email"), str) else {}
        access = self.mint(
            "access",
            scopes=claimed,
            exp=expires_at,
            iat=now,
            org=org if isinstance(org, str) else None,
            **extra,
        )
        return _json_answer(
            200,
            {
                "access_token": access,
                "expires_at": expires_at,
                "issued_at": now,
                "refresh_token": token,
                "type": "Bearer",
                "scopes": scope_list,
            },
        )

    def _authorize(self, org: str, header: str | None) -> _Answer | None:  # noqa: PLR0911  (one return per documented error)
        if header is None:
            return _error(401, "missing access token")
        prefix = "Bearer "
        if not header.startswith(prefix):
            return _error(400, "invalid access token")
        token = header[len(prefix) :]
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError:
            return _error(401, "Authorization token is expired")
        except jwt.InvalidTokenError:
            return _error(401, "invalid access token")
        if claims.get("type") != "access" or self._is_revoked(token):
            return _error(401, "invalid access token")
        scopes = claims.get("scopes")
        if not isinstance(scopes, list) or "write" not in scopes:
            return _error(403, "insufficient scope")
        if claims.get("organization_slug") != org:
            return _error(403, "organization mismatch")
        return None

    def _change_event(
        self,
        org: str,
        *,
        token_header: str | None,
        content_type: str | None,
        body: bytes,
    ) -> _Answer:
        limited = self._over_limit()
        if limited is not None:
            return _json_answer(429, {"error": "rate limit exceeded"}, **{"Retry-After": limited})
        denied = self._authorize(org, token_header)
        if denied is not None:
            return denied
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return _error(400, "Content-Type must be application/json")
        try:
            event = json.loads(body)
        except ValueError:
            return _error(400, "body is not valid JSON")
        problem = validate_event(event)
        if problem is not None:
            return _error(400, problem)
        with self._lock:
            self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return _json_answer(200, {"message": "success"})


def validate_event(event: Any) -> str | None:  # noqa: PLR0911  (one return per rule)
    """What is wrong with a change event body, or None when it is valid."""
    if not isinstance(event, dict):
        return "body must be a JSON object"
    unknown = sorted(set(event) - _EVENT_FIELDS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    missing = [name for name in _REQUIRED_EVENT_FIELDS if name not in event]
    if missing:
        return f"missing required field(s): {', '.join(missing)}"
    problem = _timestamp_problem(event["timestamp"])
    if problem is not None:
        return problem
    name = event["event_name"]
    if not isinstance(name, str) or not name.strip():
        return "event_name must be a non-empty string"
    if event["event_state"] not in ("start", "stop"):
        return "event_state must be 'start' or 'stop'"
    if "attributes" in event:
        problem = _attributes_problem(event["attributes"])
        if problem is not None:
            return problem
    if "data_source_name" in event:
        source = event["data_source_name"]
        if not isinstance(source, str) or not source.strip():
            return "data_source_name must be a non-empty string"
    return None


def _timestamp_problem(timestamp: Any) -> str | None:
    if not isinstance(timestamp, str):
        return "timestamp must be a string"
    if not _RFC3339.match(timestamp):
        return "timestamp must be RFC 3339 with an explicit offset or Z"
    try:
        datetime.fromisoformat(timestamp)
    except ValueError:
        return "timestamp is not a valid date and time"
    return None


def _attributes_problem(attributes: Any) -> str | None:
    if not isinstance(attributes, dict):
        return "attributes must be an object"
    for key, value in attributes.items():
        if not _ATTRIBUTE_KEY.match(key):
            return f"attribute key {key!r} is invalid"
        if key in _RESERVED_ATTRIBUTES:
            return f"attribute key {key!r} is reserved"
        if not isinstance(value, str):
            return f"attribute {key!r} must be a string"
    return None


def _print_event(event: dict[str, Any]) -> None:
    attributes = json.dumps(event.get("attributes", {}), sort_keys=True)
    line = f"received change event: {event['event_state']} {event['event_name']} {attributes}"
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Last9 in the foreground until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_last9",
        description="Run a fake Last9 API on loopback for demos.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any)")
    parser.add_argument("--org", default="acme", help="organization slug (default: acme)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--tls-cert", help="serve https with this PEM certificate chain")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    args = parser.parse_args(argv)
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with FakeLast9(
        org=args.org, host=args.host, port=args.port, on_event=_print_event, tls=tls
    ) as fake:
        refresh = fake.mint("refresh", scopes=("write",), ttl=None)
        print(json.dumps({"url": fake.url, "org": fake.org, "refresh_token": refresh}), flush=True)
        while not done.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
