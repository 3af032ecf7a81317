"""The weekly scoreboard, the monthly review and the quarterly reforecast."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config
from revgov.errors import MetricInputError
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
    assert set(plan.tables()) == {"assumptions", "scenarios", "forward", "backward"}
    backward = to_polars(plan.backward).filter(pl.col("scenario") == "base")
    targets = dict(zip(backward["segment"], backward["target_bookings"], strict=True))
    # The April bookings targets per segment become the targets to plan back from.
    assert targets == {"enterprise": 50_000, "mid": 20_000, "smb": 15_000}
    forward = to_polars(plan.forward)
    assert set(forward["period"]) <= {date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)}
    whole = quarterly_reforecast(ex, ex_config, as_of=EXAMPLE_AS_OF, by=None, target=90_000)
    assert to_polars(whole.backward)["target_bookings"].unique().to_list() == [90_000]


def test_reforecast_needs_people(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    with pytest.raises(MetricInputError, match="people"):
        quarterly_reforecast({"opportunities": ex["opportunities"]}, ex_config)
