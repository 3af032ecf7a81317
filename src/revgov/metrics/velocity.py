"""Speed and yield of the pipeline: win rates, deal size, cycle length, time in stage and
sales velocity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Literal

import narwhals as nw

from revgov._typing import ConversionBasis
from revgov.config import KPIChoices
from revgov.errors import MetricInputError
from revgov.metrics._deals import (
    CLOSE_T,
    CLOSED,
    DAYS,
    TERMS,
    WON,
    closed_deals,
    deal_size_terms,
    open_at,
    pooled_terms,
    win_rate_terms,
    with_cycle_days,
    with_outcome,
)
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    full_join,
    has,
    lazy,
    lookup_join,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._history import field_history, with_next_time
from revgov.metrics._kpi import (
    PERIOD,
    aggregate,
    count_if,
    keyed,
    per_group,
    quantile_aggs,
    summarize,
)
from revgov.metrics._notes import (
    cycle_notes,
    velocity_notes,
    win_rate_amount_notes,
    win_rate_notes,
)
from revgov.metrics._stages import Pipelines, pipelines_list
from revgov.metrics._time import days_between, naive, naive_utc, parse_every, period_start
from revgov.metrics.enrich import with_person_attributes
from revgov.metrics.registry import REVENUE_OPERATIONS, SALES, kpi

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


@kpi(
    title="Win rate (by count)",
    unit="share",
    basis="deals closed in the period (--basis period), or closed deals by creation cohort "
    "(--basis cohort); each deal counting once",
    owner=SALES,
    driver="Qualification, competitive position and sales execution.",
    remediation="Run win/loss reviews on recent losses; check qualification of the deals "
    "that entered the pipeline.",
    inputs=("opportunities",),
    example='win_rate_by_count(opportunities, by="segment")',
    headline="win_rate",
    takes_basis=True,
    notes=win_rate_notes,
)
def win_rate_by_count(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    basis: ConversionBasis = "period",
    created_at: str = "created_at",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Share of closed deals that were won, each deal counting once.

    ``basis="period"`` (default) places a deal in the period it closed in;
    ``basis="cohort"`` in the period it was created in (e.g. its engage month), so a cohort's
    win rate is over its deals closed so far (deals without ``created_at`` are left out).

    Formula: ``win_rate = won / closed`` over deals closed in the period, or created in it
    and closed (won or lost; open deals are never in the denominator). Null when nothing
    closed.

    Returns: ``[*by, period], closed, won, win_rate``.
    """
    lf, keys = closed_deals(
        opportunities,
        by=by,
        every=every,
        needs=[],
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
        users=users,
        accounts=accounts,
        basis=basis,
        created_at=created_at,
    )
    won, closed = win_rate_terms("count", "")
    return summarize(
        lf,
        keys,
        [closed.alias("closed"), won.alias("won")],
        opportunities,
        then=[safe_div(nw.col("won"), nw.col("closed")).alias("win_rate")],
    )


@kpi(
    title="Win rate (by amount)",
    unit="share",
    basis="value of deals closed in the period (--basis period), or of closed deals by "
    "creation cohort (--basis cohort)",
    owner=SALES,
    driver="Win rate on large deals.",
    remediation="Compare with the count basis: a lower amount win rate means large deals "
    "are lost; review those with the deal desk.",
    inputs=("opportunities",),
    example="win_rate_by_amount(opportunities)",
    headline="win_rate",
    takes_basis=True,
    notes=win_rate_amount_notes,
)
def win_rate_by_amount(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    amount: str = "amount",
    basis: ConversionBasis = "period",
    created_at: str = "created_at",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Share of closed pipeline value that was won.

    ``basis`` as :func:`win_rate_by_count` (``"period"``: by close period; ``"cohort"``: by
    creation period, closed deals only).

    Formula: ``win_rate = won_amount / closed_amount`` over deals closed in the period (deals
    with a blank amount are left out of both). Where the CRM zeroes the amount of lost deals
    this reads 1.0: prefer the count basis there. Null when the closed amount is zero or
    unknown.

    Returns: ``[*by, period], closed_amount, won_amount, win_rate``.
    """
    lf, keys = closed_deals(
        opportunities,
        by=by,
        every=every,
        needs=[amount],
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
        users=users,
        accounts=accounts,
        basis=basis,
        created_at=created_at,
    )
    won, closed = win_rate_terms("amount", amount)
    return summarize(
        lf,
        keys,
        [closed.alias("closed_amount"), won.alias("won_amount")],
        opportunities,
        then=[safe_div(nw.col("won_amount"), nw.col("closed_amount")).alias("win_rate")],
    )


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


@kpi(
    title="Average deal size",
    unit="currency",
    basis="won deals by close period",
    owner=SALES,
    driver="Packaging, pricing, discounting and segment mix.",
    remediation="Split by segment and product; review discounting and multi-product attach.",
    inputs=("opportunities",),
    example='average_deal_size(opportunities, by="segment")',
    headline="average_deal_size",
)
def average_deal_size(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Mean amount of the deals won in the period.

    A blank amount is unknown, not zero: it is left out of the mean (``deals_with_amount``
    counts the won deals that have one).

    Formula: ``average_deal_size = bookings / deals_with_amount``. Null when nothing was won
    or no won deal has an amount.

    Returns: ``[*by, period], won_deals, deals_with_amount, bookings, average_deal_size``.
    """
    lf, keys = closed_deals(
        opportunities,
        by=by,
        every=every,
        needs=[amount],
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
        users=users,
        accounts=accounts,
        won_only=True,
    )
    won_amount, with_amount = deal_size_terms(amount)
    return summarize(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("won_deals"),
            with_amount.alias("deals_with_amount"),
            won_amount.alias("bookings"),
        ],
        opportunities,
        then=[safe_div(nw.col("bookings"), nw.col("deals_with_amount")).alias("average_deal_size")],
    )


def _outcome_filter(outcome: Outcome) -> nw.Expr:
    if outcome == "won":
        return nw.col(WON)
    if outcome == "lost":
        return nw.col(CLOSED) & ~nw.col(WON)
    return nw.col(CLOSED)


@kpi(
    title="Sales cycle length",
    unit="days",
    basis="won deals by close period, creation to close",
    owner=SALES,
    driver="Deal complexity, buying-group size and stage velocity.",
    remediation="Find the stage that grew (time_in_stage); multi-thread slow deals and "
    "agree mutual close plans.",
    inputs=("opportunities",),
    example='sales_cycle_days(opportunities, by="segment")',
    headline="median_days",
    notes=cycle_notes,
)
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
    lf = with_outcome(
        lf, is_closed=is_closed, is_won=is_won, closed_at=closed_at, close_date=close_date
    ).filter(_outcome_filter(outcome))
    # The same days as the cycle of sales_velocity and the funnel model (cycle_terms): the
    # mean of the deals whose both ends are known.
    lf = with_cycle_days(lf, start=start, calendar=calendar).filter(~nw.col(DAYS).is_null())
    lf, keys = keyed(lf, by=by, every=every, time=nw.col(CLOSE_T), what="opportunities")
    d = nw.col(DAYS)
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


@kpi(
    title="Lead-to-close time",
    unit="days",
    basis="won deals by close period, the person's first contact to close",
    owner=REVENUE_OPERATIONS,
    driver="Speed to lead, qualification time and the sales cycle together.",
    remediation="Split into speed to lead, lead-to-opportunity time and the sales cycle; "
    "fix the slowest part.",
    inputs=("opportunities", "people"),
    example="lead_to_close_days(opportunities, people)",
    headline="median_days",
)
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


@kpi(
    title="Time in stage",
    unit="days",
    basis="stage stays from stage history; open stays counted to as_of",
    owner=SALES,
    driver="Deal hygiene, buyer engagement and stage exit criteria.",
    remediation="Review deals past the p75 of their stage; set stale_days per stage in "
    "revgov.toml and act on stale deals.",
    inputs=("stage_events",),
    example="time_in_stage(stage_events, as_of=as_of, pipelines=config.pipelines)",
    by_entities=("opportunities",),
)
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
    ev = field_history(
        stage_events,
        entity=entity,
        field=stage_field,
        record_id=record_id,
        to_value=to_value,
        changed_at=changed_at,
    )
    order = [changed_at, event_id] if has(ev, event_id) else [changed_at]
    t = naive(ev.collect_schema(), changed_at)
    ev = ev.filter(~nw.col(changed_at).is_null()).with_columns(t.alias("__start"))
    ev = with_next_time(ev, record_id=record_id, order=order, time="__start", alias="__next")
    ev = ev.filter(nw.col("__start") <= nw.lit(cutoff))
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
            ev = lookup_join(
                ev.drop(*[d for d in dims if has(ev, d)]),
                opps.select(opportunity_id, *dims).unique([opportunity_id]),
                left_on=record_id,
                right_on=opportunity_id,
            )
    ev, keys = keyed(ev, by=dims, every=every, time=nw.col("__start"), what="stage_events")
    d = nw.col("__days")
    out = ev.group_by(["stage", *keys]).agg(
        nw.len().cast(nw.Int64).alias("stays"),
        count_if(nw.col("__open")).alias("open_stays"),
        *quantile_aggs(d, "days"),
    )
    terminal = _terminal_stages(pipelines, terminal_stages)
    if terminal:
        # Closed stages left out on the groups, not the events: one stage name lowercased
        # per group rather than per event (10M in bench_metrics.py, 0.2 s). Flagged first:
        # polars pushes a filter on a group key alone back down onto every event.
        out = (
            out.with_columns(nw.col("stage").str.to_lowercase().is_in(terminal).alias("__closed"))
            .filter(~nw.col("__closed").fill_null(True))
            .drop("__closed")
        )
    return back(sort_keys(out, ["stage", *keys]), stage_events)


@kpi(
    title="Sales velocity",
    unit="currency per day; currency per month",
    basis="open deals at as_of; win rate, deal size and cycle over the trailing "
    "kpis.cycle_window_days",
    owner=REVENUE_OPERATIONS,
    driver="The four levers: number of deals, win rate, deal size, cycle length.",
    remediation="Find the lever that moved most against the previous period and work that one.",
    inputs=("opportunities",),
    example="sales_velocity(opportunities, as_of=as_of, choices=config.kpis)",
    headline="velocity_per_month",
    headline_unit="currency per month",
    notes=velocity_notes,
)
def sales_velocity(
    opportunities: FrameT,
    *,
    as_of: datetime | date | str | None = None,
    window_days: int | None = None,
    basis: Literal["count", "amount"] | None = None,
    choices: KPIChoices | None = None,
    by: Columns = None,
    every: str | None = None,
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
    amount / won deals with an amount) and ``cycle_days`` (mean days from creation to close
    of won deals) come from deals that closed in the trailing ``window_days`` before
    ``as_of`` (config ``kpis.cycle_window_days``, default 365). With ``every``, each period
    up to ``as_of`` is its own window: the deals open at the period's end, and the win rate,
    deal size and cycle of the deals closed in the period (``window_days`` is then null).
    Null when the cycle length is zero or unknown.

    Returns: ``[*by, period], open_opportunities, win_rate, average_deal_size, cycle_days,
    velocity_per_day, velocity_per_month, window_days``.
    """
    cfg = choices or KPIChoices()
    cutoff = naive_utc(as_of)
    step = parse_every(every)
    lf = lazy(opportunities, name="opportunities")
    keys = as_list(by)
    require(lf, [created_at, amount, is_won, *keys], what="opportunities")
    if PERIOD in keys:
        raise MetricInputError(f"{PERIOD!r} is reserved for every=; rename that column")
    open_now = open_at(
        lf,
        cutoff,
        created_at=created_at,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    lf = with_outcome(
        lf,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
        start=created_at,
        calendar=calendar,
    ).with_columns(
        naive(lf.collect_schema(), created_at).alias("__created"), open_now.alias("__open")
    )
    terms = pooled_terms(basis or cfg.win_rate_basis, amount)
    if step is None:
        window = window_days or cfg.cycle_window_days
        joined = _trailing_window(lf, keys, terms, cutoff=cutoff, window_days=window)
        group, window_col = keys, nw.lit(window, dtype=nw.Int64())
    else:
        joined = _per_period(lf, keys, terms, cutoff=cutoff, step=step)
        group, window_col = [*keys, PERIOD], nw.lit(None, dtype=nw.Int64())
    joined = joined.with_columns(
        *[safe_div(nw.col(n), nw.col(d)).alias(name) for name, (n, d) in TERMS.items()]
    )
    opened = nw.col("open_opportunities").fill_null(0)
    parts = opened.cast(nw.Float64) * nw.col("win_rate") * nw.col("average_deal_size")
    velocity = nw.when(nw.col("cycle_days") > 0).then(safe_div(parts, nw.col("cycle_days")))
    out = joined.select(
        *group,
        opened.cast(nw.Int64).alias("open_opportunities"),
        "win_rate",
        "average_deal_size",
        "cycle_days",
        velocity.alias("velocity_per_day"),
        (velocity * DAYS_PER_MONTH).alias("velocity_per_month"),
        window_col.alias("window_days"),
    )
    return back(sort_keys(out, group), opportunities)


def _trailing_window(
    lf: nw.LazyFrame[Any],
    keys: list[str],
    terms: list[nw.Expr],
    *,
    cutoff: datetime,
    window_days: int,
) -> nw.LazyFrame[Any]:
    """Sales velocity at ``cutoff``: the deals open then, and the terms of the deals closed
    in the ``window_days`` before it."""
    opened = aggregate(
        lf.filter(nw.col("__open")), keys, [nw.len().cast(nw.Int64).alias("open_opportunities")]
    )
    closed_t = nw.col(CLOSE_T)
    start = cutoff - timedelta(days=window_days)
    in_window = (closed_t > nw.lit(start)) & (closed_t <= nw.lit(cutoff))
    stats = aggregate(lf.filter(nw.col(CLOSED) & in_window), keys, terms)
    return full_join(opened, stats, keys)


def _per_period(
    lf: nw.LazyFrame[Any],
    keys: list[str],
    terms: list[nw.Expr],
    *,
    cutoff: datetime,
    step: str,
) -> nw.LazyFrame[Any]:
    """Sales velocity per period up to ``cutoff``: the deals open at each period's end, and
    the terms of the deals closed in the period."""
    # Open at a period's end = created up to then - closed up to then, as running sums;
    # a closed deal without a close time is never counted open (as without every=).
    created = nw.col("__created") <= nw.lit(cutoff)
    closed_t = nw.col(CLOSE_T)
    group = [*keys, PERIOD]
    made = (
        lf.filter(created & ~(nw.col(CLOSED) & closed_t.is_null()))
        .with_columns(period_start(nw.col("__created"), step).alias(PERIOD))
        .group_by(group)
        .agg(nw.len().cast(nw.Int64).alias("__made"))
    )
    done = (
        lf.filter(created & nw.col(CLOSED) & (closed_t <= nw.lit(cutoff)))
        .with_columns(period_start(closed_t, step).alias(PERIOD))
        .group_by(group)
        .agg(nw.len().cast(nw.Int64).alias("__done"), *terms)
    )
    running = (nw.col("__made").fill_null(0) - nw.col("__done").fill_null(0)).cum_sum()
    return full_join(made, done, group).with_columns(
        per_group(running, keys, order_by=PERIOD).cast(nw.Int64).alias("open_opportunities")
    )
