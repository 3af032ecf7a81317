"""What every CRM connector shares to survive a vendor's API: retries, rate limits, budgets.

A connector wraps each vendor call in :meth:`Resilience.call` and gives it a *classifier*: a
function that looks at an exception (by status and vendor error code, never by message text)
and says which :class:`FailureKind` it is. The layer then does the same thing for every vendor:

=================  ==========================================================================
kind               what happens
=================  ==========================================================================
RATE_LIMITED       wait ``retry_after`` (the vendor's Retry-After or rate-limit headers), or
                   back off exponentially with jitter; retry up to the policy's limits, then
                   :class:`~revgov.errors.RateLimitedError`
TRANSIENT          5xx, dropped connections, truncated bodies: exponential backoff with jitter
                   and a cap, then :class:`~revgov.errors.VendorUnavailableError`
SESSION_EXPIRED    re-authenticate once (the connector's ``reauthenticate``) and retry; a
                   second expiry in the same call is :class:`~revgov.errors.AuthenticationError`
BUDGET_EXHAUSTED   stop at once with :class:`~revgov.errors.ApiBudgetError` (a daily limit):
                   the pages committed so far are kept, the next pull resumes
FATAL              any other 4xx: :class:`~revgov.errors.VendorRequestError` at once, naming
                   what was asked (object, query) and the fix
=================  ==========================================================================

Retries run on tenacity; the client-side rate limiter is pyrate-limiter (a sliding window),
resized when the vendor's headers announce the real limit. :class:`ApiBudget` tracks the
vendor's own count of calls used against its daily allowance and stops a pull before it passes
a configurable share. Messages carry status codes and vendor error codes only, never
credentials or response bodies that could echo them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar, cast

from pyrate_limiter import Duration, Limiter, Rate
from tenacity import (
    RetryCallState,
    Retrying,
    nap,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from revgov.errors import (
    ApiBudgetError,
    AuthenticationError,
    RateLimitedError,
    RevgovError,
    VendorRequestError,
    VendorUnavailableError,
)

__all__ = [
    "ApiBudget",
    "Failure",
    "FailureKind",
    "RateLimiter",
    "Resilience",
    "RetryPolicy",
]

T = TypeVar("T")


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    SESSION_EXPIRED = "session_expired"
    BUDGET_EXHAUSTED = "budget_exhausted"
    FATAL = "fatal"


_RETRIED = frozenset({FailureKind.RATE_LIMITED, FailureKind.TRANSIENT})


@dataclass(frozen=True)
class Failure:
    """What a classifier says about one exception."""

    kind: FailureKind
    #: What failed, safe to show: status and vendor error code, e.g. ``HTTP 400 INVALID_FIELD``.
    detail: str
    #: Seconds the vendor asked us to wait (Retry-After, rate-limit headers), if it said.
    retry_after: float | None = None
    #: How to fix it (FATAL and BUDGET_EXHAUSTED failures), shown to the user.
    hint: str | None = None


#: Looks at an exception raised by a vendor call; None means "not a vendor failure": re-raise.
Classifier = Callable[[BaseException], Failure | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long the layer keeps trying. Connectors expose these as source options."""

    attempts: int = 8
    initial_wait: float = 0.5
    max_wait: float = 60.0
    #: Give up after this many seconds of retrying one call, whatever the attempt count.
    max_elapsed: float = 900.0
    #: Never wait longer than this for a single Retry-After (a daily limit asks for hours).
    max_retry_after: float = 300.0


class RateLimiter:
    """A client-side sliding-window limit: at most ``limit`` calls per ``interval`` seconds.

    ``headroom`` keeps a share of the window free for other users of the same app. The limit
    can be changed when the vendor's headers reveal the real one (:meth:`resize`).
    """

    def __init__(self, limit: int, interval: float, *, headroom: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.interval = interval
        self.headroom = headroom
        self.limit = 0
        self._limiter: Limiter | None = None
        self.resize(limit)

    def resize(self, limit: int, interval: float | None = None) -> None:
        """Use a new per-interval limit (e.g. from ``X-HubSpot-RateLimit-Max``), and a new
        window length if the vendor names one (``X-HubSpot-RateLimit-Interval-Milliseconds``)."""
        effective = max(1, int(limit * (1.0 - self.headroom)))
        with self._lock:
            if effective == self.limit and (interval is None or interval == self.interval):
                return
            self.limit = effective
            if interval is not None:
                self.interval = interval
            rate = Rate(effective, int(Duration.SECOND * self.interval))
            self._limiter = Limiter(rate)

    def acquire(self) -> None:
        """Block until one more call fits in the window."""
        with self._lock:
            limiter = self._limiter
        assert limiter is not None
        limiter.try_acquire("revgov", blocking=True)


@dataclass
class ApiBudget:
    """The vendor's own count of API calls against its allowance, and where a pull stops.

    ``update`` is fed from response headers (Salesforce's ``Sforce-Limit-Info``, HubSpot's
    ``X-HubSpot-RateLimit-Daily-Remaining``); :meth:`check` raises
    :class:`~revgov.errors.ApiBudgetError` before the call that would pass ``stop_share`` of
    the allowance.
    """

    stop_share: float = 0.5
    used: int | None = None
    limit: int | None = None
    #: Calls this process made (whatever the vendor counts).
    calls: int = 0
    what: str = "the API's daily allowance"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, used: int, limit: int) -> None:
        with self._lock:
            self.used, self.limit = used, limit

    def count_call(self) -> None:
        with self._lock:
            self.calls += 1
            if self.used is not None:
                self.used += 1

    @property
    def share_used(self) -> float | None:
        if self.used is None or not self.limit:
            return None
        return self.used / self.limit

    def check(self) -> None:
        if self.used is None or not self.limit:
            return
        if self.used + 1 > self.stop_share * self.limit:
            raise ApiBudgetError(
                f"stopped before passing {self.stop_share:.0%} of {self.what}: "
                f"{self.used:,} of {self.limit:,} calls used; every page pulled so far is saved",
                hint="run the pull again after the allowance resets, or raise the source's "
                "`api_budget_share` option",
            )


class Resilience:
    """Runs vendor calls with the shared retry, rate-limit and budget behaviour."""

    def __init__(
        self,
        classify: Classifier,
        *,
        policy: RetryPolicy | None = None,
        reauthenticate: Callable[[], None] | None = None,
        limiter: RateLimiter | None = None,
        budget: ApiBudget | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.classify = classify
        self.policy = policy or RetryPolicy()
        self.reauthenticate = reauthenticate
        self.limiter = limiter
        self.budget = budget
        self._sleep = sleep
        #: Failures retried so far, by kind (shown in progress output and tests).
        self.retries: dict[FailureKind, int] = {}
        # Calls may run on several threads (a connector's concurrent requests).
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], T], *, what: str, limiter: RateLimiter | None = None) -> T:
        """``fn()`` with retries; ``what`` names the request for errors (object and query).

        ``limiter`` is a second window this call must also fit in (e.g. an endpoint with a
        lower limit of its own, such as HubSpot's search API), acquired before every attempt.
        """
        reauthenticated = False
        while True:
            try:
                return self._retrying(fn, what, limiter)
            except _SessionExpiredError as expired:
                if reauthenticated or self.reauthenticate is None:
                    raise AuthenticationError(
                        f"{what}: the session expired and could not be renewed "
                        f"({expired.failure.detail})",
                        hint="check the connector's credentials in the environment",
                    ) from expired.__cause__
                reauthenticated = True
                self.reauthenticate()

    def _retrying(self, fn: Callable[[], T], what: str, limiter: RateLimiter | None) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts)
            | stop_after_delay(self.policy.max_elapsed),
            wait=self._wait,
            retry=retry_if_exception(self._is_retried),
            before_sleep=self._count_retry,
            reraise=True,
            sleep=self._sleep or nap.sleep,
        )
        try:
            return cast(T, retrying(self._attempt, fn, limiter))
        except RevgovError:
            raise
        except Exception as exc:
            failure = self.classify(exc)
            if failure is None:
                raise
            raise self._error(failure, what) from exc

    def _attempt(self, fn: Callable[[], T], limiter: RateLimiter | None) -> T:
        if self.budget is not None:
            self.budget.check()
        if limiter is not None:
            limiter.acquire()
        if self.limiter is not None:
            self.limiter.acquire()
        if self.budget is not None:
            self.budget.count_call()
        try:
            return fn()
        except Exception as exc:
            failure = self.classify(exc)
            if failure is not None and failure.kind is FailureKind.SESSION_EXPIRED:
                raise _SessionExpiredError(failure) from exc
            raise

    def _is_retried(self, exc: BaseException) -> bool:
        failure = self.classify(exc)
        return failure is not None and failure.kind in _RETRIED

    def _count_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        failure = self.classify(exc) if exc is not None else None
        if failure is not None:
            with self._lock:
                self.retries[failure.kind] = self.retries.get(failure.kind, 0) + 1

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        failure = self.classify(exc) if exc is not None else None
        if failure is not None and failure.retry_after is not None:
            return min(max(failure.retry_after, 0.0), self.policy.max_retry_after)
        backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait
        )
        return float(backoff(state))

    @staticmethod
    def _error(failure: Failure, what: str) -> RevgovError:
        message = f"{what}: {failure.detail}"
        if failure.kind is FailureKind.RATE_LIMITED:
            return RateLimitedError(
                f"{message} (still rate-limited after every retry)",
                hint=failure.hint or "run the pull again later, or lower its request rate",
            )
        if failure.kind is FailureKind.TRANSIENT:
            return VendorUnavailableError(
                f"{message} (still failing after every retry)",
                hint=failure.hint
                or "the vendor's service is failing; run the pull again "
                "later: it resumes from the last committed page",
            )
        if failure.kind is FailureKind.BUDGET_EXHAUSTED:
            return ApiBudgetError(
                f"{message}; every page pulled so far is saved",
                hint=failure.hint or "run the pull again after the allowance resets",
            )
        return VendorRequestError(message, hint=failure.hint)


class _SessionExpiredError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure
