"""Conversion through the funnel: stage to stage, lead to opportunity, MQL to SQL,
opportunity to win, and where the funnel leaks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from revgov._typing import ConversionBasis
from revgov.config import LifecycleConfig, QualifiedDefinition
from revgov.definitions.qualified import with_converted, with_sql
from revgov.errors import MetricInputError
from revgov.metrics._deals import WON, closed_deals
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    has,
    lazy,
    null_safe_join,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._history import field_history
from revgov.metrics._kpi import (
    PERIOD,
    aggregate,
    count_if,
    keyed,
    lookup,
    per_group,
    summarize,
    won_flag,
)
from revgov.metrics._notes import lead_conversion_notes, opportunity_to_win_notes
from revgov.metrics._stages import (
    FunnelStage,
    Pipelines,
    funnel_position,
    funnel_stages,
    with_funnel_position,
)
from revgov.metrics._time import naive
from revgov.metrics.enrich import grouping_columns
from revgov.metrics.registry import MARKETING, REVENUE_OPERATIONS, SALES, RunContext, kpi

__all__ = [
    "funnel_leakage",
    "lead_to_opportunity",
    "mql_to_sql",
    "opportunity_to_win",
    "stage_conversion",
]


@kpi(
    title="Stage conversion",
    unit="count; share",
    basis="entry cohorts (deal creation period), optional conversion window",
    owner=SALES,
    driver="Qualification and stage exit criteria; manager deal reviews.",
    remediation="Find the step with the largest drop (funnel_leakage); enforce its exit "
    "criteria and review stuck deals at that step weekly.",
    inputs=("stage_events", "opportunities"),
    example="stage_conversion(stage_events, stages=config.pipelines, opportunities=opportunities)",
    by_entities=("opportunities",),
)
def stage_conversion(
    stage_events: FrameT,
    *,
    stages: Pipelines | Sequence[str],
    opportunities: Any = None,
    by: Columns = None,
    every: str | None = None,
    window_days: int | None = None,
    entity: str = "opportunities",
    stage_field: str = "stage",
    record_id: str = "record_id",
    to_value: str = "to_value",
    changed_at: str = "changed_at",
    opportunity_id: str = "opportunity_id",
    stage: str = "stage",
    created_at: str = "created_at",
    stage_entered_at: str = "stage_entered_at",
) -> FrameT:
    """Step-to-step and cumulative conversion through the pipeline stages, by entry cohort.

    The funnel is the pipeline's open stages in order, then its won stage (closed-lost is
    where deals leave, not a step). A record has *reached* step k when any of its stage
    events (or, with ``opportunities``, its current stage) is at step k or later: a skipped
    step counts as passed. Every record in the cohort has reached step 1. The cohort is the
    period of the record's entry (the deal's ``created_at``, else its first stage event);
    with ``window_days`` a step only counts if reached within that many days of entry.

    Formula: ``step_conversion_k = reached_k / reached_(k-1)`` (null at step 1);
    ``cumulative_conversion_k = reached_k / reached_1``. Cumulative conversion never rises
    along the funnel.

    Returns: ``[*by, period], stage, stage_order, reached, step_conversion,
    cumulative_conversion``.
    """
    steps = funnel_stages(stages)
    ev = field_history(
        stage_events,
        entity=entity,
        field=stage_field,
        record_id=record_id,
        to_value=to_value,
        changed_at=changed_at,
    )
    ev = with_funnel_position(ev, steps, to_value, "__pos").select(
        nw.col(record_id).alias("__rid"),
        naive(ev.collect_schema(), changed_at).alias("__t"),
        "__pos",
    )
    # One pass over the events gives each record's entry and, without a window, the
    # furthest step it reached (a window needs each event's time against the cohort).
    per_record = ev.group_by("__rid").agg(
        nw.col("__t").min().alias("__first_t"), nw.col("__pos").max().alias("__ev_pos")
    )
    dims = as_list(by)
    # Without a window each record's furthest step comes with its entry, in one join.
    carried = ["__rid", "__first_t", *(["__ev_pos"] if window_days is None else [])]
    if opportunities is not None:
        opps = lazy(opportunities, name="opportunities", like=ev)
        require(opps, [opportunity_id, stage, created_at, *dims], what="opportunities")
        oschema = opps.collect_schema()
        no_time = nw.lit(None, dtype=nw.Datetime("us"))
        entered = naive(oschema, stage_entered_at) if has(opps, stage_entered_at) else no_time
        pop = opps.select(
            nw.col(opportunity_id).alias("__rid"),
            naive(oschema, created_at).alias("__created"),
            funnel_position(steps, stage).alias("__cur_pos"),
            (entered if window_days is not None else no_time).alias("__cur_t"),
            *dims,
        ).join(per_record.select(*carried), on="__rid", how="left")
        pop = pop.with_columns(nw.coalesce("__created", "__first_t").alias("__cohort"))
    else:
        if dims:
            raise MetricInputError(
                "stage_conversion(by=...) needs opportunities= to take the columns from",
                hint="pass opportunities=frames['opportunities']",
            )
        pop = per_record.select(*carried).with_columns(
            nw.col("__first_t").alias("__cohort"),
            nw.lit(None, dtype=nw.Int64()).alias("__cur_pos"),
            nw.lit(None, dtype=nw.Datetime("us")).alias("__cur_t"),
        )
    pop = _with_furthest_step(pop, ev, window_days)
    pop, keys = keyed(pop, by=dims, every=every, time=nw.col("__cohort"), what="opportunities")
    counts = aggregate(
        pop,
        keys,
        [count_if(nw.col("__reached") >= s.position).alias(f"__r{s.position}") for s in steps],
    )
    return back(sort_keys(_step_rows(counts, keys, steps), [*keys, "stage_order"]), stage_events)


def _with_furthest_step(
    pop: nw.LazyFrame[Any], ev: nw.LazyFrame[Any], window_days: int | None
) -> nw.LazyFrame[Any]:
    """Each record of the cohort population with ``__reached``: the furthest step its events
    (``__ev_pos``, on ``pop`` already without a window) or its current stage show (within
    ``window_days`` of entry, if given); at least step 1."""
    cur_ok = nw.lit(True)
    if window_days is not None:
        limit = nw.col("__cohort").dt.offset_by(f"{int(window_days)}d")
        timed = ev.join(pop.select("__rid", "__cohort"), on="__rid", how="inner")
        timed = timed.filter(nw.col("__t") <= limit)
        cur_ok = (nw.col("__cur_t") <= limit).fill_null(False)
        best = timed.group_by("__rid").agg(nw.col("__pos").max().alias("__ev_pos"))
        pop = pop.join(best, on="__rid", how="left")
    return pop.with_columns(
        nw.max_horizontal(
            nw.col("__ev_pos").fill_null(1),
            nw.when(cur_ok).then(nw.col("__cur_pos")).otherwise(1).fill_null(1),
        ).alias("__reached")
    )


def _step_rows(
    counts: nw.LazyFrame[Any], keys: list[str], steps: list[FunnelStage]
) -> nw.LazyFrame[Any]:
    """The reached counts (one ``__r<k>`` column per step) as one row per group and step,
    with the step and cumulative conversions."""
    # Long form in one pass over the counts (a concat per step would recompute them).
    names = [f"__r{s.position}" for s in steps]
    long = counts.unpivot(on=names, index=keys, variable_name="__var", value_name="reached")
    var = nw.col("__var")
    long = long.with_columns(
        lookup(var, {n: s.position for n, s in zip(names, steps, strict=True)}, nw.Int64()).alias(
            "stage_order"
        ),
        lookup(var, {n: s.name for n, s in zip(names, steps, strict=True)}, nw.String()).alias(
            "stage"
        ),
    )
    reached = nw.col("reached")
    previous = per_group(reached.shift(1), keys, order_by="stage_order")
    # Every record reached step 1, so step 1 holds the most: the cumulative denominator.
    top = per_group(reached.max(), keys)
    return long.select(
        *keys,
        "stage",
        "stage_order",
        reached.cast(nw.Int64).alias("reached"),
        safe_div(reached, previous).alias("step_conversion"),
        safe_div(reached, top).alias("cumulative_conversion"),
    )


def _linked_opportunities(
    opportunities: Any, like: nw.LazyFrame[Any], primary_person_id: str
) -> nw.LazyFrame[Any] | None:
    if opportunities is None:
        return None
    opps = lazy(opportunities, name="opportunities", like=like)
    require(opps, [primary_person_id], what="opportunities")
    return opps


def _events(stage_events: Any, like: nw.LazyFrame[Any]) -> nw.LazyFrame[Any] | None:
    if stage_events is None:
        return None
    ev = lazy(stage_events, name="stage_events", like=like)
    require(ev, ["record_id", "to_value"], what="stage_events")
    return ev


@kpi(
    title="Lead-to-opportunity conversion",
    unit="share",
    basis="people by creation period",
    owner=MARKETING,
    driver="Lead quality, speed to lead and SDR follow-up.",
    remediation="Split by source and segment; cut sources that do not convert and fix "
    "follow-up where leads go untouched.",
    inputs=("people",),
    example='lead_to_opportunity(people, opportunities, by="lead_source")',
    headline="conversion_rate",
    notes=lead_conversion_notes,
)
def lead_to_opportunity(
    people: FrameT,
    opportunities: Any = None,
    *,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    kinds: Sequence[str] | None = None,
    person_id: str = "person_id",
    created_at: str = "created_at",
    kind: str = "kind",
    is_converted: str = "is_converted",
    converted_opportunity_id: str = "converted_opportunity_id",
    primary_person_id: str = "primary_person_id",
) -> FrameT:
    """Share of new people (leads) who became an opportunity, by creation cohort.

    A person converted when the CRM says so (``is_converted`` or a
    ``converted_opportunity_id``) or when an opportunity names them as its
    ``primary_person_id``. ``kinds`` keeps only those kinds of person (e.g. ``["lead"]``).

    Formula: ``conversion_rate = converted / leads`` over people created in the period.

    Returns: ``[*by, period], leads, converted, conversion_rate``.
    """
    lf = lazy(people, name="people")
    lf = grouping_columns(lf, by, what="people", users=users, accounts=accounts)
    require(lf, [person_id, created_at], what="people")
    if kinds is not None:
        require(lf, [kind], what="people")
        lf = lf.filter(nw.col(kind).str.to_lowercase().is_in([k.lower() for k in kinds]))
    lf = with_converted(
        lf,
        _linked_opportunities(opportunities, lf, primary_person_id),
        person_id=person_id,
        primary_person_id=primary_person_id,
        converted_opportunity_id=converted_opportunity_id,
        is_converted=is_converted,
    )
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="people")
    return _rate(lf, keys, people, ("leads", "converted"), nw.col("__converted"))


@kpi(
    title="MQL-to-SQL conversion",
    unit="share",
    basis="people by MQL period",
    owner=MARKETING,
    driver="MQL scoring threshold and sales acceptance.",
    remediation="Review rejected MQLs with sales; retune the scoring threshold or the "
    "definition of an MQL.",
    inputs=("people",),
    example="mql_to_sql(people, opportunities=opportunities)",
    headline="conversion_rate",
)
def mql_to_sql(
    people: FrameT,
    *,
    stage_events: Any = None,
    opportunities: Any = None,
    qualified: QualifiedDefinition | None = None,
    lifecycle: LifecycleConfig | None = None,
    by: Columns = None,
    every: str | None = None,
    person_id: str = "person_id",
    mql_at: str = "mql_at",
    lifecycle_stage: str = "lifecycle_stage",
    is_converted: str = "is_converted",
    converted_opportunity_id: str = "converted_opportunity_id",
    primary_person_id: str = "primary_person_id",
) -> FrameT:
    """Share of marketing-qualified leads that became sales-qualified, by MQL cohort.

    An MQL is a person with an ``mql_at`` time. They count as SQL when their lifecycle
    stage is one of ``qualified.person_lifecycle_stages`` (default sql, opportunity,
    customer), when a ``lifecycle_stage`` stage event moved them there, or when they
    converted to an opportunity (:func:`revgov.definitions.qualified.with_sql`; lifecycle
    values are read through ``lifecycle``, i.e. ``config.lifecycle``, when given).

    Formula: ``conversion_rate = sqls / mqls`` over people who became MQLs in the period.

    Returns: ``[*by, period], mqls, sqls, conversion_rate``.
    """
    lf = lazy(people, name="people")
    require(lf, [person_id, mql_at], what="people")
    lf = with_sql(
        lf.filter(~nw.col(mql_at).is_null()),
        qualified=qualified or QualifiedDefinition(),
        lifecycle=lifecycle,
        opportunities=_linked_opportunities(opportunities, lf, primary_person_id),
        stage_events=_events(stage_events, lf),
        person_id=person_id,
        lifecycle_stage=lifecycle_stage,
        primary_person_id=primary_person_id,
        converted_opportunity_id=converted_opportunity_id,
        is_converted=is_converted,
    )
    lf, keys = keyed(lf, by=by, every=every, time=mql_at, what="people")
    return _rate(lf, keys, people, ("mqls", "sqls"), nw.col("__sql"))


@kpi(
    title="Opportunity-to-win conversion",
    unit="share",
    basis="deals by creation period, open deals in the denominator (default); closed deals "
    "by creation cohort (--basis cohort); deals by close period (--basis period)",
    owner=SALES,
    driver="Qualification at entry and win rate.",
    remediation="Read with the cohort's age; compare mature cohorts by segment and source.",
    inputs=("opportunities",),
    example='opportunity_to_win(opportunities, every="1mo", basis="cohort")',
    headline="conversion_rate",
    takes_basis=True,
    notes=opportunity_to_win_notes,
)
def opportunity_to_win(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    basis: ConversionBasis | None = None,
    users: Any = None,
    accounts: Any = None,
    created_at: str = "created_at",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Share of the opportunities created in a period that have been won (so far).

    By default (``basis=None``) open deals stay in the denominator: a young cohort reads low
    until its deals close. ``basis="cohort"`` keeps only the cohort's closed deals (won or
    lost), the win rate of the deals created in the period; ``basis="period"`` takes the
    deals closed in the period instead (:func:`~revgov.metrics.win_rate_by_count`'s two
    bases). Deals without ``created_at`` are left out of the cohort bases.

    Formula: ``conversion_rate = won / opportunities`` over deals created in the period
    (default), created in it and closed (cohort), or closed in it (period).

    Returns: ``[*by, period], opportunities, won, conversion_rate``.
    """
    if basis is not None:
        lf, keys = closed_deals(
            opportunities,
            by=by,
            every=every,
            needs=[],
            is_closed=is_closed,
            is_won=is_won,
            closed_at=closed_at,
            close_date=close_date,
            basis=basis,
            created_at=created_at,
            users=users,
            accounts=accounts,
        )
        return _rate(lf, keys, opportunities, ("opportunities", "won"), nw.col(WON))
    lf = lazy(opportunities, name="opportunities")
    lf = grouping_columns(lf, by, what="opportunities", users=users, accounts=accounts)
    require(lf, [created_at, is_won], what="opportunities")
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="opportunities")
    return _rate(lf, keys, opportunities, ("opportunities", "won"), won_flag(is_won))


def _rate(
    lf: nw.LazyFrame[Any], keys: list[str], like: FrameT, names: tuple[str, str], hit: nw.Expr
) -> FrameT:
    """Per group: the rows, those meeting ``hit`` and ``conversion_rate``, the share of them
    (``names``: what the two counts are called)."""
    rows, hits = names
    return summarize(
        lf,
        keys,
        [nw.len().cast(nw.Int64).alias(rows), count_if(hit).alias(hits)],
        like,
        then=[safe_div(nw.col(hits), nw.col(rows)).alias("conversion_rate")],
    )


def _leakage_on_snapshot(ctx: RunContext) -> Any:
    """``revgov metrics --kpi funnel_leakage``: stage conversion by period (monthly unless
    ``--every`` says otherwise), then its leakage against the targets, if any."""
    conversion = stage_conversion(
        ctx["stage_events"],
        stages=ctx.pipelines,
        opportunities=ctx["opportunities"],
        by=ctx.by,
        every=ctx.every or "1mo",
    )
    return funnel_leakage(conversion, targets=ctx.frames.get("targets"), by=ctx.by)


@kpi(
    title="Funnel leakage",
    unit="deals",
    basis="the latest cohort period against the previous one and against step targets",
    owner=REVENUE_OPERATIONS,
    driver="The conversion step that fell most.",
    remediation="Work the flagged step first: review its lost deals and its exit criteria.",
    inputs=("stage_events", "opportunities"),
    example="funnel_leakage(stage_conversion(stage_events, stages=config.pipelines, "
    'opportunities=opportunities, every="1mo"), targets=targets)',
    by_entities=("opportunities",),
    run=_leakage_on_snapshot,
    takes_every=True,
)
def funnel_leakage(
    conversion: FrameT,
    *,
    targets: Mapping[str, float] | Any = None,
    by: Columns = None,
    target_metric: str = "metric",
    target_amount: str = "amount",
) -> FrameT:
    """Where the funnel loses most: the latest cohort period against the one before it, and
    against target step conversions.

    ``conversion`` is the output of :func:`stage_conversion` with ``every=``. ``targets`` is a
    mapping of stage to target step conversion, or a targets frame whose rows with
    ``metric = "step_conversion:<stage>"`` give the target (matched on the ``by`` columns too,
    when the frame has them).

    Formula per step k: ``change = step_k - previous_step_k``;
    ``lost_vs_previous = reached_(k-1) x (previous_step_k - step_k)``: the deals the step lost
    compared with the previous period's rate; ``lost_vs_target = reached_(k-1) x
    (target_k - step_k)``. The step with the largest loss is flagged.

    Returns: ``[*by], stage, stage_order, period, reached, step_conversion, previous_period,
    previous_step_conversion, change, lost_vs_previous, target_step_conversion,
    lost_vs_target, biggest_leak_vs_previous, biggest_leak_vs_target``.
    """
    lf = lazy(conversion, name="conversion")
    keys = as_list(by)
    require(
        lf, [PERIOD, "stage", "stage_order", "reached", "step_conversion", *keys], what="conversion"
    )
    # One pass over the conversion table: the latest period, the one before it, and each
    # step's rate then, by window functions (joins would read the table several times).
    lf = lf.with_columns(nw.col(PERIOD).max().alias("__cur"))
    lf = lf.with_columns(
        nw.when(nw.col(PERIOD) < nw.col("__cur")).then(nw.col(PERIOD)).max().alias("__prev")
    )
    in_prev = nw.col(PERIOD) == nw.col("__prev")
    lf = lf.with_columns(
        nw.when(in_prev)
        .then(nw.col("step_conversion"))
        .max()
        .over(*keys, "stage")
        .alias("previous_step_conversion"),
        nw.col("__prev").alias("previous_period"),
    )
    cur = lf.filter(nw.col(PERIOD) == nw.col("__cur"))
    entered = per_group(nw.col("reached").shift(1), keys, order_by="stage_order")
    joined = _with_targets(
        cur.with_columns(entered.alias("__entered")), targets, keys, target_metric, target_amount
    )
    step = nw.col("step_conversion")
    entered = nw.col("__entered").cast(nw.Float64)
    out = joined.with_columns(
        (step - nw.col("previous_step_conversion")).alias("change"),
        (entered * (nw.col("previous_step_conversion") - step)).alias("lost_vs_previous"),
        (entered * (nw.col("target_step_conversion") - step)).alias("lost_vs_target"),
    )

    def biggest(col: str) -> nw.Expr:
        top = per_group(nw.col(col).max(), keys)
        return ((nw.col(col) == top) & (nw.col(col) > 0)).fill_null(False)

    out = out.with_columns(
        biggest("lost_vs_previous").alias("biggest_leak_vs_previous"),
        biggest("lost_vs_target").alias("biggest_leak_vs_target"),
    ).select(
        *keys,
        "stage",
        "stage_order",
        PERIOD,
        "reached",
        "step_conversion",
        "previous_period",
        "previous_step_conversion",
        "change",
        "lost_vs_previous",
        "target_step_conversion",
        "lost_vs_target",
        "biggest_leak_vs_previous",
        "biggest_leak_vs_target",
    )
    return back(sort_keys(out, [*keys, "stage_order"]), conversion)


def _with_targets(
    lf: nw.LazyFrame[Any],
    targets: Mapping[str, float] | Any,
    keys: Sequence[str],
    target_metric: str,
    target_amount: str,
) -> nw.LazyFrame[Any]:
    """``lf`` with ``target_step_conversion`` per stage: from a mapping of stage to target,
    or from the ``step_conversion:<stage>`` rows of a targets frame; null without targets."""
    if targets is None or isinstance(targets, Mapping):
        values: dict[str, float] = {}
        for k, v in (targets or {}).items():
            values.setdefault(str(k).lower(), float(v))  # the first spelling of a stage wins
        stage = nw.col("stage").str.to_lowercase()
        return lf.with_columns(lookup(stage, values, nw.Float64()).alias("target_step_conversion"))
    tg = lazy(targets, name="targets", like=lf)
    require(tg, [target_metric, target_amount], what="targets")
    prefix = "step_conversion:"
    shared = [k for k in keys if has(tg, k)]
    rows = (
        tg.filter(nw.col(target_metric).str.to_lowercase().str.starts_with(prefix))
        .with_columns(
            nw.col(target_metric).str.to_lowercase().str.slice(len(prefix)).alias("__stage")
        )
        .group_by([*shared, "__stage"])
        .agg(nw.col(target_amount).cast(nw.Float64).mean().alias("target_step_conversion"))
    )
    with_key = lf.with_columns(nw.col("stage").str.to_lowercase().alias("__stage"))
    return null_safe_join(with_key, rows, [*shared, "__stage"], how="left").drop("__stage")
