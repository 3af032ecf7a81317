"""The funnel model by segment: assumptions fitted from history, scenarios, the forward
forecast of bookings, and the backward plan from a bookings target.

The model: MQLs arrive at ``mqls_per_month``; ``mql_to_sql`` of them become sales-qualified;
``sql_to_opportunity`` of those reach an opportunity (the meeting rate); ``win_rate`` of
closed opportunities are won at ``average_deal_size`` after ``cycle_days``; one MQL costs
``cost_per_mql``. With stage history, each funnel stage has its ``stage_conversion`` (from
the stage before) and ``stage_win_rate`` (the chance a deal that reached it is won), and the
forecast weighs each open deal by the win rate of the stage it is in. Every output carries
the assumptions it used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

import narwhals as nw

from revgov._typing import Basis
from revgov.config import KPIChoices, LifecycleConfig, QualifiedDefinition
from revgov.definitions.qualified import with_sql
from revgov.errors import MetricInputError
from revgov.metrics._deals import (
    CLOSE_T,
    CLOSED,
    TERMS,
    WON,
    open_at,
    pooled_terms,
    with_outcome,
)
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
    lookup,
    per_group,
    total,
)
from revgov.metrics._stages import (
    Pipelines,
    funnel_position,
    funnel_stages,
    pipelines_list,
    stage_attr,
    with_funnel_position,
)
from revgov.metrics._time import days_between, naive, naive_utc, period_start
from revgov.metrics.velocity import DAYS_PER_MONTH

__all__ = [
    "ASSUMPTIONS",
    "SCENARIOS",
    "STAGE_ASSUMPTIONS",
    "fit_funnel",
    "forecast_bookings",
    "funnel_scenarios",
    "plan_backward",
    "plan_statement",
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
    "stage_conversion": True,
    "stage_win_rate": True,
}
#: Assumptions fitted once per funnel stage (their rows name the ``stage``).
STAGE_ASSUMPTIONS = ("stage_conversion", "stage_win_rate")
_SCALAR = [a for a in ASSUMPTIONS if a not in STAGE_ASSUMPTIONS]
_RATES = ("mql_to_sql", "sql_to_opportunity", "win_rate", *STAGE_ASSUMPTIONS)
SCENARIOS = ("base", "conservative", "aggressive")

_BASIS = {
    "mqls_per_month": "people with mql_at in the window / months of the window that had any",
    "mql_to_sql": "SQLs / MQLs of the MQLs in the window (lifecycle, stage events, conversion)",
    "sql_to_opportunity": "SQLs that became an opportunity / SQLs (the meeting rate)",
    "win_rate": "won / closed, deals closed in the window ({basis} basis)",
    "average_deal_size": "won amount / won deals with an amount, deals closed in the window",
    "cycle_days": "mean calendar days from creation to close of deals won in the window",
    "cost_per_mql": "spend in the window / MQLs of the window's months with spend",
    "stage_conversion": "deals closed in the window that reached the stage / those that "
    "reached the stage before (stage history; a skipped stage counts as passed)",
    "stage_win_rate": "won / deals closed in the window that reached the stage (count basis: "
    "the chance that one deal in the stage is won)",
}

#: What each assumption of the backward plan is fitted from (named when it is missing).
_NEEDS = {
    "average_deal_size": "won deals with an amount",
    "win_rate": "closed deals",
    "sql_to_opportunity": "people with mql_at",
    "mql_to_sql": "people with mql_at",
    "cost_per_mql": "spend and people with mql_at",
    "mqls_per_month": "people with mql_at",
    "cycle_days": "won deals with creation and close times",
}


def _rows(
    monthly: nw.LazyFrame[Any],
    keys: list[str],
    name: str,
    *,
    basis: str,
    terms: tuple[str, str | None] | None = None,
    value: nw.Expr | None = None,
) -> nw.LazyFrame[Any]:
    """One assumption row per group from the monthly ratios of ``terms`` (numerator and
    denominator columns, None for 1; default ``__num`` / ``__den``): the pooled value and
    the 25th and 75th percentiles of the monthly values."""
    if terms is not None:
        num, den = terms
        monthly = monthly.with_columns(
            nw.col(num).alias("__num"), (nw.col(den) if den else nw.lit(1)).alias("__den")
        )
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
    return null_safe_join(pooled, spread, keys).select(
        *keys,
        nw.lit(name).alias("assumption"),
        (value if value is not None else safe_div(nw.col("__n"), nw.col("__d"))).alias("value"),
        nw.col("low").cast(nw.Float64),
        nw.col("high").cast(nw.Float64),
        nw.col("months").cast(nw.Int64),
        nw.lit(basis).alias("basis"),
    )


def fit_funnel(
    people: Any,
    opportunities: FrameT,
    *,
    as_of: datetime | date | str | None = None,
    window_days: int = 365,
    by: Columns = "segment",
    spend: Any = None,
    spend_by: Columns = None,
    stage_events: Any = None,
    pipelines: Pipelines | None = None,
    qualified: QualifiedDefinition | None = None,
    lifecycle: LifecycleConfig | None = None,
    choices: KPIChoices | None = None,
    person_id: str = "person_id",
    mql_at: str = "mql_at",
    lifecycle_stage: str = "lifecycle_stage",
    opportunity_id: str = "opportunity_id",
    stage: str = "stage",
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
    per MQL applies to every group. ``people`` may be None: the assumptions about MQLs, SQLs
    and their cost are then left out (an opportunities-only model). With ``stage_events`` and
    ``pipelines``, each funnel stage gets a ``stage_conversion`` and a ``stage_win_rate`` row
    (``stage`` names it; it is null on the other rows).

    Formulas: see each row's ``basis``. ``mqls_per_month = MQLs in the window / months of
    the window with any MQL``; rates and averages are ratios of window totals.

    Returns: ``[*by], assumption, stage, stage_order, value, low, high, months, basis``.
    """
    cfg = choices or KPIChoices()
    definition = qualified or QualifiedDefinition()
    cutoff = naive_utc(as_of)
    start = cutoff - timedelta(days=window_days)
    keys = as_list(by)
    op = lazy(opportunities, name="opportunities")
    require(op, [created_at, amount, is_won, *keys], what="opportunities")
    window = (nw.col("__t") > nw.lit(start)) & (nw.col("__t") <= nw.lit(cutoff))
    parts: list[nw.LazyFrame[Any]] = []

    # -- people: MQL -> SQL -> opportunity ---------------------------------------------------
    monthly_people: nw.LazyFrame[Any] | None = None
    if people is not None:
        pp = lazy(people, name="people", like=op)
        require(pp, [person_id, mql_at, *keys], what="people")
        mqls = pp.with_columns(naive(pp.collect_schema(), mql_at).alias("__t")).filter(window)
        require(op, ["primary_person_id"], what="opportunities")
        mqls = with_sql(
            mqls,
            qualified=definition,
            lifecycle=lifecycle,
            opportunities=op,
            stage_events=(
                None if stage_events is None else lazy(stage_events, name="stage_events", like=op)
            ),
            person_id=person_id,
            lifecycle_stage=lifecycle_stage,
        )
        mqls = mqls.with_columns(period_start(nw.col("__t"), "1mo").alias(PERIOD))
        monthly_people = mqls.group_by([*keys, PERIOD]).agg(
            nw.len().cast(nw.Int64).alias("__mqls"),
            count_if(nw.col("__sql")).alias("__sqls"),
            count_if(nw.col("__converted")).alias("__opps"),
        )
        parts += [
            _rows(
                monthly_people,
                keys,
                "mqls_per_month",
                basis=_BASIS["mqls_per_month"],
                terms=("__mqls", None),
                value=safe_div(nw.col("__n"), nw.col("months")),
            ),
            *[
                _rows(monthly_people, keys, name, basis=_BASIS[name], terms=terms)
                for name, terms in (
                    ("mql_to_sql", ("__sqls", "__mqls")),
                    ("sql_to_opportunity", ("__opps", "__sqls")),
                )
            ],
        ]

    # -- deals closed in the window: win rate, deal size, cycle --------------------------------
    closed = (
        with_outcome(
            op,
            is_closed=is_closed,
            is_won=is_won,
            closed_at=closed_at,
            close_date=close_date,
            start=created_at,
        )
        .with_columns(nw.col(CLOSE_T).alias("__t"))
        .filter(nw.col(CLOSED) & window)
        .with_columns(period_start(nw.col("__t"), "1mo").alias(PERIOD))
    )
    parts += _deal_rows(closed, keys, cfg.win_rate_basis, amount)
    parts = [p.with_columns(nw.lit(None, dtype=nw.String()).alias("stage")) for p in parts]
    parts = [p.with_columns(nw.lit(0, dtype=nw.Int64()).alias("__order")) for p in parts]

    # -- per stage, from stage history -----------------------------------------------------------
    if stage_events is not None and pipelines is not None:
        ev = lazy(stage_events, name="stage_events", like=op)
        parts += _stage_rows(
            closed,
            ev,
            pipelines,
            keys=keys,
            cutoff=cutoff,
            opportunity_id=opportunity_id,
            stage=stage,
        )

    # -- spend per MQL -------------------------------------------------------------------------
    if spend is not None and monthly_people is not None:
        sp = lazy(spend, name="spend", like=op)
        require(sp, [spend_period, spend_amount], what="spend")
        sp = sp.with_columns(naive(sp.collect_schema(), spend_period).alias("__t")).filter(window)
        cost = _cost_rows(sp, monthly_people, keys, as_list(spend_by), spend_amount)
        parts.append(
            cost.with_columns(
                nw.lit(None, dtype=nw.String()).alias("stage"),
                nw.lit(0, dtype=nw.Int64()).alias("__order"),
            )
        )
    cols = [*keys, "assumption", "stage", "value", "low", "high", "months", "basis", "__order"]
    out = nw.concat([p.select(cols) for p in parts])
    # The stage's place in the funnel: the chain of stage rates runs in this order.
    order = nw.when(~nw.col("stage").is_null()).then(nw.col("__order")).cast(nw.Int64)
    out = sort_keys(out, [*keys, "assumption", "__order"]).with_columns(order.alias("stage_order"))
    out = out.select(*keys, "assumption", "stage", "stage_order", *cols[len(keys) + 2 : -1])
    like = cast("FrameT", people) if people is not None else opportunities
    return back(out, like)


def _deal_rows(
    closed: nw.LazyFrame[Any], keys: list[str], basis: Basis, amount: str
) -> list[nw.LazyFrame[Any]]:
    """The ``win_rate``, ``average_deal_size`` and ``cycle_days`` rows from the deals closed
    in the window: the same terms as win_rate_by_count / _by_amount, average_deal_size and
    sales_cycle_days (revgov.metrics._deals), pooled over the window's months."""
    monthly = closed.group_by([*keys, PERIOD]).agg(*pooled_terms(basis, amount))
    return [
        _rows(monthly, keys, name, basis=_BASIS[name].format(basis=basis), terms=terms)
        for name, terms in TERMS.items()
    ]


def _cost_rows(
    spend: nw.LazyFrame[Any],
    monthly_people: nw.LazyFrame[Any],
    keys: list[str],
    shared: list[str],
    amount: str,
) -> nw.LazyFrame[Any]:
    """The ``cost_per_mql`` rows from the window's spend (with ``__t``) and monthly MQLs,
    matched on the ``shared`` (``spend_by``) columns and repeated for each group of ``keys``."""
    require(spend, shared, what="spend")
    if any(k not in keys for k in shared):
        raise MetricInputError(
            f"spend_by={shared} must be among the by= columns {keys}",
            hint="group spend only by columns the funnel is grouped by",
        )
    spent = (
        spend.with_columns(period_start(nw.col("__t"), "1mo").alias(PERIOD))
        .group_by([*shared, PERIOD])
        .agg(total(nw.col(amount)).alias("__num"))
    )
    mql_m = monthly_people.group_by([*shared, PERIOD]).agg(total(nw.col("__mqls")).alias("__den"))
    monthly_cost = null_safe_join(spent, mql_m, [*shared, PERIOD], how="left")
    cost = _rows(monthly_cost, shared, "cost_per_mql", basis=_BASIS["cost_per_mql"])
    if shared == keys:
        return cost
    groups = aggregate(monthly_people, keys, [nw.len().alias("__g")]).drop("__g")
    return null_safe_join(groups, cost, shared).select(
        *keys, "assumption", "value", "low", "high", "months", "basis"
    )


def _stage_rows(
    closed: nw.LazyFrame[Any],
    events: nw.LazyFrame[Any],
    pipelines: Pipelines,
    *,
    keys: list[str],
    cutoff: datetime,
    opportunity_id: str,
    stage: str,
) -> list[nw.LazyFrame[Any]]:
    """``stage_conversion`` and ``stage_win_rate`` rows from the deals closed in the window
    (``closed``, with ``__won`` and ``period``) and their stage history.

    A deal reached a stage when a stage event (up to ``as_of``) or its current stage is at
    that stage or later; every deal reached the first stage and a won deal reached them all.
    """
    steps = funnel_stages(pipelines)
    n_open = len([s for s in pipelines_list(pipelines)[0].stages if not s.is_closed])
    if len(steps) < 2 or n_open < 1:
        return []
    events = field_history(events, entity="opportunities", field="stage")
    require(closed, [opportunity_id], what="opportunities")
    t = naive(events.collect_schema(), "changed_at")
    reached_ev = (
        with_funnel_position(events.filter(t <= nw.lit(cutoff)), steps, "to_value", "__epos")
        .select(nw.col("record_id").alias("__rid"), "__epos")
        .group_by("__rid")
        .agg(nw.col("__epos").max())
    )
    deals = closed.join(reached_ev, left_on=opportunity_id, right_on="__rid", how="left")
    current = funnel_position(steps, stage) if has(deals, stage) else nw.lit(None, dtype=nw.Int64())
    reach = (
        nw.when(nw.col(WON))
        .then(nw.lit(len(steps), dtype=nw.Int64()))
        .otherwise(
            nw.max_horizontal(nw.col("__epos").fill_null(1), current.fill_null(1)).cast(nw.Int64)
        )
    )
    deals = deals.with_columns(reach.alias("__reach"))
    monthly = deals.group_by([*keys, PERIOD]).agg(
        *[count_if(nw.col("__reach") >= s.position).alias(f"__r{s.position}") for s in steps],
        *[
            count_if(nw.col(WON) & (nw.col("__reach") >= s.position)).alias(f"__w{s.position}")
            for s in steps
        ],
    )

    def per_stage(pairs: list[tuple[int, str, str, str]]) -> nw.LazyFrame[Any]:
        return nw.concat(
            [
                monthly.select(
                    *keys,
                    PERIOD,
                    nw.lit(name).alias("stage"),
                    nw.lit(order, dtype=nw.Int64()).alias("__order"),
                    nw.col(num).cast(nw.Float64).alias("__num"),
                    nw.col(den).cast(nw.Float64).alias("__den"),
                )
                for order, name, num, den in pairs
            ]
        )

    conversion = per_stage(
        [(s.position, s.name, f"__r{s.position}", f"__r{s.position - 1}") for s in steps[1:]]
    )
    win = per_stage(
        [(s.position, s.name, f"__w{s.position}", f"__r{s.position}") for s in steps[:n_open]]
    )
    out = []
    for name, monthly_stage in (("stage_conversion", conversion), ("stage_win_rate", win)):
        rows = _rows(monthly_stage, [*keys, "stage"], name, basis=_BASIS[name])
        order = monthly_stage.select("stage", "__order").unique(["stage"])
        out.append(rows.join(order, on="stage", how="left"))
    return out


def funnel_scenarios(
    assumptions: FrameT,
    *,
    multipliers: Mapping[str, float] | None = None,
    by: Columns = "segment",
) -> FrameT:
    """Base, conservative and aggressive values of every fitted assumption, with
    ``conservative <= base <= aggressive`` in each assumption's favourable direction by
    construction (for cycle days and cost per MQL, lower is better).

    ``base`` is the fitted (pooled) value. Without ``multipliers`` the conservative case
    takes the worse of the base and the worse end of the monthly spread (the 25th
    percentile where higher is better, the 75th where lower is), and the aggressive case the
    better of the base and the better end: the percentiles of monthly values can sit on
    either side of a pooled value, and a case never crosses the base. With ``multipliers``
    (e.g. ``{"conservative": 0.8, "aggressive": 1.15}``; conservative at most 1, aggressive
    at least 1) a case scales each assumption by its factor in its favourable direction
    (x m where higher is better, / m otherwise), and each of the ``n`` stage conversions by
    ``m^(1/n)``, so the chain from entry to won scales by ``m``. Rates never exceed 1.

    Every case's ``stage_win_rate`` is its chain: the product of its stage conversions
    after the stage (where the chain is complete), so the forward forecast (a deal in stage
    k) and the backward plan (a new deal at the first stage) use one chain of stage rates.

    Returns: ``[*by], scenario, assumption, stage, stage_order, value, source``.
    """
    lf = lazy(assumptions, name="assumptions")
    keys = [k for k in as_list(by) if has(lf, k)]
    require(lf, ["assumption", "value", "low", "high"], what="assumptions")
    if not has(lf, "stage"):
        lf = lf.with_columns(nw.lit(None, dtype=nw.String()).alias("stage"))
    if not has(lf, "stage_order"):
        lf = lf.with_columns(nw.lit(None, dtype=nw.Int64()).alias("stage_order"))
    higher = nw.col("assumption").is_in([a for a, up in ASSUMPTIONS.items() if up])
    rate = nw.col("assumption").is_in(list(_RATES))
    is_conv = nw.col("assumption") == "stage_conversion"
    lf = lf.with_columns(per_group(count_if(is_conv), keys).alias("__steps"))
    cols = [*keys, "scenario", "assumption", "stage", "stage_order"]
    parts = [
        lf.select(
            *keys,
            nw.lit("base").alias("scenario"),
            "assumption",
            "stage",
            "stage_order",
            nw.col("value").cast(nw.Float64),
            nw.lit("fitted value").alias("source"),
        )
    ]
    factors = _checked_multipliers(multipliers)
    value = nw.col("value")
    for scenario in ("conservative", "aggressive"):
        good = scenario == "aggressive"
        if factors is not None:
            m = factors[scenario]
            per_step = (nw.lit(math.log(m)) / nw.col("__steps").cast(nw.Float64)).exp()
            factor = nw.when(is_conv).then(per_step).otherwise(nw.lit(m))
            case = nw.when(higher).then(value * factor).otherwise(value / factor)
            source = nw.lit(
                f"base x {m:g} where higher is better, base / {m:g} otherwise; "
                f"each of n stage conversions x {m:g}^(1/n)"
            )
        else:
            up = nw.max_horizontal(nw.coalesce(nw.col("high"), value), value)
            down = nw.min_horizontal(nw.coalesce(nw.col("low"), value), value)
            case = nw.when(higher).then(up if good else down).otherwise(down if good else up)
            end = "75th" if good else "25th"
            other = "25th" if good else "75th"
            source = nw.lit(
                f"{end} percentile of monthly values ({other} where lower is better), "
                f"{'at least' if good else 'at most'} as good as the base"
            )
        case = nw.when(rate & (case > 1)).then(nw.lit(1.0)).otherwise(case)
        parts.append(
            lf.select(
                *keys,
                nw.lit(scenario).alias("scenario"),
                "assumption",
                "stage",
                "stage_order",
                case.cast(nw.Float64).alias("value"),
                source.alias("source"),
            )
        )
    out = _chained(nw.concat(parts), keys)
    return back(sort_keys(out, cols), assumptions)


def _checked_multipliers(multipliers: Mapping[str, float] | None) -> dict[str, float] | None:
    """The case factors, each on its side of 1 (a conservative factor above 1 would make
    the conservative case beat the base)."""
    if multipliers is None:
        return None
    out: dict[str, float] = {}
    for scenario, ok, side in (("conservative", 1.0, "at most"), ("aggressive", 1.0, "at least")):
        if scenario not in multipliers:
            raise MetricInputError(
                f"multipliers has no {scenario!r} factor",
                hint='pass {"conservative": 0.8, "aggressive": 1.2}',
            )
        m = float(multipliers[scenario])
        if m <= 0:
            raise MetricInputError(f"multiplier for {scenario} must be positive, got {m}")
        if (scenario == "conservative" and m > ok) or (scenario == "aggressive" and m < ok):
            raise MetricInputError(
                f"multiplier for {scenario} must be {side} 1, got {m:g}",
                hint="conservative <= 1 <= aggressive keeps conservative <= base <= aggressive",
            )
        out[scenario] = m
    return out


def _chained(scenarios: nw.LazyFrame[Any], keys: list[str]) -> nw.LazyFrame[Any]:
    """``scenarios`` with each case's ``stage_win_rate`` replaced by its chain: the product
    of the case's stage conversions after the stage (kept as it was where a conversion of
    the chain is unknown)."""
    group = [*keys, "scenario"]
    conv = scenarios.filter(nw.col("assumption") == "stage_conversion").select(
        *group,
        (nw.col("stage_order") - 1).cast(nw.Int64).alias("__k"),
        nw.col("value")
        .cum_prod(reverse=True)
        .over(*group, order_by="stage_order")
        .alias("__chain"),
        nw.col("value")
        .is_null()
        .cast(nw.Int64)
        .cum_sum(reverse=True)
        .over(*group, order_by="stage_order")
        .alias("__gaps"),
    )
    win = scenarios.filter(nw.col("assumption") == "stage_win_rate").with_columns(
        nw.col("stage_order").cast(nw.Int64).alias("__k")
    )
    joined = null_safe_join(win, conv, [*group, "__k"], how="left")
    chained = (nw.col("__gaps") == 0).fill_null(False)
    win = joined.select(
        *group,
        "assumption",
        "stage",
        "stage_order",
        nw.when(chained).then(nw.col("__chain")).otherwise(nw.col("value")).alias("value"),
        nw.when(chained)
        .then(nw.lit("chain: the product of this case's stage conversions after the stage"))
        .otherwise(nw.col("source"))
        .alias("source"),
    )
    rest = scenarios.filter(nw.col("assumption") != "stage_win_rate")
    return nw.concat([rest, win])


def _wide(
    scenarios: nw.LazyFrame[Any], keys: Sequence[str], names: Sequence[str]
) -> nw.LazyFrame[Any]:
    """One row per group and scenario, one column per (group-wide) assumption."""
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
    pipelines: Pipelines | None = None,
    created_at: str = "created_at",
    amount: str = "amount",
    stage: str = "stage",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Expected bookings by month from today's open pipeline, per scenario.

    Each deal open at ``as_of`` is expected to win with the scenario's ``stage_win_rate`` of
    the stage it is in (stage names matched without regard to case; with ``pipelines``, by
    alias too), or with the scenario's overall ``win_rate`` where its stage has none. It
    brings its amount (or the ``average_deal_size`` when blank). It closes in the month of
    its close date when that is not past; otherwise after the rest of the base case's
    ``cycle_days`` (``cycle_days - age``, at least 0): every case places a deal in the same
    month, so each month keeps ``conservative <= base <= aggressive``. Deals expected beyond
    ``months`` are left out.

    Formula: ``expected_bookings = sum over open deals closing in the month of
    win_rate_of_its_stage x amount``; ``applied_win_rate`` is the mean win rate applied to
    the month's deals.

    Returns: ``[*by], scenario, period, open_opportunities, open_pipeline,
    expected_bookings, win_rate, applied_win_rate, average_deal_size, cycle_days``.
    """
    if months < 1:
        raise MetricInputError(f"months must be at least 1, got {months}")
    cutoff = naive_utc(as_of)
    op = lazy(opportunities, name="opportunities")
    sc = lazy(scenarios, name="scenarios", like=op)
    keys = as_list(by)
    require(op, [created_at, amount, is_won, close_date, *keys], what="opportunities")
    require(sc, ["scenario", "assumption", "value", *keys], what="scenarios")
    open_now = open_at(
        op,
        cutoff,
        created_at=created_at,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    schema = op.collect_schema()
    deals = op.filter(open_now).with_columns(
        naive(schema, created_at).alias("__created"), naive(schema, close_date).alias("__close")
    )
    wide = _wide(sc, keys, ["win_rate", "average_deal_size", "cycle_days"])
    # Every case places a deal in the same month (by the base case's cycle): only its rates
    # and sizes differ, so each month's figures keep conservative <= base <= aggressive.
    base_cycle = nw.when(nw.col("scenario") == "base").then(nw.col("cycle_days")).max()
    wide = wide.with_columns(per_group(base_cycle, keys).alias("__place_cycle"))
    joined = null_safe_join(deals, wide, keys, how="inner")
    rate = nw.col("win_rate")
    if has(sc, "stage") and has(op, stage):
        joined = _with_stage_rates(joined, sc, keys, pipelines, stage)
        rate = nw.coalesce(nw.col("__stage_rate"), nw.col("win_rate"))
    impl = joined.implementation
    age = days_between(nw.col("__created"), nw.lit(cutoff), impl, calendar=True).cast(nw.Float64)
    remaining = (nw.col("__place_cycle").fill_null(0.0) - age).clip(lower_bound=0.0)
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
        joined.with_columns(ahead.alias("__ahead"), rate.alias("__rate"))
        .filter((nw.col("__ahead") >= 0) & (nw.col("__ahead") < months))
        .with_columns(
            period.alias(PERIOD),
            (nw.col("__rate") * value).alias("__expected"),
        )
    )
    out = joined.group_by([*keys, "scenario", PERIOD]).agg(
        nw.len().cast(nw.Int64).alias("open_opportunities"),
        total(nw.col(amount)).alias("open_pipeline"),
        total(nw.col("__expected")).alias("expected_bookings"),
        nw.col("win_rate").max(),
        nw.col("__rate").mean().alias("applied_win_rate"),
        nw.col("average_deal_size").max(),
        nw.col("cycle_days").max(),
    )
    return back(sort_keys(out, [*keys, "scenario", PERIOD]), opportunities)


def _with_stage_rates(
    deals: nw.LazyFrame[Any],
    scenarios: nw.LazyFrame[Any],
    keys: list[str],
    pipelines: Pipelines | None,
    stage: str,
) -> nw.LazyFrame[Any]:
    """Open deals with ``__stage_rate``: the scenario's ``stage_win_rate`` of the stage each
    is in (names matched without regard to case; with ``pipelines``, by alias too)."""
    rates = scenarios.filter(
        (nw.col("assumption") == "stage_win_rate") & ~nw.col("stage").is_null()
    ).select(
        *keys,
        "scenario",
        nw.col("stage").str.to_lowercase().alias("__skey"),
        nw.col("value").alias("__stage_rate"),
    )
    name = stage_attr("name", pipelines, stage=stage) if pipelines is not None else None
    deal_stage = nw.coalesce(name, nw.col(stage)) if name is not None else nw.col(stage)
    deals = deals.with_columns(deal_stage.str.to_lowercase().alias("__skey"))
    return null_safe_join(deals, rates, [*keys, "scenario", "__skey"], how="left")


def plan_backward(
    scenarios: FrameT,
    target: float | Mapping[Any, float],
    *,
    forward: Any = None,
    by: Columns = "segment",
) -> FrameT:
    """From a bookings target back to the new pipeline, opportunities, SQLs, MQLs and spend
    it needs, per scenario, after what today's open pipeline is expected to bring.

    ``target`` is one amount (for each group) or a mapping of group value to amount (with a
    single ``by`` column). ``forward`` is :func:`forecast_bookings` of the open pipeline
    with the same scenarios: its expected bookings (all its months) are subtracted first,
    and only the gap is planned (without it nothing is subtracted: the plan is from zero).
    New deals enter at the first stage and win at the chain's entry rate (the first stage's
    ``stage_win_rate``, the product of every stage conversion; the overall ``win_rate``
    without stage history), the rate the forward forecast applies to a deal in that stage:
    forecasting the open pipeline plus the planned pipeline returns the target. A step
    whose assumption could not be fitted is null, and ``missing`` names those assumptions
    and the input each needs (e.g. an opportunities-only snapshot has no MQL rates).

    Formulas: ``gap_to_target = max(target - expected_from_open_pipeline, 0)``;
    ``won_deals = gap_to_target / average_deal_size``; ``opportunities = won_deals /
    win_rate`` (the entry rate); ``pipeline = opportunities x average_deal_size``; ``sqls =
    opportunities / sql_to_opportunity``; ``mqls = sqls / mql_to_sql``; ``spend = mqls x
    cost_per_mql``; ``months_of_demand = mqls / mqls_per_month``. A zero rate gives null.

    Returns: ``[*by], scenario, target_bookings, expected_from_open_pipeline,
    gap_to_target, average_deal_size, won_deals_needed, win_rate, opportunities_needed,
    pipeline_needed, sql_to_opportunity, sqls_needed, mql_to_sql, mqls_needed,
    cost_per_mql, spend_needed, mqls_per_month, months_of_demand, cycle_days, missing``.
    """
    sc = lazy(scenarios, name="scenarios")
    keys = [k for k in as_list(by) if has(sc, k)]
    require(sc, ["scenario", "assumption", "value"], what="scenarios")
    wide = _wide(sc, keys, _SCALAR)
    group = [*keys, "scenario"]
    if has(sc, "stage_order"):
        entry = sc.filter(
            (nw.col("assumption") == "stage_win_rate") & (nw.col("stage_order") == 1)
        ).select(*group, nw.col("value").alias("__entry"))
        wide = null_safe_join(wide, entry, group, how="left")
    else:
        wide = wide.with_columns(nw.lit(None, dtype=nw.Float64()).alias("__entry"))
    wide = wide.with_columns(nw.coalesce(nw.col("__entry"), nw.col("win_rate")).alias("win_rate"))
    if forward is not None:
        fw = lazy(forward, name="forward", like=sc)
        require(fw, [*group, "expected_bookings"], what="forward")
        expected = fw.group_by(group).agg(
            total(nw.col("expected_bookings")).alias("expected_from_open_pipeline")
        )
        wide = null_safe_join(wide, expected, group, how="left")
        wide = wide.with_columns(nw.col("expected_from_open_pipeline").fill_null(0.0))
    else:
        wide = wide.with_columns(nw.lit(0.0).alias("expected_from_open_pipeline"))
    if isinstance(target, Mapping):
        if len(keys) != 1:
            raise MetricInputError(
                "a target per group needs exactly one by= column",
                hint="pass a single number, or by='segment' with {segment: amount}",
            )
        if not target:
            raise MetricInputError("the target mapping is empty")
        values = {k: float(v) for k, v in target.items()}
        tgt = lookup(nw.col(keys[0]), values, nw.Float64())
    else:
        tgt = nw.lit(float(target))
    wide = wide.with_columns(tgt.cast(nw.Float64).alias("target_bookings"))
    c = nw.col
    gap = c("target_bookings") - c("expected_from_open_pipeline")
    gaps = nw.concat_str(
        *[
            nw.when(c(a).is_null()).then(nw.lit(f"{a} (needs {need})"))
            for a, need in _NEEDS.items()
        ],
        separator="; ",
        ignore_nulls=True,
    )
    out = (
        # No target for a group: nothing to plan (null), not a gap of zero.
        wide.with_columns(
            nw.when(gap > 0).then(gap).when(gap <= 0).then(nw.lit(0.0)).alias("gap_to_target")
        )
        .with_columns(
            safe_div(c("gap_to_target"), c("average_deal_size")).alias("won_deals_needed")
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
            gaps.alias("__gaps"),
        )
        .with_columns(nw.when(c("__gaps") != "").then(c("__gaps")).alias("missing"))
        .select(
            *keys,
            "scenario",
            "target_bookings",
            "expected_from_open_pipeline",
            "gap_to_target",
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
            "missing",
        )
    )
    return back(sort_keys(out, [*keys, "scenario"]), scenarios)


#: What each figure of the backward plan is, in the statement.
_PLAN_ITEMS = {
    "target_bookings": "the bookings target",
    "expected_from_open_pipeline": "expected bookings of today's open pipeline (forward "
    "forecast, all its months)",
    "gap_to_target": "the target left after the open pipeline: what new pipeline must bring",
    "won_deals_needed": "new won deals the gap needs, at the average deal size",
    "opportunities_needed": "new opportunities entering at the first stage, at the chain's "
    "entry win rate",
    "pipeline_needed": "new pipeline: opportunities x average deal size",
    "spend_needed": "spend for the MQLs behind that pipeline, at the cost per MQL",
}


def plan_statement(
    scenarios: FrameT,
    *,
    as_of: datetime | date | str | None,
    window_days: int,
    months: int,
    target_source: str | None,
    forward: Any = None,
    backward: Any = None,
    by: Columns = "segment",
) -> FrameT:
    """The funnel model stated: the window it was fitted on, the target and where it came
    from, how deals are placed in months, the plan from the gap, and every assumption of
    every case with its source.

    ``target_source`` says where the target came from (None: no target, no plan).

    Formula: none; each row is a figure of the model and the sentence that explains it.

    Returns: ``[*by], scenario, item, stage, value, statement``.
    """
    sc = lazy(scenarios, name="scenarios")
    keys = [k for k in as_list(by) if has(sc, k)]
    cutoff = naive_utc(as_of)
    start = cutoff - timedelta(days=window_days)
    schema = sc.collect_schema()
    nulls = [nw.lit(None, dtype=schema[k]).alias(k) for k in keys]
    text = nw.String()
    general = [
        (
            "window",
            f"assumptions fitted on the {window_days} days from {start:%Y-%m-%d} to "
            f"{cutoff:%Y-%m-%d}: rates pooled over the window, cases from its monthly values",
        ),
        (
            "target",
            f"target from {target_source}" if target_source else "no target: no backward plan",
        ),
        (
            "placement",
            f"an open deal closes in the month of its close date when that is not past, else "
            f"after the rest of the base case's cycle_days from its creation (the same month "
            f"in every case); deals expected beyond "
            f"{months} months from {cutoff:%Y-%m} are left out; each brings its amount (the "
            "average deal size when blank) x the chained win rate of its stage",
        ),
        (
            "chain",
            "one chain of stage rates: a stage's win rate is the product of the stage "
            "conversions after it; forward (open deals by stage) and backward (new deals at "
            "the first stage) both apply it",
        ),
        (
            "cases",
            "conservative <= base <= aggressive for every assumption, by construction",
        ),
    ]
    one = sc.head(1)
    parts = [
        one.select(
            *nulls,
            nw.lit(None, dtype=text).alias("scenario"),
            nw.lit(item).alias("item"),
            nw.lit(None, dtype=text).alias("stage"),
            nw.lit(None, dtype=nw.Float64()).alias("value"),
            nw.lit(sentence).alias("statement"),
        )
        for item, sentence in general
    ]
    if backward is not None:
        bw = lazy(backward, name="backward", like=sc)
        names = [n for n in _PLAN_ITEMS if has(bw, n)]
        long = bw.select(*keys, "scenario", *[nw.col(n).cast(nw.Float64) for n in names]).unpivot(
            on=names, index=[*keys, "scenario"], variable_name="item", value_name="value"
        )
        parts.append(
            long.select(
                *keys,
                "scenario",
                "item",
                nw.lit(None, dtype=text).alias("stage"),
                "value",
                lookup(nw.col("item"), _PLAN_ITEMS, text).alias("statement"),
            )
        )
    elif forward is not None:
        fw = lazy(forward, name="forward", like=sc)
        parts.append(
            fw.group_by([*keys, "scenario"])
            .agg(total(nw.col("expected_bookings")).alias("value"))
            .select(
                *keys,
                "scenario",
                nw.lit("expected_from_open_pipeline").alias("item"),
                nw.lit(None, dtype=text).alias("stage"),
                "value",
                nw.lit(_PLAN_ITEMS["expected_from_open_pipeline"]).alias("statement"),
            )
        )
    stage = nw.col("stage") if has(sc, "stage") else nw.lit(None, dtype=text)
    source = nw.col("source") if has(sc, "source") else nw.lit("", dtype=text)
    parts.append(
        sc.select(
            *keys,
            "scenario",
            nw.col("assumption").alias("item"),
            stage.alias("stage"),
            nw.col("value").cast(nw.Float64),
            nw.concat_str(
                nw.lit("assumption: "),
                source,
            ).alias("statement"),
        )
    )
    return back(nw.concat(parts), scenarios)
