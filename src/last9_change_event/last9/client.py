"""Last9's API: the token exchange and the change event, on one HTTP session.

Each call is a retry loop over ``transport.attempt``: an answer ends it unless it is a 5xx or a
429, and a failure is tried again whether the request certainly never left (``NotSent``) or may
have arrived (``MaybeSent``). Delivery is at least once with identical bytes: every attempt sends
the same body, so a repeat describes the same instant, while a lost ``start`` or ``stop`` would
leave a change "in progress" for ever. The loop ends at the schedule's last attempt or deadline.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from last9_change_event import __version__
from last9_change_event.errors import (
    TOKENS_PAGE,
    ActionError,
    AuthError,
    ConfigError,
    OutageError,
)
from last9_change_event.last9.outcomes import Answer, MaybeSent, NotSent, Outcome
from last9_change_event.last9.retry import Deadline, Schedule, current_policy, retry_after
from last9_change_event.last9.tokens import AuthFlow, Token, epoch_seconds
from last9_change_event.last9.transport import attempt, mount

USER_AGENT = f"last9-change-event/{__version__} python-requests/{requests.__version__}"
#: Told before each attempt (``None``) and of its outcome: which events may have landed.
Observer = Callable[[Outcome | None], None]
RETRYABLE = frozenset({429, 500, 502, 503, 504, 507, 520, 521, 522, 523, 524})
SHOWN_CHARS = 200
_HTML_TITLE = re.compile(r"<title[^>]{0,200}>([^<]{0,400})</title", re.IGNORECASE)


def describe(answer: Answer) -> str:
    """Last9's ``error`` text, an HTML page's title, or the start of the body."""
    if isinstance(answer.body, dict) and isinstance(answer.body.get("error"), str):
        return one_line(answer.body["error"])
    title = _HTML_TITLE.search(answer.text[:8192])
    if title is not None and title.group(1).strip():
        return f'an HTML page, "{one_line(html.unescape(title.group(1)))}"'
    return one_line(answer.text) or "(empty body)"


def one_line(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (the reporter redacts before this
    reaches a log, and also redacts any piece of a token, so a cut never uncovers one)."""
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class NoRedirects(requests.Session):
    """A session that never follows a redirect, nor reads a redirect's body to follow it
    (requests would read it whole, without a bound): the 3xx is answered like any status."""

    def get_redirect_target(self, resp: requests.Response) -> None:  # noqa: ARG002
        """No redirect target, ever."""
        return


class Last9Client:
    """One session, one deadline, for every request the step makes."""

    def __init__(
        self,
        api_url: str,
        deadline: Deadline,
        *,
        log: Callable[[str], None] = lambda _message: None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url
        self._deadline = deadline
        self._policy = current_policy()
        self._log = log
        self._wall_clock = wall_clock
        self._session = mount(NoRedirects())
        # Plain http goes to a loopback host only (inputs checks it), and never through a
        # proxy, which would read the token in the clear.
        self._session.trust_env = not api_url.startswith("http://")
        self._session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity"}
        )

    def close(self) -> None:
        """Close the session and its connection."""
        self._session.close()

    def __enter__(self) -> Last9Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def exchange(self, refresh_token: str) -> Token:
        """Exchange the refresh token for an access token."""
        what = "the token exchange"
        answer = self._call(
            "POST", "/api/v4/oauth/access_token", {"refresh_token": refresh_token}, {}, what=what
        )
        if answer.status in (400, 401, 403):
            raise AuthError(
                f"Last9 refused the refresh token ({answer.status}: {describe(answer)}): "
                "it is invalid, revoked, or not a refresh token.",
                remedy=f"Generate new tokens in {TOKENS_PAGE} and store the write pair's "
                "refresh token in the secret.",
                title="Last9: refresh token rejected",
            )
        _raise_for_other(answer, what)
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OutageError(
                f"The token exchange answered {answer.status} without an access token.",
                remedy=lambda v: f"Check {v.name('api-url')} points to Last9's API.",
                title="Last9: unexpected answer",
            )
        return Token.of(
            body["access_token"], epoch_seconds(body.get("expires_at")), body.get("scopes")
        )

    def send_event(
        self, org: str, payload: bytes, auth: AuthFlow, observe: Observer | None = None
    ) -> Token:
        """PUT one change event; the auth flow renews the token once after a 401."""
        flow = auth.flow(self.exchange)
        token = next(flow)
        while True:
            answer = self._call(
                "PUT",
                f"/api/v4/organizations/{org}/change_events",
                payload,
                {"X-LAST9-API-TOKEN": f"Bearer {token.value}"},
                what="the change event",
                event=True,
                observe=observe,
            )
            try:
                token = flow.send(answer.status)
            except StopIteration:
                break
            self._log(f"Last9 refused the access token ({describe(answer)}); retrying once.")
        _raise_for_event(answer, renewed=auth.renewed, renewable=auth.can_renew)
        return token

    def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | bytes,
        headers: Mapping[str, str],
        *,
        what: str,
        event: bool = False,
        observe: Observer | None = None,
    ) -> Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json", **headers}
        schedule = Schedule(self._policy, self._deadline)
        last: Outcome = NotSent("no attempt was made")
        for number in schedule:
            if observe:
                observe(None)
            last = attempt(
                self._session,
                method,
                self.api_url + path,
                body,
                all_headers,
                deadline=self._deadline,
            )
            if observe:
                observe(last)
            if isinstance(last, Answer):
                if last.status not in RETRYABLE:
                    return last
                schedule.ask(retry_after(last.retry_after, self._wall_clock()))
            self._log(f"{what.capitalize()} failed ({_reason(last)}), try {number}.")
        raise _gave_up(what, last, schedule, event=event)


def _reason(outcome: Outcome) -> str:
    if isinstance(outcome, Answer):
        return f"HTTP {outcome.status}: {describe(outcome)}"
    return outcome.reason


def _gave_up(what: str, last: Outcome, schedule: Schedule, *, event: bool) -> ActionError:
    if schedule.ended == "deadline":
        waited = (
            f", and the next try (in {schedule.refused_wait:.1f} s) would pass it"
            if schedule.refused_wait
            else ""
        )
        why = f"did not succeed within the {schedule.deadline.seconds:g} s timeout{waited}"
    else:
        why = f"failed {schedule.attempt} times"
    message = f"{what.capitalize()} {why}; the last try: {_reason(last)}."
    if isinstance(last, NotSent) and last.reason.startswith("the proxy"):
        return ConfigError(
            message,
            remedy="Check `HTTPS_PROXY`: its address, and its credentials "
            "(`http://user:password@host:port`).",
            title="Last9: proxy refused",
        )
    maybe = (
        " Last9 may or may not have recorded the event."
        if isinstance(last, MaybeSent | Answer) and event
        else ""
    )
    if isinstance(last, Answer):
        return OutageError(
            message,
            remedy=lambda v: (
                f"Last9 may be having an outage; raise {v.name('timeout')} to wait longer.{maybe}"
            ),
        )
    return OutageError(
        message,
        remedy=lambda v: (
            f"Check that {v.name('api-url')} is right and reachable from the "
            f"runner (behind a proxy, set `HTTPS_PROXY`); raise {v.name('timeout')} to keep trying "
            f"longer.{maybe}"
        ),
    )


def _raise_for_event(answer: Answer, *, renewed: bool, renewable: bool) -> None:
    if answer.status == 401:
        raise AuthError(
            f"Last9 refused the access token (401: {describe(answer)}).",
            remedy="Last9 refused a freshly exchanged token too: regenerate the tokens."
            if renewed or renewable
            else lambda v: f"Pass {v.name('refresh-token')} so the access token can be renewed.",
            title="Last9: access token rejected",
        )
    if answer.status == 403 or (answer.status == 400 and "token" in describe(answer).lower()):
        raise AuthError(
            f"Last9 refused the access token ({answer.status}: {describe(answer)}).",
            remedy=lambda v: (
                f"Use the write token pair from {TOKENS_PAGE}, of the "
                f"organization named in {v.name('org')}."
            ),
        )
    _raise_for_other(answer, "the change event")
    body = answer.body
    if not (isinstance(body, dict) and body.get("message") == "success" and "error" not in body):
        raise OutageError(
            f"Last9 answered {answer.status} to the change event without its success body "
            f'(`{{"message": "success"}}`): {describe(answer)}.',
            remedy=lambda v: (
                "A proxy may stand between the runner and Last9; check "
                f"{v.name('api-url')}. Last9 may or may not have recorded the event."
            ),
            title="Last9: unexpected answer",
        )


def _raise_for_other(answer: Answer, what: str) -> None:
    if 300 <= answer.status < 400:
        raise ConfigError(
            f"Last9 redirected {what} to {one_line(answer.location or '(nowhere)')}; redirects "
            "are not followed, so the token is never sent elsewhere.",
            remedy=lambda v: f"Set {v.name('api-url')} to the address the redirect points to.",
            title="Last9: API redirected",
        )
    if answer.status == 407:
        raise ConfigError(
            f"A proxy asked for credentials (407) on {what}.",
            remedy="Put the proxy's credentials in `HTTPS_PROXY` "
            "(`http://user:password@host:port`), or bypass it with `NO_PROXY`.",
            title="Last9: proxy refused",
        )
    if answer.status == 404:
        raise ConfigError(
            f"Last9 answered 404 to {what}: {describe(answer)}.",
            remedy=lambda v: (
                f"Check {v.name('org')} (your organization slug) and {v.name('api-url')}."
            ),
            title="Last9: not found",
        )
    if 400 <= answer.status < 500:
        raise ConfigError(
            f"Last9 rejected {what} ({answer.status}: {describe(answer)}).",
            remedy="Check the inputs named in the message; the request was not retried.",
            title="Last9: request rejected",
        )
    if not 200 <= answer.status < 300:
        raise OutageError(
            f"Last9 answered {answer.status} to {what}: {describe(answer)}.",
            remedy="Last9 may be having an outage.",
        )
