"""One HTTP attempt, and what became of it: answered, certainly not sent, or maybe sent.

Failures are told apart by exception class, never by message text:

    attempt() ->  Answer     the server answered (any status); body read within a size bound
              |   NotSent    the request certainly never left: refused, connect timeout, DNS,
              |              a proxy that refused the tunnel, a TLS handshake that failed
              |   MaybeSent  it may have reached the server: closed or reset before or while
              |              answering, read timeout, an answer cut off mid-body
              raises ConfigError for what no retry mends: an untrusted certificate, a host
              the DNS does not know, proxy or CA settings that cannot be used

Answers are read as raw bytes, at most ``MAX_ANSWER_BYTES``, one socket read at a time with the
deadline checked between reads; gzip and deflate are decompressed within the same bound by this
module, never by urllib3 (so a compression bomb costs nothing). Redirects are never followed.

Interim answers. A server or a proxy may send ``1xx`` answers (``103 Early Hints``, ``102
Processing``) before the real one; HTTP requires a client to skip every ``1xx`` other than
``101`` (RFC 9110, 15.2). ``http.client``, which urllib3 2 reads answers with, skips ``100``
alone (Python 3.11 to 3.13) and hands any other ``1xx`` up as the answer, leaving the real one
unread on the connection. ``FinalAnswers``, the adapter every session of this project mounts,
reads answers with ``_FinalAnswer``, which skips them where the status line is read.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import zlib
from collections.abc import Mapping
from typing import Any

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions as u3
import urllib3.poolmanager

from last9_change_event.errors import ConfigError
from last9_change_event.last9.outcomes import Answer, MaybeSent, NotSent, Outcome
from last9_change_event.last9.retry import Deadline

MAX_ANSWER_BYTES = 64 * 1024
CONNECT_TIMEOUT = 10.0
_READ_SIZE = 8192


class _FinalAnswer(http.client.HTTPResponse):
    """An answer whose status line is the final one: interim ``1xx`` answers are skipped."""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            # 100 is skipped by http.client itself, which reads its headers; 101 is final.
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # an interim answer's headers, then no body


class _Connection(urllib3.connection.HTTPConnection):
    response_class = _FinalAnswer


class _TlsConnection(urllib3.connection.HTTPSConnection):
    response_class = _FinalAnswer


class _Pool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _Connection


class _TlsPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _TlsConnection


_POOLS = {"http": _Pool, "https": _TlsPool}


class FinalAnswers(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that skip interim answers (directly or through an
    HTTP proxy; a SOCKS proxy keeps its own connections)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - requests'
        """The pool manager, with this module's connection pools."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:  # noqa: ANN401 - requests'
        """The proxy's pool manager, with this module's connection pools."""
        manager = super().proxy_manager_for(proxy, **kwargs)
        if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
            manager.pool_classes_by_scheme = _POOLS
        return manager


def mount(session: requests.Session) -> requests.Session:
    """``session`` with ``FinalAnswers`` for http and https; the session."""
    adapter = FinalAnswers()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def attempt(
    session: requests.Session,
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    deadline: Deadline,
) -> Outcome:
    """Send once and read the answer, within what is left of ``deadline``."""
    remaining = max(deadline.remaining(), 0.001)
    try:
        response = session.request(
            method,
            url,
            data=body,
            headers=dict(headers),
            timeout=(min(CONNECT_TIMEOUT, remaining), remaining),
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as error:
        return _failed(error, url)
    except (ValueError, OSError) as error:  # settings requests could not use (proxy, CA file)
        raise _settings_error(error) from None
    try:
        return _read(response, deadline)
    except (requests.RequestException, u3.HTTPError, OSError, ValueError) as error:
        return MaybeSent(f"the answer was cut off ({type(error).__name__})")
    finally:
        response.close()


def _read(response: requests.Response, deadline: Deadline) -> Outcome:
    length = _content_length(response.headers.get("Content-Length"))
    raw = bytearray()
    while len(raw) < MAX_ANSWER_BYTES:
        if deadline.passed:
            return MaybeSent("the answer did not arrive within the timeout")
        chunk = response.raw.read1(_READ_SIZE, decode_content=False)
        if not chunk:
            break
        raw += chunk
    if length is not None and len(raw) < min(length, MAX_ANSWER_BYTES):
        return MaybeSent("the answer was cut off before its declared length")
    text = _decode(bytes(raw[:MAX_ANSWER_BYTES]), response.headers.get("Content-Encoding"))
    try:
        parsed = json.loads(text) if text else None
    except (ValueError, RecursionError):
        parsed = None
    return Answer(
        response.status_code,
        parsed,
        text,
        retry_after=response.headers.get("Retry-After"),
        location=response.headers.get("Location"),
    )


def _content_length(header: str | None) -> int | None:
    if header is None or not (header.isascii() and header.strip().isdigit()):
        return None
    return int(header.strip())


def _decode(raw: bytes, encoding: str | None) -> str:
    """The body as text: gzip or deflate inflated to at most ``MAX_ANSWER_BYTES``."""
    coding = (encoding or "identity").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if coding != "deflate" else 15  # 47: gzip or zlib header, detected
        try:
            raw = zlib.decompressobj(wbits).decompress(raw, MAX_ANSWER_BYTES)
        except zlib.error:
            try:
                raw = zlib.decompressobj(-15).decompress(raw, MAX_ANSWER_BYTES)
            except zlib.error:
                return "(a compressed body that does not decompress)"
    elif coding not in ("identity", ""):
        return f"(a body in the {coding[:20]} encoding)"
    return raw.decode("utf-8", "replace")


def _failed(error: requests.RequestException, url: str) -> NotSent | MaybeSent:
    """Sort a failure by what it proves: that nothing left, or that something may have."""
    chain = _chain(error)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        raise ConfigError(
            f"TLS verification of {_origin(url)} failed: its certificate is not trusted.",
            remedy="Behind a TLS-inspecting proxy, point `REQUESTS_CA_BUNDLE` at its CA bundle.",
            title="Last9: TLS verification failed",
        ) from None
    if any(isinstance(e, socket.gaierror) and e.errno == socket.EAI_NONAME for e in chain):
        raise ConfigError(
            f"The host name of {_origin(url)} does not resolve: the DNS knows no such host.",
            remedy=lambda v: (
                f"Check {v.name('api-url')} (scheme and host only, e.g. "
                "`https://app.last9.io`). On a runner that resolves only internal names, set "
                "`HTTPS_PROXY`."
            ),
            title="Last9: unknown host",
        ) from None
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        raise _settings_error(error) from None
    return _classify(chain)


#: Failures that prove the request never left, then those that prove nothing, in order.
_NOT_SENT: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (requests.exceptions.ConnectTimeout, "connecting timed out"),
    (requests.exceptions.ProxyError, "the proxy refused the connection"),
    ((u3.NameResolutionError, socket.gaierror), "DNS failed to resolve the host name"),
    (ConnectionRefusedError, "connection refused"),
    (u3.NewConnectionError, "the connection could not be opened"),
)
_MAYBE_SENT: tuple[tuple[type[BaseException], str], ...] = (
    (requests.exceptions.SSLError, "the TLS connection failed"),
    (requests.Timeout, "no answer within the timeout"),
)


def _classify(chain: list[BaseException]) -> NotSent | MaybeSent:
    for kinds, reason in _NOT_SENT:
        if any(isinstance(e, kinds) for e in chain):
            return NotSent(reason)
    for kind, reason in _MAYBE_SENT:
        if isinstance(chain[0], kind):
            return MaybeSent(reason)
    return MaybeSent("the connection closed before the answer")


def _chain(error: BaseException) -> list[BaseException]:
    """The error, what it wraps (urllib3's ``reason``, ``args[0]``) and its causes."""
    found: list[BaseException] = []
    todo: list[object] = [error]
    while todo and len(found) < 20:
        current = todo.pop()
        if not isinstance(current, BaseException) or current in found:
            continue
        found.append(current)
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return found


def _settings_error(error: BaseException) -> ConfigError:
    return ConfigError(
        f"The runner's HTTP settings cannot be used ({type(error).__name__}): a proxy URL "
        "(`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`) that is malformed or of an unsupported "
        "scheme, or a CA bundle (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) that does not exist.",
        remedy="Check those variables: a proxy as `http://host:port`, a CA bundle as the path "
        "of a PEM file.",
        title="Last9: unusable HTTP settings",
    )


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
