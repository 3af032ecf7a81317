"""Pipeline volume: pipeline created, qualified pipeline, bookings, and coverage."""

from __future__ import annotations

from typing import Any, Literal

import narwhals as nw

from revgov._typing import CoverageAgainst
from revgov.config import KPIChoices, QualifiedDefinition
from revgov.definitions.qualified import min_stage_position
from revgov.errors import MetricInputError
from revgov.metrics._deals import closed_deals, created_aggs, win_rate_terms, won_aggs
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
from revgov.metrics._kpi import (
    PERIOD,
    absent_as_zero,
    close_time,
    count_if,
    deal_closed,
    keyed,
    period_of,
    summarize,
    total,
    won_flag,
)
from revgov.metrics._notes import coverage_notes
from revgov.metrics._stages import (
    Pipelines,
    funnel_position,
    funnel_stages,
    stage_attr,
    with_funnel_position,
)
from revgov.metrics._time import parse_every, period_start
from revgov.metrics.enrich import grouping_columns
from revgov.metrics.registry import REVENUE_OPERATIONS, SALES, kpi

__all__ = [
    "bookings",
    "pipeline_coverage",
    "pipeline_created",
    "qualified_pipeline",
    "required_coverage",
]


@kpi(
    title="Pipeline created",
    unit="count; currency",
    basis="deals by creation period",
    owner=REVENUE_OPERATIONS,
    driver="Volume of demand reaching sales and outbound prospecting.",
    remediation="Trace a shortfall to its source and segment; move SDR capacity and budget "
    "to the sources whose pipeline converts.",
    inputs=("opportunities",),
    example='pipeline_created(opportunities, by="segment")',
    headline="pipeline_amount",
    headline_unit="currency",
)
def pipeline_created(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    created_at: str = "created_at",
    amount: str = "amount",
) -> FrameT:
    """Opportunities created, counted and summed.

    Formula: ``opportunities = count(deals created in the period)``;
    ``pipeline_amount = sum(amount of those deals)`` (blank amounts add nothing; null when
    every amount is blank). The period is the one holding ``created_at``.

    Returns: ``[*by, period], opportunities, pipeline_amount``.
    """
    lf = lazy(opportunities, name="opportunities")
    lf = grouping_columns(lf, by, what="opportunities", users=users, accounts=accounts)
    require(lf, [created_at, amount], what="opportunities")
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="opportunities")
    return summarize(lf, keys, created_aggs(amount), opportunities)


@kpi(
    title="Qualified pipeline",
    unit="count; currency; share",
    basis="deals by creation period, qualified per [qualified] in revgov.toml",
    owner=REVENUE_OPERATIONS,
    driver="Discovery quality and how quickly reps advance real deals.",
    remediation="Review the unqualified deals by owner; tighten the entry criteria of the "
    "first stage and coach discovery.",
    inputs=("opportunities",),
    example="qualified_pipeline(opportunities, config.pipelines, "
    "qualified=config.qualified, stage_events=stage_events)",
    headline="qualified_amount",
    headline_unit="currency",
)
def qualified_pipeline(
    opportunities: FrameT,
    pipelines: Pipelines,
    *,
    qualified: QualifiedDefinition | None = None,
    stage_events: Any = None,
    by: Columns = None,
    every: str | None = None,
    opportunity_id: str = "opportunity_id",
    stage: str = "stage",
    created_at: str = "created_at",
    amount: str = "amount",
) -> FrameT:
    """Pipeline that meets the governed definition of "qualified".

    A deal is qualified when it has reached ``qualified.opportunity_min_stage`` (by funnel
    order: its current stage is at or past it, it is won, or a stage event shows it got
    there before being lost) and its amount is at least ``qualified.opportunity_min_amount``.
    With neither setting, every deal is qualified.

    Formula: ``qualified_opportunities = count(qualified deals created in the period)``;
    ``qualified_amount = sum(their amount)``;
    ``qualified_rate = qualified_opportunities / opportunities``.

    Returns: ``[*by, period], opportunities, qualified_opportunities, qualified_amount,
    qualified_rate``.
    """
    definition = qualified or QualifiedDefinition()
    lf = lazy(opportunities, name="opportunities")
    require(lf, [opportunity_id, stage, created_at, amount], what="opportunities")
    cond = nw.lit(True)
    if definition.opportunity_min_stage is not None:
        stages = funnel_stages(pipelines)
        target = min_stage_position(definition, stages)
        if target is None:
            raise MetricInputError(
                f"qualified.opportunity_min_stage {definition.opportunity_min_stage!r} is not an "
                "open or won stage of the pipeline",
                hint="name a stage deals pass through on the way to won",
            )
        cond = funnel_position(stages, stage).fill_null(0) >= target
        if stage_events is not None:
            ev = lazy(stage_events, name="stage_events", like=lf)
            require(ev, ["record_id", "to_value"], what="stage_events")
            if has(ev, "field"):
                ev = ev.filter(nw.col("field").fill_null("stage") == "stage")
            # The deals with an event at the stage or past it: the ids of the events that
            # are, not every event's position grouped per deal.
            reached = (
                with_funnel_position(ev, stages, "to_value", "__epos")
                .filter(nw.col("__epos") >= target)
                .select(nw.col("record_id").alias("__rid"))
                .unique(["__rid"])
                .with_columns(nw.lit(True).alias("__reached"))
            )
            lf = lookup_join(lf, reached, left_on=opportunity_id, right_on="__rid")
            cond = cond | nw.col("__reached").fill_null(False)
    if definition.opportunity_min_amount is not None:
        cond = cond & (nw.col(amount).fill_null(0) >= definition.opportunity_min_amount)
    lf = lf.with_columns(cond.alias("__q"))
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="opportunities")
    q = nw.col("__q")
    return summarize(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("opportunities"),
            count_if(q).alias("qualified_opportunities"),
            total(nw.col(amount), where=q).alias("qualified_amount"),
        ],
        opportunities,
        then=[
            safe_div(nw.col("qualified_opportunities"), nw.col("opportunities")).alias(
                "qualified_rate"
            )
        ],
    )


@kpi(
    title="Bookings",
    unit="count; currency",
    basis="won deals by close period",
    owner=SALES,
    driver="Win rate, deal size and the pipeline maturing in the period.",
    remediation="Compare with the forecast; inspect slipped deals and late-stage losses.",
    inputs=("opportunities",),
    example='bookings(opportunities, every="1mo")',
    headline="bookings",
    headline_unit="currency",
)
def bookings(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    amount: str = "amount",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Closed-won deals, counted and summed.

    Formula: ``won_deals = count(won deals closed in the period)``;
    ``bookings = sum(amount of those deals)`` (null when every amount is blank). A deal's
    close time is ``closed_at`` where known, else ``close_date``.

    Returns: ``[*by, period], won_deals, bookings``.
    """
    lf = lazy(opportunities, name="opportunities")
    lf = grouping_columns(lf, by, what="opportunities", users=users, accounts=accounts)
    require(lf, [amount, is_won], what="opportunities")
    lf = lf.filter(won_flag(is_won))
    time = close_time(lf, closed_at, close_date)
    lf, keys = keyed(lf, by=by, every=every, time=time, what="opportunities")
    return summarize(lf, keys, won_aggs(amount), opportunities)


@kpi(
    title="Pipeline coverage",
    unit="ratio (x)",
    basis="open pipeline by expected close period against the bookings target left "
    "(kpis.coverage_basis, kpis.coverage_against)",
    owner=REVENUE_OPERATIONS,
    driver="Pipeline created in earlier periods and slippage of close dates.",
    remediation="Below required_coverage: pull pipeline generation forward, or reset the "
    "target; above it with poor results: check close-date hygiene.",
    inputs=("opportunities", "targets"),
    example='pipeline_coverage(opportunities, targets, by="segment", choices=config.kpis)',
    by_entities=("opportunities", "targets"),
    notes=coverage_notes,
)
def pipeline_coverage(
    opportunities: FrameT,
    targets: Any,
    *,
    every: str = "1mo",
    by: Columns = None,
    basis: Literal["open_pipeline", "weighted_pipeline"] | None = None,
    choices: KPIChoices | None = None,
    pipelines: Pipelines | None = None,
    against: CoverageAgainst | None = None,
    metric: str = "bookings",
    amount: str = "amount",
    stage: str = "stage",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
    target_period: str = "period",
    target_metric: str = "metric",
    target_amount: str = "amount",
) -> FrameT:
    """Open pipeline expected to close in a period, against that period's bookings target.

    Formula: ``coverage = pipeline / (target - booked)`` (``against="remaining"``, the
    default) or ``pipeline / target`` (``against="target"``; config
    ``kpis.coverage_against``), where ``pipeline`` is the
    amount of open deals whose ``close_date`` falls in the period, weighted by the stage
    probability when the basis is ``weighted_pipeline`` (config ``kpis.coverage_basis``),
    ``booked`` is the amount already won in the period, and ``target`` is the sum of
    ``targets`` rows with ``metric = "bookings"`` for the period. Null when the denominator
    is zero or negative (the target is met).

    Returns: ``[*by, period], target, booked, remaining, pipeline, basis, against,
    coverage``.
    """
    chosen = basis or (choices or KPIChoices()).coverage_basis
    against = against or (choices or KPIChoices()).coverage_against
    step = parse_every(every) or "1mo"
    lf = lazy(opportunities, name="opportunities")
    tg = lazy(targets, name="targets", like=lf)
    keys = as_list(by)
    require(lf, [amount, is_won, close_date, *keys], what="opportunities")
    require(tg, [target_period, target_metric, target_amount, *keys], what="targets")
    value = nw.col(amount).cast(nw.Float64)
    if chosen == "weighted_pipeline":
        if has(lf, "stage_probability"):
            prob = nw.col("stage_probability")
        elif pipelines is not None:
            prob = stage_attr("probability", pipelines, stage=stage)
        else:
            raise MetricInputError(
                "weighted coverage needs stage probabilities",
                hint="pass pipelines=config.pipelines, or use with_stage_attributes() first",
            )
        value = value * prob.fill_null(0.0)
    group = [*keys, PERIOD]
    open_pipe = (
        lf.filter(~deal_closed(lf, is_closed, is_won))
        .with_columns(period_of(lf, close_date, step))
        .group_by(group)
        .agg(total(value).alias("pipeline"), nw.len().alias("__open_rows"))
    )
    booked = (
        lf.filter(won_flag(is_won))
        .with_columns(period_start(close_time(lf, closed_at, close_date), step).alias(PERIOD))
        .group_by(group)
        .agg(total(nw.col(amount)).alias("booked"), nw.len().alias("__booked_rows"))
    )
    target = (
        tg.filter(nw.col(target_metric).str.to_lowercase() == metric.lower())
        .with_columns(period_of(tg, target_period, step))
        .group_by(group)
        .agg(nw.col(target_amount).cast(nw.Float64).sum().alias("target"))
    )
    # A period with no won or open deals has 0 of them; deals whose amounts are all blank
    # have an unknown value (null), which the join must not turn into 0.
    joined = full_join(full_join(target, booked, group), open_pipe, group).with_columns(
        absent_as_zero("booked", "__booked_rows"), absent_as_zero("pipeline", "__open_rows")
    )
    remaining = nw.col("target") - nw.col("booked")
    den = remaining if against == "remaining" else nw.col("target")
    out = joined.select(
        *group,
        "target",
        "booked",
        remaining.alias("remaining"),
        "pipeline",
        nw.lit(chosen).alias("basis"),
        nw.lit(against).alias("against"),
        nw.when(den > 0).then(safe_div(nw.col("pipeline"), den)).alias("coverage"),
    )
    return back(sort_keys(out, group), opportunities)


@kpi(
    title="Required coverage",
    unit="ratio (x)",
    basis="deals closed in the period (kpis.win_rate_basis)",
    owner=REVENUE_OPERATIONS,
    driver="Historical win rate.",
    remediation="Plan pipeline generation to this multiple of the target; raise the win "
    "rate to lower it.",
    inputs=("opportunities",),
    example="required_coverage(opportunities, choices=config.kpis)",
    headline="required_coverage",
)
def required_coverage(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    basis: Literal["count", "amount"] | None = None,
    choices: KPIChoices | None = None,
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """The pipeline coverage the historical win rate requires to hit a target.

    Formula: ``required_coverage = 1 / win_rate``, where ``win_rate`` is over deals closed in
    the period, by count (won / closed) or by amount (won amount / closed amount) per config
    ``kpis.win_rate_basis``. Null when the win rate is zero or unknown.

    Returns: ``[*by, period], closed, win_rate, basis, required_coverage``.
    """
    chosen = basis or (choices or KPIChoices()).win_rate_basis
    lf, keys = closed_deals(
        opportunities,
        by=by,
        every=every,
        needs=[amount],
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    num, den = win_rate_terms(chosen, amount)
    return summarize(
        lf,
        keys,
        [nw.len().cast(nw.Int64).alias("closed"), safe_div(num, den).alias("win_rate")],
        opportunities,
        then=[
            nw.lit(chosen).alias("basis"),
            safe_div(nw.lit(1.0), nw.col("win_rate")).alias("required_coverage"),
        ],
    )
