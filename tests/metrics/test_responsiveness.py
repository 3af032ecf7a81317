"""Speed to lead and SLA compliance in business hours (hand-computed), and the business
clock against a minute-by-minute count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.metrics.conftest import to_polars

from revgov.config import BusinessHours, Config, SLAConfig
from revgov.definitions.calendar import BusinessCalendar
from revgov.metrics import sla_compliance_rate, speed_to_lead
from revgov.metrics._examples import EXAMPLE_AS_OF

Eng = Callable[[pl.DataFrame], Any]


def test_speed_to_lead(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    out = to_polars(
        speed_to_lead(eng(ex["people"]), eng(ex["activities"]), sla=ex_config.sla, by="segment")
    )
    got = {r["segment"]: r for r in out.iter_rows(named=True)}
    # From mql_at, New York business hours 9-17, holiday 2024-01-15 (see docs/metrics.md):
    # enterprise p3 0h (called before hours), p4 17h (Tue 06:30 -> Thu 10:00)
    assert got["enterprise"]["mean_hours"] == pytest.approx(8.5)
    # mid: p1 1.5h, p2 0h (weekend MQL, Monday 05:00 email), p9 7.5h (after the DST change)
    assert got["mid"]["median_hours"] == pytest.approx(1.5)
    assert got["mid"]["mean_hours"] == pytest.approx(3.0)
    # smb: p5 1h (Friday 17:30, Monday a holiday, Tuesday 10:00), p6 2.5h, p7 6.5h; p8 only
    # had a task: not contacted; p10 never became an MQL: not a lead to work.
    smb = got["smb"]
    assert (smb["leads"], smb["contacted"], smb["contact_rate"]) == (4, 3, 0.75)
    assert smb["mean_hours"] == pytest.approx(10 / 3)
    assert smb["median_hours"] == pytest.approx(2.5)


def test_speed_to_lead_from_creation(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    out = speed_to_lead(ex["people"], ex["activities"], sla=ex_config.sla, start="created_at")
    # p1 now waits from 09:00 (2h), p7 from 10:00 (7h), p9 from 09:00 (8h); p10 is a lead.
    row = out.row(0, named=True)
    assert (row["leads"], row["contacted"]) == (10, 8)
    assert row["mean_hours"] == pytest.approx((2 + 0 + 0 + 17 + 1 + 2.5 + 7 + 8) / 8)


def test_speed_to_lead_counts_only_qualifying_types(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    with_tasks = speed_to_lead(
        ex["people"],
        ex["activities"],
        sla=ex_config.sla,
        types=["call", "email", "meeting", "task"],
    )
    assert with_tasks["contacted"][0] == 9  # p8's task now counts


def test_sla_compliance(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    row = to_polars(
        sla_compliance_rate(
            eng(ex["people"]), eng(ex["activities"]), sla=ex_config.sla, as_of=EXAMPLE_AS_OF
        )
    ).row(0, named=True)
    # met: p1 1.5h, p2 0h, p3 0h (enterprise SLA 2h), p5 1h, p6 2.5h
    # breached: p4 17h (> 2h enterprise), p7 6.5h, p9 7.5h, p8 untouched for weeks
    assert (row["leads"], row["met"], row["breached"], row["pending"]) == (9, 5, 4, 0)
    assert row["sla_compliance_rate"] == pytest.approx(5 / 9)
    # From creation, p10 (created Friday 13:45 EDT, 3.25 business hours before as_of) is
    # pending rather than absent.
    created = sla_compliance_rate(
        ex["people"], ex["activities"], sla=ex_config.sla, as_of=EXAMPLE_AS_OF, start="created_at"
    ).row(0, named=True)
    assert (created["leads"], created["pending"]) == (10, 1)


def test_sla_compliance_ignores_touches_after_as_of(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    row = sla_compliance_rate(
        ex["people"], ex["activities"], sla=ex_config.sla, as_of=datetime(2024, 1, 2, 15)
    ).row(0, named=True)
    # Only p1 is an MQL yet (09:30 NY); by 10:00 NY the 11:00 call has not happened: pending.
    assert (row["leads"], row["met"], row["breached"], row["pending"]) == (1, 0, 0, 1)
    assert row["sla_compliance_rate"] is None


def test_business_hours_must_end_after_they_start() -> None:
    # The [sla] model refuses the calendar itself, so no KPI (or rule) ever meets it.
    with pytest.raises(ValidationError, match="business hours cannot run past midnight"):
        SLAConfig(business_hours=BusinessHours(start=time(17), end=time(9)))


def _minutes(start: datetime, end: datetime, sla: SLAConfig) -> float:
    """Business seconds by walking minute by minute (start and end on whole minutes)."""
    zone = ZoneInfo(sla.timezone)
    hours = sla.business_hours
    total = 0.0
    t = start
    while t < end:
        local = t.replace(tzinfo=UTC).astimezone(zone)
        if (
            local.isoweekday() in hours.working_days
            and local.date() not in sla.holidays
            and hours.start <= local.time().replace(tzinfo=None) < hours.end
        ):
            total += 60
        t += timedelta(minutes=1)
    return total


_SLAS = [
    SLAConfig(timezone="America/New_York", holidays=[date(2024, 3, 11), date(2024, 11, 4)]),
    SLAConfig(
        timezone="Europe/Berlin",
        business_hours=BusinessHours(start=time(8, 30), end=time(18), working_days=[1, 2, 3, 4, 6]),
        holidays=[date(2024, 3, 29)],
    ),
    SLAConfig(timezone="Asia/Kolkata"),
    SLAConfig(),
]


@settings(max_examples=25, deadline=None)
@given(
    sla_index=st.integers(0, len(_SLAS) - 1),
    start_min=st.integers(0, 60 * 24 * 300),
    length_min=st.integers(0, 60 * 24 * 9),
)
def test_business_clock_matches_a_minute_walk(
    sla_index: int, start_min: int, length_min: int
) -> None:
    sla = _SLAS[sla_index]
    start = datetime(2024, 1, 1) + timedelta(minutes=start_min)
    end = start + timedelta(minutes=length_min)
    expected = _minutes(start, end, sla)
    frame = pl.DataFrame({"s": [start], "e": [end]})
    for native in (frame.lazy(), duckdb.from_arrow(frame.to_arrow())):
        calendar = BusinessCalendar.from_sla(sla)
        lf = calendar.add_business_seconds(nw.from_native(native), "s", "e", "b")
        got = lf.collect(backend="polars")["b"][0]
        assert got == pytest.approx(expected), (native, start, end)


def test_speed_to_lead_is_measured_as_of(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    row = speed_to_lead(
        ex["people"], ex["activities"], sla=ex_config.sla, as_of=datetime(2024, 1, 2, 15)
    ).row(0, named=True)
    # As sla_compliance_rate: only p1 is an MQL by then, and its 16:00 call has not happened.
    assert (row["leads"], row["contacted"], row["median_hours"]) == (1, 0, None)
    later = speed_to_lead(
        ex["people"], ex["activities"], sla=ex_config.sla, as_of=datetime(2024, 1, 3)
    ).row(0, named=True)
    assert (later["leads"], later["contacted"], later["median_hours"]) == (1, 1, 1.5)
