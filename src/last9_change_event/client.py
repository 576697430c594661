"""Talk to Last9's API: the token exchange and the change event, on one HTTP session.

Retries network errors, 5xx and 429 with backoff (honouring ``Retry-After``), bounded by the
policy's attempts and by one deadline for the whole step. The change event is sent at most once:
a failure after the request may have reached Last9 (a read timeout, a connection closed
mid-response) is reported, not retried. Redirects are never followed, so a token is never sent
anywhere but ``api-url``.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import requests
from urllib3.exceptions import NewConnectionError

from last9_change_event import __version__
from last9_change_event.errors import AuthError, ConfigError, OutageError
from last9_change_event.retry import RetryPolicy, retry_after
from last9_change_event.tokens import TOKENS_PAGE, AccessToken, read_claims

USER_AGENT = f"last9-change-event/{__version__} python-requests/{requests.__version__}"
CONNECT_TIMEOUT = 10.0
_RETRYABLE = frozenset({429, 500, 502, 503, 504, 507, 520, 521, 522, 523, 524})
_SHOWN_BODY_CHARS = 200
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_UNRESOLVED_HOST = re.compile(r"Failed to resolve '([^']*)'")


class Answer(NamedTuple):
    """Last9's answer: status and the parsed JSON body (``None`` when it is not JSON)."""

    status: int
    body: Any
    text: str

    @property
    def error(self) -> str:
        """Last9's ``error`` text, or the start of the body."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), str):
            return _one_line(self.body["error"])
        title = _HTML_TITLE.search(self.text)
        if title is not None and title.group(1).strip():
            import html  # noqa: PLC0415  (only an HTML error page needs it)

            return f'an HTML page, "{_one_line(html.unescape(title.group(1)))}"'
        return _one_line(self.text) or "(empty body)"


class TokenRejectedError(Exception):
    """Last9 answered 401 to an access token: the caller may renew it once."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.error)
        self.answer = answer


class Last9Client:
    """One session, one deadline, for every request the step makes."""

    def __init__(
        self,
        api_url: str,
        *,
        timeout: float,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.api_url = api_url
        self._policy = policy or RetryPolicy()
        self._session = session or requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._log = log
        self._timeout = timeout
        self._deadline = clock() + timeout
        self.requests_made = 0

    def close(self) -> None:
        """Close the session and its connection."""
        self._session.close()

    def __enter__(self) -> Last9Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def exchange(self, refresh_token: str) -> AccessToken:
        """Exchange the refresh token for an access token."""
        answer = self._send(
            "POST",
            f"{self.api_url}/api/v4/oauth/access_token",
            {"refresh_token": refresh_token},
            {},
            what="the token exchange",
            resend_after_send=True,
        )
        if answer.status in (400, 401, 403):
            raise AuthError(
                f"Last9 refused the refresh token ({answer.status}: {answer.error}): "
                "it is invalid, revoked, or not a refresh token.",
                remedy=f"Generate new tokens in {TOKENS_PAGE} and store the write pair's "
                "refresh token in the secret.",
                title="Last9: refresh token rejected",
            )
        _raise_for_other(answer, "the token exchange")
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OutageError(
                f"The token exchange answered {answer.status} without an access token.",
                remedy="Check `api-url` points to Last9's API.",
                title="Last9: unexpected answer",
            )
        token: str = body["access_token"]
        expires_at = body.get("expires_at")
        if not isinstance(expires_at, int) or isinstance(expires_at, bool):
            claims = read_claims(token)
            expires_at = claims.exp if claims else None
        return AccessToken(token, expires_at, exchanged=True)

    def send_event(self, org: str, token: str, payload: Mapping[str, Any]) -> Answer:
        """PUT the change event; raises ``TokenRejectedError`` on a 401."""
        answer = self._send(
            "PUT",
            f"{self.api_url}/api/v4/organizations/{org}/change_events",
            payload,
            {"X-LAST9-API-TOKEN": f"Bearer {token}"},
            what="the change event",
            resend_after_send=False,
        )
        if answer.status == 401:
            raise TokenRejectedError(answer)
        if answer.status == 403 or (answer.status == 400 and "token" in answer.error.lower()):
            raise AuthError(
                f"Last9 refused the access token ({answer.status}: {answer.error}).",
                remedy=f"Use the write token pair from {TOKENS_PAGE}, of the organization "
                "named in `org`.",
            )
        _raise_for_other(answer, "the change event")
        if not isinstance(answer.body, dict):
            raise OutageError(
                f"Last9 answered {answer.status} to the change event with a body that is not "
                f"JSON: {answer.error}.",
                remedy="A proxy may stand between the runner and Last9; check `api-url`. "
                "The event may or may not have been recorded.",
                title="Last9: unexpected answer",
            )
        return answer

    def _send(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        what: str,
        resend_after_send: bool,
    ) -> Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        all_headers = {"Content-Type": "application/json", **headers}
        last_problem = "no attempt was made"
        answered = False
        for attempt in range(1, self._policy.attempts + 1):
            remaining = self._remaining(what, last_problem)
            self.requests_made += 1
            try:
                response = self._session.request(
                    method,
                    url,
                    data=body,
                    headers=all_headers,
                    timeout=(min(CONNECT_TIMEOUT, remaining), remaining),
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as error:
                raise ConfigError(
                    f"TLS verification of {self.api_url} failed: {_one_line(str(error))}",
                    remedy="Behind a TLS-inspecting proxy, point `REQUESTS_CA_BUNDLE` at its "
                    "CA bundle.",
                    title="Last9: TLS verification failed",
                ) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                _raise_if_unknown_host(error, self.api_url)
                last_problem = _describe(error)
                if not resend_after_send and not _not_sent(error):
                    raise OutageError(
                        f"{what.capitalize()} failed after it was sent: {last_problem}.",
                        remedy="Last9 may or may not have recorded it; it is not resent, so "
                        "that it is never recorded twice. If Last9 is slow to answer, raise "
                        "`timeout`.",
                    ) from None
                answered = False
                wait = self._policy.backoff(attempt)
            else:
                answered = True
                answer = _answer(response)
                if 300 <= answer.status < 400:
                    raise ConfigError(
                        f"{self.api_url} redirected {what} to "
                        f"{response.headers.get('Location', '(nowhere)')}; redirects are not "
                        "followed, so the token is never sent elsewhere.",
                        remedy="Set `api-url` to the address the redirect points to.",
                        title="Last9: API redirected",
                    )
                if answer.status not in _RETRYABLE:
                    return answer
                last_problem = f"HTTP {answer.status}: {answer.error}"
                asked = retry_after(response.headers.get("Retry-After"), self._wall_clock())
                wait = asked if asked is not None else self._policy.backoff(attempt)
            if attempt == self._policy.attempts:
                break
            if wait >= self._deadline - self._clock():
                raise OutageError(
                    f"{what.capitalize()} failed ({last_problem}), and the next try "
                    f"(in {wait:.1f} s) would pass the {self._timeout:g} s timeout.",
                    remedy="Last9 may be having an outage; raise `timeout` to wait longer."
                    if answered
                    else _UNREACHABLE,
                )
            self._log(f"{what} failed ({last_problem}); retry {attempt} in {wait:.1f} s")
            self._sleep(wait)
        raise OutageError(
            f"{what.capitalize()} failed {self._policy.attempts} times; the last: {last_problem}.",
            remedy="Last9 may be having an outage, or `api-url` may be wrong."
            if answered
            else _UNREACHABLE,
        )

    def _remaining(self, what: str, last_problem: str) -> float:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise OutageError(
                f"{what.capitalize()} did not succeed within the {self._timeout:g} s timeout "
                f"(last: {last_problem}).",
                remedy="Raise `timeout`, or check that `api-url` is reachable from the runner.",
            )
        return remaining


_UNREACHABLE = (
    "Check that `api-url` is right and reachable from the runner (behind a proxy, set "
    "`HTTPS_PROXY`); raise `timeout` to keep trying longer."
)


def _raise_if_unknown_host(error: requests.RequestException, api_url: str) -> None:
    """A host name the DNS says does not exist will not appear by retrying: that is a
    configuration error (a typo in ``api-url``, or a runner that needs a proxy), not an outage.
    A temporary DNS failure stays an outage and is retried."""
    reason = _reason(error)
    cause = getattr(reason, "__cause__", None)
    if not (isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_NONAME):
        return
    named = _UNRESOLVED_HOST.search(str(reason))
    host = named.group(1) if named else api_url
    raise ConfigError(
        f"The host name {host} does not resolve: the DNS knows no such host.",
        remedy="Check `api-url` (scheme and host only, e.g. `https://app.last9.io`). On a "
        "runner that resolves only internal names, set `HTTPS_PROXY`.",
        title="Last9: unknown host",
    ) from None


def _raise_for_other(answer: Answer, what: str) -> None:
    if answer.status == 404:
        raise ConfigError(
            f"Last9 answered 404 to {what}: {answer.error}.",
            remedy="Check `org` (your organization slug) and `api-url`.",
            title="Last9: not found",
        )
    if 400 <= answer.status < 500:
        raise ConfigError(
            f"Last9 rejected {what} ({answer.status}: {answer.error}).",
            remedy="Check the inputs named in the message; the request was not retried.",
            title="Last9: request rejected",
        )
    if not 200 <= answer.status < 300:
        raise OutageError(
            f"Last9 answered {answer.status} to {what}: {answer.error}.",
            remedy="Last9 may be having an outage.",
        )


def _answer(response: requests.Response) -> Answer:
    text = response.text
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    return Answer(response.status_code, body, text)


def _reason(error: requests.RequestException) -> object:
    """What urllib3 says went wrong under a requests error (its ``MaxRetryError.reason``)."""
    wrapped = error.args[0] if error.args else error
    return getattr(wrapped, "reason", wrapped)


def _not_sent(error: requests.RequestException) -> bool:
    """Whether the request certainly never reached the server (so resending is safe)."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    return isinstance(_reason(error), NewConnectionError)


def _describe(error: requests.RequestException) -> str:
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connecting timed out"
    if isinstance(error, requests.Timeout):
        return "no answer within the timeout"
    reason = _reason(error)
    text = _one_line(str(reason))
    if "NameResolution" in type(reason).__name__:
        return "DNS failed to resolve the host name"
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the connection closed before Last9 answered"
    return text


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SHOWN_BODY_CHARS else flat[: _SHOWN_BODY_CHARS - 3] + "..."
