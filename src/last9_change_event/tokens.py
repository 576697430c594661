"""Last9 tokens: read their claims locally, decide when to exchange, refresh at most once.

Tokens are JWTs. Their claims are read without the signing key (the signature is Last9's to
check); ``exp`` says whether an access token is still good for ``MARGIN_SECONDS`` more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jwt

from last9_change_event.errors import AuthError, ConfigError

MARGIN_SECONDS = 60
TOKENS_PAGE = "Last9 → Settings → API Access"


class Claims(NamedTuple):
    """What the action reads from a token: expiry, scopes and organization, when present."""

    exp: int | None
    scopes: tuple[str, ...] | None
    org: str | None


class AccessToken(NamedTuple):
    """An access token and its expiry (epoch seconds), if known."""

    value: str
    expires_at: int | None
    exchanged: bool


#: Exchanges a refresh token for an access token (the HTTP call lives in the client).
Exchange = Callable[[str], AccessToken]


def read_claims(token: str) -> Claims | None:
    """The token's claims, or ``None`` when it is not a readable JWT."""
    try:
        payload = jwt.decode(
            token,
            options={"verify_signature": False, "verify_exp": False, "verify_aud": False},
            algorithms=None,
        )
    except jwt.PyJWTError:
        return None
    exp = payload.get("exp")
    scopes = payload.get("scopes")
    org = payload.get("organization_slug")
    return Claims(
        exp=int(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None,
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else None,
        org=org if isinstance(org, str) else None,
    )


def check_write_scope(claims: Claims, what: str) -> None:
    """A token whose ``scopes`` claim lacks ``write`` cannot send change events."""
    if claims.scopes is not None and "write" not in claims.scopes:
        raise AuthError(
            f"The {what} has scopes {', '.join(claims.scopes) or 'none'}; "
            "sending change events needs `write`.",
            remedy=f"Use the refresh token of the *write* token pair from {TOKENS_PAGE}.",
            title="Last9: token lacks write scope",
        )


def check_refresh_token(token: str, now: float) -> Claims:
    """Validate the refresh token locally: a JWT, not expired, with the write scope."""
    claims = read_claims(token)
    if claims is None:
        raise ConfigError(
            "Input `refresh-token` is not a Last9 token (it is not a JWT).",
            remedy=f"Copy the refresh token of the write pair from {TOKENS_PAGE}.",
            title="Last9: invalid refresh-token",
        )
    if claims.exp is not None and claims.exp <= now:
        raise AuthError(
            "The refresh token has expired.",
            remedy=f"Generate new tokens in {TOKENS_PAGE} and update the secret.",
            title="Last9: refresh token expired",
        )
    check_write_scope(claims, "refresh token")
    return claims


def usable(token: str, now: float, margin: float = MARGIN_SECONDS) -> AccessToken | None:
    """``token`` when it is a JWT valid for ``margin`` seconds more, else ``None``.

    A readable token without the write scope is an error, not a reason to exchange.
    """
    claims = read_claims(token)
    if claims is None or claims.exp is None:
        return None
    check_write_scope(claims, "access token")
    if claims.exp - now < margin:
        return None
    return AccessToken(token, claims.exp, exchanged=False)


class Credentials:
    """Hands out a valid access token; exchanges the refresh token early, and at most once more
    when Last9 rejects a token that looked valid. Never loops."""

    def __init__(
        self,
        *,
        access_token: str | None,
        refresh_token: str | None,
        exchange: Exchange,
        clock: Callable[[], float],
    ) -> None:
        self._given = access_token
        self._refresh = refresh_token
        self._exchange = exchange
        self._clock = clock
        self._current: AccessToken | None = None
        self._exchanges = 0
        self._renewed = False

    @property
    def exchanges(self) -> int:
        """How many exchanges this object made."""
        return self._exchanges

    def token(self) -> AccessToken:
        """The access token to use now."""
        if self._current is not None and self._still_good(self._current):
            return self._current
        if self._current is None and self._given:
            given = usable(self._given, self._clock())
            if given is not None:
                self._current = given
                return given
        self._current = self._exchange_now()
        return self._current

    def renew(self) -> AccessToken | None:
        """A fresh token after Last9 rejected the current one as expired; ``None`` if already
        renewed once, or if there is no refresh token to renew with."""
        if self._renewed or not self._refresh:
            return None
        self._renewed = True
        self._current = self._exchange_now()
        return self._current

    def _still_good(self, token: AccessToken) -> bool:
        return token.expires_at is None or token.expires_at - self._clock() >= MARGIN_SECONDS

    def _exchange_now(self) -> AccessToken:
        if not self._refresh:
            raise AuthError(
                "The access token has expired (or expires within a minute) and no "
                "`refresh-token` was given to renew it.",
                remedy="Pass `refresh-token: ${{ secrets.LAST9_REFRESH_TOKEN }}` as well.",
                title="Last9: access token expired",
            )
        self._exchanges += 1
        token = self._exchange(self._refresh)
        claims = read_claims(token.value)
        if claims is not None:
            check_write_scope(claims, "access token Last9 returned")
        return token
