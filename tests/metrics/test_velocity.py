"""Win rates, deal size, cycle length, time in stage and velocity (hand-computed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config, KPIChoices
from revgov.metrics import (
    DAYS_PER_MONTH,
    average_deal_size,
    sales_cycle_days,
    sales_velocity,
    time_in_stage,
    win_rate,
    win_rate_by_amount,
    win_rate_by_count,
)
from revgov.metrics._examples import EXAMPLE_AS_OF

Eng = Callable[[pl.DataFrame], Any]


def test_win_rate_by_count(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(win_rate_by_count(eng(ex["opportunities"]), by="segment"))
    got = {r["segment"]: (r["won"], r["closed"], r["win_rate"]) for r in out.iter_rows(named=True)}
    assert got == {
        "enterprise": (1, 1, 1.0),
        "mid": (1, 1, 1.0),
        "smb": (1, 3, pytest.approx(1 / 3)),
    }


def test_win_rate_by_amount(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(win_rate_by_amount(eng(ex["opportunities"]))).row(0, named=True)
    assert (row["won_amount"], row["closed_amount"]) == (48_000, 62_000)
    assert row["win_rate"] == pytest.approx(48 / 62)


def test_win_rate_follows_the_configured_basis(ex: dict[str, pl.DataFrame]) -> None:
    opps = ex["opportunities"]
    assert win_rate(opps)["win_rate"][0] == 0.6
    amount = win_rate(opps, choices=KPIChoices(win_rate_basis="amount"))
    assert amount["win_rate"][0] == pytest.approx(48 / 62)


def test_win_rate_with_nothing_closed_is_null() -> None:
    opps = pl.DataFrame(
        {
            "is_closed": [False],
            "is_won": [False],
            "close_date": [date(2024, 1, 1)],
            "segment": ["x"],
        }
    )
    out = win_rate_by_count(opps, by="segment")
    assert out.height == 0
    total = win_rate_by_count(opps)
    assert total.row(0, named=True) == {"closed": 0, "won": 0, "win_rate": None}


def test_average_deal_size(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(average_deal_size(eng(ex["opportunities"]))).row(0, named=True)
    assert row == {
        "won_deals": 3,
        "deals_with_amount": 3,
        "bookings": 48_000.0,
        "average_deal_size": 16_000.0,
    }


def _blank_amounts(ex: dict[str, pl.DataFrame], *ids: str) -> pl.DataFrame:
    blank = pl.col("opportunity_id").is_in(list(ids))
    return ex["opportunities"].with_columns(
        pl.when(blank).then(None).otherwise(pl.col("amount")).alias("amount")
    )


def test_blank_amounts_are_left_out_of_the_deal_size(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    # o2 (30,000) won without an amount: the mean is over o1 and o7, not three deals.
    opps = eng(_blank_amounts(ex, "o2"))
    row = to_polars(average_deal_size(opps)).row(0, named=True)
    assert row == {
        "won_deals": 3,
        "deals_with_amount": 2,
        "bookings": 18_000.0,
        "average_deal_size": 9_000.0,
    }
    velocity = to_polars(sales_velocity(opps, as_of=EXAMPLE_AS_OF)).row(0, named=True)
    assert velocity["average_deal_size"] == 9_000.0


def test_deal_size_of_deals_without_amounts_is_null(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    opps = eng(_blank_amounts(ex, *[f"o{i}" for i in range(1, 9)]))
    row = to_polars(average_deal_size(opps)).row(0, named=True)
    assert (row["won_deals"], row["deals_with_amount"]) == (3, 0)
    assert row["bookings"] is None and row["average_deal_size"] is None
    assert to_polars(win_rate_by_amount(opps)).row(0, named=True)["win_rate"] is None
    velocity = to_polars(sales_velocity(opps, as_of=EXAMPLE_AS_OF)).row(0, named=True)
    assert velocity["average_deal_size"] is None and velocity["velocity_per_day"] is None


def test_sales_cycle_days(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    won = to_polars(sales_cycle_days(eng(ex["opportunities"]))).row(0, named=True)
    # o1 46 days, o2 65 (2024 is a leap year), o7 49
    assert (won["deals"], won["median_days"], won["min_days"], won["max_days"]) == (3, 49, 46, 65)
    assert won["mean_days"] == pytest.approx(160 / 3)
    lost = to_polars(sales_cycle_days(eng(ex["opportunities"]), outcome="lost")).row(0, named=True)
    assert (lost["deals"], lost["median_days"]) == (2, 22)  # o3 21, o8 23
    closed = to_polars(sales_cycle_days(eng(ex["opportunities"]), outcome="closed"))
    assert closed["deals"][0] == 5


def test_sales_cycle_calendar_against_elapsed(eng: Eng) -> None:
    opps = pl.DataFrame(
        {
            "created_at": [datetime(2024, 1, 1, 23, 0, tzinfo=UTC)],
            "closed_at": [datetime(2024, 1, 2, 1, 0, tzinfo=UTC)],
            "is_won": [True],
        }
    )
    calendar = to_polars(sales_cycle_days(eng(opps))).row(0, named=True)
    fractional = to_polars(sales_cycle_days(eng(opps), calendar=False)).row(0, named=True)
    assert calendar["median_days"] == 1.0
    assert fractional["median_days"] == pytest.approx(2 / 24)


def test_time_in_stage(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    out = to_polars(
        time_in_stage(eng(ex["stage_events"]), as_of=EXAMPLE_AS_OF, pipelines=ex_config.pipelines)
    )
    got = {r["stage"]: r for r in out.iter_rows(named=True)}
    assert set(got) == {"Discovery", "Demo", "Proposal"}  # no time is spent in Won or Lost
    disc = got["Discovery"]
    # stays 10, 10, 21, 9, 24, 20, 7 and o6's open stay from 03-01 10:00 to 04-01 00:00
    open_stay = 30 + 14 / 24
    assert (disc["stays"], disc["open_stays"]) == (8, 1)
    assert disc["median_days"] == 15.0
    assert disc["mean_days"] == pytest.approx((10 + 10 + 21 + 9 + 24 + 20 + 7 + open_stay) / 8)
    demo = got["Demo"]
    assert (demo["stays"], demo["open_stays"], demo["median_days"]) == (5, 1, 20.0)
    assert got["Proposal"]["median_days"] == pytest.approx(26.5)


def test_time_in_stage_as_of_an_earlier_moment(ex: dict[str, pl.DataFrame]) -> None:
    out = time_in_stage(ex["stage_events"], as_of=datetime(2024, 1, 16), terminal_stages=["won"])
    got = {r["stage"]: r for r in out.iter_rows(named=True)}
    # On 01-16: o1 left Discovery on 01-15 (10 days) and has been in Demo since 01-15 10:00;
    # o2 (since 01-10 10:00) and o3 (since 01-20: not yet) -> o2 is open in Discovery.
    assert got["Discovery"]["stays"] == 2
    assert got["Discovery"]["open_stays"] == 1
    assert got["Demo"]["mean_days"] == pytest.approx(14 / 24)


def test_time_in_stage_by_deal_attribute(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    out = time_in_stage(
        ex["stage_events"],
        as_of=EXAMPLE_AS_OF,
        pipelines=ex_config.pipelines,
        opportunities=ex["opportunities"],
        by="segment",
    )
    proposal = out.filter(pl.col("stage") == "Proposal")
    got = dict(zip(proposal["segment"], proposal["stays"], strict=True))
    assert got == {"enterprise": 1, "mid": 1, "smb": 2}


def test_sales_velocity(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(sales_velocity(eng(ex["opportunities"]), as_of=EXAMPLE_AS_OF)).row(
        0, named=True
    )
    assert row["open_opportunities"] == 3  # o4, o5, o6
    assert row["win_rate"] == 0.6
    assert row["average_deal_size"] == 16_000
    assert row["cycle_days"] == pytest.approx(160 / 3)
    assert row["velocity_per_day"] == pytest.approx(3 * 0.6 * 16_000 / (160 / 3))
    assert row["velocity_per_month"] == pytest.approx(row["velocity_per_day"] * DAYS_PER_MONTH)
    assert row["window_days"] == 365


def test_sales_velocity_as_of_the_past(ex: dict[str, pl.DataFrame]) -> None:
    row = sales_velocity(ex["opportunities"], as_of=datetime(2024, 3, 1)).row(0, named=True)
    # Open on 03-01: o2 and o7 (closed later), o4, o5, o6; closed before: o1 won, o3 lost.
    assert row["open_opportunities"] == 5
    assert (row["win_rate"], row["average_deal_size"], row["cycle_days"]) == (0.5, 12_000, 46)
    short = sales_velocity(ex["opportunities"], as_of=EXAMPLE_AS_OF, window_days=10)
    # Only o7 (won 03-25) and o8 (lost 03-28) closed in the 10 days before 04-01.
    assert short.row(0, named=True)["win_rate"] == 0.5


def test_sales_velocity_with_no_history_is_null() -> None:
    opps = pl.DataFrame(
        {
            "created_at": [datetime(2024, 1, 1)],
            "amount": [10.0],
            "is_closed": [False],
            "is_won": [False],
            "close_date": [date(2024, 5, 1)],
        }
    )
    row = sales_velocity(opps, as_of=datetime(2024, 2, 1)).row(0, named=True)
    assert row["open_opportunities"] == 1
    assert row["velocity_per_day"] is None


def test_sales_velocity_by_month(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(sales_velocity(eng(ex["opportunities"]), as_of=EXAMPLE_AS_OF, every="1mo"))
    got = {r["period"]: r for r in out.iter_rows(named=True)}
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    assert set(got) == {jan, feb, mar}
    # Open at each month's end: January o1 o2 o3; February +o4 o5 o7, -o1 o3: 4; March +o6
    # o8, -o2 o7 o8: 3 (o4, o5, o6).
    assert [got[m]["open_opportunities"] for m in (jan, feb, mar)] == [3, 4, 3]
    # Each month is its own window: February closed o1 (won, 46 days) and o3 (lost).
    assert (got[feb]["win_rate"], got[feb]["average_deal_size"], got[feb]["cycle_days"]) == (
        0.5,
        12_000,
        46,
    )
    assert got[mar]["win_rate"] == pytest.approx(2 / 3)
    assert got[mar]["velocity_per_day"] == pytest.approx(3 * (2 / 3) * 18_000 / 57)
    assert got[jan]["win_rate"] is None and got[jan]["velocity_per_day"] is None
    assert set(out["window_days"]) == {None}


def test_sales_velocity_by_month_stops_at_as_of(ex: dict[str, pl.DataFrame]) -> None:
    out = sales_velocity(ex["opportunities"], as_of=datetime(2024, 2, 15), every="1mo")
    feb = out.filter(pl.col("period") == date(2024, 2, 1)).row(0, named=True)
    # By 02-15: created o1-o5 and o7; closed o3 (02-10). o1 won on 02-20 is still open.
    assert feb["open_opportunities"] == 5
    assert feb["win_rate"] == 0.0
