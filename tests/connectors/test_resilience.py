"""The shared resilience layer: which failures are retried, how long it waits, when it stops."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from revgov.connectors._resilience import (
    ApiBudget,
    Failure,
    FailureKind,
    RateLimiter,
    Resilience,
    RetryPolicy,
)
from revgov.errors import (
    ApiBudgetError,
    AuthenticationError,
    RateLimitedError,
    VendorRequestError,
    VendorUnavailableError,
)


class VendorError(Exception):
    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def classify(exc: BaseException) -> Failure | None:
    if not isinstance(exc, VendorError):
        return None
    detail = f"HTTP {exc.status}"
    if exc.status == 429:
        return Failure(FailureKind.RATE_LIMITED, detail, retry_after=exc.retry_after)
    if exc.status == 401:
        return Failure(FailureKind.SESSION_EXPIRED, detail)
    if exc.status == 403:
        return Failure(FailureKind.BUDGET_EXHAUSTED, detail, hint="wait for tomorrow")
    if exc.status >= 500:
        return Failure(FailureKind.TRANSIENT, detail)
    return Failure(FailureKind.FATAL, detail, hint="fix the query")


def failing(*errors: Exception, result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A call that raises each of ``errors`` in turn, then returns ``result``."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def layer(**kw: object) -> tuple[Resilience, list[float]]:
    slept: list[float] = []
    policy = RetryPolicy(attempts=4, initial_wait=0.5, max_wait=8.0)
    return Resilience(classify, policy=policy, sleep=slept.append, **kw), slept  # type: ignore[arg-type]


def test_transient_failures_back_off_then_succeed() -> None:
    res, slept = layer()
    call, calls = failing(VendorError(503), VendorError(500))
    assert res.call(call, what="Lead query") == "ok"
    assert len(calls) == 3
    assert len(slept) == 2 and all(0 <= s <= 8.0 for s in slept)
    assert res.retries == {FailureKind.TRANSIENT: 2}


def test_retry_after_is_honoured_and_capped() -> None:
    res, slept = layer()
    call, _ = failing(VendorError(429, retry_after=3.0), VendorError(429, retry_after=10_000))
    assert res.call(call, what="search") == "ok"
    assert slept == [3.0, RetryPolicy().max_retry_after]


def test_persistent_failures_become_revgov_errors_naming_the_request() -> None:
    res, _ = layer()
    call, calls = failing(*[VendorError(502)] * 10)
    with pytest.raises(VendorUnavailableError, match=r"Lead query: HTTP 502.*every retry"):
        res.call(call, what="Lead query")
    assert len(calls) == 4
    call, _ = failing(*[VendorError(429)] * 10)
    with pytest.raises(RateLimitedError, match="still rate-limited"):
        res.call(call, what="Lead query")


def test_fatal_and_budget_failures_are_not_retried() -> None:
    res, slept = layer()
    call, calls = failing(VendorError(400))
    with pytest.raises(VendorRequestError) as err:
        res.call(call, what="Opportunity query 'SELECT Id FROM Opportunity'")
    assert len(calls) == 1 and slept == []
    assert "SELECT Id FROM Opportunity" in str(err.value) and err.value.hint == "fix the query"
    call, calls = failing(VendorError(403))
    with pytest.raises(ApiBudgetError, match="saved"):
        res.call(call, what="x")
    assert len(calls) == 1


def test_an_expired_session_is_renewed_once() -> None:
    renewals: list[int] = []
    res, _ = layer(reauthenticate=lambda: renewals.append(1))
    call, calls = failing(VendorError(401))
    assert res.call(call, what="x") == "ok"
    assert renewals == [1] and len(calls) == 2
    renewals.clear()
    call, _ = failing(VendorError(401), VendorError(401))
    with pytest.raises(AuthenticationError, match="could not be renewed"):
        res.call(call, what="x")
    assert renewals == [1]


def test_unknown_exceptions_pass_through_untouched() -> None:
    res, _ = layer()
    call, calls = failing(KeyError("bug"))
    with pytest.raises(KeyError):
        res.call(call, what="x")
    assert len(calls) == 1


def test_budget_stops_before_the_call_that_would_pass_the_share() -> None:
    budget = ApiBudget(stop_share=0.5)
    budget.update(used=48, limit=100)
    res, _ = layer(budget=budget)
    call, calls = failing()
    assert res.call(call, what="x") == "ok"  # the 49th call
    assert res.call(call, what="x") == "ok"  # the 50th call reaches the share exactly
    with pytest.raises(ApiBudgetError, match="50 of 100 calls used"):
        res.call(call, what="x")
    assert len(calls) == 2 and budget.calls == 2 and budget.share_used == 0.5


def test_limiter_blocks_the_call_past_its_window() -> None:
    limiter = RateLimiter(3, 60.0)
    for _ in range(3):
        limiter.acquire()
    fourth = threading.Thread(target=limiter.acquire, daemon=True)
    fourth.start()
    fourth.join(timeout=0.5)
    assert fourth.is_alive(), "the fourth call in a 3-per-minute window must wait"


def test_limiter_resizes_and_keeps_headroom() -> None:
    limiter = RateLimiter(100, 10.0, headroom=0.1)
    assert limiter.limit == 90
    limiter.resize(190)
    assert limiter.limit == 171


def test_resize_can_change_the_window_too() -> None:
    limiter = RateLimiter(100, 10.0, headroom=0.05)
    limiter.resize(30, 1.0)  # e.g. X-HubSpot-RateLimit-Max 30, -Interval-Milliseconds 1000
    assert (limiter.limit, limiter.interval) == (28, 1.0)
    for _ in range(28):
        limiter.acquire()
    blocked = threading.Thread(target=limiter.acquire, daemon=True)
    blocked.start()
    blocked.join(timeout=0.2)
    assert blocked.is_alive(), "the 29th call in a 28-per-second window must wait"
    blocked.join(timeout=5)
    assert not blocked.is_alive(), "and go once the window has moved on"


def test_a_call_can_also_fit_an_endpoints_own_window() -> None:
    res, _ = layer(limiter=RateLimiter(100, 60.0))
    search = RateLimiter(1, 60.0)  # an endpoint with a lower limit of its own
    call, calls = failing()
    assert res.call(call, what="search", limiter=search) == "ok"
    assert res.call(call, what="list") == "ok"  # other calls are not held by it
    second = threading.Thread(
        target=lambda: res.call(call, what="search", limiter=search), daemon=True
    )
    second.start()
    second.join(timeout=0.3)
    assert second.is_alive() and len(calls) == 2
