"""Demand quality: do new records fit the ICP, and are open deals multi-threaded?"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import narwhals as nw

from revgov.config import ICP
from revgov.definitions.icp import Firmographics, icp_fit
from revgov.errors import MetricInputError
from revgov.metrics._deals import open_at
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    column_or_null,
    lazy,
    require,
    safe_div,
)
from revgov.metrics._kpi import count_if, keyed, summarize
from revgov.metrics._time import naive, naive_utc
from revgov.metrics.registry import MARKETING, SALES, kpi

__all__ = ["buying_group_coverage", "icp_fit_rate"]


@kpi(
    title="ICP fit rate",
    unit="share",
    basis="new records (people or accounts) by creation period; [icp] in revgov.toml",
    owner=MARKETING,
    driver="Targeting of campaigns and lists.",
    remediation="Cut sources and campaigns that bring poor-fit records; enrich records "
    "with missing firmographics.",
    inputs=("people",),
    example="icp_fit_rate(accounts, config.icp)",
    headline="icp_fit_rate",
)
def icp_fit_rate(
    records: FrameT,
    icp: ICP,
    *,
    by: Columns = None,
    every: str | None = None,
    created_at: str = "created_at",
    industry: str = "industry",
    employees: str = "employees",
    country: str = "country",
    annual_revenue: str = "annual_revenue",
) -> FrameT:
    """Share of new records (accounts or people) that match the configured ICP.

    A record fits when it meets every configured criterion the frame can check: industry in
    ``icp.industries`` and country in ``icp.countries`` (case-insensitive), employees and
    annual revenue within their bounds (:mod:`revgov.definitions.icp`, the criteria of
    ``[[segments]]`` too). A blank value fails its criterion. Criteria whose
    column the frame lacks (people have no annual revenue) are skipped and the ``criteria``
    column lists those applied.

    Formula: ``icp_fit_rate = icp_fit / records`` over records created in the period.

    Returns: ``[*by, period], records, icp_fit, icp_fit_rate, criteria``.
    """
    lf = lazy(records, name="records")
    require(lf, [created_at], what="records")
    cols = Firmographics(
        industry=industry, country=country, employees=employees, annual_revenue=annual_revenue
    )
    found = icp_fit(icp, lf.collect_schema().names(), cols)
    if found is None:
        raise MetricInputError(
            "no ICP criterion can be checked on this frame",
            hint="configure [icp] (industries, employees_min/max, countries, annual_revenue_*) "
            "with columns the frame has",
        )
    fit, labels = found
    lf = lf.with_columns(fit.alias("__fit"))
    lf, keys = keyed(lf, by=by, every=every, time=created_at, what="records")
    return summarize(
        lf,
        keys,
        [nw.len().cast(nw.Int64).alias("records"), count_if(nw.col("__fit")).alias("icp_fit")],
        records,
        then=[
            safe_div(nw.col("icp_fit"), nw.col("records")).alias("icp_fit_rate"),
            nw.lit(", ".join(labels)).alias("criteria"),
        ],
    )


@kpi(
    title="Buying-group coverage",
    unit="people per deal; share",
    basis="deals open at as_of; activity in the lookback window",
    owner=SALES,
    driver="Multi-threading: how many people and roles reps engage.",
    remediation="Map the buying group on every deal past discovery; bring in the missing "
    "roles (economic buyer, champion) before proposal.",
    inputs=("opportunities", "people", "activities"),
    example="buying_group_coverage(opportunities, people, activities, as_of=as_of)",
    headline="mean_contacts",
    headline_unit="people per deal",
)
def buying_group_coverage(
    opportunities: FrameT,
    people: Any,
    activities: Any,
    *,
    as_of: datetime | date | str | None = None,
    lookback_days: int = 90,
    min_contacts: int = 3,
    by: Columns = None,
    every: str | None = None,
    opportunity_id: str = "opportunity_id",
    account_id: str = "account_id",
    created_at: str = "created_at",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
    closed_at: str = "closed_at",
    close_date: str = "close_date",
    role: str = "role",
) -> FrameT:
    """How many distinct people, and buying roles, are engaged on each open deal.

    Open deals are those created by ``as_of`` (default now) and not closed by then. A person
    is engaged on a deal when they had an activity in the ``lookback_days`` before ``as_of``
    that names the deal, or that names them while they belong to the deal's account. Roles
    are the distinct non-blank ``role`` values of the engaged people. It is a picture at
    ``as_of``: ``every`` groups the open deals by the period they were created in (their age
    cohort), which shows whether older deals are better threaded.

    Formula per deal: ``contacts = distinct engaged people``, ``roles = distinct roles``; per
    group: mean and median contacts, mean roles, ``multi_threaded_share = share of deals with
    contacts >= min_contacts``, ``single_threaded_share`` (one contact) and
    ``dark_share`` (none).

    Returns: ``[*by, period], open_opportunities, mean_contacts, median_contacts,
    mean_roles, multi_threaded_share, single_threaded_share, dark_share``.
    """
    cutoff = naive_utc(as_of)
    since = cutoff - timedelta(days=lookback_days)
    op = lazy(opportunities, name="opportunities")
    pp = lazy(people, name="people", like=op)
    ac = lazy(activities, name="activities", like=op)
    dims = as_list(by)
    require(op, [opportunity_id, account_id, created_at, is_won, *dims], what="opportunities")
    require(pp, ["person_id", "account_id"], what="people")
    require(ac, ["person_id", "occurred_at"], what="activities")
    open_now = open_at(
        op,
        cutoff,
        created_at=created_at,
        is_closed=is_closed,
        is_won=is_won,
        closed_at=closed_at,
        close_date=close_date,
    )
    open_deals = op.filter(open_now).select(
        nw.col(opportunity_id).alias("__oid"),
        nw.col(account_id).alias("__acc"),
        naive(op.collect_schema(), created_at).alias("__created"),
        *dims,
    )
    pairs = _engaged(open_deals, pp, ac, since=since, cutoff=cutoff, role=role)
    contacts = pairs.group_by("__oid").agg(nw.len().cast(nw.Int64).alias("__contacts"))
    roles = (
        pairs.filter(~nw.col("__role").is_null())
        .unique(["__oid", "__role"])
        .group_by("__oid")
        .agg(nw.len().cast(nw.Int64).alias("__roles"))
    )
    per_deal = (
        open_deals.join(contacts, on="__oid", how="left")
        .join(roles, on="__oid", how="left")
        .with_columns(nw.col("__contacts").fill_null(0), nw.col("__roles").fill_null(0))
    )
    per_deal, keys = keyed(
        per_deal, by=dims, every=every, time=nw.col("__created"), what="opportunities"
    )
    c, deals = nw.col("__contacts"), nw.len()
    aggs = [
        deals.cast(nw.Int64).alias("open_opportunities"),
        c.cast(nw.Float64).mean().alias("mean_contacts"),
        c.cast(nw.Float64).median().alias("median_contacts"),
        nw.col("__roles").cast(nw.Float64).mean().alias("mean_roles"),
        safe_div(count_if(c >= min_contacts), deals).alias("multi_threaded_share"),
        safe_div(count_if(c == 1), deals).alias("single_threaded_share"),
        safe_div(count_if(c == 0), deals).alias("dark_share"),
    ]
    return summarize(per_deal, keys, aggs, opportunities)


def _engaged(
    open_deals: nw.LazyFrame[Any],
    people: nw.LazyFrame[Any],
    activities: nw.LazyFrame[Any],
    *,
    since: datetime,
    cutoff: datetime,
    role: str,
) -> nw.LazyFrame[Any]:
    """(deal, person, role) of the people engaged on each open deal: an activity after
    ``since`` and by ``cutoff`` that names the deal, or names them while they belong to the
    deal's account."""
    at = naive(activities.collect_schema(), "occurred_at")
    recent = activities.filter((at > nw.lit(since)) & (at <= nw.lit(cutoff))).filter(
        ~nw.col("person_id").is_null()
    )
    persons = people.select(
        nw.col("person_id").alias("__pid"),
        nw.col("account_id").alias("__pacc"),
        column_or_null(people, role, nw.String()).alias("__role"),
    ).unique(["__pid"])
    acts = recent.select(
        nw.col("person_id").alias("__pid"),
        column_or_null(activities, "opportunity_id", nw.String()).alias("__aoid"),
    ).join(persons, on="__pid", how="left")
    by_deal = acts.filter(~nw.col("__aoid").is_null()).select(
        nw.col("__aoid").alias("__oid"), "__pid", "__role"
    )
    by_account = (
        acts.filter(~nw.col("__pacc").is_null())
        .join(open_deals.select("__oid", "__acc"), left_on="__pacc", right_on="__acc", how="inner")
        .select("__oid", "__pid", "__role")
    )
    return nw.concat([by_deal, by_account]).unique(["__oid", "__pid"])
