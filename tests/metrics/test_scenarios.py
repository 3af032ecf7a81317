"""The funnel model: fitted assumptions, scenarios, forward forecast and backward plan,
checked by hand on the example CRM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import (
    ASSUMPTIONS,
    average_deal_size,
    fit_funnel,
    forecast_bookings,
    funnel_scenarios,
    plan_backward,
    win_rate_by_count,
)
from revgov.metrics._examples import EXAMPLE_AS_OF
from revgov.metrics.scenarios import STAGE_ASSUMPTIONS

Eng = Callable[[pl.DataFrame], Any]


def _fit(ex: dict[str, pl.DataFrame], eng: Eng, **kw: Any) -> dict[str, dict[str, Any]]:
    out = to_polars(
        fit_funnel(
            eng(ex["people"]),
            eng(ex["opportunities"]),
            as_of=EXAMPLE_AS_OF,
            by=None,
            spend=eng(ex["spend"]),
            **kw,
        )
    )
    return {r["assumption"]: r for r in out.iter_rows(named=True)}


def test_fit_funnel(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    fit = _fit(ex, eng)
    # Without stage history there are no per-stage rows.
    assert set(fit) == set(ASSUMPTIONS) - set(STAGE_ASSUMPTIONS)
    assert all(r["stage"] is None for r in fit.values())
    # MQLs per month: January 5, February 2, March 2.
    assert (fit["mqls_per_month"]["value"], fit["mqls_per_month"]["low"]) == (3.0, 2.0)
    assert fit["mqls_per_month"]["high"] == 3.5
    # SQLs 5/5, 2/2, 0/2 by month; 7/9 pooled.
    assert fit["mql_to_sql"]["value"] == pytest.approx(7 / 9)
    assert fit["mql_to_sql"]["low"] == pytest.approx(0.5)
    assert fit["sql_to_opportunity"]["value"] == 1.0
    # Deals closed: February 1 of 2 won, March 2 of 3.
    assert fit["win_rate"]["value"] == 0.6
    assert fit["win_rate"]["low"] == pytest.approx(0.5 + 0.25 * (2 / 3 - 0.5))
    assert fit["average_deal_size"]["value"] == 16_000
    assert fit["cycle_days"]["value"] == pytest.approx(160 / 3)
    # Spend 5,500 / 5 MQLs, 2,000 / 2, 2,000 / 2; 9,500 / 9 pooled.
    assert fit["cost_per_mql"]["value"] == pytest.approx(9_500 / 9)
    assert (fit["cost_per_mql"]["low"], fit["cost_per_mql"]["high"]) == (1_000, 1_050)
    assert fit["cost_per_mql"]["months"] == 3
    assert all(r["basis"] for r in fit.values())


def test_fit_funnel_window(ex: dict[str, pl.DataFrame]) -> None:
    fit = _fit(ex, lambda f: f, window_days=31)
    # Only March: 2 MQLs (p8, p9), neither an SQL; deals closed in March: o2, o7 won, o8 lost.
    assert fit["mqls_per_month"]["value"] == 2.0
    assert fit["mql_to_sql"]["value"] == 0.0
    assert fit["win_rate"]["value"] == pytest.approx(2 / 3)


def test_fit_funnel_by_segment_with_spend_per_segment(ex: dict[str, pl.DataFrame]) -> None:
    spend = ex["spend"].with_columns(pl.lit("smb").alias("segment"))
    out = fit_funnel(
        ex["people"], ex["opportunities"], as_of=EXAMPLE_AS_OF, spend=spend, spend_by="segment"
    )
    cost = out.filter(pl.col("assumption") == "cost_per_mql")
    got = dict(zip(cost["segment"], cost["value"], strict=True))
    # smb MQLs: p5, p6 (January), p7 (February), p8 (March): all spend lands on them.
    assert got == {"smb": pytest.approx(9_500 / 4)}
    with pytest.raises(MetricInputError, match="spend_by"):
        fit_funnel(ex["people"], ex["opportunities"], by=None, spend=spend, spend_by="segment")


def test_scenarios_from_spread_and_multipliers(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    fitted = fit_funnel(
        eng(ex["people"]),
        eng(ex["opportunities"]),
        as_of=EXAMPLE_AS_OF,
        by=None,
        spend=eng(ex["spend"]),
    )
    spread = to_polars(funnel_scenarios(fitted, by=None))
    v = {(r["scenario"], r["assumption"]): r["value"] for r in spread.iter_rows(named=True)}
    assert v[("conservative", "win_rate")] < v[("base", "win_rate")] < v[("aggressive", "win_rate")]
    # Lower is better for cycle days and cost: conservative takes the high end.
    assert v[("conservative", "cycle_days")] > v[("base", "cycle_days")]
    assert v[("aggressive", "cost_per_mql")] < v[("base", "cost_per_mql")]
    scaled = to_polars(
        funnel_scenarios(fitted, by=None, multipliers={"conservative": 0.5, "aggressive": 2.0})
    )
    w = {(r["scenario"], r["assumption"]): r["value"] for r in scaled.iter_rows(named=True)}
    assert w[("conservative", "average_deal_size")] == 8_000
    assert w[("conservative", "cycle_days")] == pytest.approx(2 * 160 / 3)
    assert w[("aggressive", "win_rate")] == 1.0  # 1.2 capped: a rate never exceeds 1
    assert w[("aggressive", "sql_to_opportunity")] == 1.0


def test_scenarios_need_both_multipliers(ex: dict[str, pl.DataFrame]) -> None:
    fitted = fit_funnel(ex["people"], ex["opportunities"], as_of=EXAMPLE_AS_OF, by=None)
    with pytest.raises(MetricInputError, match="aggressive"):
        funnel_scenarios(fitted, by=None, multipliers={"conservative": 0.9})


def test_forecast_bookings(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    scen = funnel_scenarios(
        fit_funnel(eng(ex["people"]), eng(ex["opportunities"]), as_of=EXAMPLE_AS_OF, by=None),
        by=None,
    )
    out = to_polars(forecast_bookings(eng(ex["opportunities"]), scen, as_of=EXAMPLE_AS_OF, by=None))
    base = out.filter(pl.col("scenario") == "base")
    got = dict(zip(base["period"], base["expected_bookings"], strict=True))
    # o4 (8,000, April), o5 (15,000, May), o6 (40,000, June) at a 0.6 win rate
    assert got == {
        date(2024, 4, 1): pytest.approx(4_800),
        date(2024, 5, 1): pytest.approx(9_000),
        date(2024, 6, 1): pytest.approx(24_000),
    }
    assert set(base["win_rate"]) == {0.6}
    short = to_polars(
        forecast_bookings(eng(ex["opportunities"]), scen, as_of=EXAMPLE_AS_OF, by=None, months=2)
    )
    assert date(2024, 6, 1) not in set(short["period"])


def test_forecast_places_overdue_deals_by_the_cycle(ex: dict[str, pl.DataFrame]) -> None:
    opps = ex["opportunities"].with_columns(
        pl.when(pl.col("opportunity_id") == "o6")
        .then(pl.lit(date(2024, 3, 20)))
        .otherwise(pl.col("close_date"))
        .alias("close_date")
    )
    scen = funnel_scenarios(
        fit_funnel(ex["people"], ex["opportunities"], as_of=EXAMPLE_AS_OF, by=None), by=None
    )
    base = forecast_bookings(opps, scen, as_of=EXAMPLE_AS_OF, by=None).filter(
        pl.col("scenario") == "base"
    )
    # o6 is overdue, 31 days old, cycle 53.3 days: about 22 more days, still April.
    april = base.filter(pl.col("period") == date(2024, 4, 1))
    assert april["open_opportunities"][0] == 2
    assert april["open_pipeline"][0] == 48_000


def test_plan_backward(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    scen = funnel_scenarios(
        fit_funnel(
            eng(ex["people"]),
            eng(ex["opportunities"]),
            as_of=EXAMPLE_AS_OF,
            by=None,
            spend=eng(ex["spend"]),
        ),
        by=None,
    )
    out = to_polars(plan_backward(scen, 100_000, by=None))
    base = out.filter(pl.col("scenario") == "base").row(0, named=True)
    assert base["won_deals_needed"] == pytest.approx(100_000 / 16_000)
    assert base["opportunities_needed"] == pytest.approx(100_000 / 16_000 / 0.6)
    assert base["pipeline_needed"] == pytest.approx(100_000 / 0.6)
    assert base["mqls_needed"] == pytest.approx(100_000 / 16_000 / 0.6 / (7 / 9))
    assert base["spend_needed"] == pytest.approx(base["mqls_needed"] * 9_500 / 9)
    assert base["months_of_demand"] == pytest.approx(base["mqls_needed"] / 3)
    assert set(out["scenario"]) == {"base", "conservative", "aggressive"}


def test_plan_backward_per_segment(ex: dict[str, pl.DataFrame]) -> None:
    scen = funnel_scenarios(fit_funnel(ex["people"], ex["opportunities"], as_of=EXAMPLE_AS_OF))
    out = plan_backward(scen, {"smb": 12_000}).filter(pl.col("scenario") == "base")
    got = {r["segment"]: r["opportunities_needed"] for r in out.iter_rows(named=True)}
    # smb: deal size 6,000, win rate 1/3: 2 wins need 6 opportunities; no target elsewhere.
    assert got["smb"] == pytest.approx(6.0)
    assert got["mid"] is None
    with pytest.raises(MetricInputError, match="by="):
        plan_backward(scen, {"smb": 1.0}, by=None)


def _stage_fit(ex: dict[str, pl.DataFrame], config: Config, eng: Eng) -> pl.DataFrame:
    return to_polars(
        fit_funnel(
            eng(ex["people"]),
            eng(ex["opportunities"]),
            as_of=EXAMPLE_AS_OF,
            by=None,
            stage_events=eng(ex["stage_events"]),
            pipelines=config.pipelines,
        )
    )


def test_fit_funnel_per_stage(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    out = _stage_fit(ex, ex_config, eng)
    win = {
        r["stage"]: r["value"]
        for r in out.iter_rows(named=True)
        if r["assumption"] == "stage_win_rate"
    }
    conv = {
        r["stage"]: r["value"]
        for r in out.iter_rows(named=True)
        if r["assumption"] == "stage_conversion"
    }
    # Closed in the window: o1, o2, o7 won (reached every stage), o3 lost at Discovery, o8
    # lost after Demo. Discovery: 3 of 5 won; Demo: 3 of 4; Proposal: 3 of 3.
    assert win == {"Discovery": 0.6, "Demo": 0.75, "Proposal": 1.0}
    assert conv == {"Demo": 0.8, "Proposal": 0.75, "Won": 1.0}
    # The first stage's win rate is the overall win rate: every deal reached it.
    overall = out.filter(pl.col("assumption") == "win_rate")["value"][0]
    assert overall == win["Discovery"]


def test_forecast_uses_the_win_rate_of_each_deals_stage(
    ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng
) -> None:
    scen = funnel_scenarios(_stage_fit(ex, ex_config, eng), by=None)
    out = to_polars(
        forecast_bookings(
            eng(ex["opportunities"]),
            eng(scen),
            as_of=EXAMPLE_AS_OF,
            by=None,
            pipelines=ex_config.pipelines,
        )
    )
    base = out.filter(pl.col("scenario") == "base")
    got = dict(zip(base["period"], base["expected_bookings"], strict=True))
    # o4 at Proposal (1.0 x 8,000), o5 at Demo (0.75 x 15,000), o6 at Discovery (0.6 x 40,000)
    assert got == {
        date(2024, 4, 1): pytest.approx(8_000),
        date(2024, 5, 1): pytest.approx(11_250),
        date(2024, 6, 1): pytest.approx(24_000),
    }
    rates = dict(zip(base["period"], base["applied_win_rate"], strict=True))
    # The chain of stage conversions: the pooled stage win rates, to float rounding.
    assert rates == pytest.approx(
        {date(2024, 4, 1): 1.0, date(2024, 5, 1): 0.75, date(2024, 6, 1): 0.6}
    )
    assert set(base["win_rate"]) == {0.6}  # the overall rate, for stages without their own


def test_fit_funnel_agrees_with_the_standalone_kpis(ex: dict[str, pl.DataFrame]) -> None:
    # One definition each: a window that holds every close gives the KPIs' own values, with a
    # blank amount left out of the deal size in both.
    opps = ex["opportunities"].with_columns(
        pl.when(pl.col("opportunity_id") == "o2")
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    fit = {
        r["assumption"]: r["value"]
        for r in fit_funnel(ex["people"], opps, as_of=EXAMPLE_AS_OF, by=None).iter_rows(named=True)
    }
    assert fit["win_rate"] == win_rate_by_count(opps)["win_rate"][0]
    size = average_deal_size(opps).row(0, named=True)
    assert size["deals_with_amount"] == 2
    assert fit["average_deal_size"] == size["average_deal_size"] == 9_000


def test_fit_funnel_without_people(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    out = fit_funnel(
        None,
        ex["opportunities"].lazy(),
        as_of=EXAMPLE_AS_OF,
        by=None,
        spend=ex["spend"].lazy(),
        stage_events=ex["stage_events"].lazy(),
        pipelines=ex_config.pipelines,
    )
    assert isinstance(out, pl.LazyFrame)
    names = set(out.collect()["assumption"])
    assert names == {"win_rate", "average_deal_size", "cycle_days", *STAGE_ASSUMPTIONS}
    plan = plan_backward(funnel_scenarios(out, by=None), 50_000, by=None).collect()
    base = plan.filter(pl.col("scenario") == "base").row(0, named=True)
    assert base["opportunities_needed"] == pytest.approx(50_000 / 16_000 / 0.6)
    assert base["mqls_needed"] is None and base["spend_needed"] is None
    for gap in ("mqls_per_month", "mql_to_sql", "sql_to_opportunity", "cost_per_mql"):
        assert gap in base["missing"]
    assert "win_rate" not in base["missing"]


def test_plan_backward_says_nothing_is_missing_when_all_is_fitted(
    ex: dict[str, pl.DataFrame], eng: Eng
) -> None:
    fitted = fit_funnel(
        eng(ex["people"]),
        eng(ex["opportunities"]),
        as_of=EXAMPLE_AS_OF,
        by=None,
        spend=eng(ex["spend"]),
    )
    out = to_polars(plan_backward(funnel_scenarios(fitted, by=None), 1_000, by=None))
    assert out["missing"].to_list() == [None, None, None]
