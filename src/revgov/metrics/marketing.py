"""Marketing's part in pipeline: sourced, influenced, and (directional) touch attribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw

from revgov.errors import MetricInputError
from revgov.metrics._deals import created_aggs
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    has,
    lazy,
    lookup_join,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._kpi import aggregate, count_if, keyed, total, won_flag
from revgov.metrics._notes import sourced_notes
from revgov.metrics._time import naive
from revgov.metrics.registry import MARKETING, kpi

__all__ = [
    "MARKETING_SOURCES",
    "attribution",
    "marketing_influenced_pipeline",
    "marketing_sourced_pipeline",
]

#: Lead sources that count as marketing-sourced (compared in lower case).
MARKETING_SOURCES = (
    "marketing",
    "inbound",
    "web",
    "website",
    "organic_search",
    "organic search",
    "paid_search",
    "paid search",
    "social",
    "paid_social",
    "email",
    "display",
    "event",
    "events",
    "webinar",
    "content",
    "advertisement",
)

Model = Literal["first", "last", "linear"]


@kpi(
    title="Marketing-sourced pipeline",
    unit="count; currency; share",
    basis="deals by creation period; a primary campaign or a marketing lead source",
    owner=MARKETING,
    driver="Inbound demand and campaign tagging on deals.",
    remediation="Check that deals carry their campaign and source (the audit's UTM and "
    "required-field rules) before judging the share.",
    inputs=("opportunities",),
    example="marketing_sourced_pipeline(opportunities)",
    headline="sourced_share",
    headline_unit="share",
    notes=sourced_notes,
)
def marketing_sourced_pipeline(
    opportunities: FrameT,
    *,
    by: Columns = None,
    every: str | None = None,
    marketing_sources: Sequence[str] = MARKETING_SOURCES,
    amount: str = "amount",
    created_at: str = "created_at",
    lead_source: str = "lead_source",
    primary_campaign_id: str = "primary_campaign_id",
) -> FrameT:
    """Pipeline that marketing created: deals with a primary campaign, or whose lead source is
    a marketing source (``marketing_sources``).

    Formula: ``sourced_share = sourced_amount / pipeline_amount`` over deals created in the
    period (by amount; ``sourced_opportunities / opportunities`` is the count share).

    Returns: ``[*by, period], opportunities, pipeline_amount, sourced_opportunities,
    sourced_amount, sourced_share``.
    """
    lf = lazy(opportunities, name="opportunities")
    require(lf, [amount, created_at], what="opportunities")
    sourced = nw.lit(False)
    if has(lf, primary_campaign_id):
        sourced = sourced | ~nw.col(primary_campaign_id).is_null()
    if has(lf, lead_source):
        kinds = [s.lower() for s in marketing_sources]
        sourced = sourced | nw.col(lead_source).str.to_lowercase().is_in(kinds).fill_null(False)
    lf = lf.with_columns(sourced.alias("__flag"))
    out = _flagged_share(lf, "sourced", by=by, every=every, created_at=created_at, amount=amount)
    return back(out, opportunities)


def _flagged_share(
    lf: nw.LazyFrame[Any],
    label: str,
    *,
    by: Columns,
    every: str | None,
    created_at: str,
    amount: str,
) -> nw.LazyFrame[Any]:
    """Pipeline per group and period, and the count, amount and share of it whose boolean
    ``__flag`` column is true (named ``<label>_opportunities``, ``_amount``, ``_share``)."""
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="opportunities")
    flag = nw.col("__flag")
    out = aggregate(
        lf,
        keys,
        [
            *created_aggs(amount),
            count_if(flag).alias(f"{label}_opportunities"),
            total(nw.col(amount), where=flag).alias(f"{label}_amount"),
        ],
    ).with_columns(
        safe_div(nw.col(f"{label}_amount"), nw.col("pipeline_amount")).alias(f"{label}_share")
    )
    return sort_keys(out, keys)


def _no_link() -> MetricInputError:
    """Deals and touches meet through the deal's person or its account: neither is there."""
    return MetricInputError(
        "cannot link deals to touches: no primary_person_id on opportunities and no people",
        hint="pass people= (to link by account) or map primary_person_id",
    )


def _deal_touches(
    op: nw.LazyFrame[Any],
    touches: Any,
    people: Any,
    *,
    lookback_days: int | None,
    opportunity_id: str,
    created_at: str,
    primary_person_id: str,
    account_id: str,
    carry: Sequence[nw.Expr] = (),
    numbered: bool = False,
) -> nw.LazyFrame[Any]:
    """(opportunity, touch) pairs: touches by the deal's person, or by anyone at its account
    when ``people`` is given, at or before the deal was created (within the lookback).
    ``carry`` are more columns of the deal to keep on each pair. ``__oid`` is the deal's id,
    or with ``numbered`` its dense rank among the ids: one integer per id, whatever order
    the rows come in, that pairs are de-duplicated and grouped by twice as fast as by the
    id (attribution's 4.2M pairs of 1M deals, benchmarks/bench_metrics.py)."""
    tc = lazy(touches, name="campaign_touches", like=op)
    require(tc, ["person_id", "campaign_id", "touched_at"], what="campaign_touches")
    tid = (
        nw.col("touch_id")
        if has(tc, "touch_id")
        else nw.concat_str(
            nw.col("person_id"),
            nw.col("campaign_id"),
            nw.col("touched_at").cast(nw.String),
            separator="|",
        )
    )
    # A touch counts once for a deal however many of the deal's people link it: touches are
    # unique by id and (deal, person) links are unique, so (deal, touch) pairs are too.
    tc = tc.select(
        tid.alias("__tid"),
        nw.col("person_id").alias("__pid"),
        nw.col("campaign_id"),
        naive(tc.collect_schema(), "touched_at").alias("__touched"),
    )
    tc = tc.unique(["__tid"])
    oid = nw.col(opportunity_id)
    deal = [
        (oid.rank("dense") if numbered else oid).alias("__oid"),
        naive(op.collect_schema(), created_at).alias("__created"),
        *carry,
    ]
    deal_names = op.select(*deal).collect_schema().names()
    links = []
    if has(op, primary_person_id):
        links.append(op.select(*deal, nw.col(primary_person_id).alias("__pid")))
    if people is not None:
        pp = lazy(people, name="people", like=op)
        require(pp, ["person_id", "account_id"], what="people")
        require(op, [account_id], what="opportunities")
        links.append(
            op.select(*deal, nw.col(account_id).alias("__acc"))
            .filter(~nw.col("__acc").is_null())
            .join(
                pp.select(nw.col("person_id").alias("__pid"), nw.col("account_id").alias("__acc")),
                on="__acc",
                how="inner",
            )
            .select(*deal_names, "__pid")
        )
    if not links:
        raise _no_link()
    pairs = nw.concat(links).filter(~nw.col("__pid").is_null()).unique(["__oid", "__pid"])
    joined = pairs.join(tc, on="__pid", how="inner").filter(
        nw.col("__touched") <= nw.col("__created")
    )
    if lookback_days is not None:
        joined = joined.filter(
            nw.col("__touched") >= nw.col("__created").dt.offset_by(f"-{int(lookback_days)}d")
        )
    return joined


@kpi(
    title="Marketing-influenced pipeline",
    unit="count; currency; share",
    basis="deals by creation period; a campaign touch on the deal's people before creation",
    owner=MARKETING,
    driver="Campaign reach into accounts with open buying cycles.",
    remediation="Target programmes at accounts with open pipeline; make sure touches are "
    "recorded against people and accounts.",
    inputs=("opportunities", "campaign_touches"),
    example="marketing_influenced_pipeline(opportunities, campaign_touches, people=people)",
    headline="influenced_share",
    headline_unit="share",
)
def marketing_influenced_pipeline(
    opportunities: FrameT,
    touches: Any,
    *,
    people: Any = None,
    lookback_days: int | None = None,
    by: Columns = None,
    every: str | None = None,
    opportunity_id: str = "opportunity_id",
    amount: str = "amount",
    created_at: str = "created_at",
    primary_person_id: str = "primary_person_id",
    account_id: str = "account_id",
) -> FrameT:
    """Pipeline that marketing touched before it was created: deals whose person (or, with
    ``people``, anyone at whose account) had a campaign touch at or before the deal's
    creation (within ``lookback_days``, if given). Influenced includes sourced.

    Formula: ``influenced_share = influenced_amount / pipeline_amount`` over deals created in
    the period.

    Returns: ``[*by, period], opportunities, pipeline_amount, influenced_opportunities,
    influenced_amount, influenced_share``.
    """
    op = lazy(opportunities, name="opportunities")
    require(op, [opportunity_id, amount, created_at], what="opportunities")
    if lookback_days is None:
        lf = _touched_before_creation(
            op,
            touches,
            people,
            created_at=created_at,
            primary_person_id=primary_person_id,
            account_id=account_id,
        )
    else:
        hit = (
            _deal_touches(
                op,
                touches,
                people,
                lookback_days=lookback_days,
                opportunity_id=opportunity_id,
                created_at=created_at,
                primary_person_id=primary_person_id,
                account_id=account_id,
            )
            .select("__oid")
            .unique(["__oid"])
            .with_columns(nw.lit(True).alias("__influenced"))
        )
        lf = lookup_join(op, hit, left_on=opportunity_id, right_on="__oid")
        lf = lf.with_columns(nw.col("__influenced").fill_null(False).alias("__flag"))
    out = _flagged_share(lf, "influenced", by=by, every=every, created_at=created_at, amount=amount)
    return back(out, opportunities)


def _touched_before_creation(
    op: nw.LazyFrame[Any],
    touches: Any,
    people: Any,
    *,
    created_at: str,
    primary_person_id: str,
    account_id: str,
) -> nw.LazyFrame[Any]:
    """The deals with ``__flag``: true when the deal's person, or (with ``people``) anyone at
    its account, had a campaign touch at or before the deal's creation.

    A deal is touched before its creation when the earliest touch of one of its people is,
    so the touches are reduced to each person's earliest, and those to each account's
    earliest, before they meet the deals: two look-ups per deal. (Pairing every deal with
    every person of its account first, as :func:`_deal_touches` does for attribution, held
    some 20M pairs for 5M deals: 3.6 GB, benchmarks/bench_memory.py.)
    """
    tc = lazy(touches, name="campaign_touches", like=op)
    require(tc, ["person_id", "campaign_id", "touched_at"], what="campaign_touches")
    first = (
        tc.select(
            nw.col("person_id").alias("__pid"),
            naive(tc.collect_schema(), "touched_at").alias("__first"),
        )
        .filter(~nw.col("__pid").is_null())
        .group_by("__pid")
        .agg(nw.col("__first").min())
    )
    created = naive(op.collect_schema(), created_at)
    seen: list[nw.Expr] = []
    lf = op
    if has(op, primary_person_id):
        lf = lookup_join(lf, first, left_on=primary_person_id, right_on="__pid")
        seen.append(nw.col("__first") <= created)
    if people is not None:
        pp = lazy(people, name="people", like=op)
        require(pp, ["person_id", "account_id"], what="people")
        require(op, [account_id], what="opportunities")
        at_account = (
            pp.select(nw.col("person_id").alias("__pid"), nw.col("account_id").alias("__acc"))
            .filter(~nw.col("__acc").is_null())
            .join(first, on="__pid", how="inner")
            .group_by("__acc")
            .agg(nw.col("__first").min().alias("__acc_first"))
        )
        lf = lookup_join(lf, at_account, left_on=account_id, right_on="__acc")
        seen.append(nw.col("__acc_first") <= created)
    if not seen:
        raise _no_link()
    flag = nw.any_horizontal(*[s.fill_null(False) for s in seen], ignore_nulls=False)
    return lf.with_columns(flag.alias("__flag"))


@kpi(
    title="Pipeline attribution (directional)",
    unit="credited deals; currency",
    basis="touches by the deal's people at or before creation; first, last, linear",
    owner=MARKETING,
    driver="Which campaigns are present in buying journeys.",
    remediation="Use it to compare campaigns, not to prove causality; confirm with "
    "sourced and influenced pipeline and holdout tests.",
    inputs=("opportunities", "campaign_touches"),
    example="attribution(opportunities, campaign_touches, campaigns=campaigns)",
)
def attribution(
    opportunities: FrameT,
    touches: Any,
    *,
    models: Sequence[Model] = ("first", "last", "linear"),
    people: Any = None,
    campaigns: Any = None,
    lookback_days: int | None = None,
    by: Columns = None,
    every: str | None = None,
    opportunity_id: str = "opportunity_id",
    amount: str = "amount",
    is_won: str = "is_won",
    created_at: str = "created_at",
    primary_person_id: str = "primary_person_id",
    account_id: str = "account_id",
) -> FrameT:
    """Credit for pipeline split across the campaigns that touched it first, last or evenly.

    Directional, not causal: touch attribution counts who was there, not what made the deal
    happen. Read it next to :func:`marketing_sourced_pipeline` and
    :func:`marketing_influenced_pipeline`. A deal's touches are those of
    :func:`marketing_influenced_pipeline`; touches at the same instant share a first/last
    credit equally.

    Formula per deal with touches t_1..t_n: ``first`` gives 1 to the earliest touch, ``last``
    to the latest, ``linear`` 1/n to each. Per campaign: ``attributed_opportunities = sum of
    credit``; ``attributed_pipeline = sum of credit x amount`` (deals with a blank amount add
    nothing; null when no credited deal has one); ``attributed_bookings = sum of credit x
    amount`` over won deals. ``by`` names columns of the deals (e.g. ``segment``); ``every``
    groups by the deal's creation period. Credits are summed exactly (to 9 decimals), so the
    same data gives the same numbers on every run, whatever order the rows arrive in.

    Returns: ``campaign_id, [channel], [*by], [period], model, attributed_opportunities,
    attributed_pipeline, attributed_bookings, reading`` (``reading`` is "directional").
    """
    if not models:
        raise MetricInputError("attribution needs at least one model (first, last, linear)")
    op = lazy(opportunities, name="opportunities")
    dims = as_list(by)
    require(op, [opportunity_id, amount, is_won, created_at, *dims], what="opportunities")
    if {"campaign_id", "channel", "model"} & set(dims):
        raise MetricInputError(
            f"attribution cannot group by {dims}: campaign_id, channel and model are its own "
            "columns",
            hint="rename the column on the opportunities first",
        )
    pairs = _deal_touches(
        op,
        touches,
        people,
        lookback_days=lookback_days,
        opportunity_id=opportunity_id,
        created_at=created_at,
        primary_person_id=primary_person_id,
        account_id=account_id,
        carry=[
            nw.col(amount).cast(nw.Float64).alias("__amount"),
            won_flag(is_won).alias("__won"),
            *[nw.col(d) for d in dims],
        ],
        numbered=True,
    )
    pairs, keys = keyed(
        _with_credit_shares(pairs), by=dims, every=every, time=nw.col("__created"), what="deals"
    )
    out = _credited(pairs, ["campaign_id", *keys], models)
    extra_cols: list[str] = []
    if campaigns is not None:
        cp = lazy(campaigns, name="campaigns", like=op)
        require(cp, ["campaign_id", "channel"], what="campaigns")
        out = out.join(
            cp.select("campaign_id", "channel").unique(["campaign_id"]),
            on="campaign_id",
            how="left",
        )
        extra_cols = ["channel"]
    out = out.select(
        "campaign_id",
        *extra_cols,
        *keys,
        "model",
        "attributed_opportunities",
        "attributed_pipeline",
        "attributed_bookings",
        nw.lit("directional").alias("reading"),
    )
    return back(sort_keys(out, ["campaign_id", *keys, "model"]), opportunities)


def _with_credit_shares(pairs: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """(deal, touch) pairs with what the models divide by: the deal's touches (``__n``), and
    whether the touch is (one of) its first and last, and how many share that instant."""
    t = nw.col("__touched")
    return pairs.with_columns(
        nw.len().over("__oid").cast(nw.Float64).alias("__n"),
        (t == t.min().over("__oid")).alias("__is_first"),
        (t == t.max().over("__oid")).alias("__is_last"),
    ).with_columns(
        nw.col("__is_first").cast(nw.Float64).sum().over("__oid").alias("__n_first"),
        nw.col("__is_last").cast(nw.Float64).sum().over("__oid").alias("__n_last"),
    )


def _credited(
    pairs: nw.LazyFrame[Any], keys: list[str], models: Sequence[Model]
) -> nw.LazyFrame[Any]:
    """Per group of ``keys`` and model: the credited deals, pipeline and bookings."""
    credits = {
        "first": nw.when(nw.col("__is_first")).then(1.0 / nw.col("__n_first")).otherwise(0.0),
        "last": nw.when(nw.col("__is_last")).then(1.0 / nw.col("__n_last")).otherwise(0.0),
        "linear": 1.0 / nw.col("__n"),
    }
    # Joins return rows in any order and float sums depend on it (an engine drops a sort
    # placed before a group_by): exact fixed-point sums give the same result every run.
    # Every model in one pass over the pairs; then one row per model from the small result.
    aggs = []
    for model in models:
        credit = credits[model]
        value = credit * nw.col("__amount")
        aggs += [
            total(credit, exact=True).alias(f"__{model}_opps"),
            total(value, exact=True).alias(f"__{model}_pipe"),
            total(value, where=nw.col("__won"), exact=True).alias(f"__{model}_book"),
        ]
    summed = pairs.group_by(keys).agg(*aggs)
    return nw.concat(
        [
            summed.select(
                *keys,
                nw.lit(model).alias("model"),
                nw.col(f"__{model}_opps").alias("attributed_opportunities"),
                nw.col(f"__{model}_pipe").alias("attributed_pipeline"),
                nw.col(f"__{model}_book").alias("attributed_bookings"),
            )
            for model in models
        ]
    )
