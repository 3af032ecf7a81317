"""Issue 11 item 8: the funnel model reconciles. Over generated histories, forecasting the
open pipeline plus the pipeline the backward plan asks for returns the target (within
0.1%), forward and backward apply one chain of stage rates, and conservative <= base <=
aggressive holds for every assumption and every monthly and total figure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from tests.metrics.test_properties import AS_OF, PIPELINE, SETTINGS, build, crms

from revgov.errors import MetricInputError
from revgov.metrics import (
    ASSUMPTIONS,
    fit_funnel,
    forecast_bookings,
    funnel_scenarios,
    plan_backward,
    plan_statement,
)

MONTHS = 12
CASES = ("conservative", "base", "aggressive")
multipliers = st.one_of(
    st.none(),
    st.fixed_dictionaries({"conservative": st.floats(0.3, 1.0), "aggressive": st.floats(1.0, 2.0)}),
)


def _model(deals: list[dict[str, Any]], factors: dict[str, float] | None) -> tuple[Any, ...]:
    opps, events = build(deals)
    fitted = fit_funnel(
        None,
        opps,
        as_of=AS_OF,
        by=None,
        stage_events=events,
        pipelines=[PIPELINE],
    )
    scen = funnel_scenarios(fitted, multipliers=factors, by=None)
    forward = forecast_bookings(
        opps, scen, as_of=AS_OF, months=MONTHS, by=None, pipelines=[PIPELINE]
    )
    return opps, scen, forward


def _expected(forward: pl.DataFrame) -> dict[str, float]:
    totals = forward.group_by("scenario").agg(pl.col("expected_bookings").sum())
    return {s: float(v or 0.0) for s, v in totals.iter_rows()}


@SETTINGS
@given(crms, multipliers, st.floats(1.0, 1e6))
def test_forward_of_open_plus_planned_pipeline_returns_the_target(
    deals: list[dict[str, Any]], factors: dict[str, float] | None, target: float
) -> None:
    opps, scen, forward = _model(deals, factors)
    plan = plan_backward(scen, target, forward=forward, by=None)
    open_expected = _expected(forward)
    for row in plan.iter_rows(named=True):
        case = row["scenario"]
        expected = open_expected.get(case, 0.0)
        # The plan starts from the gap the open pipeline leaves, and says so.
        assert row["expected_from_open_pipeline"] == pytest.approx(expected)
        assert row["gap_to_target"] == pytest.approx(max(target - expected, 0.0))
        if row["gap_to_target"] == 0 or row["pipeline_needed"] is None:
            continue
        new = pl.DataFrame(
            {
                "opportunity_id": ["planned"],
                "segment": [None],
                "stage": ["Discovery"],  # new deals enter at the first stage
                "amount": [row["pipeline_needed"]],
                "created_at": [AS_OF - timedelta(days=1)],
                "closed_at": [None],
                "close_date": [AS_OF.date() + timedelta(days=5)],
                "is_closed": [False],
                "is_won": [False],
            },
            schema=opps.schema,
        )
        again = forecast_bookings(
            pl.concat([opps, new]),
            scen.filter(pl.col("scenario") == case),
            as_of=AS_OF,
            months=MONTHS,
            by=None,
            pipelines=[PIPELINE],
        )
        assert _expected(again)[case] == pytest.approx(target, rel=1e-3)


def _by_case(frame: pl.DataFrame, index: list[str], column: str) -> dict[tuple[Any, ...], dict]:
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in frame.iter_rows(named=True):
        out.setdefault(tuple(r[i] for i in index), {})[r["scenario"]] = r[column]
    return out


def _ordered(cases: dict[str, Any], *, higher_is_better: bool = True) -> bool:
    values = [cases.get(c) for c in CASES]
    if any(v is None for v in values):
        return True
    lo, mid, hi = values if higher_is_better else values[::-1]
    return bool(lo <= mid * (1 + 1e-9) + 1e-9 and mid <= hi * (1 + 1e-9) + 1e-9)


@SETTINGS
@given(crms, multipliers)
def test_cases_are_ordered_for_every_assumption_month_and_total(
    deals: list[dict[str, Any]], factors: dict[str, float] | None
) -> None:
    _, scen, forward = _model(deals, factors)
    for (assumption, _stage), cases in _by_case(scen, ["assumption", "stage"], "value").items():
        assert _ordered(cases, higher_is_better=ASSUMPTIONS[assumption]), (assumption, cases)
    for period, cases in _by_case(forward, ["period"], "expected_bookings").items():
        assert _ordered(cases), period
    assert _ordered(_expected(forward))
    plan = plan_backward(scen, 500_000.0, forward=forward, by=None)
    for column in ("gap_to_target", "pipeline_needed", "opportunities_needed"):
        # The conservative case needs the most.
        assert _ordered(_by_case(plan, [], column)[()], higher_is_better=False), column


@SETTINGS
@given(crms, st.floats(0.3, 1.0), st.floats(1.0, 2.0))
def test_multipliers_keep_the_chain_chained(
    deals: list[dict[str, Any]], low: float, high: float
) -> None:
    opps, events = build(deals)
    fitted = fit_funnel(None, opps, as_of=AS_OF, by=None, stage_events=events, pipelines=[PIPELINE])
    scen = funnel_scenarios(fitted, multipliers={"conservative": low, "aggressive": high}, by=None)
    conv = scen.filter(pl.col("assumption") == "stage_conversion")
    win = scen.filter(pl.col("assumption") == "stage_win_rate")
    assume(conv.height > 0)
    for case in CASES:
        steps = conv.filter(pl.col("scenario") == case).sort("stage_order")
        rates = dict(zip(steps["stage_order"], steps["value"], strict=True))
        for r in win.filter(pl.col("scenario") == case).iter_rows(named=True):
            after = [v for k, v in rates.items() if k > r["stage_order"]]
            if any(v is None for v in after) or not after:
                continue
            chain = 1.0
            for v in after:
                chain *= v
            # A stage's win rate is the product of the conversions after it, in every case.
            assert r["value"] == pytest.approx(chain)
    base = conv.filter(pl.col("scenario") == "base")
    cons = conv.filter(pl.col("scenario") == "conservative")
    n = base.height
    for b, c in zip(base["value"], cons["value"], strict=True):
        if b is not None and b > 0:
            # Each of the n conversions scaled by m^(1/n): the chain by m (rates capped at 1).
            assert c == pytest.approx(b * low ** (1 / n))


def test_a_conservative_multiplier_above_one_is_refused() -> None:
    fitted = pl.DataFrame({"assumption": ["win_rate"], "value": [0.5], "low": [0.4], "high": [0.6]})
    with pytest.raises(MetricInputError, match="conservative must be at most 1"):
        funnel_scenarios(fitted, multipliers={"conservative": 1.2, "aggressive": 1.5}, by=None)


def test_the_statement_states_window_target_placement_gap_and_assumptions() -> None:
    deals = [
        {
            "segment": None,
            "created": c,
            "amount": 1000.0 + c,
            "path": ["Discovery", "Demo"],
            "outcome": o,
            "gaps": [3, 4, 5, 6],
        }
        for c, o in [(1, "won"), (5, "lost"), (9, "won"), (30, "open"), (60, "open")]
    ]
    _, scen, forward = _model(deals, None)
    plan = plan_backward(scen, 10_000.0, forward=forward, by=None)
    out = plan_statement(
        scen,
        as_of=AS_OF,
        window_days=365,
        months=MONTHS,
        target_source="the target given (--target)",
        forward=forward,
        backward=plan,
        by=None,
    )
    items = dict(
        zip(out.filter(pl.col("scenario").is_null())["item"], out["statement"], strict=False)
    )
    assert "2023-09-02 to 2024-09-01" in items["window"]
    assert items["target"] == "target from the target given (--target)"
    assert "same month in every case" in items["placement"]
    base = out.filter(pl.col("scenario") == "base")
    gap = base.filter(pl.col("item") == "gap_to_target")["value"].item()
    expected = base.filter(pl.col("item") == "expected_from_open_pipeline")["value"].item()
    assert gap == pytest.approx(10_000.0 - expected)
    assert set(ASSUMPTIONS) >= set(base["item"]) - set(plan.columns)
