"""The bearer token of each request: a private app token, or an OAuth access token that is
refreshed before it expires (and once more if HubSpot still answers 401)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from revgov.connectors.hubspot.settings import HubSpotCredentials
from revgov.errors import AuthenticationError

__all__ = ["IssuedToken", "TokenSource"]


@dataclass(frozen=True)
class IssuedToken:
    """What the OAuth token endpoint returned."""

    access_token: SecretStr
    expires_in: float
    refresh_token: SecretStr | None = None


class TokenSource:
    """Hands out the current bearer token; never shows it (``repr`` names the mode only)."""

    def __init__(
        self,
        credentials: HubSpotCredentials,
        *,
        exchange: Callable[[SecretStr], IssuedToken] | None = None,
        clock: Callable[[], float] = time.monotonic,
        margin: float = 300.0,
    ) -> None:
        if not credentials.usable:
            raise AuthenticationError(
                "no HubSpot credentials in the environment",
                hint="set the source's token variable (default HUBSPOT_ACCESS_TOKEN) to a "
                "private app access token, or the OAuth client id, client secret and refresh "
                "token variables",
            )
        self.oauth = credentials.is_oauth
        self._token = credentials.access_token
        self._refresh = credentials.refresh_token
        self._exchange = exchange
        #: Monotonic seconds (tests move it to see a token through its lifetime).
        self.clock = clock
        self._margin = margin
        self._expires_at = float("-inf")
        self._lock = threading.Lock()
        #: How many times an access token was obtained with the refresh token.
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenSource({'oauth' if self.oauth else 'private app'})"

    def auth(self) -> dict[str, str]:
        """The client's ``_request_auth`` for one request, refreshed first if due."""
        with self._lock:
            if self.oauth and self.clock() >= self._expires_at:
                self._renew_locked()
            assert self._token is not None
            value = "Bearer " + self._token.get_secret_value()
        return {"in": "header", "key": "Authorization", "value": value, "type": "oauth2"}

    def renew(self) -> None:
        """Get a new access token now (HubSpot answered 401 to the current one)."""
        with self._lock:
            self._renew_locked()

    def _renew_locked(self) -> None:
        if self._exchange is None or self._refresh is None:
            raise AuthenticationError(
                "HubSpot refused the access token and there is no refresh token to renew it",
                hint="check the private app token in the environment (it may be rotated or "
                "revoked)",
            )
        issued = self._exchange(self._refresh)
        self._token = issued.access_token
        if issued.refresh_token is not None:
            self._refresh = issued.refresh_token
        # Renew a margin before expiry (a quarter of short lifetimes), never at the last second.
        margin = min(self._margin, issued.expires_in / 4)
        self._expires_at = self.clock() + issued.expires_in - margin
        self.refreshes += 1
