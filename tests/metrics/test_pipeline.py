"""Pipeline volume and coverage on the example CRM, hand-computed, on every engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config, KPIChoices, QualifiedDefinition
from revgov.errors import MetricInputError
from revgov.metrics import (
    bookings,
    pipeline_coverage,
    pipeline_created,
    qualified_pipeline,
    required_coverage,
)

Eng = Callable[[pl.DataFrame], Any]


def rows(result: Any, *keys: str) -> dict[Any, dict[str, Any]]:
    df = to_polars(result)
    out = {}
    for r in df.iter_rows(named=True):
        key = tuple(r[k] for k in keys)
        out[key[0] if len(key) == 1 else key] = r
    return out


def test_pipeline_created_by_segment(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    got = rows(pipeline_created(eng(ex["opportunities"]), by="segment"), "segment")
    assert {k: (v["opportunities"], v["pipeline_amount"]) for k, v in got.items()} == {
        "enterprise": (2, 70_000),
        "mid": (2, 27_000),
        "smb": (4, 28_000),
    }


def test_pipeline_created_by_month(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    got = rows(pipeline_created(eng(ex["opportunities"]), every="1mo"), "period")
    assert {k: (v["opportunities"], v["pipeline_amount"]) for k, v in got.items()} == {
        date(2024, 1, 1): (3, 47_000),
        date(2024, 2, 1): (3, 29_000),
        date(2024, 3, 1): (2, 49_000),
    }


def test_pipeline_created_by_week_starts_monday(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    got = rows(pipeline_created(eng(ex["opportunities"]), every="1w"), "period")
    # o1 2024-01-05 (Fri) -> Mon 01-01; o2 01-10 (Wed) -> 01-08; o3 01-20 (Sat) -> 01-15
    assert got[date(2024, 1, 1)]["opportunities"] == 1
    assert got[date(2024, 1, 8)]["opportunities"] == 1
    assert got[date(2024, 1, 15)]["opportunities"] == 1
    assert all(k.isoweekday() == 1 for k in got)


def test_returns_the_kind_it_was_given(ex: dict[str, pl.DataFrame]) -> None:
    opps = ex["opportunities"]
    assert isinstance(pipeline_created(opps), pl.DataFrame)
    assert isinstance(pipeline_created(opps.lazy()), pl.LazyFrame)


def test_qualified_pipeline_uses_stage_history(
    ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng
) -> None:
    out = qualified_pipeline(
        eng(ex["opportunities"]),
        ex_config.pipelines,
        qualified=ex_config.qualified,
        stage_events=eng(ex["stage_events"]),
    )
    row = to_polars(out).row(0, named=True)
    # Reached Demo or later: o1, o2, o4, o5, o7 (skipped Demo), o8 (lost after Demo).
    assert row["qualified_opportunities"] == 6
    assert row["qualified_amount"] == 80_000
    assert row["qualified_rate"] == 0.75


def test_qualified_pipeline_without_history_and_with_a_minimum_amount(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    current_only = qualified_pipeline(
        ex["opportunities"], ex_config.pipelines, qualified=ex_config.qualified
    ).row(0, named=True)
    # Lost deals count only with history: o1, o2, o4, o5, o7.
    assert (current_only["qualified_opportunities"], current_only["qualified_amount"]) == (
        5,
        71_000,
    )
    big = QualifiedDefinition(opportunity_min_stage="Demo", opportunity_min_amount=10_000)
    out = qualified_pipeline(
        ex["opportunities"], ex_config.pipelines, qualified=big, stage_events=ex["stage_events"]
    ).row(0, named=True)
    assert out["qualified_opportunities"] == 3  # o1, o2, o5


def test_qualified_pipeline_rejects_a_stage_outside_the_funnel(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    with pytest.raises(MetricInputError, match="Lost"):
        qualified_pipeline(
            ex["opportunities"],
            ex_config.pipelines,
            qualified=QualifiedDefinition(opportunity_min_stage="Lost"),
        )


def test_bookings_by_close_month(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    got = rows(bookings(eng(ex["opportunities"]), every="1mo"), "period")
    assert {k: (v["won_deals"], v["bookings"]) for k, v in got.items()} == {
        date(2024, 2, 1): (1, 12_000),
        date(2024, 3, 1): (2, 36_000),
    }


def test_bookings_falls_back_to_close_date() -> None:
    opps = pl.DataFrame(
        {
            "amount": [10.0, 20.0],
            "is_won": [True, True],
            "closed_at": [datetime(2024, 1, 31, 23), None],
            "close_date": [date(2024, 2, 1), date(2024, 3, 3)],
        }
    )
    got = rows(bookings(opps, every="1mo"), "period")
    assert {k: v["bookings"] for k, v in got.items()} == {
        date(2024, 1, 1): 10.0,
        date(2024, 3, 1): 20.0,
    }


def test_coverage_open_and_weighted(
    ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng
) -> None:
    opps, targets = eng(ex["opportunities"]), eng(ex["targets"])
    open_ = rows(pipeline_coverage(opps, targets, by="segment"), "segment", "period")
    april = date(2024, 4, 1)
    assert open_[("smb", april)]["pipeline"] == 8_000
    assert open_[("smb", april)]["coverage"] == pytest.approx(8_000 / 15_000)
    assert open_[("mid", april)]["coverage"] == 0.0
    assert open_[("enterprise", april)]["target"] == 50_000
    # May has pipeline but no target: no coverage, not an error.
    assert open_[("mid", date(2024, 5, 1))]["coverage"] is None
    weighted = rows(
        pipeline_coverage(
            opps,
            targets,
            by="segment",
            choices=KPIChoices(coverage_basis="weighted_pipeline"),
            pipelines=ex_config.pipelines,
        ),
        "segment",
        "period",
    )
    assert weighted[("smb", april)]["pipeline"] == pytest.approx(8_000 * 0.6)
    assert weighted[("smb", april)]["basis"] == "weighted_pipeline"


def test_coverage_against_remaining_target() -> None:
    opps = pl.DataFrame(
        {
            "amount": [600.0, 300.0, 500.0],
            "is_won": [True, False, False],
            "is_closed": [True, False, False],
            "closed_at": [datetime(2024, 3, 5), None, None],
            "close_date": [date(2024, 3, 5), date(2024, 3, 20), date(2024, 3, 30)],
        }
    )
    targets = pl.DataFrame(
        {"period": [date(2024, 3, 1)], "metric": ["bookings"], "amount": [1_000.0]}
    )
    row = pipeline_coverage(opps, targets).row(0, named=True)
    assert (row["booked"], row["remaining"], row["pipeline"]) == (600, 400, 800)
    assert row["coverage"] == 2.0
    whole = pipeline_coverage(opps, targets, against="target").row(0, named=True)
    assert whole["coverage"] == 0.8
    met = targets.with_columns(pl.lit(500.0).alias("amount"))
    assert pipeline_coverage(opps, met).row(0, named=True)["coverage"] is None


def test_weighted_coverage_needs_probabilities(ex: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(MetricInputError, match="probabilit"):
        pipeline_coverage(ex["opportunities"], ex["targets"], basis="weighted_pipeline")


def test_required_coverage(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    by_count = to_polars(required_coverage(eng(ex["opportunities"]))).row(0, named=True)
    assert by_count["win_rate"] == 0.6
    assert by_count["required_coverage"] == pytest.approx(1 / 0.6)
    by_amount = to_polars(required_coverage(eng(ex["opportunities"]), basis="amount")).row(
        0, named=True
    )
    assert by_amount["required_coverage"] == pytest.approx(62_000 / 48_000)


def test_required_coverage_with_no_wins_is_null() -> None:
    opps = pl.DataFrame(
        {"amount": [1.0], "is_closed": [True], "is_won": [False], "close_date": [date(2024, 1, 1)]}
    )
    row = required_coverage(opps).row(0, named=True)
    assert row["win_rate"] == 0.0
    assert row["required_coverage"] is None


def test_missing_column_names_the_closest(ex: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(MetricInputError) as err:
        pipeline_created(ex["opportunities"], amount="amont")
    assert "amount" in str(err.value)
    assert err.value.code == "RG601"


def test_amounts_all_blank_sum_to_null_not_zero(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    opps = ex["opportunities"].with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))
    made = to_polars(pipeline_created(eng(opps))).row(0, named=True)
    assert (made["opportunities"], made["pipeline_amount"]) == (8, None)
    booked = to_polars(bookings(eng(opps))).row(0, named=True)
    assert (booked["won_deals"], booked["bookings"]) == (3, None)


def test_blank_amounts_add_nothing_and_no_deals_sum_to_zero(
    ex: dict[str, pl.DataFrame], eng: Eng
) -> None:
    opps = ex["opportunities"].with_columns(
        pl.when(pl.col("opportunity_id") == "o2")
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    booked = to_polars(bookings(eng(opps), every="1mo"))
    got = dict(zip(booked["period"], booked["bookings"], strict=True))
    assert got == {date(2024, 2, 1): 12_000, date(2024, 3, 1): 6_000}
    nothing = to_polars(bookings(eng(opps.filter(pl.col("is_won").not_())))).row(0, named=True)
    assert (nothing["won_deals"], nothing["bookings"]) == (0, 0.0)
