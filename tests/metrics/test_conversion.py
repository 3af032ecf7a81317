"""Funnel conversion on the example CRM (hand-computed), on every engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import (
    funnel_leakage,
    lead_to_opportunity,
    mql_to_sql,
    opportunity_to_win,
    stage_conversion,
)

Eng = Callable[[pl.DataFrame], Any]


def _steps(result: Any) -> list[tuple[str, int, float | None, float | None]]:
    df = to_polars(result).sort("stage_order")
    return [
        (r["stage"], r["reached"], r["step_conversion"], r["cumulative_conversion"])
        for r in df.iter_rows(named=True)
    ]


def test_stage_conversion_counts_skipped_steps_as_passed(
    ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng
) -> None:
    out = stage_conversion(
        eng(ex["stage_events"]), stages=ex_config.pipelines, opportunities=eng(ex["opportunities"])
    )
    assert _steps(out) == [
        ("Discovery", 8, None, 1.0),
        ("Demo", 6, 0.75, 0.75),
        ("Proposal", 4, pytest.approx(4 / 6), 0.5),
        ("Won", 3, 0.75, 0.375),
    ]


def test_stage_conversion_by_entry_cohort(
    ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng
) -> None:
    out = to_polars(
        stage_conversion(
            eng(ex["stage_events"]),
            stages=ex_config.pipelines,
            opportunities=eng(ex["opportunities"]),
            every="1mo",
        )
    )
    reached = {(r["period"], r["stage"]): r["reached"] for r in out.iter_rows(named=True)}
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    assert [reached[(jan, s)] for s in ("Discovery", "Demo", "Proposal", "Won")] == [3, 2, 2, 2]
    assert [reached[(feb, s)] for s in ("Discovery", "Demo", "Proposal", "Won")] == [3, 3, 2, 1]
    assert [reached[(mar, s)] for s in ("Discovery", "Demo", "Proposal", "Won")] == [2, 1, 0, 0]


def test_stage_conversion_window(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    out = stage_conversion(
        eng(ex["stage_events"]),
        stages=ex_config.pipelines,
        opportunities=eng(ex["opportunities"]),
        window_days=15,
    )
    # Within 15 days of creation only o1, o2, o4 and o8 reached Demo; nobody got further.
    assert [s[:2] for s in _steps(out)] == [
        ("Discovery", 8),
        ("Demo", 4),
        ("Proposal", 0),
        ("Won", 0),
    ]


def test_stage_conversion_from_events_alone_with_a_stage_list(
    ex: dict[str, pl.DataFrame], eng: Eng
) -> None:
    out = stage_conversion(eng(ex["stage_events"]), stages=["Discovery", "Demo", "Won"])
    # Proposal is not a step here: o7 (Discovery -> Proposal -> Won) still reaches Won.
    assert [s[:2] for s in _steps(out)] == [("Discovery", 8), ("Demo", 6), ("Won", 3)]


def test_stage_conversion_by_needs_opportunities(ex: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(MetricInputError, match="opportunities"):
        stage_conversion(ex["stage_events"], stages=["Discovery"], by="segment")


def test_lead_to_opportunity(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    overall = to_polars(lead_to_opportunity(eng(ex["people"]), eng(ex["opportunities"])))
    assert overall.row(0, named=True) == {"leads": 10, "converted": 7, "conversion_rate": 0.7}
    by_source = to_polars(
        lead_to_opportunity(eng(ex["people"]), eng(ex["opportunities"]), by="lead_source")
    )
    got = {r["lead_source"]: (r["leads"], r["converted"]) for r in by_source.iter_rows(named=True)}
    assert got == {
        "paid_search": (4, 3),
        "email": (1, 1),
        "outbound": (2, 2),
        "webinar": (1, 1),
        "social": (2, 0),
    }


def test_lead_to_opportunity_uses_the_crm_conversion_flag() -> None:
    people = pl.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "kind": ["lead", "lead", "contact"],
            "created_at": [datetime(2024, 1, 1)] * 3,
            "is_converted": [True, None, False],
            "converted_opportunity_id": [None, "o9", None],
        }
    )
    row = lead_to_opportunity(people, kinds=["lead"]).row(0, named=True)
    assert (row["leads"], row["converted"]) == (2, 2)


def test_mql_to_sql(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(mql_to_sql(eng(ex["people"]), opportunities=eng(ex["opportunities"]))).row(
        0, named=True
    )
    assert (row["mqls"], row["sqls"]) == (9, 7)
    assert row["conversion_rate"] == pytest.approx(7 / 9)


def test_mql_to_sql_from_lifecycle_events() -> None:
    people = pl.DataFrame(
        {
            "person_id": ["a", "b"],
            "mql_at": [datetime(2024, 1, 1), datetime(2024, 1, 2)],
            "lifecycle_stage": ["mql", "mql"],
        }
    )
    events = pl.DataFrame(
        {
            "record_entity": ["people"],
            "record_id": ["b"],
            "field": ["lifecycle_stage"],
            "to_value": ["SQL"],
            "changed_at": [datetime(2024, 1, 3)],
        }
    )
    assert mql_to_sql(people).row(0, named=True)["sqls"] == 0
    assert mql_to_sql(people, stage_events=events).row(0, named=True)["sqls"] == 1


def test_opportunity_to_win_keeps_open_deals_in_the_denominator(
    ex: dict[str, pl.DataFrame], eng: Eng
) -> None:
    out = to_polars(opportunity_to_win(eng(ex["opportunities"]), every="1mo"))
    got = {r["period"]: (r["opportunities"], r["won"]) for r in out.iter_rows(named=True)}
    assert got == {
        date(2024, 1, 1): (3, 2),
        date(2024, 2, 1): (3, 1),
        date(2024, 3, 1): (2, 0),
    }


def test_funnel_leakage(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    conversion = stage_conversion(
        eng(ex["stage_events"]),
        stages=ex_config.pipelines,
        opportunities=eng(ex["opportunities"]),
        every="1mo",
    )
    out = to_polars(funnel_leakage(conversion, targets=eng(ex["targets"])))
    got = {r["stage"]: r for r in out.iter_rows(named=True)}
    demo, proposal = got["Demo"], got["Proposal"]
    assert (demo["period"], demo["previous_period"]) == (date(2024, 3, 1), date(2024, 2, 1))
    assert (demo["step_conversion"], demo["previous_step_conversion"]) == (0.5, 1.0)
    assert demo["lost_vs_previous"] == 1.0  # 2 entered x (1.0 - 0.5)
    assert demo["target_step_conversion"] == 0.8
    assert demo["lost_vs_target"] == pytest.approx(0.6)  # 2 x (0.8 - 0.5)
    assert proposal["lost_vs_previous"] == pytest.approx(2 / 3)  # 1 x (2/3 - 0)
    assert [s for s, r in got.items() if r["biggest_leak_vs_previous"]] == ["Demo"]
    assert [s for s, r in got.items() if r["biggest_leak_vs_target"]] == ["Demo"]
    # With a mapping of targets instead of a frame
    mapped = to_polars(funnel_leakage(conversion, targets={"proposal": 0.9}))
    prop = mapped.filter(pl.col("stage") == "Proposal").row(0, named=True)
    assert prop["lost_vs_target"] == pytest.approx(0.9)


def test_funnel_leakage_needs_periods(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    conversion = stage_conversion(ex["stage_events"], stages=ex_config.pipelines)
    with pytest.raises(MetricInputError, match="period"):
        funnel_leakage(conversion)
