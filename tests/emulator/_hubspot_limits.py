"""The HubSpot emulator's gatekeeping: bearer tokens (private app and OAuth) and rate limits
with HubSpot's headers and 429 bodies."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from tests.emulator.server import Request, Response

__all__ = ["Gate", "error"]


def error(status: int, category: str, **extra: Any) -> Response:
    """HubSpot's error body: ``{status, message, correlationId, category}``."""
    body = {
        "status": "error",
        "message": extra.pop("message", f"{category.lower().replace('_', ' ')}"),
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return Response.json(body, status)


@dataclass
class Gate:
    """Who may call, and how often.

    ``burst`` requests per ``interval_ms`` (rolling), ``daily`` per day, ``search_per_second``
    for the search API (0 = unlimited). Private app responses carry the Daily headers; OAuth
    ones do not (as on HubSpot).
    """

    private_token: str | None = "pat-na1-emulator"
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    token_ttl: float = 1800.0
    burst: int = 0
    interval_ms: int = 10_000
    daily: int = 0
    search_per_second: int = 0
    #: Send Retry-After (seconds) with ten-secondly 429s; None: no header (HubSpot often omits it).
    retry_after: float | None = None
    issued: dict[str, float] = field(default_factory=dict)
    rejections: Counter[str] = field(default_factory=Counter)
    #: Arrival times (monotonic) of every admitted non-search request, for the benchmark.
    arrivals: list[float] = field(default_factory=list)
    used_today: int = 0
    refreshes: int = 0
    _window: deque[float] = field(default_factory=deque)
    _search: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- OAuth ---------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in _form(request.body).items()}
        ok = (
            self.client_id is not None
            and form.get("grant_type") == "refresh_token"
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
            and form.get("refresh_token") == self.refresh_token
        )
        if not ok:
            return Response.json(
                {
                    "status": "BAD_REFRESH_TOKEN",
                    "message": "missing or unknown refresh token",
                    "correlationId": str(uuid.uuid4()),
                },
                400,
            )
        access = f"oauth-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.issued[access] = time.monotonic() + self.token_ttl
            self.refreshes += 1
        return Response.json(
            {
                "token_type": "bearer",
                "refresh_token": self.refresh_token,
                "access_token": access,
                "expires_in": int(self.token_ttl),
            }
        )

    def expire_tokens(self) -> None:
        with self._lock:
            self.issued = {t: 0.0 for t in self.issued}

    # -- every API request ---------------------------------------------------------------

    def check(self, request: Request, *, search: bool) -> tuple[Response | None, dict[str, str]]:
        """None and the headers to send, or the 401/429 response."""
        auth = request.header("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip()
        oauth = token in self.issued
        if oauth and self.issued[token] < time.monotonic():
            return error(
                401,
                "EXPIRED_AUTHENTICATION",
                message="The OAuth token used to make this call expired.",
            ), {}
        if not oauth and (self.private_token is None or token != self.private_token):
            return error(
                401, "INVALID_AUTHENTICATION", message="Authentication credentials not found."
            ), {}
        with self._lock:
            now = time.monotonic()
            if self.daily and self.used_today >= self.daily:
                self.rejections["DAILY"] += 1
                return self._limited("DAILY", "daily", oauth), {}
            if search:
                if self.search_per_second:
                    while self._search and self._search[0] <= now - 1.0:
                        self._search.popleft()
                    if len(self._search) >= self.search_per_second:
                        self.rejections["SECONDLY"] += 1
                        return self._limited("SECONDLY", "secondly", oauth), {}
                    self._search.append(now)
                self.used_today += 1
                return None, {}  # search responses carry no rate-limit headers
            if self.burst:
                while self._window and self._window[0] <= now - self.interval_ms / 1000:
                    self._window.popleft()
                if len(self._window) >= self.burst:
                    self.rejections["TEN_SECONDLY_ROLLING"] += 1
                    response = self._limited("TEN_SECONDLY_ROLLING", "ten_secondly_rolling", oauth)
                    response.headers.update(self._headers(oauth, remaining=0))
                    if self.retry_after is not None:
                        response.headers["Retry-After"] = f"{self.retry_after:g}"
                    return response, {}
                self._window.append(now)
            self.arrivals.append(now)
            self.used_today += 1
            return None, self._headers(oauth, remaining=self.burst - len(self._window))

    def _headers(self, oauth: bool, *, remaining: int) -> dict[str, str]:
        if not self.burst:
            return {}
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.burst),
            "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
        }
        if self.daily and not oauth:
            headers["X-HubSpot-RateLimit-Daily"] = str(self.daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(0, self.daily - self.used_today)
            )
        return headers

    def _limited(self, policy: str, words: str, oauth: bool) -> Response:
        body = {
            "status": "error",
            "message": f"You have reached your {words} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "groupName": f"publicapi:{'oauth' if oauth else 'private'}-app-api-{words}:12345",
        }
        if policy == "DAILY":
            body["requestId"] = str(uuid.uuid4())
        return Response.json(body, 429)

    def busiest(self, seconds: float) -> int:
        """The most requests admitted in any window of ``seconds`` (sliding)."""
        with self._lock:
            arrivals = list(self.arrivals)
        best, lo = 0, 0
        for hi, t in enumerate(arrivals):
            while arrivals[lo] <= t - seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def stats(self) -> dict[str, Any]:
        busiest = self.busiest(self.interval_ms / 1000)
        with self._lock:
            start = self.arrivals[0] if self.arrivals else 0.0
            return {
                "busiest_window": busiest,
                "arrivals": [round(t - start, 4) for t in self.arrivals],
                "rejections": dict(self.rejections),
                "used_today": self.used_today,
                "burst": self.burst,
                "interval_ms": self.interval_ms,
                "refreshes": self.refreshes,
            }


def _form(body: bytes) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    return parse_qs(body.decode("utf-8"), keep_blank_values=True)
