"""Last9 tokens: read their claims once, decide when to exchange, renew at most once.

Tokens are JWTs. Their claims are read without the signing key (the signature is Last9's to
check); ``exp`` says whether an access token is still good for ``MARGIN_SECONDS`` more.

``AuthFlow`` is the whole token conversation, in the shape of httpx's auth flows: its
``flow()`` generator hands out a token, is shown Last9's answer, and after a 401 renews once
and hands out the new token for one more try. It masks every token it obtains, the moment it
has it, and decodes each token once. A token the exchange hands back is checked as a given one
is, before it is sent anywhere: a ``scopes`` claim (or, without one, the answer's ``scopes``)
lacking ``write`` is an ``AuthError``, and an organization other than ``org`` is warned of.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import NamedTuple

import jwt

from last9_change_event.errors import TOKENS_PAGE, AuthError, InputError, OutageError, Text
from last9_change_event.redact import TOKEN_CHARS

MARGIN_SECONDS = 60
_LAST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: later values are not dates


class Claims(NamedTuple):
    """What the action reads from a token: expiry, scopes and organization, when present."""

    exp: int | None
    scopes: tuple[str, ...] | None
    org: str | None


class Token(NamedTuple):
    """A token, its claims (``None`` when it is not a readable JWT) and its expiry."""

    value: str
    claims: Claims | None
    expires_at: int | None

    @classmethod
    def of(cls, value: str, expires_at: int | None = None, scopes: object = None) -> Token:
        """Decode ``value`` once; ``expires_at`` (from an exchange answer) wins over ``exp``, and
        ``scopes`` (from the same answer) stand in for a ``scopes`` claim the token lacks."""
        claims = read_claims(value)
        if claims is not None and claims.scopes is None and isinstance(scopes, list):
            claims = claims._replace(scopes=tuple(str(s) for s in scopes))
        return cls(value, claims, expires_at if expires_at is not None else _exp(claims))

    def valid_for(self, seconds: float, now: float) -> bool:
        """Whether the token is known to stay valid ``seconds`` past ``now``."""
        return self.expires_at is not None and self.expires_at - now >= seconds


def read_claims(token: str) -> Claims | None:
    """The token's claims, or ``None`` when it is not a readable JWT."""
    try:
        payload = jwt.decode(
            token,
            options={"verify_signature": False, "verify_exp": False, "verify_aud": False},
            algorithms=None,
        )
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        return None
    scopes = payload.get("scopes")
    org = payload.get("organization_slug")
    return Claims(
        exp=epoch_seconds(payload.get("exp")),
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else None,
        org=org if isinstance(org, str) else None,
    )


def epoch_seconds(value: object) -> int | None:
    """A finite number of seconds since 1970 that is a date, as an int; else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 <= value <= _LAST_EPOCH:
        return None
    return int(value)


def _exp(claims: Claims | None) -> int | None:
    return claims.exp if claims else None


def _check_write_scope(claims: Claims | None, what: str) -> None:
    """A token whose ``scopes`` claim lacks ``write`` cannot send change events."""
    if claims and claims.scopes is not None and "write" not in claims.scopes:
        raise AuthError(
            f"The {what} has scopes {', '.join(claims.scopes) or 'none'}; "
            "sending change events needs `write`.",
            remedy=f"Use the refresh token of the *write* token pair from {TOKENS_PAGE}.",
            title="Last9: token lacks write scope",
        )


MISMATCH_TITLE = "Last9: organization mismatch"


def mismatch(token_org: str, org: str) -> Text:
    """The warning for a token of organization ``token_org`` used for ``org``, in any voice."""
    return lambda v: (
        f"The token belongs to organization `{token_org}` but {v.name('org')} is `{org}`; "
        f"Last9 will likely refuse it. Check {v.name('org')}."
    )


#: Exchanges a refresh token for an access token (the HTTP call lives in the client).
Exchange = Callable[[str], Token]
#: Told a warning's title and message.
Warn = Callable[[str, Text], None]


class AuthFlow:
    """Hands out a valid access token; exchanges the refresh token early, and once more when
    Last9 rejects a token that looked valid. Never loops."""

    def __init__(
        self,
        *,
        access_token: str | None,
        refresh_token: str | None,
        clock: Callable[[], float],
        mask: Callable[[str], None],
        org: str | None = None,
        warn: Warn | None = None,
    ) -> None:
        self._clock = clock
        self._mask = mask
        self._org = org
        self._warn = warn
        self._warned: set[str] = set()
        self._refresh = Token.of(refresh_token) if refresh_token else None
        self._given = Token.of(access_token) if access_token else None
        self._current: Token | None = None
        self.renewed = False
        for token in (self._refresh, self._given):
            if token:
                mask(token.value)

    @property
    def current(self) -> Token | None:
        """The access token handed out last, if any."""
        return self._current

    @property
    def can_renew(self) -> bool:
        """Whether a refresh token is there to renew with."""
        return self._refresh is not None

    def organizations(self) -> set[str]:
        """The organizations the given tokens name."""
        tokens = (self._refresh, self._given)
        return {t.claims.org for t in tokens if t and t.claims and t.claims.org}

    def check(self) -> Token | None:
        """Local checks before any call; the given access token when it is good to use now."""
        for org in sorted(self.organizations()):
            self._check_organization(org)
        now = self._clock()
        if self._refresh is not None:
            if self._refresh.claims is None:
                raise InputError(
                    "refresh-token",
                    "is not a Last9 token (it is not a JWT).",
                    remedy=f"Copy the refresh token of the write pair from {TOKENS_PAGE}.",
                )
            if self._refresh.expires_at is not None and self._refresh.expires_at <= now:
                raise AuthError(
                    "The refresh token has expired.",
                    remedy=f"Generate new tokens in {TOKENS_PAGE} and update the secret.",
                    title="Last9: refresh token expired",
                )
            _check_write_scope(self._refresh.claims, "refresh token")
        if self._given is None:
            return None
        _check_write_scope(self._given.claims, "access token")
        if self._given.valid_for(MARGIN_SECONDS, now):
            return self._given
        if self._refresh is None:
            raise self._unrenewable(self._given)
        return None

    def token(self, exchange: Exchange) -> Token:
        """The access token to use now: the current one while valid, else a new one."""
        current = self._current or self.check()
        if current is not None and (
            current.expires_at is None or current.valid_for(MARGIN_SECONDS, self._clock())
        ):
            self._current = current
            return current
        self._current = self._exchange(exchange)
        return self._current

    def flow(self, exchange: Exchange) -> Generator[Token, int, None]:
        """Yield a token; shown the answer's status, yield a renewed one once after a 401."""
        status = yield self.token(exchange)
        if status == 401 and self._refresh is not None and not self.renewed:
            self.renewed = True
            self._current = self._exchange(exchange)
            yield self._current

    def _check_organization(self, token_org: str | None) -> None:
        """Warn, once per organization, of a token of another organization than ``org``."""
        if self._warn is None or not self._org or not token_org or token_org == self._org:
            return
        if token_org not in self._warned:
            self._warned.add(token_org)
            self._warn(MISMATCH_TITLE, mismatch(token_org, self._org))

    def _exchange(self, exchange: Exchange) -> Token:
        if self._refresh is None:  # check() reported why; kept for type narrowing
            raise self._unrenewable(self._given)
        token = exchange(self._refresh.value)
        if not TOKEN_CHARS.fullmatch(token.value):
            raise OutageError(
                "The token exchange answered with an access token holding characters no "
                "token has, so it cannot be sent in a header.",
                remedy=lambda v: f"Check that {v.name('api-url')} points to Last9's API.",
                title="Last9: unexpected answer",
            )
        self._mask(token.value)
        self._check_organization(token.claims.org if token.claims else None)
        _check_write_scope(token.claims, "access token Last9 returned")
        return token

    @staticmethod
    def _unrenewable(given: Token | None) -> AuthError:
        if given is not None and given.claims is None:
            return AuthError(
                lambda v: (
                    f"Input {v.name('access-token')} is not a JWT, so its expiry cannot "
                    f"be read, and no {v.name('refresh-token')} was given to get a new one."
                ),
                remedy=f"Pass the write pair's access token from {TOKENS_PAGE}, or the "
                "refresh token as well.",
                title="Last9: invalid access-token",
            )
        return AuthError(
            "The access token has expired (or expires within a minute), or has no expiry, "
            "and no refresh token was given to renew it.",
            remedy="Pass the refresh token as well.",
            title="Last9: access token expired",
        )
