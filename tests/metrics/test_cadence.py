"""The weekly scoreboard, the monthly review and the quarterly reforecast."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config
from revgov.metrics import (
    monthly_pipeline_review,
    pipeline_created,
    quarterly_reforecast,
    weekly_scoreboard,
)
from revgov.metrics._examples import EXAMPLE_AS_OF


def _by_indicator(frame: Any) -> dict[tuple[str, str | None], dict[str, Any]]:
    df = to_polars(frame)
    return {(r["indicator"], r["dimension"]): r for r in df.iter_rows(named=True)}


def test_weekly_scoreboard(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    board = _by_indicator(weekly_scoreboard(ex, ex_config, as_of=datetime(2024, 3, 18)))
    # Week 03-11..03-18: p9 created; the week before: p8.
    new = board[("new_people", None)]
    assert (new["value"], new["previous"], new["change"]) == (1, 1, 0)
    # p9 fits the ICP (software, 300 employees), p8 does not (retail, 15).
    assert board[("icp_fit_rate", None)]["value"] == 1.0
    assert board[("icp_fit_rate", None)]["previous"] == 0.0
    # Pipeline created: nothing in the week; o8 (9,000) the week before.
    created = board[("pipeline_created", None)]
    assert (created["value"], created["previous"], created["change"]) == (0, 9_000, -9_000)
    assert board[("pipeline_created", None)]["better"] == "higher"
    assert board[("speed_to_lead_median_hours", None)]["better"] == "lower"
    assert ("step_conversion", "Demo") in board
    assert ("time_in_stage_median_days", "Discovery") in board


def test_scoreboard_on_duckdb_matches_polars(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    as_of = datetime(2024, 3, 18)
    polars_board = to_polars(weekly_scoreboard(ex, ex_config, as_of=as_of))
    duck = {k: duckdb.from_arrow(v.to_arrow()) for k, v in ex.items()}
    duck_board = to_polars(weekly_scoreboard(duck, ex_config, as_of=as_of))
    assert (
        duck_board.select("indicator", "dimension").rows()
        == polars_board.select("indicator", "dimension").rows()
    )
    for a, b in zip(duck_board["value"], polars_board["value"], strict=True):
        assert a == pytest.approx(b, nan_ok=True) if b is not None else a is None


def test_scoreboard_leaves_out_what_the_snapshot_lacks(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    only_deals = {"opportunities": ex["opportunities"]}
    board = _by_indicator(weekly_scoreboard(only_deals, ex_config, as_of=EXAMPLE_AS_OF))
    assert {k[0] for k in board} == {"pipeline_created"}


def test_monthly_review(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    review = monthly_pipeline_review(ex, ex_config, as_of=EXAMPLE_AS_OF)
    assert review.month == date(2024, 3, 1)
    summary = _by_indicator(review.summary)
    direct = pipeline_created(ex["opportunities"], every="1mo")
    march = direct.filter(pl.col("period") == date(2024, 3, 1))["pipeline_amount"][0]
    assert summary[("pipeline_created", None)]["value"] == march == 49_000
    assert summary[("pipeline_created", None)]["previous"] == 29_000
    assert summary[("bookings", None)]["value"] == 36_000  # o2 + o7 closed in March
    assert summary[("win_rate", None)]["value"] == pytest.approx(2 / 3)
    assert summary[("cac", None)]["value"] == 1_000
    assert set(review.tables()) == {"summary", "conversion", "leakage", "efficiency", "attribution"}
    leak = to_polars(review.leakage)
    assert set(leak["period"]) == {date(2024, 3, 1)}
    efficiency = to_polars(review.efficiency)
    assert set(efficiency["period"]) == {date(2024, 3, 1)}


def test_quarterly_reforecast(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    plan = quarterly_reforecast(ex, ex_config, as_of=EXAMPLE_AS_OF)
    assert set(plan.tables()) == {"assumptions", "scenarios", "forward", "backward", "statement"}
    backward = to_polars(plan.backward).filter(pl.col("scenario") == "base")
    targets = dict(zip(backward["segment"], backward["target_bookings"], strict=True))
    # The April bookings targets per segment become the targets to plan back from.
    assert targets == {"enterprise": 50_000, "mid": 20_000, "smb": 15_000}
    forward = to_polars(plan.forward)
    assert forward.height > 0
    assert set(forward["period"]) == {date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)}
    assert set(forward["scenario"]) == {"base", "conservative", "aggressive"}
    # Stage history is in the snapshot: the assumptions are fitted per stage as well.
    assumptions = to_polars(plan.assumptions)
    assert {"stage_win_rate", "stage_conversion"} <= set(assumptions["assumption"])
    whole = quarterly_reforecast(ex, ex_config, as_of=EXAMPLE_AS_OF, by=None, target=90_000)
    assert to_polars(whole.backward)["target_bookings"].unique().to_list() == [90_000]


def test_reforecast_without_people(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    frames = {k: ex[k] for k in ("opportunities", "stage_events", "targets")}
    plan = quarterly_reforecast(frames, ex_config, as_of=EXAMPLE_AS_OF, by=None, target=60_000)
    forward = to_polars(plan.forward).filter(pl.col("scenario") == "base")
    # The forward forecast needs only the deals: o4, o5, o6 at their stages' win rates.
    assert forward["expected_bookings"].sum() == pytest.approx(8_000 + 11_250 + 24_000)
    backward = to_polars(plan.backward).filter(pl.col("scenario") == "base").row(0, named=True)
    # The plan starts from the gap the open pipeline leaves (43,250 expected of 60,000).
    assert backward["expected_from_open_pipeline"] == pytest.approx(43_250)
    assert backward["gap_to_target"] == pytest.approx(60_000 - 43_250)
    assert backward["opportunities_needed"] == pytest.approx((60_000 - 43_250) / 16_000 / 0.6)
    statement = to_polars(plan.statement)
    said = dict(zip(statement["item"], statement["statement"], strict=False))
    assert said["target"] == "target from the target given (--target)"
    assert backward["mqls_needed"] is None
    assert "mql_to_sql (needs people with mql_at)" in backward["missing"]


def test_reforecast_splits_spend_by_segment_when_spend_has_it(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    # Every spend line names a segment: the cost per MQL is per segment, not one for all.
    spend = ex["spend"].with_columns(
        pl.when(pl.col("channel") == "paid-search")
        .then(pl.lit("smb"))
        .otherwise(pl.lit("mid"))
        .alias("segment")
    )
    plan = quarterly_reforecast({**ex, "spend": spend}, ex_config, as_of=EXAMPLE_AS_OF)
    cost = to_polars(plan.assumptions).filter(pl.col("assumption") == "cost_per_mql")
    got = dict(zip(cost["segment"], cost["value"], strict=True))
    # smb: 6,000 paid search over January to March, MQLs p5 p6, p7, p8. mid: 3,500 webinar
    # and email in January, MQLs p1 p2 (p9 came in March, a month without mid spend).
    assert got == {"smb": pytest.approx(6_000 / 4), "mid": pytest.approx(3_500 / 2)}
    # Without a segment on the spend lines, one cost per MQL applies to every segment.
    whole = quarterly_reforecast(ex, ex_config, as_of=EXAMPLE_AS_OF)
    pooled = to_polars(whole.assumptions).filter(pl.col("assumption") == "cost_per_mql")
    assert pooled["value"].to_list() == pytest.approx([9_500 / 9] * 3)
