"""What acquisition costs: CAC, CAC payback, and pipeline and bookings per unit of spend by
channel and by campaign."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from revgov.config import KPIChoices
from revgov.errors import MetricInputError
from revgov.metrics._deals import created_aggs, won_aggs
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    column_or_null,
    full_join,
    has,
    lazy,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._kpi import (
    PERIOD,
    absent_as_zero,
    close_time,
    period_of,
    total,
    won_flag,
)
from revgov.metrics._notes import cac_notes
from revgov.metrics._time import naive, parse_every, period_start
from revgov.metrics.registry import FINANCE, MARKETING, kpi

__all__ = [
    "NEW_BUSINESS_TYPES",
    "cac",
    "cac_payback_months",
    "campaign_efficiency",
    "channel_efficiency",
]

#: Opportunity ``type`` values that count as new business (compared in lower case). A deal
#: with a blank type counts as new business too.
NEW_BUSINESS_TYPES = ("new business", "new_business", "new-business", "newbusiness", "new")


def _acquisition(
    spend: Any,
    opportunities: Any,
    *,
    every: str,
    lag: int,
    by: Columns,
    new_business_types: Sequence[str],
    spend_period: str,
    spend_amount: str,
    amount: str,
    is_won: str,
    deal_type: str,
    account_id: str,
    opportunity_id: str,
    closed_at: str,
    close_date: str,
) -> tuple[nw.LazyFrame[Any], list[str]]:
    sp = lazy(spend, name="spend")
    op = lazy(opportunities, name="opportunities", like=sp)
    dims = as_list(by)
    step = parse_every(every) or "1mo"
    require(sp, [spend_period, spend_amount, *dims], what="spend")
    require(op, [amount, is_won, opportunity_id, *dims], what="opportunities")
    shifted = naive(sp.collect_schema(), spend_period)
    if lag:
        shifted = shifted.dt.offset_by(f"{lag}mo")
    spent = _spend(
        sp.with_columns(period_start(shifted, step).alias(PERIOD)), [*dims, PERIOD], spend_amount
    )
    new_type = _new_business(op, deal_type, new_business_types)
    won = op.filter(won_flag(is_won)).with_columns(
        close_time(op, closed_at, close_date).alias("__t"),
        _customer(op, account_id, opportunity_id).alias("__customer"),
        new_type.cast(nw.Int64).alias("__new_type"),
    )
    if has(op, account_id):
        # An account's renewals and upsells are never new customers on their own.
        won = won.filter(~nw.col(account_id).is_null() | (nw.col("__new_type") == 1))
    # An account is a new customer once: in the period of its first-ever win, as far back
    # as the frame goes, not at every won new-business deal. A first win that is a renewal
    # or an expansion shows an earlier win the CRM does not hold: not a new customer.
    first = nw.col("__t").min().over("__customer")
    won = won.with_columns(period_start(nw.col("__t"), step).alias(PERIOD)).filter(
        nw.col(PERIOD) == period_start(first, step)
    )
    won = won.filter(nw.col("__new_type").max().over("__customer") == 1)
    won = won.group_by([*dims, PERIOD]).agg(
        nw.col("__customer").n_unique().cast(nw.Int64).alias("new_customers"),
        total(nw.col(amount)).alias("new_arr"),
    )
    # A side missing from the join had no rows (0); a null from the sums stays unknown.
    joined = full_join(spent, won, [*dims, PERIOD]).with_columns(
        absent_as_zero("spend", "__spend_rows"),
        absent_as_zero("new_arr", "new_customers"),
        nw.col("new_customers").fill_null(0),
    )
    return joined, [*dims, PERIOD]


def _new_business(
    op: nw.LazyFrame[Any], deal_type: str, new_business_types: Sequence[str]
) -> nw.Expr:
    """A deal of a new-business ``type`` (or of blank type; every deal without the column)."""
    if not has(op, deal_type):
        return nw.lit(True)
    kinds = [t.lower() for t in new_business_types]
    return nw.col(deal_type).is_null() | nw.col(deal_type).str.to_lowercase().is_in(kinds)


def _customer(op: nw.LazyFrame[Any], account_id: str, opportunity_id: str) -> nw.Expr:
    """Who a won deal makes a customer: its account, else the deal itself (its own
    customer, keyed apart from every account id)."""
    own = nw.concat_str(nw.lit("\x00deal:"), nw.col(opportunity_id).cast(nw.String))
    if not has(op, account_id):
        return own
    return nw.coalesce(nw.col(account_id).cast(nw.String), own)


def _spend(sp: nw.LazyFrame[Any], keys: list[str], amount: str) -> nw.LazyFrame[Any]:
    """Spend per group of ``keys`` (``__spend_rows`` marks the groups that have lines)."""
    return sp.group_by(keys).agg(
        total(nw.col(amount)).alias("spend"), nw.len().alias("__spend_rows")
    )


@kpi(
    title="Customer acquisition cost",
    unit="currency per customer",
    basis="spend lagged by kpis.cac_spend_lag_months against new customers won",
    owner=FINANCE,
    driver="Spend efficiency and win rate of new business.",
    remediation="Compare by channel (channel_efficiency); move budget from channels with "
    "the lowest bookings per spend.",
    inputs=("spend", "opportunities"),
    example="cac(spend, opportunities, choices=config.kpis)",
    by_entities=("spend", "opportunities"),
    notes=cac_notes,
)
def cac(
    spend: FrameT,
    opportunities: Any,
    *,
    every: str = "1mo",
    spend_lag_months: int | None = None,
    choices: KPIChoices | None = None,
    by: Columns = None,
    new_business_types: Sequence[str] = NEW_BUSINESS_TYPES,
    spend_period: str = "period",
    spend_amount: str = "amount",
    amount: str = "amount",
    is_won: str = "is_won",
    deal_type: str = "type",
    account_id: str = "account_id",
    opportunity_id: str = "opportunity_id",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Customer acquisition cost: spend per new customer won.

    Spend lag: the spend of period ``m - lag`` is charged to the customers won in period
    ``m`` (config ``kpis.cac_spend_lag_months``, default 1): buying demand precedes closing
    it. An account is a new customer in the period of its first-ever won deal (the frame's
    whole history counts, so pass every deal, not only the period's), when that first win
    is new business (a ``type`` of ``new_business_types``, or blank): a first win that is a
    renewal shows an earlier win the CRM does not hold. A won new-business deal without an
    account is a customer of its own. ``new_arr`` is the amount new customers won in that
    first period.

    Formula: ``cac = spend_(m - lag) / new_customers_m``. Null when no customer was won.

    Returns: ``[*by], period, spend, new_customers, new_arr, cac, spend_lag_months``.
    """
    lag = (
        spend_lag_months
        if spend_lag_months is not None
        else (choices or KPIChoices()).cac_spend_lag_months
    )
    joined, keys = _acquisition(
        spend,
        opportunities,
        every=every,
        lag=lag,
        by=by,
        new_business_types=new_business_types,
        spend_period=spend_period,
        spend_amount=spend_amount,
        amount=amount,
        is_won=is_won,
        deal_type=deal_type,
        account_id=account_id,
        opportunity_id=opportunity_id,
        closed_at=closed_at,
        close_date=close_date,
    )
    out = joined.select(
        *keys,
        "spend",
        "new_customers",
        "new_arr",
        safe_div(nw.col("spend"), nw.col("new_customers")).alias("cac"),
        nw.lit(lag, dtype=nw.Int64()).alias("spend_lag_months"),
    )
    return back(sort_keys(out, keys), spend)


@kpi(
    title="CAC payback",
    unit="months",
    basis="spend lagged by kpis.cac_spend_lag_months; new ARR x kpis.gross_margin",
    owner=FINANCE,
    driver="CAC, deal size and gross margin.",
    remediation="Raise deal size or margin, or cut spend in channels with the longest payback.",
    inputs=("spend", "opportunities"),
    example="cac_payback_months(spend, opportunities, choices=config.kpis)",
    by_entities=("spend", "opportunities"),
    notes=cac_notes,
)
def cac_payback_months(
    spend: FrameT,
    opportunities: Any,
    *,
    every: str = "1mo",
    spend_lag_months: int | None = None,
    gross_margin: float | None = None,
    choices: KPIChoices | None = None,
    by: Columns = None,
    new_business_types: Sequence[str] = NEW_BUSINESS_TYPES,
    spend_period: str = "period",
    spend_amount: str = "amount",
    amount: str = "amount",
    is_won: str = "is_won",
    deal_type: str = "type",
    account_id: str = "account_id",
    opportunity_id: str = "opportunity_id",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
) -> FrameT:
    """Months of gross-margin revenue from new customers needed to repay what acquiring them
    cost.

    A won deal's amount is taken as its annual recurring revenue (ARR). Spend lag as in
    :func:`cac` (config ``kpis.cac_spend_lag_months``); gross margin from config
    ``kpis.gross_margin`` (default 0.75).

    Formula: ``cac_payback_months = spend_(m - lag) / (new_arr_m x gross_margin / 12)``.
    Null when no new ARR was won.

    Returns: ``[*by], period, spend, new_arr, gross_margin, cac_payback_months,
    spend_lag_months``.
    """
    cfg = choices or KPIChoices()
    lag = spend_lag_months if spend_lag_months is not None else cfg.cac_spend_lag_months
    margin = gross_margin if gross_margin is not None else cfg.gross_margin
    joined, keys = _acquisition(
        spend,
        opportunities,
        every=every,
        lag=lag,
        by=by,
        new_business_types=new_business_types,
        spend_period=spend_period,
        spend_amount=spend_amount,
        amount=amount,
        is_won=is_won,
        deal_type=deal_type,
        account_id=account_id,
        opportunity_id=opportunity_id,
        closed_at=closed_at,
        close_date=close_date,
    )
    monthly_margin = nw.col("new_arr") * margin / 12
    out = joined.select(
        *keys,
        "spend",
        "new_arr",
        nw.lit(margin, dtype=nw.Float64()).alias("gross_margin"),
        safe_div(nw.col("spend"), monthly_margin).alias("cac_payback_months"),
        nw.lit(lag, dtype=nw.Int64()).alias("spend_lag_months"),
    )
    return back(sort_keys(out, keys), spend)


def _outcomes(
    op: nw.LazyFrame[Any],
    *,
    keys: Sequence[str],
    every: str | None,
    amount: str,
    is_won: str,
    created_at: str,
    closed_at: str,
    close_date: str,
) -> nw.LazyFrame[Any]:
    """Pipeline created and bookings won per ``keys`` (and period); a side without deals is
    null until :func:`_filled_outcomes`."""
    group = [*keys, PERIOD] if every else list(keys)
    created = op
    won = op.filter(won_flag(is_won))
    if every:
        created = created.with_columns(period_of(op, created_at, every))
        won = won.with_columns(
            period_start(close_time(op, closed_at, close_date), every).alias(PERIOD)
        )
    made = created.group_by(group).agg(*created_aggs(amount))
    booked = won.group_by(group).agg(*won_aggs(amount))
    return full_join(made, booked, group)


def _filled_outcomes() -> list[nw.Expr]:
    """The columns of :func:`_outcomes` after the last join: no deals on a side is 0; deals
    whose amounts are all blank stay null (unknown)."""
    return [
        nw.col("opportunities").fill_null(0),
        absent_as_zero("pipeline_amount", "opportunities"),
        nw.col("won_deals").fill_null(0),
        absent_as_zero("bookings", "won_deals"),
    ]


def _per(unit: str) -> list[nw.Expr]:
    """Pipeline and bookings per unit of ``unit`` (a column): ``*_per_<unit>``."""
    return [
        safe_div(nw.col("pipeline_amount"), nw.col(unit)).alias(f"pipeline_per_{unit}"),
        safe_div(nw.col("bookings"), nw.col(unit)).alias(f"bookings_per_{unit}"),
    ]


_RESERVED = ("channel", "campaign_id", "name", "cost", "spend", PERIOD)


def _check_dims(dims: Sequence[str], what: str) -> None:
    clash = [d for d in dims if d in _RESERVED]
    if clash:
        raise MetricInputError(
            f"{what} cannot group by {clash}: they are its own columns",
            hint="group by other columns of the deals (segment, owner_region...)",
        )


@kpi(
    title="Channel efficiency",
    unit="currency per currency",
    basis="deals by creation (pipeline) and close (bookings) period; spend by period",
    owner=MARKETING,
    driver="Channel mix and cost per opportunity.",
    remediation="Shift budget toward channels with the highest bookings per spend; pause "
    "channels that create pipeline that does not close.",
    inputs=("opportunities", "spend"),
    example="channel_efficiency(opportunities, spend, campaigns=campaigns)",
    by_entities=("opportunities", "spend"),
)
def channel_efficiency(
    opportunities: FrameT,
    spend: Any,
    *,
    campaigns: Any = None,
    by: Columns = None,
    every: str | None = None,
    channel: str = "lead_source",
    amount: str = "amount",
    is_won: str = "is_won",
    created_at: str = "created_at",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
    primary_campaign_id: str = "primary_campaign_id",
    spend_period: str = "period",
    spend_amount: str = "amount",
    spend_channel: str = "channel",
) -> FrameT:
    """Pipeline and bookings per unit of spend, by channel.

    A deal's channel is its primary campaign's channel when ``campaigns`` is given (else, or
    when it has no campaign, its ``lead_source``); spend's channel is its ``channel`` (or its
    campaign's). Pipeline counts deals created in the period, bookings deals won in it.
    ``by`` splits both sides further: it names columns that the deals *and* the spend lines
    have (e.g. ``segment``), since spend that is not split cannot be divided between groups.

    Formula: ``pipeline_per_spend = pipeline_amount / spend``;
    ``bookings_per_spend = bookings / spend``. Null where there was no spend.

    Returns: ``channel, [*by], [period], spend, opportunities, pipeline_amount, won_deals,
    bookings, pipeline_per_spend, bookings_per_spend``.
    """
    step = parse_every(every)
    dims = as_list(by)
    _check_dims(dims, "channel_efficiency")
    op = lazy(opportunities, name="opportunities")
    require(op, [amount, is_won, created_at, *dims], what="opportunities")
    sp = _spend_lines(spend, op, dims, step, period=spend_period, amount=spend_amount)
    deal_channel = column_or_null(op, channel, nw.String())
    spend_ch = column_or_null(sp, spend_channel, nw.String())
    if campaigns is not None:
        cp = lazy(campaigns, name="campaigns", like=op)
        require(cp, ["campaign_id", "channel"], what="campaigns")
        lookup = cp.select(
            nw.col("campaign_id").alias("__cid"), nw.col("channel").alias("__cch")
        ).unique(["__cid"])
        if has(op, primary_campaign_id):
            op = op.join(lookup, left_on=primary_campaign_id, right_on="__cid", how="left")
            deal_channel = nw.coalesce(nw.col("__cch"), deal_channel)
        if has(sp, "campaign_id"):
            sp = sp.join(lookup, left_on="campaign_id", right_on="__cid", how="left")
            spend_ch = nw.coalesce(spend_ch, nw.col("__cch"))
    keys = ["channel", *dims]
    outcomes = _outcomes(
        op.with_columns(deal_channel.alias("channel")),
        keys=keys,
        every=step,
        amount=amount,
        is_won=is_won,
        created_at=created_at,
        closed_at=closed_at,
        close_date=close_date,
    )
    keys += [PERIOD] if step else []
    spent = _spend(sp.with_columns(spend_ch.alias("channel")), keys, spend_amount)
    out = full_join(spent, outcomes, keys).select(
        *keys, absent_as_zero("spend", "__spend_rows"), *_filled_outcomes()
    )
    return back(sort_keys(out.with_columns(*_per("spend")), keys), opportunities)


@kpi(
    title="Campaign efficiency",
    unit="currency per currency",
    basis="deals by primary campaign; campaign cost or spend lines",
    owner=MARKETING,
    driver="Campaign targeting and offer.",
    remediation="Retire campaigns with no pipeline after their window; scale the ones "
    "with the best bookings per cost.",
    inputs=("opportunities", "campaigns"),
    example="campaign_efficiency(opportunities, campaigns, spend=spend)",
    by_entities=("opportunities", "spend"),
)
def campaign_efficiency(
    opportunities: FrameT,
    campaigns: Any,
    *,
    spend: Any = None,
    by: Columns = None,
    every: str | None = None,
    amount: str = "amount",
    is_won: str = "is_won",
    created_at: str = "created_at",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
    primary_campaign_id: str = "primary_campaign_id",
    spend_period: str = "period",
    spend_amount: str = "amount",
) -> FrameT:
    """Pipeline and bookings per unit of cost, by primary campaign.

    A campaign's cost is the spend lines that name it (``spend.campaign_id``) where there are
    any, else its ``cost``; with ``every``, only spend lines (by their period) count. ``by``
    splits the deals and the spend lines by columns both have (e.g. ``segment``); a
    campaign's total ``cost`` cannot be split, so ``by`` needs ``spend``.

    Formula: ``pipeline_per_cost = pipeline_amount / cost``;
    ``bookings_per_cost = bookings / cost``. Null where the cost is zero or unknown.

    Returns: ``campaign_id, name, channel, [*by], [period], cost, opportunities,
    pipeline_amount, won_deals, bookings, pipeline_per_cost, bookings_per_cost``.
    """
    step = parse_every(every)
    dims = as_list(by)
    _check_dims(dims, "campaign_efficiency")
    op = lazy(opportunities, name="opportunities")
    cp = lazy(campaigns, name="campaigns", like=op)
    require(op, [amount, is_won, created_at, primary_campaign_id, *dims], what="opportunities")
    require(cp, ["campaign_id"], what="campaigns")
    if dims and spend is None:
        raise MetricInputError(
            f"campaign_efficiency(by={dims}) needs spend lines split by {dims}: a campaign's "
            "total cost cannot be divided between groups",
            hint="pass spend= with those columns, or leave by= out",
        )
    op = op.with_columns(nw.col(primary_campaign_id).alias("campaign_id"))
    outcomes = _outcomes(
        op.filter(~nw.col("campaign_id").is_null()),
        keys=["campaign_id", *dims],
        every=step,
        amount=amount,
        is_won=is_won,
        created_at=created_at,
        closed_at=closed_at,
        close_date=close_date,
    )
    keys = ["campaign_id", *dims, *([PERIOD] if step else [])]
    costs: nw.LazyFrame[Any] | None = None
    if spend is not None:
        sp = _spend_lines(
            spend, op, dims, step, period=spend_period, amount=spend_amount, also=["campaign_id"]
        )
        sp = sp.filter(~nw.col("campaign_id").is_null())
        costs = sp.group_by(keys).agg(total(nw.col(spend_amount)).alias("__spend"))
    info = cp.select(
        "campaign_id",
        column_or_null(cp, "name", nw.String()).alias("name"),
        column_or_null(cp, "channel", nw.String()).alias("channel"),
        column_or_null(cp, "cost", nw.Float64()).cast(nw.Float64).alias("__cost"),
    ).unique(["campaign_id"])
    joined, cost = _with_costs(outcomes, info, costs, keys, split=bool(step or dims))
    out = joined.select(
        "campaign_id", "name", "channel", *keys[1:], cost.alias("cost"), *_filled_outcomes()
    )
    return back(sort_keys(out.with_columns(*_per("cost")), keys), opportunities)


def _with_costs(
    outcomes: nw.LazyFrame[Any],
    info: nw.LazyFrame[Any],
    costs: nw.LazyFrame[Any] | None,
    keys: list[str],
    *,
    split: bool,
) -> tuple[nw.LazyFrame[Any], nw.Expr]:
    """Campaign outcomes with each campaign's details and its cost: the spend lines naming it,
    else (over all time and groups only) its own ``cost``. Unsplit, every campaign is listed,
    with deals or not."""
    if split:
        base = outcomes if costs is None else full_join(costs, outcomes, keys)
        joined = base.join(info, on="campaign_id", how="left")
        return joined, nw.col("__spend") if costs is not None else nw.lit(None, dtype=nw.Float64())
    every_campaign = full_join(info.select("campaign_id"), outcomes, keys)
    joined = every_campaign.join(info, on="campaign_id", how="left")
    if costs is None:
        return joined, nw.col("__cost")
    joined = joined.join(costs, on="campaign_id", how="left")
    return joined, nw.coalesce(nw.col("__spend"), nw.col("__cost"))


def _spend_lines(
    spend: Any,
    like: nw.LazyFrame[Any],
    dims: list[str],
    step: str | None,
    *,
    period: str,
    amount: str,
    also: Sequence[str] = (),
) -> nw.LazyFrame[Any]:
    """The spend lines, which ``by`` must split too, with their ``period`` given ``step``."""
    sp = lazy(spend, name="spend", like=like)
    require(sp, [period, amount, *also], what="spend")
    if dims:
        require(sp, dims, what="spend (by= splits spend too)")
    return sp.with_columns(period_of(sp, period, step)) if step else sp
