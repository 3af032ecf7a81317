"""Speed and yield of the pipeline: win rates, deal size, cycle length, time in stage and
sales velocity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import narwhals as nw

from revgov.config import KPIChoices
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    full_join,
    has,
    lazy,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._kpi import (
    aggregate,
    close_time,
    closed_flag,
    count_if,
    keyed,
    lost_flag,
    quantile_aggs,
    total,
    won_flag,
)
from revgov.metrics._stages import Pipelines, pipelines_list
from revgov.metrics._time import days_between, naive, naive_utc
from revgov.metrics.enrich import with_person_attributes

__all__ = [
    "DAYS_PER_MONTH",
    "average_deal_size",
    "lead_to_close_days",
    "sales_cycle_days",
    "sales_velocity",
    "time_in_stage",
    "win_rate",
    "win_rate_by_amount",
    "win_rate_by_count",
]

#: Days in an average month (365.25 / 12): velocity per month = velocity per day x this.
DAYS_PER_MONTH = 365.25 / 12

Outcome = Literal["won", "lost", "closed"]


def _closed_deals(
    opportunities: Any,
    *,
    by: Columns,
    every: str | None,
    amount: str | None,
    is_closed: str,
    is_won: str,
    closed_at: str,
    close_date: str,
) -> tuple[nw.LazyFrame[Any], list[str]]:
    lf = lazy(opportunities, name="opportunities")
    require(lf, [is_closed, is_won, amount], what="opportunities")
    lf = lf.filter(closed_flag(is_closed, is_won))
    return keyed(
        lf, by=by, every=every, time=close_time(lf, closed_at, close_date), what="opportunities"
    )


def win_rate_by_count(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Share of closed deals that were won, each deal counting once.

    Formula: ``win_rate = won / closed`` over deals closed in the period (won or lost; open
    deals are not in the denominator). Null when nothing closed.

    Returns: ``[*by, period], closed, won, win_rate``.
    """
    lf, keys = _closed_deals(
        opportunities,
        by=by,
        every=every,
        amount=None,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    out = aggregate(
        lf,
        keys,
        [nw.len().cast(nw.Int64).alias("closed"), count_if(won_flag(is_won)).alias("won")],
    ).with_columns(safe_div(nw.col("won"), nw.col("closed")).alias("win_rate"))
    return back(sort_keys(out, keys), opportunities)


def win_rate_by_amount(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Share of closed pipeline value that was won.

    Formula: ``win_rate = won_amount / closed_amount`` over deals closed in the period. Where
    the CRM zeroes the amount of lost deals this reads 1.0: prefer the count basis there.
    Null when the closed amount is zero.

    Returns: ``[*by, period], closed_amount, won_amount, win_rate``.
    """
    lf, keys = _closed_deals(
        opportunities,
        by=by,
        every=every,
        amount=amount,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    out = aggregate(
        lf,
        keys,
        [
            total(nw.col(amount)).alias("closed_amount"),
            total(nw.when(won_flag(is_won)).then(nw.col(amount))).alias("won_amount"),
        ],
    ).with_columns(safe_div(nw.col("won_amount"), nw.col("closed_amount")).alias("win_rate"))
    return back(sort_keys(out, keys), opportunities)


def win_rate(
    opportunities: FrameT,
    *,
    basis: Literal["count", "amount"] | None = None,
    choices: KPIChoices | None = None,
    **kwargs: Any,
) -> FrameT:
    """The win rate on the configured basis (``kpis.win_rate_basis``, default ``count``):
    :func:`win_rate_by_count` or :func:`win_rate_by_amount`."""
    chosen = basis or (choices or KPIChoices()).win_rate_basis
    if chosen == "amount":
        return win_rate_by_amount(opportunities, **kwargs)
    kwargs.pop("amount", None)
    return win_rate_by_count(opportunities, **kwargs)


def average_deal_size(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    amount: str = "amount",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Mean amount of the deals won in the period.

    Formula: ``average_deal_size = bookings / won_deals``. Null when nothing was won.

    Returns: ``[*by, period], won_deals, bookings, average_deal_size``.
    """
    lf = lazy(opportunities, name="opportunities")
    require(lf, [amount, is_won], what="opportunities")
    lf = lf.filter(won_flag(is_won))
    lf, keys = keyed(
        lf, by=by, every=every, time=close_time(lf, closed_at, close_date), what="opportunities"
    )
    out = aggregate(
        lf,
        keys,
        [nw.len().cast(nw.Int64).alias("won_deals"), total(nw.col(amount)).alias("bookings")],
    ).with_columns(safe_div(nw.col("bookings"), nw.col("won_deals")).alias("average_deal_size"))
    return back(sort_keys(out, keys), opportunities)


def _outcome_filter(outcome: Outcome, is_closed: str, is_won: str) -> nw.Expr:
    if outcome == "won":
        return won_flag(is_won)
    if outcome == "lost":
        return lost_flag(is_closed, is_won)
    return closed_flag(is_closed, is_won)


def sales_cycle_days(
    opportunities: FrameT,
    *,
    outcome: Outcome = "won",
    by: Columns = None,
    every: str | None = None,
    start: str = "created_at",
    calendar: bool = True,
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Days from a deal's start to its close, for deals closed in the period.

    Formula: ``days = close - start`` per deal, then mean, median, p75, p90, min and max.
    ``close`` is ``closed_at`` where known, else ``close_date``. ``calendar=True`` counts
    calendar days between the two dates (time of day dropped); ``calendar=False`` counts
    elapsed days as a fraction (a date is midnight UTC). ``outcome`` picks won (the usual
    sales cycle), lost or all closed deals. Deals missing either end are left out.

    Returns: ``[*by, period], deals, mean_days, median_days, p75_days, p90_days, min_days,
    max_days``.
    """
    lf = lazy(opportunities, name="opportunities")
    require(lf, [start, is_won], what="opportunities")
    if not has(lf, is_closed):
        lf = lf.with_columns(nw.lit(None, dtype=nw.Boolean()).alias(is_closed))
    lf = lf.filter(_outcome_filter(outcome, is_closed, is_won))
    end = close_time(lf, closed_at, close_date)
    begin = naive(lf.collect_schema(), start)
    days = days_between(begin, end, lf.implementation, calendar=calendar)
    lf = lf.with_columns(days.cast(nw.Float64).alias("__days")).filter(~nw.col("__days").is_null())
    lf, keys = keyed(lf, by=by, every=every, time=end, what="opportunities")
    d = nw.col("__days")
    out = aggregate(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("deals"),
            *quantile_aggs(d, "days"),
            d.min().alias("min_days"),
            d.max().alias("max_days"),
        ],
    )
    return back(sort_keys(out, keys), opportunities)


def lead_to_close_days(
    opportunities: FrameT,
    people: Any,
    *,
    outcome: Outcome = "won",
    by: Columns = None,
    every: str | None = None,
    calendar: bool = True,
    person_id: str = "primary_person_id",
    person_created_at: str = "created_at",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Days from a deal's person's first contact (the person's ``created_at``) to close.

    Formula: ``days = close - person.created_at`` per deal (joined on ``primary_person_id``),
    then mean, median, p75, p90, min and max, as :func:`sales_cycle_days`. Use it where deals
    have no creation date of their own, or to measure the whole lead-to-revenue time.

    Returns: ``[*by, period], deals, mean_days, median_days, p75_days, p90_days, min_days,
    max_days``.
    """
    enriched = with_person_attributes(
        lazy(opportunities, name="opportunities"),
        people,
        columns=[person_created_at],
        person_id=person_id,
        prefix="__person_",
    )
    out = sales_cycle_days(
        enriched,
        outcome=outcome,
        by=by,
        every=every,
        start=f"__person_{person_created_at}",
        calendar=calendar,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    return back(out, opportunities)


def _terminal_stages(pipelines: Pipelines | None, extra: Sequence[str] | None) -> list[str]:
    names = {s.lower() for s in extra or ()}
    if pipelines is not None:
        for p in pipelines_list(pipelines):
            for s in p.stages:
                if s.is_closed:
                    names |= {s.name.lower(), *(a.lower() for a in s.aliases)}
    return sorted(names)


def time_in_stage(
    stage_events: FrameT,
    *,
    as_of: datetime | date | str | None = None,
    pipelines: Pipelines | None = None,
    terminal_stages: Sequence[str] | None = None,
    opportunities: Any = None,
    by: Columns = None,
    every: str | None = None,
    entity: str = "opportunities",
    stage_field: str = "stage",
    record_id: str = "record_id",
    to_value: str = "to_value",
    changed_at: str = "changed_at",
    event_id: str = "event_id",
    opportunity_id: str = "opportunity_id",
) -> FrameT:
    """How long records stay in each stage, from the stage history.

    A stay starts at the event that moved the record into the stage and ends at its next
    stage event. A stay with no later event (or whose next event is after ``as_of``) is still
    open and counts up to ``as_of`` (default: now). Stays in closed stages (from
    ``pipelines``, plus ``terminal_stages``) are not counted: a deal does not wait there.

    Formula per stay: ``days = (end - entered) / 86,400 s``; per stage: stays, open_stays, mean,
    median, p75 and p90 of days. ``every`` groups stays by the period they started in; ``by``
    names columns of ``opportunities`` (joined on ``record_id``).

    Returns: ``stage, [*by, period], stays, open_stays, mean_days, median_days, p75_days,
    p90_days``.
    """
    cutoff = naive_utc(as_of)
    ev = lazy(stage_events, name="stage_events")
    require(ev, [record_id, to_value, changed_at], what="stage_events")
    if has(ev, "field"):
        ev = ev.filter(nw.col("field").fill_null(stage_field) == stage_field)
    if has(ev, "record_entity"):
        ev = ev.filter(nw.col("record_entity").fill_null(entity) == entity)
    order = [changed_at, event_id] if has(ev, event_id) else [changed_at]
    t = naive(ev.collect_schema(), changed_at)
    ev = ev.filter(~nw.col(changed_at).is_null())
    ev = ev.with_columns(
        t.alias("__start"),
        t.shift(-1).over(record_id, order_by=order).alias("__next"),
    ).filter(nw.col("__start") <= nw.lit(cutoff))
    terminal = _terminal_stages(pipelines, terminal_stages)
    if terminal:
        ev = ev.filter(~nw.col(to_value).str.to_lowercase().is_in(terminal))
    is_open = nw.col("__next").is_null() | (nw.col("__next") > nw.lit(cutoff))
    end = nw.when(is_open).then(nw.lit(cutoff)).otherwise(nw.col("__next"))
    ev = ev.with_columns(
        is_open.alias("__open"),
        days_between(nw.col("__start"), end, ev.implementation, calendar=False).alias("__days"),
        nw.col(to_value).alias("stage") if to_value != "stage" else nw.col(to_value),
    )
    dims = as_list(by)
    if dims:
        opps = (
            lazy(opportunities, name="opportunities", like=ev)
            if opportunities is not None
            else None
        )
        if opps is None:
            require(ev, dims, what="stage_events")
        else:
            require(opps, [opportunity_id, *dims], what="opportunities")
            ev = ev.drop(*[d for d in dims if has(ev, d)]).join(
                opps.select(opportunity_id, *dims).unique([opportunity_id]),
                left_on=record_id,
                right_on=opportunity_id,
                how="left",
            )
    ev, keys = keyed(ev, by=dims, every=every, time=nw.col("__start"), what="stage_events")
    d = nw.col("__days")
    out = ev.group_by(["stage", *keys]).agg(
        nw.len().cast(nw.Int64).alias("stays"),
        count_if(nw.col("__open")).alias("open_stays"),
        *quantile_aggs(d, "days"),
    )
    return back(sort_keys(out, ["stage", *keys]), stage_events)


def sales_velocity(
    opportunities: FrameT,
    *,
    as_of: datetime | date | str | None = None,
    window_days: int | None = None,
    basis: Literal["count", "amount"] | None = None,
    choices: KPIChoices | None = None,
    by: Columns = None,
    calendar: bool = True,
    created_at: str = "created_at",
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Expected revenue per day flowing through the pipeline.

    Formula: ``velocity_per_day = open_opportunities x win_rate x average_deal_size /
    cycle_days``; ``velocity_per_month = velocity_per_day x 365.25 / 12``.

    Windows: ``open_opportunities`` is the deals open at ``as_of`` (created by then and not
    closed by then). ``win_rate`` (on ``kpis.win_rate_basis``), ``average_deal_size`` (won
    amount / won deals) and ``cycle_days`` (mean days from creation to close of won deals)
    come from deals that closed in the trailing ``window_days`` before ``as_of`` (config
    ``kpis.cycle_window_days``, default 365). Null when the cycle length is zero or unknown.

    Returns: ``[*by], open_opportunities, win_rate, average_deal_size, cycle_days,
    velocity_per_day, velocity_per_month, window_days``.
    """
    cfg = choices or KPIChoices()
    chosen = basis or cfg.win_rate_basis
    window = window_days or cfg.cycle_window_days
    cutoff = naive_utc(as_of)
    start = cutoff - timedelta(days=window)
    lf = lazy(opportunities, name="opportunities")
    keys = as_list(by)
    require(lf, [created_at, amount, is_won, *keys], what="opportunities")
    if not has(lf, is_closed):
        lf = lf.with_columns(nw.lit(None, dtype=nw.Boolean()).alias(is_closed))
    created = naive(lf.collect_schema(), created_at)
    closed_t = close_time(lf, closed_at, close_date)
    lf = lf.with_columns(
        created.alias("__created"),
        closed_t.alias("__closed_t"),
        closed_flag(is_closed, is_won).alias("__closed"),
        won_flag(is_won).alias("__won"),
    )
    open_now = (nw.col("__created") <= nw.lit(cutoff)) & ~(
        nw.col("__closed") & (nw.col("__closed_t") <= nw.lit(cutoff)).fill_null(True)
    )
    opened = aggregate(
        lf.filter(open_now), keys, [nw.len().cast(nw.Int64).alias("open_opportunities")]
    )
    hist = lf.filter(
        nw.col("__closed")
        & (nw.col("__closed_t") > nw.lit(start))
        & (nw.col("__closed_t") <= nw.lit(cutoff))
    ).with_columns(
        days_between(
            nw.col("__created"), nw.col("__closed_t"), lf.implementation, calendar=calendar
        )
        .cast(nw.Float64)
        .alias("__days")
    )
    won = nw.col("__won")
    amt = nw.col(amount)
    rate_num, rate_den = (
        (count_if(won), nw.len())
        if chosen == "count"
        else (total(nw.when(won).then(amt)), total(amt))
    )
    stats = aggregate(
        hist,
        keys,
        [
            safe_div(rate_num, rate_den).alias("win_rate"),
            safe_div(total(nw.when(won).then(amt)), count_if(won)).alias("average_deal_size"),
            nw.when(won).then(nw.col("__days")).mean().alias("cycle_days"),
        ],
    )
    joined = full_join(opened, stats, keys) if keys else opened.join(stats, how="cross")
    parts = (
        nw.col("open_opportunities").fill_null(0).cast(nw.Float64)
        * nw.col("win_rate")
        * nw.col("average_deal_size")
    )
    out = joined.select(
        *keys,
        nw.col("open_opportunities").fill_null(0).cast(nw.Int64),
        "win_rate",
        "average_deal_size",
        "cycle_days",
        nw.when(nw.col("cycle_days") > 0)
        .then(safe_div(parts, nw.col("cycle_days")))
        .alias("velocity_per_day"),
        nw.lit(window, dtype=nw.Int64()).alias("window_days"),
    ).with_columns((nw.col("velocity_per_day") * DAYS_PER_MONTH).alias("velocity_per_month"))
    cols = [
        *keys,
        "open_opportunities",
        "win_rate",
        "average_deal_size",
        "cycle_days",
        "velocity_per_day",
        "velocity_per_month",
        "window_days",
    ]
    return back(sort_keys(out.select(cols), keys), opportunities)
