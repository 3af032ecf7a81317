"""Every fault survived or reported as designed: 429 and 5xx retried (Retry-After honoured,
backoff capped), dropped and truncated responses retried, the daily limit and the budget stop
cleanly, an expired session re-authenticates once on REST and Bulk 2.0, other 4xx fail at once
naming object, query and fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
import tenacity
from tests.connectors.salesforce.conftest import config, connector, credential_env, frame, set_env
from tests.emulator.salesforce import SalesforceEmulator
from tests.emulator.server import Fault

from revgov.config import SourceConfig
from revgov.errors import (
    ApiBudgetError,
    AuthenticationError,
    VendorRequestError,
    VendorUnavailableError,
)
from revgov.pull import pull
from revgov.store import SnapshotStore

pytestmark = pytest.mark.usefixtures("sf_env")

LEADS_ONLY = {"people": {"objects": {"Contact": {"enabled": False}}}}
FIRST_PAGE = r"/queryAll/?$"
MORE_PAGES = r"/queryAll/01g"
RESULTS = r"/jobs/query/\w+/results"
LIMIT_BODY = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The retry layer's waits, recorded instead of slept."""
    seen: list[float] = []
    monkeypatch.setattr(tenacity.nap, "sleep", seen.append)
    yield seen


def _ids(org: SalesforceEmulator) -> set[str]:
    return set(org.org.frame("Lead").filter(~pl.col("IsDeleted"))["Id"])


def _pulled(source: SourceConfig) -> set[str]:
    return set(frame(list(connector(source).fetch("people")))["person_id"])


def test_429_waits_as_retry_after_says(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig], waits: list[float]
) -> None:
    org.emulator.inject(Fault(status=429, path=MORE_PAGES, headers={"Retry-After": "7"}, times=2))
    assert _pulled(make_source({}, LEADS_ONLY)) == _ids(org)
    assert waits == [7.0, 7.0]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_backs_off_with_a_cap_and_recovers(
    status: int,
    org: SalesforceEmulator,
    make_source: Callable[..., SourceConfig],
    waits: list[float],
) -> None:
    body = [{"message": "unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    org.emulator.inject(Fault(status=status, path=MORE_PAGES, body=body, times=3))
    source = make_source({"retry_max_wait": 0.25}, LEADS_ONLY)
    assert _pulled(source) == _ids(org)
    assert len(waits) == 3 and all(0 <= w <= 0.25 for w in waits)


def test_a_service_that_stays_down_is_reported_with_the_request(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig], waits: list[float]
) -> None:
    # The first request on that path is the COUNT(); the query after it keeps failing.
    org.emulator.inject(Fault(status=503, path=FIRST_PAGE, times=100, after=1))
    with pytest.raises(VendorUnavailableError) as info:
        _pulled(make_source({"retry_attempts": 4}, LEADS_ONLY))
    text = info.value.render()
    assert "Lead query" in text and "SELECT Id" in text and "HTTP 503" in text
    assert len(waits) == 3  # four attempts


@pytest.mark.parametrize(
    ("kind", "path"),
    [("drop", MORE_PAGES), ("truncate", MORE_PAGES), ("drop", RESULTS), ("truncate", RESULTS)],
)
def test_dropped_and_truncated_responses_are_retried(
    kind: str,
    path: str,
    org: SalesforceEmulator,
    make_source: Callable[..., SourceConfig],
    waits: list[float],
) -> None:
    org.emulator.inject(Fault(kind=kind, path=path, times=2))  # type: ignore[arg-type]
    options = {"bulk_threshold": 10, "page_size": 200} if path == RESULTS else {}
    assert _pulled(make_source(options, LEADS_ONLY)) == _ids(org)
    assert org.emulator.faults_fired() == 2 and len(waits) == 2


def test_an_expired_session_logs_in_again_on_rest(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.expire_on(MORE_PAGES, after=1)
    assert _pulled(make_source({}, LEADS_ONLY)) == _ids(org)
    assert org.logins == 2


def test_an_expired_session_logs_in_again_on_bulk(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.expire_on(RESULTS, after=1)
    assert _pulled(make_source({"bulk_threshold": 10, "page_size": 150}, LEADS_ONLY)) == _ids(org)
    assert org.logins == 2
    assert len(org.bulk_jobs) == 1  # the same job, read on with the new session


def test_a_session_that_expires_again_at_once_is_an_error(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    org.expire_on(FIRST_PAGE)
    org.expire_on(FIRST_PAGE)
    with pytest.raises(AuthenticationError, match="session expired and could not be renewed"):
        _pulled(make_source({}, LEADS_ONLY))
    assert org.logins == 2


@pytest.mark.parametrize(
    ("code", "fix"), [("MALFORMED_QUERY", "SOQL"), ("INVALID_FIELD", "field-level security")]
)
def test_other_4xx_fail_at_once_naming_object_query_and_fix(
    code: str,
    fix: str,
    org: SalesforceEmulator,
    make_source: Callable[..., SourceConfig],
    waits: list[float],
) -> None:
    body = [{"message": "no", "errorCode": code}]
    org.emulator.inject(Fault(status=400, path=FIRST_PAGE, body=body, after=1))
    with pytest.raises(VendorRequestError) as info:
        _pulled(make_source({}, LEADS_ONLY))
    text = info.value.render()
    assert info.value.code == "RG412"
    assert "Lead query" in text and "FROM Lead" in text and code in text and fix in text
    assert not waits


def test_the_daily_limit_stops_at_once(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig], waits: list[float]
) -> None:
    org.emulator.inject(Fault(status=403, path=MORE_PAGES, body=LIMIT_BODY))
    with pytest.raises(ApiBudgetError, match="REQUEST_LIMIT_EXCEEDED") as info:
        _pulled(make_source({}, LEADS_ONLY))
    assert "resumes" in info.value.render() and not waits


def test_the_budget_stops_before_its_share_and_the_pull_resumes(
    org: SalesforceEmulator, tmp_path: Path
) -> None:
    cfg = config({"api_budget_share": 0.5, "page_size": 200})
    org.api_used = 7_480  # of 15,000: 20 calls before half of the daily limit
    with pytest.raises(ApiBudgetError, match="50%") as info:
        pull(cfg, tmp_path / "snap", progress=False)
    assert org.api_used <= 7_500
    assert "7,500" in info.value.render() or "7,49" in info.value.render()
    stopped = SnapshotStore(tmp_path / "snap")
    assert stopped.cursors()["sf"], "pages before the stop are committed"
    org.api_used = 100  # the limit reset
    pull(cfg, tmp_path / "snap", progress=False)
    pull(cfg, tmp_path / "whole", progress=False)
    resumed, whole = (
        SnapshotStore(tmp_path / "snap").frames(),
        SnapshotStore(tmp_path / "whole").frames(),
    )
    for entity in ("people", "opportunities", "stage_events", "activities"):
        left = resumed[entity].drop("pulled_at").collect().sort(pl.all())
        right = whole[entity].drop("pulled_at").collect().sort(pl.all())
        assert left.equals(right), entity


def test_usage_is_shown_with_every_page(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    pages = list(connector(make_source({}, LEADS_ONLY)).fetch("people"))
    status = pages[-1].status
    assert status["object"] == "Lead" and status["via"] == "rest"
    assert str(status["org usage"]).endswith("/15,000 (1%)")
    assert "per-app" not in status and "/250,000" in str(status["app usage"])
    assert "/750" in str(status["bursts"])
    assert int(status["api calls"]) >= 3


def test_a_session_id_from_the_environment_is_never_renewed(
    org: SalesforceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    set_env(monkeypatch, credential_env(org, "session"))
    org.expire_on(MORE_PAGES)
    with pytest.raises(AuthenticationError, match="could not be renewed"):
        _pulled(make_source({}, LEADS_ONLY))
    assert org.logins == 0
