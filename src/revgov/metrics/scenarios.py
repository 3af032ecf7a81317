"""The funnel model by segment: assumptions fitted from history, scenarios, the forward
forecast of bookings, and the backward plan from a bookings target.

The model: MQLs arrive at ``mqls_per_month``; ``mql_to_sql`` of them become sales-qualified;
``sql_to_opportunity`` of those reach an opportunity (the meeting rate); ``win_rate`` of
closed opportunities are won at ``average_deal_size`` after ``cycle_days``; one MQL costs
``cost_per_mql``. Every output carries the assumptions it used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import narwhals as nw

from revgov.config import KPIChoices, QualifiedDefinition
from revgov.errors import MetricInputError
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
from revgov.metrics._kpi import (
    PERIOD,
    aggregate,
    close_time,
    closed_flag,
    count_if,
    total,
    won_flag,
)
from revgov.metrics._time import days_between, naive, naive_utc, period_start
from revgov.metrics.conversion import _converted_people
from revgov.metrics.velocity import DAYS_PER_MONTH

__all__ = [
    "ASSUMPTIONS",
    "SCENARIOS",
    "fit_funnel",
    "forecast_bookings",
    "funnel_scenarios",
    "plan_backward",
]

#: Each assumption and whether a higher value is better (drives conservative vs aggressive).
ASSUMPTIONS: dict[str, bool] = {
    "mqls_per_month": True,
    "mql_to_sql": True,
    "sql_to_opportunity": True,
    "win_rate": True,
    "average_deal_size": True,
    "cycle_days": False,
    "cost_per_mql": False,
}
_RATES = ("mql_to_sql", "sql_to_opportunity", "win_rate")
SCENARIOS = ("base", "conservative", "aggressive")

_BASIS = {
    "mqls_per_month": "people with mql_at in the window / months of the window that had any",
    "mql_to_sql": "SQLs / MQLs of the MQLs in the window (lifecycle, stage events, conversion)",
    "sql_to_opportunity": "SQLs that became an opportunity / SQLs (the meeting rate)",
    "win_rate": "won / closed, deals closed in the window ({basis} basis)",
    "average_deal_size": "won amount / won deals, deals closed in the window",
    "cycle_days": "mean calendar days from creation to close of deals won in the window",
    "cost_per_mql": "spend in the window / MQLs in the window",
}


def _rows(
    monthly: nw.LazyFrame[Any],
    keys: list[str],
    name: str,
    *,
    basis: str,
    value: nw.Expr | None = None,
) -> nw.LazyFrame[Any]:
    """One assumption row per group from monthly ``__num`` / ``__den``: the pooled value and
    the 25th and 75th percentiles of the monthly values."""
    pooled = aggregate(
        monthly,
        keys,
        [total(nw.col("__num")).alias("__n"), total(nw.col("__den")).alias("__d")],
    )
    spread = aggregate(
        monthly.with_columns(safe_div(nw.col("__num"), nw.col("__den")).alias("__m")),
        keys,
        [
            nw.col("__m").quantile(0.25, interpolation="linear").alias("low"),
            nw.col("__m").quantile(0.75, interpolation="linear").alias("high"),
            count_if(~nw.col("__m").is_null()).alias("months"),
        ],
    )
    joined = null_safe_join(pooled, spread, keys) if keys else pooled.join(spread, how="cross")
    return joined.select(
        *keys,
        nw.lit(name).alias("assumption"),
        (value if value is not None else safe_div(nw.col("__n"), nw.col("__d"))).alias("value"),
        nw.col("low").cast(nw.Float64),
        nw.col("high").cast(nw.Float64),
        nw.col("months").cast(nw.Int64),
        nw.lit(basis).alias("basis"),
    )


def fit_funnel(
    people: FrameT,
    opportunities: Any,
    *,
    as_of: datetime | date | str | None = None,
    window_days: int = 365,
    by: Columns = "segment",
    spend: Any = None,
    spend_by: Columns = None,
    qualified: QualifiedDefinition | None = None,
    choices: KPIChoices | None = None,
    person_id: str = "person_id",
    mql_at: str = "mql_at",
    lifecycle_stage: str = "lifecycle_stage",
    created_at: str = "created_at",
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
    spend_period: str = "period",
    spend_amount: str = "amount",
) -> FrameT:
    """Fit the funnel's assumptions per group from the trailing ``window_days`` before
    ``as_of`` (default now).

    Each assumption is pooled over the window (``value``: e.g. all SQLs / all MQLs) and its
    spread is the 25th and 75th percentiles of its monthly values (``low``, ``high``), from
    which :func:`funnel_scenarios` takes the conservative and aggressive cases. Spend is
    matched to groups on the ``spend_by`` columns (e.g. ``["segment"]``); by default one cost
    per MQL applies to every group.

    Formulas: see each row's ``basis``. ``mqls_per_month = MQLs in the window / months of
    the window with any MQL``; rates and averages are ratios of window totals.

    Returns: ``[*by], assumption, value, low, high, months, basis``.
    """
    cfg = choices or KPIChoices()
    definition = qualified or QualifiedDefinition()
    cutoff = naive_utc(as_of)
    start = cutoff - timedelta(days=window_days)
    keys = as_list(by)
    pp = lazy(people, name="people")
    op = lazy(opportunities, name="opportunities", like=pp)
    require(pp, [person_id, mql_at, *keys], what="people")
    require(op, [created_at, amount, is_won, *keys], what="opportunities")
    window = (nw.col("__t") > nw.lit(start)) & (nw.col("__t") <= nw.lit(cutoff))

    # -- people: MQL -> SQL -> opportunity ---------------------------------------------------
    mqls = pp.with_columns(naive(pp.collect_schema(), mql_at).alias("__t")).filter(window)
    mqls = _converted_people(
        mqls,
        op,
        person_id=person_id,
        primary_person_id="primary_person_id",
        converted_opportunity_id="converted_opportunity_id",
        is_converted="is_converted",
    )
    sql_stages = [s.lower() for s in definition.person_lifecycle_stages]
    sql = nw.col("__converted")
    if has(mqls, lifecycle_stage):
        sql = sql | nw.col(lifecycle_stage).str.to_lowercase().is_in(sql_stages).fill_null(False)
    mqls = mqls.with_columns(sql.alias("__sql"), period_start(nw.col("__t"), "1mo").alias(PERIOD))
    monthly_people = mqls.group_by([*keys, PERIOD]).agg(
        nw.len().cast(nw.Int64).alias("__mqls"),
        count_if(nw.col("__sql")).alias("__sqls"),
        count_if(nw.col("__converted")).alias("__opps"),
    )
    parts = [
        _rows(
            monthly_people.with_columns(nw.col("__mqls").alias("__num"), nw.lit(1).alias("__den")),
            keys,
            "mqls_per_month",
            basis=_BASIS["mqls_per_month"],
            value=safe_div(nw.col("__n"), nw.col("months")),
        ),
        _rows(
            monthly_people.with_columns(
                nw.col("__sqls").alias("__num"), nw.col("__mqls").alias("__den")
            ),
            keys,
            "mql_to_sql",
            basis=_BASIS["mql_to_sql"],
        ),
        _rows(
            monthly_people.with_columns(
                nw.col("__opps").alias("__num"), nw.col("__sqls").alias("__den")
            ),
            keys,
            "sql_to_opportunity",
            basis=_BASIS["sql_to_opportunity"],
        ),
    ]

    # -- deals closed in the window: win rate, deal size, cycle --------------------------------
    if not has(op, is_closed):
        op = op.with_columns(nw.lit(None, dtype=nw.Boolean()).alias(is_closed))
    closed = op.with_columns(close_time(op, closed_at, close_date).alias("__t")).filter(
        closed_flag(is_closed, is_won) & window
    )
    won = won_flag(is_won)
    days = days_between(
        naive(closed.collect_schema(), created_at),
        nw.col("__t"),
        closed.implementation,
        calendar=True,
    ).cast(nw.Float64)
    closed = closed.with_columns(
        won.alias("__won"),
        nw.col(amount).cast(nw.Float64).fill_null(0.0).alias("__amt"),
        days.alias("__days"),
        period_start(nw.col("__t"), "1mo").alias(PERIOD),
    )
    w = nw.col("__won")
    rate_num = (
        count_if(w) if cfg.win_rate_basis == "count" else total(nw.when(w).then(nw.col("__amt")))
    )
    rate_den = (
        nw.len().cast(nw.Float64) if cfg.win_rate_basis == "count" else total(nw.col("__amt"))
    )
    monthly_deals = closed.group_by([*keys, PERIOD]).agg(
        rate_num.cast(nw.Float64).alias("__rate_num"),
        rate_den.cast(nw.Float64).alias("__rate_den"),
        count_if(w).alias("__won_n"),
        total(nw.when(w).then(nw.col("__amt"))).alias("__won_amt"),
        total(nw.when(w & ~nw.col("__days").is_null()).then(nw.col("__days"))).alias("__days_sum"),
        count_if(w & ~nw.col("__days").is_null()).alias("__days_n"),
    )
    parts += [
        _rows(
            monthly_deals.with_columns(
                nw.col("__rate_num").alias("__num"), nw.col("__rate_den").alias("__den")
            ),
            keys,
            "win_rate",
            basis=_BASIS["win_rate"].format(basis=cfg.win_rate_basis),
        ),
        _rows(
            monthly_deals.with_columns(
                nw.col("__won_amt").alias("__num"), nw.col("__won_n").alias("__den")
            ),
            keys,
            "average_deal_size",
            basis=_BASIS["average_deal_size"],
        ),
        _rows(
            monthly_deals.with_columns(
                nw.col("__days_sum").alias("__num"), nw.col("__days_n").alias("__den")
            ),
            keys,
            "cycle_days",
            basis=_BASIS["cycle_days"],
        ),
    ]

    # -- spend per MQL -------------------------------------------------------------------------
    if spend is not None:
        sp = lazy(spend, name="spend", like=pp)
        require(sp, [spend_period, spend_amount], what="spend")
        shared = as_list(spend_by)
        require(sp, shared, what="spend")
        if any(k not in keys for k in shared):
            raise MetricInputError(
                f"spend_by={shared} must be among the by= columns {keys}",
                hint="group spend only by columns the funnel is grouped by",
            )
        sp = sp.with_columns(naive(sp.collect_schema(), spend_period).alias("__t")).filter(window)
        spent = (
            sp.with_columns(period_start(nw.col("__t"), "1mo").alias(PERIOD))
            .group_by([*shared, PERIOD])
            .agg(total(nw.col(spend_amount)).alias("__num"))
        )
        mql_m = monthly_people.group_by([*shared, PERIOD]).agg(
            total(nw.col("__mqls")).alias("__den")
        )
        monthly_cost = null_safe_join(spent, mql_m, [*shared, PERIOD], how="left")
        cost = _rows(monthly_cost, shared, "cost_per_mql", basis=_BASIS["cost_per_mql"])
        if shared != keys:
            groups = aggregate(monthly_people, keys, [nw.len().alias("__g")]).drop("__g")
            cost = (
                null_safe_join(groups, cost, shared) if shared else groups.join(cost, how="cross")
            ).select(*keys, "assumption", "value", "low", "high", "months", "basis")
        parts.append(cost)
    out = nw.concat(parts)
    return back(sort_keys(out, [*keys, "assumption"]), people)


def funnel_scenarios(
    assumptions: FrameT,
    *,
    multipliers: Mapping[str, float] | None = None,
    by: Columns = "segment",
) -> FrameT:
    """Base, conservative and aggressive values of every fitted assumption.

    ``base`` is the fitted value. Without ``multipliers`` the conservative case takes the
    worse end of the monthly spread (the 25th percentile where higher is better, the 75th
    for cycle days and cost per MQL) and the aggressive case the better end, falling back to
    the base where there is no spread. With ``multipliers`` (e.g. ``{"conservative": 0.8,
    "aggressive": 1.15}``) a case scales every assumption by its factor in its favourable
    direction (x m where higher is better, / m otherwise). Rates never exceed 1.

    Returns: ``[*by], scenario, assumption, value, source``.
    """
    lf = lazy(assumptions, name="assumptions")
    keys = [k for k in as_list(by) if has(lf, k)]
    require(lf, ["assumption", "value", "low", "high"], what="assumptions")
    higher = nw.col("assumption").is_in([a for a, up in ASSUMPTIONS.items() if up])
    rate = nw.col("assumption").is_in(list(_RATES))
    parts = [
        lf.select(
            *keys,
            nw.lit("base").alias("scenario"),
            "assumption",
            nw.col("value"),
            nw.lit("fitted value").alias("source"),
        )
    ]
    for scenario in ("conservative", "aggressive"):
        good = scenario == "aggressive"
        if multipliers is not None:
            if scenario not in multipliers:
                raise MetricInputError(
                    f"multipliers has no {scenario!r} factor",
                    hint='pass {"conservative": 0.8, "aggressive": 1.2}',
                )
            m = float(multipliers[scenario])
            if m <= 0:
                raise MetricInputError(f"multiplier for {scenario} must be positive, got {m}")
            value = nw.when(higher).then(nw.col("value") * m).otherwise(nw.col("value") / m)
            source = nw.lit(f"base x {m:g} (higher is better) or base / {m:g}")
        else:
            better = nw.col("high") if good else nw.col("low")
            worse = nw.col("low") if good else nw.col("high")
            value = nw.coalesce(nw.when(higher).then(better).otherwise(worse), nw.col("value"))
            end = "75th" if good else "25th"
            other = "25th" if good else "75th"
            source = nw.lit(f"{end} percentile of monthly values ({other} where lower is better)")
        value = nw.when(rate & (value > 1)).then(nw.lit(1.0)).otherwise(value)
        parts.append(
            lf.select(
                *keys,
                nw.lit(scenario).alias("scenario"),
                "assumption",
                value.cast(nw.Float64).alias("value"),
                source.alias("source"),
            )
        )
    out = nw.concat(parts)
    return back(sort_keys(out, [*keys, "scenario", "assumption"]), assumptions)


def _wide(
    scenarios: nw.LazyFrame[Any], keys: Sequence[str], names: Sequence[str]
) -> nw.LazyFrame[Any]:
    """One row per group and scenario, one column per assumption."""
    return scenarios.group_by([*keys, "scenario"]).agg(
        *[nw.when(nw.col("assumption") == n).then(nw.col("value")).max().alias(n) for n in names]
    )


def forecast_bookings(
    opportunities: FrameT,
    scenarios: Any,
    *,
    as_of: datetime | date | str | None = None,
    months: int = 6,
    by: Columns = "segment",
    created_at: str = "created_at",
    amount: str = "amount",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Expected bookings by month from today's open pipeline, per scenario.

    Each deal open at ``as_of`` is expected to win with the scenario's ``win_rate`` and bring
    its amount (or the ``average_deal_size`` when blank). It closes in the month of its close
    date when that is not past; otherwise after the rest of the scenario's ``cycle_days``
    (``cycle_days - age``, at least 0). Deals expected beyond ``months`` are left out.

    Formula: ``expected_bookings = sum over open deals closing in the month of win_rate x
    amount``.

    Returns: ``[*by], scenario, period, open_opportunities, open_pipeline,
    expected_bookings, win_rate, average_deal_size, cycle_days``.
    """
    if months < 1:
        raise MetricInputError(f"months must be at least 1, got {months}")
    cutoff = naive_utc(as_of)
    op = lazy(opportunities, name="opportunities")
    sc = lazy(scenarios, name="scenarios", like=op)
    keys = as_list(by)
    require(op, [created_at, amount, is_won, close_date, *keys], what="opportunities")
    require(sc, ["scenario", "assumption", "value", *keys], what="scenarios")
    if not has(op, is_closed):
        op = op.with_columns(nw.lit(None, dtype=nw.Boolean()).alias(is_closed))
    schema = op.collect_schema()
    created = naive(schema, created_at)
    closed_by_then = closed_flag(is_closed, is_won) & (
        close_time(op, closed_at, close_date) <= nw.lit(cutoff)
    ).fill_null(True)
    deals = op.filter((created <= nw.lit(cutoff)) & ~closed_by_then).with_columns(
        created.alias("__created"), naive(schema, close_date).alias("__close")
    )
    wide = _wide(sc, keys, ["win_rate", "average_deal_size", "cycle_days"])
    joined = (
        null_safe_join(deals, wide, keys, how="inner") if keys else deals.join(wide, how="cross")
    )
    impl = joined.implementation
    age = days_between(nw.col("__created"), nw.lit(cutoff), impl, calendar=True).cast(nw.Float64)
    remaining = (nw.col("cycle_days").fill_null(0.0) - age).clip(lower_bound=0.0)
    month_no = nw.col("__close").dt.year() * 12 + nw.col("__close").dt.month()
    base_no = cutoff.year * 12 + cutoff.month
    by_cycle = ((cutoff.day - 1 + remaining) / DAYS_PER_MONTH).floor().cast(nw.Int64)
    ahead = (
        nw.when(nw.col("__close") >= nw.lit(datetime(cutoff.year, cutoff.month, cutoff.day)))
        .then((month_no - base_no).cast(nw.Int64))
        .otherwise(by_cycle)
    )
    starts = []
    y, m = cutoff.year, cutoff.month
    for _ in range(months):
        starts.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    period = nw.when(nw.col("__ahead") == 0).then(nw.lit(starts[0]))
    for i, start in enumerate(starts[1:], start=1):
        period = period.when(nw.col("__ahead") == i).then(nw.lit(start))
    value = nw.coalesce(nw.col(amount).cast(nw.Float64), nw.col("average_deal_size"))
    joined = (
        joined.with_columns(ahead.alias("__ahead"))
        .filter((nw.col("__ahead") >= 0) & (nw.col("__ahead") < months))
        .with_columns(
            period.alias(PERIOD),
            (nw.col("win_rate") * value).alias("__expected"),
        )
    )
    out = joined.group_by([*keys, "scenario", PERIOD]).agg(
        nw.len().cast(nw.Int64).alias("open_opportunities"),
        total(nw.col(amount)).alias("open_pipeline"),
        total(nw.col("__expected")).alias("expected_bookings"),
        nw.col("win_rate").max(),
        nw.col("average_deal_size").max(),
        nw.col("cycle_days").max(),
    )
    return back(sort_keys(out, [*keys, "scenario", PERIOD]), opportunities)


def plan_backward(
    scenarios: FrameT,
    target: float | Mapping[Any, float],
    *,
    by: Columns = "segment",
) -> FrameT:
    """From a bookings target back to the pipeline, opportunities, SQLs, MQLs and spend it
    needs, per scenario.

    ``target`` is one amount (for each group) or a mapping of group value to amount (with a
    single ``by`` column).

    Formulas: ``won_deals = target / average_deal_size``; ``opportunities = won_deals /
    win_rate``; ``pipeline = opportunities x average_deal_size``; ``sqls = opportunities /
    sql_to_opportunity``; ``mqls = sqls / mql_to_sql``; ``spend = mqls x cost_per_mql``;
    ``months_of_demand = mqls / mqls_per_month``. A zero rate gives null.

    Returns: ``[*by], scenario, target_bookings, average_deal_size, won_deals_needed,
    win_rate, opportunities_needed, pipeline_needed, sql_to_opportunity, sqls_needed,
    mql_to_sql, mqls_needed, cost_per_mql, spend_needed, mqls_per_month, months_of_demand,
    cycle_days``.
    """
    sc = lazy(scenarios, name="scenarios")
    keys = [k for k in as_list(by) if has(sc, k)]
    require(sc, ["scenario", "assumption", "value"], what="scenarios")
    wide = _wide(sc, keys, list(ASSUMPTIONS))
    if isinstance(target, Mapping):
        if len(keys) != 1:
            raise MetricInputError(
                "a target per group needs exactly one by= column",
                hint="pass a single number, or by='segment' with {segment: amount}",
            )
        items = list(target.items())
        if not items:
            raise MetricInputError("the target mapping is empty")
        chain = nw.when(nw.col(keys[0]) == items[0][0]).then(nw.lit(float(items[0][1])))
        for k, v in items[1:]:
            chain = chain.when(nw.col(keys[0]) == k).then(nw.lit(float(v)))
        tgt: nw.Expr = chain
    else:
        tgt = nw.lit(float(target))
    wide = wide.with_columns(tgt.cast(nw.Float64).alias("target_bookings"))
    c = nw.col
    out = (
        wide.with_columns(
            safe_div(c("target_bookings"), c("average_deal_size")).alias("won_deals_needed")
        )
        .with_columns(safe_div(c("won_deals_needed"), c("win_rate")).alias("opportunities_needed"))
        .with_columns(
            (c("opportunities_needed") * c("average_deal_size")).alias("pipeline_needed"),
            safe_div(c("opportunities_needed"), c("sql_to_opportunity")).alias("sqls_needed"),
        )
        .with_columns(safe_div(c("sqls_needed"), c("mql_to_sql")).alias("mqls_needed"))
        .with_columns(
            (c("mqls_needed") * c("cost_per_mql")).alias("spend_needed"),
            safe_div(c("mqls_needed"), c("mqls_per_month")).alias("months_of_demand"),
        )
        .select(
            *keys,
            "scenario",
            "target_bookings",
            "average_deal_size",
            "won_deals_needed",
            "win_rate",
            "opportunities_needed",
            "pipeline_needed",
            "sql_to_opportunity",
            "sqls_needed",
            "mql_to_sql",
            "mqls_needed",
            "cost_per_mql",
            "spend_needed",
            "mqls_per_month",
            "months_of_demand",
            "cycle_days",
        )
    )
    return back(sort_keys(out, [*keys, "scenario"]), scenarios)
