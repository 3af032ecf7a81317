"""Speed to lead and SLA compliance, in business hours from the governed SLA definition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import narwhals as nw

from revgov.config import SLAConfig
from revgov.metrics._business_hours import with_business_seconds
from revgov.metrics._frames import (
    Columns,
    FrameT,
    back,
    has,
    lazy,
    require,
    safe_div,
    sort_keys,
)
from revgov.metrics._kpi import aggregate, count_if, keyed, quantile_aggs
from revgov.metrics._time import naive, naive_utc
from revgov.metrics.registry import SALES_DEVELOPMENT, kpi

__all__ = ["sla_compliance_rate", "speed_to_lead"]


def _first_touch(
    people: nw.LazyFrame[Any],
    activities: Any,
    *,
    sla: SLAConfig,
    types: Sequence[str] | None,
    start: str,
    person_id: str,
    activity_person_id: str,
    activity_type: str,
    occurred_at: str,
    cutoff: datetime | None,
) -> nw.LazyFrame[Any]:
    """``people`` who have a start, with ``__start`` and ``__touch``: the first qualifying
    activity at or after the start (and not after ``cutoff``)."""
    acts = lazy(activities, name="activities", like=people)
    require(acts, [activity_person_id, activity_type, occurred_at], what="activities")
    require(people, [person_id, start], what="people")
    kinds = [t.lower() for t in (types if types is not None else sla.qualifying_activity_types)]
    lf = people.with_columns(naive(people.collect_schema(), start).alias("__start")).filter(
        ~nw.col("__start").is_null()
    )
    touches = acts.filter(nw.col(activity_type).str.to_lowercase().is_in(kinds)).select(
        nw.col(activity_person_id).alias("__pid"),
        naive(acts.collect_schema(), occurred_at).alias("__at"),
    )
    if cutoff is not None:
        touches = touches.filter(nw.col("__at") <= nw.lit(cutoff))
    first = (
        lf.select(nw.col(person_id).alias("__pid"), "__start")
        .join(touches, on="__pid", how="inner")
        .filter(nw.col("__at") >= nw.col("__start"))
        .group_by("__pid")
        .agg(nw.col("__at").min().alias("__touch"))
    )
    out = lf.join(first, left_on=person_id, right_on="__pid", how="left")
    return out.drop("__pid") if has(out, "__pid") else out


@kpi(
    title="Speed to lead",
    unit="business hours",
    basis="people by MQL period, as of as_of; business hours from [sla]",
    owner=SALES_DEVELOPMENT,
    driver="Routing, SDR capacity and alerting on new leads.",
    remediation="Fix routing gaps and unassigned leads; alert owners on new leads; cover "
    "the hours with the slowest response.",
    inputs=("people", "activities"),
    example='speed_to_lead(people, activities, sla=config.sla, by="segment")',
    headline="median_hours",
)
def speed_to_lead(
    people: FrameT,
    activities: Any,
    *,
    sla: SLAConfig | None = None,
    as_of: datetime | date | str | None = None,
    by: Columns = None,
    every: str | None = None,
    start: str = "mql_at",
    types: Sequence[str] | None = None,
    person_id: str = "person_id",
    activity_person_id: str = "person_id",
    activity_type: str = "type",
    occurred_at: str = "occurred_at",
) -> FrameT:
    """Business hours from the moment a person became a lead to work (``mql_at`` by default,
    as the audit's SLA rules measure it; ``start="created_at"`` for every new record) to their
    first qualifying activity (``sla.qualifying_activity_types``; call, email, meeting).

    Business hours use the SLA's time zone, working days, hours and holidays: a lead that
    arrived on Friday evening and was called on Monday at 10:00 waited one business hour
    (9-17). People without a start are left out; activities before the start do not count.
    People never contacted are in ``leads`` but not in the distribution. As
    :func:`sla_compliance_rate`, it is measured as of ``as_of`` (default now): leads that
    started later are left out and so are activities after it. ``every`` groups by the
    start.

    Formula per lead: ``hours = business_seconds(start, first_touch) / 3600``; per group:
    leads, contacted, ``contact_rate = contacted / leads``, and mean, median, p75, p90 hours.

    Returns: ``[*by, period], leads, contacted, contact_rate, mean_hours, median_hours,
    p75_hours, p90_hours``.
    """
    rules = sla or SLAConfig()
    cutoff = naive_utc(as_of)
    lf = lazy(people, name="people")
    lf = _first_touch(
        lf,
        activities,
        sla=rules,
        types=types,
        start=start,
        person_id=person_id,
        activity_person_id=activity_person_id,
        activity_type=activity_type,
        occurred_at=occurred_at,
        cutoff=cutoff,
    ).filter(nw.col("__start") <= nw.lit(cutoff))
    lf = with_business_seconds(lf, "__start", "__touch", "__waited", rules)
    lf = lf.with_columns(
        nw.when(~nw.col("__touch").is_null()).then(nw.col("__waited") / 3600).alias("__hours")
    )
    lf, keys = keyed(lf, by=by, every=every, time=nw.col("__start"), what="people")
    out = aggregate(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("leads"),
            count_if(~nw.col("__touch").is_null()).alias("contacted"),
            *quantile_aggs(nw.col("__hours"), "hours"),
        ],
    ).with_columns(safe_div(nw.col("contacted"), nw.col("leads")).alias("contact_rate"))
    cols = ["leads", "contacted", "contact_rate", "mean_hours", "median_hours"]
    out = out.select(*keys, *cols, "p75_hours", "p90_hours")
    return back(sort_keys(out, keys), people)


def _sla_hours(sla: SLAConfig, lf: nw.LazyFrame[Any], segment: str) -> nw.Expr:
    default = float(sla.speed_to_lead_hours.get("default", 4.0))
    named = {k.lower(): float(v) for k, v in sla.speed_to_lead_hours.items() if k != "default"}
    if not named or not has(lf, segment):
        return nw.lit(default)
    low = nw.col(segment).str.to_lowercase()
    items = sorted(named.items())
    chain = nw.when(low == items[0][0]).then(nw.lit(items[0][1]))
    for name, hours in items[1:]:
        chain = chain.when(low == name).then(nw.lit(hours))
    return chain.otherwise(nw.lit(default))


@kpi(
    title="SLA compliance rate",
    unit="share",
    basis="people by MQL period, as of as_of; SLA hours per segment from [sla]",
    owner=SALES_DEVELOPMENT,
    driver="Speed to lead against the agreed SLA.",
    remediation="List breached leads by owner; rebalance queues and set alerts before the "
    "SLA expires.",
    inputs=("people", "activities"),
    example="sla_compliance_rate(people, activities, sla=config.sla, as_of=as_of)",
    headline="sla_compliance_rate",
)
def sla_compliance_rate(
    people: FrameT,
    activities: Any,
    *,
    sla: SLAConfig | None = None,
    as_of: datetime | date | str | None = None,
    by: Columns = None,
    every: str | None = None,
    start: str = "mql_at",
    segment: str = "segment",
    types: Sequence[str] | None = None,
    person_id: str = "person_id",
    activity_person_id: str = "person_id",
    activity_type: str = "type",
    occurred_at: str = "occurred_at",
) -> FrameT:
    """Share of leads first contacted within the speed-to-lead SLA.

    The clock starts at ``start`` (``mql_at`` by default, as :func:`speed_to_lead`). The SLA
    is ``sla.speed_to_lead_hours`` business hours: the entry named for the lead's segment,
    else ``default``. As of ``as_of`` (default now) a lead has *met* the SLA if its
    first qualifying activity came within it; it has *breached* if that activity came later,
    or if it is still untouched and more business hours than allowed have passed; otherwise
    it is *pending* and left out of the rate.

    Formula: ``sla_compliance_rate = met / (met + breached)``.

    Returns: ``[*by, period], leads, met, breached, pending, sla_compliance_rate``.
    """
    rules = sla or SLAConfig()
    cutoff = naive_utc(as_of)
    lf = lazy(people, name="people")
    lf = _first_touch(
        lf,
        activities,
        sla=rules,
        types=types,
        start=start,
        person_id=person_id,
        activity_person_id=activity_person_id,
        activity_type=activity_type,
        occurred_at=occurred_at,
        cutoff=cutoff,
    ).filter(nw.col("__start") <= nw.lit(cutoff))
    allowed = _sla_hours(rules, lf, segment) * 3600
    lf = with_business_seconds(lf, "__start", "__touch", "__waited", rules)
    lf = with_business_seconds(
        lf.with_columns(nw.lit(cutoff).alias("__cutoff")), "__start", "__cutoff", "__so_far", rules
    )
    waited, so_far = nw.col("__waited"), nw.col("__so_far")
    touched = ~nw.col("__touch").is_null()
    lf = lf.with_columns(
        (touched & (waited <= allowed)).alias("__met"),
        ((touched & (waited > allowed)) | (~touched & (so_far > allowed))).alias("__breached"),
    )
    lf, keys = keyed(lf, by=by, every=every, time=nw.col("__start"), what="people")
    out = aggregate(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("leads"),
            count_if(nw.col("__met")).alias("met"),
            count_if(nw.col("__breached")).alias("breached"),
        ],
    ).with_columns(
        (nw.col("leads") - nw.col("met") - nw.col("breached")).alias("pending"),
        safe_div(nw.col("met"), nw.col("met") + nw.col("breached")).alias("sla_compliance_rate"),
    )
    return back(sort_keys(out, keys), people)
