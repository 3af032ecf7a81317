"""The operating cadence: the weekly scoreboard, the monthly pipeline review and the
quarterly reforecast, each assembled from the KPI functions.

Each takes the snapshot's frames (``SnapshotStore.frames()`` or any engine's frames, all of
one engine) and the governed definitions, and returns tables of the same kind. Indicators
whose inputs the snapshot lacks are left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import narwhals as nw

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics._frames import back, has, lazy, null_safe_join
from revgov.metrics._time import naive, naive_utc
from revgov.metrics.conversion import funnel_leakage, stage_conversion
from revgov.metrics.demand import icp_fit_rate
from revgov.metrics.efficiency import cac, channel_efficiency
from revgov.metrics.marketing import (
    attribution,
    marketing_influenced_pipeline,
    marketing_sourced_pipeline,
)
from revgov.metrics.pipeline import bookings, pipeline_created, qualified_pipeline
from revgov.metrics.registry import prepare_frames, row_count
from revgov.metrics.responsiveness import sla_compliance_rate, speed_to_lead
from revgov.metrics.scenarios import (
    fit_funnel,
    forecast_bookings,
    funnel_scenarios,
    plan_backward,
    plan_statement,
)
from revgov.metrics.velocity import (
    average_deal_size,
    sales_cycle_days,
    time_in_stage,
    win_rate_by_count,
)

__all__ = [
    "MonthlyReview",
    "Reforecast",
    "monthly_pipeline_review",
    "quarterly_reforecast",
    "weekly_scoreboard",
]

#: Days of deal entries behind the scoreboard's conversion and time-in-stage indicators.
ROLLING_COHORT_DAYS = 28


@dataclass(frozen=True)
class MonthlyReview:
    """The monthly pipeline review: headline indicators against the previous month, and the
    detail tables behind them (absent where the snapshot lacks their inputs)."""

    month: date
    summary: Any
    conversion: Any
    leakage: Any
    efficiency: Any | None
    attribution: Any | None

    def tables(self) -> dict[str, Any]:
        out = {"summary": self.summary, "conversion": self.conversion, "leakage": self.leakage}
        if self.efficiency is not None:
            out["efficiency"] = self.efficiency
        if self.attribution is not None:
            out["attribution"] = self.attribution
        return out


@dataclass(frozen=True)
class Reforecast:
    """The quarterly reforecast: the refitted funnel model and what it implies."""

    as_of: datetime
    assumptions: Any
    scenarios: Any
    forward: Any
    backward: Any | None
    #: The model stated: window, target and its source, placement, plan, assumptions.
    statement: Any = None

    def tables(self) -> dict[str, Any]:
        out = {
            "assumptions": self.assumptions,
            "scenarios": self.scenarios,
            "forward": self.forward,
        }
        if self.backward is not None:
            out["backward"] = self.backward
        if self.statement is not None:
            out["statement"] = self.statement
        return out


def _settled(lf: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """A polars frame computed once: the cadence reads each prepared frame in many queries
    (the as-of cut joins the stage history each time otherwise). Other engines plan and
    cache queries themselves, and a Spark frame must not be pulled to the driver."""
    if lf.implementation is nw.Implementation.POLARS:
        return lf.collect().lazy()
    return lf


class _Frames:
    """The prepared snapshot frames as narwhals lazy frames, with row counts on demand."""

    def __init__(self, frames: Mapping[str, Any], config: Config, as_of: datetime) -> None:
        if "opportunities" not in frames:
            raise MetricInputError("the cadence needs at least the opportunities frame")
        self.native = frames["opportunities"]
        # Cut to as_of like every KPI of `revgov metrics`: nothing later is known.
        ready = prepare_frames(frames, config, as_of=as_of)
        main = lazy(ready["opportunities"], name="opportunities")
        self.lf = {
            e: _settled(lazy(f, name=e, like=main)) for e, f in ready.items() if f is not None
        }
        self._counts: dict[str, int] = {}

    def usable(self, *entities: str) -> bool:
        for e in entities:
            if e not in self.lf:
                return False
            if e not in self._counts:
                self._counts[e] = row_count(self.lf[e])
            if self._counts[e] == 0:
                return False
        return True

    def __getitem__(self, entity: str) -> nw.LazyFrame[Any]:
        return self.lf[entity]


def _between(
    lf: nw.LazyFrame[Any], column: str, start: datetime, end: datetime
) -> nw.LazyFrame[Any]:
    t = naive(lf.collect_schema(), column)
    return lf.filter((t >= nw.lit(start)) & (t < nw.lit(end)))


def _indicator(
    frame: nw.LazyFrame[Any],
    indicator: str,
    value: str,
    unit: str,
    *,
    dimension: str | None = None,
) -> nw.LazyFrame[Any]:
    dim = nw.col(dimension).cast(nw.String) if dimension else nw.lit(None, dtype=nw.String())
    order = nw.col("stage_order") if has(frame, "stage_order") else nw.lit(0)
    return frame.select(
        nw.lit(_ORDER.index(indicator), dtype=nw.Int64()).alias("__seq"),
        order.cast(nw.Int64).alias("__dim_order"),
        nw.lit(indicator).alias("indicator"),
        dim.alias("dimension"),
        nw.lit(unit).alias("unit"),
        nw.col(value).cast(nw.Float64).alias("value"),
    )


_HIGHER_IS_BETTER: dict[str, bool] = {
    "new_people": True,
    "icp_fit_rate": True,
    "speed_to_lead_median_hours": False,
    "sla_compliance_rate": True,
    "pipeline_created": True,
    "step_conversion": True,
    "time_in_stage_median_days": False,
    "opportunities_created": True,
    "qualified_pipeline": True,
    "bookings": True,
    "won_deals": True,
    "win_rate": True,
    "average_deal_size": True,
    "sales_cycle_median_days": False,
    "marketing_sourced_share": True,
    "marketing_influenced_share": True,
    "cac": False,
}
#: Row order of the scoreboard and the review summary.
_ORDER = list(_HIGHER_IS_BETTER)


def _compare(
    current: list[nw.LazyFrame[Any]],
    previous: list[nw.LazyFrame[Any]],
    *,
    start: date,
    end: date,
) -> nw.LazyFrame[Any]:
    cur = nw.concat(current)
    prev = nw.concat(previous).select("indicator", "dimension", nw.col("value").alias("previous"))
    joined = null_safe_join(cur, prev, ["indicator", "dimension"], how="left")
    up = [k for k, v in _HIGHER_IS_BETTER.items() if v]
    return joined.sort("__seq", "__dim_order", "dimension", nulls_last=True).select(
        "indicator",
        "dimension",
        "unit",
        "value",
        "previous",
        (nw.col("value") - nw.col("previous")).alias("change"),
        nw.when(nw.col("indicator").is_in(up))
        .then(nw.lit("higher"))
        .otherwise(nw.lit("lower"))
        .alias("better"),
        nw.lit(start).alias("period_start"),
        nw.lit(end).alias("period_end"),
    )


def _weekly_rows(
    f: _Frames, config: Config, start: datetime, end: datetime
) -> list[nw.LazyFrame[Any]]:
    rows: list[nw.LazyFrame[Any]] = []
    if f.usable("people"):
        people = _between(f["people"], "created_at", start, end)
        rows.append(
            _indicator(
                people.select(nw.len().cast(nw.Int64).alias("n")), "new_people", "n", "people"
            )
        )
        try:
            fit = icp_fit_rate(people, config.icp)
        except MetricInputError:
            fit = None  # no ICP criterion applies to people: leave the indicator out
        if fit is not None:
            rows.append(_indicator(fit, "icp_fit_rate", "icp_fit_rate", "share"))
        if f.usable("activities") and has(f["people"], "mql_at"):
            acts = f["activities"]
            mqls = _between(f["people"], "mql_at", start, end)
            rows.append(
                _indicator(
                    speed_to_lead(mqls, acts, sla=config.sla, as_of=end),
                    "speed_to_lead_median_hours",
                    "median_hours",
                    "business hours",
                )
            )
            rows.append(
                _indicator(
                    sla_compliance_rate(mqls, acts, sla=config.sla, as_of=end),
                    "sla_compliance_rate",
                    "sla_compliance_rate",
                    "share",
                )
            )
    opps = f["opportunities"]
    rows.append(
        _indicator(
            pipeline_created(_between(opps, "created_at", start, end)),
            "pipeline_created",
            "pipeline_amount",
            "currency",
        )
    )
    if f.usable("stage_events") and config.pipelines:
        cohort_start = end - timedelta(days=ROLLING_COHORT_DAYS)
        cohort = _between(opps, "created_at", cohort_start, end)
        events = f["stage_events"].filter(
            naive(f["stage_events"].collect_schema(), "changed_at") < nw.lit(end)
        )
        conv = stage_conversion(events, stages=config.pipelines, opportunities=cohort).filter(
            nw.col("stage_order") > 1
        )
        rows.append(
            _indicator(conv, "step_conversion", "step_conversion", "share", dimension="stage")
        )
        stays = _between(events, "changed_at", cohort_start, end)
        tis = time_in_stage(stays, as_of=end, pipelines=config.pipelines)
        rows.append(
            _indicator(tis, "time_in_stage_median_days", "median_days", "days", dimension="stage")
        )
    return rows


def weekly_scoreboard(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | date | str | None = None,
) -> Any:
    """The leading indicators of the week ending at ``as_of`` (default now), each against the
    week before.

    Indicators: new people and their ICP fit rate (demand quality); median speed to lead
    and SLA compliance of the week's new MQLs (speed to contact); pipeline created; step
    conversion and median time in stage per stage, for deals that entered in the 28 days
    before the week's end (a rolling cohort, measured at the week's end).

    Returns: ``indicator, dimension, unit, value, previous, change, better, period_start,
    period_end`` (``better`` says which direction is good).
    """
    end = naive_utc(as_of)
    start = end - timedelta(days=7)
    f = _Frames(frames, config, end)
    current = _weekly_rows(f, config, start, end)
    previous = _weekly_rows(f, config, start - timedelta(days=7), start)
    out = _compare(current, previous, start=start.date(), end=end.date())
    return back(out, f.native)


def _month_bounds(as_of: datetime) -> tuple[datetime, datetime, datetime]:
    """The last complete month before ``as_of``: (previous month start, month start, end)."""
    end = datetime(as_of.year, as_of.month, 1)
    start = (end - timedelta(days=1)).replace(day=1)
    prev = (start - timedelta(days=1)).replace(day=1)
    return prev, start, end


def _monthly_rows(
    f: _Frames, config: Config, start: datetime, end: datetime
) -> list[nw.LazyFrame[Any]]:
    opps = f["opportunities"]
    created = _between(opps, "created_at", start, end)
    made = pipeline_created(created)
    rows = [
        _indicator(made, "opportunities_created", "opportunities", "deals"),
        _indicator(made, "pipeline_created", "pipeline_amount", "currency"),
    ]
    if config.pipelines:
        qp = qualified_pipeline(
            created,
            config.pipelines,
            qualified=config.qualified,
            stage_events=f["stage_events"] if f.usable("stage_events") else None,
        )
        rows.append(_indicator(qp, "qualified_pipeline", "qualified_amount", "currency"))
    closed_t = nw.coalesce(
        *[naive(opps.collect_schema(), c) for c in ("closed_at", "close_date") if has(opps, c)]
    )
    closed = opps.filter((closed_t >= nw.lit(start)) & (closed_t < nw.lit(end)))
    booked = bookings(closed)
    rows += [
        _indicator(booked, "bookings", "bookings", "currency"),
        _indicator(booked, "won_deals", "won_deals", "deals"),
        _indicator(win_rate_by_count(closed), "win_rate", "win_rate", "share"),
        _indicator(average_deal_size(closed), "average_deal_size", "average_deal_size", "currency"),
        _indicator(sales_cycle_days(closed), "sales_cycle_median_days", "median_days", "days"),
        _indicator(
            marketing_sourced_pipeline(created),
            "marketing_sourced_share",
            "sourced_share",
            "share",
        ),
    ]
    if f.usable("campaign_touches"):
        people = f["people"] if f.usable("people") else None
        infl = marketing_influenced_pipeline(created, f["campaign_touches"], people=people)
        rows.append(_indicator(infl, "marketing_influenced_share", "influenced_share", "share"))
    if f.usable("spend"):
        month = nw.lit(start.date())
        per_month = cac(f["spend"], opps, choices=config.kpis).filter(nw.col("period") == month)
        rows.append(_indicator(per_month, "cac", "cac", "currency per customer"))
    return rows


def monthly_pipeline_review(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | date | str | None = None,
) -> MonthlyReview:
    """The review of the last complete month before ``as_of`` (default now).

    ``summary``: pipeline created, qualified pipeline, bookings, win rate, deal size, cycle,
    marketing-sourced and -influenced shares and CAC, each against the month before.
    ``conversion``: stage conversion by monthly entry cohort (cohorts up to the month).
    ``leakage``: :func:`funnel_leakage` of the month's cohort against the previous one and
    the step targets in ``targets``. ``efficiency``: channel efficiency in the month.
    ``attribution``: first/last/linear credit of the month's new pipeline (directional).
    """
    cutoff = naive_utc(as_of)
    prev, start, end = _month_bounds(cutoff)
    f = _Frames(frames, config, cutoff)
    summary = _compare(
        _monthly_rows(f, config, start, end),
        _monthly_rows(f, config, prev, start),
        start=start.date(),
        end=end.date(),
    )
    opps = f["opportunities"]
    conversion = leakage = None
    if f.usable("stage_events") and config.pipelines:
        upto = _between(opps, "created_at", datetime(1900, 1, 1), end)
        conversion = stage_conversion(
            f["stage_events"], stages=config.pipelines, opportunities=upto, every="1mo"
        )
        leakage = funnel_leakage(conversion, targets=f["targets"] if f.usable("targets") else None)
    efficiency = None
    if f.usable("spend"):
        efficiency = channel_efficiency(
            opps,
            f["spend"],
            campaigns=f["campaigns"] if f.usable("campaigns") else None,
            every="1mo",
        ).filter(nw.col("period") == nw.lit(start.date()))
    credit = None
    if f.usable("campaign_touches"):
        credit = attribution(
            _between(opps, "created_at", start, end),
            f["campaign_touches"],
            campaigns=f["campaigns"] if f.usable("campaigns") else None,
            people=f["people"] if f.usable("people") else None,
        )

    def native(x: nw.LazyFrame[Any] | None) -> Any:
        return None if x is None else back(x, f.native)

    return MonthlyReview(
        month=start.date(),
        summary=native(summary),
        conversion=native(conversion),
        leakage=native(leakage),
        efficiency=native(efficiency),
        attribution=native(credit),
    )


def quarterly_reforecast(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | date | str | None = None,
    target: float | Mapping[Any, float] | None = None,
    multipliers: Mapping[str, float] | None = None,
    by: str | None = "segment",
    months: int = 3,
    window_days: int = 365,
) -> Reforecast:
    """Refit the funnel model and restate the quarter.

    Fits the assumptions per ``by`` group over the trailing ``window_days`` (see
    :func:`fit_funnel`; per stage too when the snapshot has stage history), builds the base,
    conservative and aggressive scenarios (from the monthly spread, or ``multipliers``),
    forecasts bookings for the next ``months`` from the open pipeline (each deal at the
    chained win rate of its stage), and, given a ``target`` (or ``bookings`` rows in
    ``targets`` for those months), plans backward from the gap the open pipeline leaves to
    the new pipeline, SQLs, MQLs and spend it needs; ``statement`` states all of it. Without
    people the model is fitted on opportunities alone: the forward forecast is complete and
    the backward plan's ``missing`` column names what it could not plan. Spend is matched
    to the ``by`` groups when every spend line names its group (e.g. a ``segment``);
    otherwise one cost per MQL applies to all.
    """
    cutoff = naive_utc(as_of)
    f = _Frames(frames, config, cutoff)
    keys = [by] if by else None
    people = f["people"] if f.usable("people") else None
    spend = f["spend"] if f.usable("spend") else None
    spend_by = keys if spend is not None and by and _fully_split(spend, by) else None
    events = f["stage_events"] if f.usable("stage_events") else None
    pipelines = config.pipelines or None
    assumptions = fit_funnel(
        people,
        f["opportunities"],
        as_of=cutoff,
        window_days=window_days,
        by=keys,
        spend=spend,
        spend_by=spend_by,
        stage_events=events,
        pipelines=pipelines,
        qualified=config.qualified,
        choices=config.kpis,
    )
    # Small tables that every later step reads: computed once on polars.
    assumptions = _settled(lazy(assumptions, name="assumptions"))
    scenarios = _settled(
        lazy(funnel_scenarios(assumptions, multipliers=multipliers, by=keys), name="scenarios")
    )
    forward = forecast_bookings(
        f["opportunities"], scenarios, as_of=cutoff, months=months, by=keys, pipelines=pipelines
    )
    goal = target if target is not None else _target_from_frame(f, cutoff, months, by)
    forward = _settled(lazy(forward, name="forward"))
    backward = (
        plan_backward(scenarios, goal, forward=forward, by=keys) if goal is not None else None
    )
    if target is not None:
        source = "the target given (--target)"
    elif goal is not None:
        source = f"the targets' bookings rows for the {months} months from {cutoff:%Y-%m}"
    else:
        source = None
    statement = plan_statement(
        scenarios,
        as_of=cutoff,
        window_days=window_days,
        months=months,
        target_source=source,
        forward=forward,
        backward=backward,
        by=keys,
    )

    def native(x: nw.LazyFrame[Any] | None) -> Any:
        return None if x is None else back(x, f.native)

    return Reforecast(
        as_of=cutoff,
        assumptions=native(assumptions),
        scenarios=native(scenarios),
        forward=native(forward),
        backward=native(backward),
        statement=native(statement),
    )


def _fully_split(spend: nw.LazyFrame[Any], column: str) -> bool:
    """Whether every spend line has a value in ``column`` (the spend table is small)."""
    if not has(spend, column):
        return False
    return row_count(spend.filter(nw.col(column).is_null())) == 0


def _target_from_frame(
    f: _Frames, cutoff: datetime, months: int, by: str | None
) -> float | dict[Any, float] | None:
    """Bookings targets for the months ahead, summed (per ``by`` group when targets have it).

    The targets table is small, so it is collected here to become plain numbers."""
    if not f.usable("targets"):
        return None
    tg = f["targets"]
    start = datetime(cutoff.year, cutoff.month, 1)
    end = start
    for _ in range(months):
        end = (end + timedelta(days=32)).replace(day=1)
    rows = _between(tg, "period", start, end).filter(
        nw.col("metric").str.to_lowercase() == "bookings"
    )
    key = by if by and has(tg, by) else None
    agg = (
        rows.group_by(key).agg(nw.col("amount").sum())
        if key
        else rows.select(nw.col("amount").sum())
    )
    table = agg.collect().rows(named=True)
    if not table:
        return None
    if key:
        return {r[key]: float(r["amount"] or 0.0) for r in table}
    value = table[0]["amount"]
    return float(value) if value is not None else None
