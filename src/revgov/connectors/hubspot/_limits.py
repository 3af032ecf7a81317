"""What HubSpot's rate-limit headers say, fed to the shared limiter and budget, and shown.

Every response of the CRM APIs carries ``X-HubSpot-RateLimit-Max`` and ``-Interval-Milliseconds``
(the app's burst window: the client-side limiter is resized to it), ``-Remaining`` (left in the
current window) and, for private apps, ``-Daily`` and ``-Daily-Remaining`` (the daily
allowance: the budget stops the pull before it passes its share). Search responses carry none:
the search API's own lower limit is a separate, configured window. 429 responses are counted by
their ``policyName`` (TEN_SECONDLY_ROLLING, SECONDLY, DAILY) and shown beside the progress bar.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from revgov.connectors._resilience import ApiBudget, RateLimiter
from revgov.connectors.hubspot._errors import header

__all__ = ["HubSpotLimits"]

_MAX = "X-HubSpot-RateLimit-Max"
_REMAINING = "X-HubSpot-RateLimit-Remaining"
_INTERVAL = "X-HubSpot-RateLimit-Interval-Milliseconds"
_DAILY = "X-HubSpot-RateLimit-Daily"
_DAILY_REMAINING = "X-HubSpot-RateLimit-Daily-Remaining"


def _int(headers: Any, name: str) -> int | None:
    value = header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class HubSpotLimits:
    """The limiter, search limiter and daily budget of one connector, kept current."""

    def __init__(self, limiter: RateLimiter, search_limiter: RateLimiter, budget: ApiBudget):
        self.limiter = limiter
        self.search_limiter = search_limiter
        self.budget = budget
        self.burst_max: int | None = None
        self.burst_remaining: int | None = None
        self.interval_ms: int | None = None
        self.daily: int | None = None
        self.daily_remaining: int | None = None
        #: 429 responses received, by policyName (``?`` when the body named none).
        self.rejections: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()

    def observe(self, headers: Any) -> None:
        """Take in one response's headers (a 2xx or an error)."""
        burst, interval = _int(headers, _MAX), _int(headers, _INTERVAL)
        remaining = _int(headers, _REMAINING)
        daily, daily_remaining = _int(headers, _DAILY), _int(headers, _DAILY_REMAINING)
        with self._lock:
            self.requests += 1
            if remaining is not None:
                self.burst_remaining = remaining
            if daily is not None and daily_remaining is not None:
                self.daily, self.daily_remaining = daily, daily_remaining
            if burst is not None and burst > 0:
                self.burst_max = burst
                self.interval_ms = interval if interval and interval > 0 else self.interval_ms
        if burst is not None and burst > 0:
            seconds = interval / 1000 if interval and interval > 0 else None
            self.limiter.resize(burst, seconds)
        if daily is not None and daily_remaining is not None and daily > 0:
            self.budget.update(used=max(0, daily - daily_remaining), limit=daily)

    def rejected(self, policy: str | None) -> None:
        with self._lock:
            self.rejections[policy or "?"] += 1

    def status(self) -> Mapping[str, str | int | float]:
        """What to show beside the progress bar, most telling first (a narrow terminal shows
        the start): what is left of the window and of the day, 429s, calls made."""
        with self._lock:
            out: dict[str, str | int | float] = {}
            if self.burst_max is not None:
                window = f"{(self.interval_ms or 10_000) / 1000:g}s"
                left = "?" if self.burst_remaining is None else str(self.burst_remaining)
                out["burst left"] = f"{left}/{self.burst_max} per {window}"
            if self.daily is not None and self.daily_remaining is not None:
                out["daily left"] = f"{self.daily_remaining:,}/{self.daily:,}"
            if self.rejections:
                out["429s"] = ", ".join(f"{k} x{v}" for k, v in sorted(self.rejections.items()))
            out["api calls"] = self.requests
            return out
