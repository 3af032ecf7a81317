"""Speed to lead and SLA compliance, in business hours from the governed SLA definition.

The clock, its start, the limits, the first qualifying touch and a lead's status are
:mod:`revgov.definitions.sla` and :mod:`revgov.definitions.touches`: the audit's
``people.speed_to_lead_breach`` flags exactly the leads counted as breached here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import narwhals as nw

from revgov.config import Segment, SLAConfig
from revgov.definitions.icp import Firmographics, segment_expr
from revgov.definitions.sla import SpeedToLead
from revgov.definitions.touches import first_touches
from revgov.errors import MetricInputError
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
from revgov.metrics._notes import speed_to_lead_notes
from revgov.metrics._time import naive, naive_utc
from revgov.metrics.enrich import grouping_columns
from revgov.metrics.registry import SALES_DEVELOPMENT, kpi

__all__ = ["sla_compliance_rate", "speed_to_lead"]


def _leads(
    people: Any,
    activities: Any,
    *,
    sla: SLAConfig,
    segments: Sequence[Segment],
    as_of: datetime | date | str | None,
    start: str | None,
    types: Sequence[str] | None,
    person_id: str,
    activity_person_id: str,
    activity_type: str,
    occurred_at: str,
    segment: str,
    kind: str,
    by: Columns = None,
    users: Any = None,
    accounts: Any = None,
) -> nw.LazyFrame[Any]:
    """The leads whose SLA clock started by ``as_of``, with ``__start``,
    ``__first_touch_at`` and their SLA status (:mod:`revgov.definitions.sla`, the definition
    the audit's ``people.speed_to_lead_breach`` reads too)."""
    definition = SpeedToLead.of(sla, segments)
    clock = start or definition.start
    cutoff = naive_utc(as_of)
    lf = lazy(people, name="people")
    lf = grouping_columns(lf, by, what="people", users=users, accounts=accounts)
    acts = lazy(activities, name="activities", like=lf)
    require(acts, [activity_person_id, activity_type, occurred_at], what="activities")
    require(lf, [person_id, clock], what="people")
    names = lf.collect_schema().names()
    lf = lf.with_columns(
        naive(lf.collect_schema(), clock).alias("__start"),
        segment_expr(segments, names, Firmographics(segment=segment)).alias("__segment"),
    ).filter(~nw.col("__start").is_null())
    touches = first_touches(
        lf.select(nw.col(person_id).alias("__pid"), "__start"),
        acts.select(
            nw.col(activity_person_id).alias("__pid"),
            naive(acts.collect_schema(), occurred_at).alias("__at"),
            nw.col(activity_type).alias("__type"),
        ),
        types=types if types is not None else sla.qualifying_activity_types,
        as_of=cutoff,
    ).select("__pid", "__first_touch_at")
    lf = lf.join(touches, left_on=person_id, right_on="__pid", how="left")
    lf = lf.drop("__pid") if has(lf, "__pid") else lf
    lf = definition.status(
        lf,
        as_of=cutoff,
        segment=nw.col("__segment"),
        kind=nw.col(kind) if kind in names else None,
        error=MetricInputError,
    )
    return lf.filter(nw.col("__stl_started"))


@kpi(
    title="Speed to lead",
    unit="business hours",
    basis="people by the period their SLA clock started ([sla].speed_to_lead_start: "
    "mql_at by default), as of as_of; business hours from [sla]",
    owner=SALES_DEVELOPMENT,
    driver="Routing, SDR capacity and alerting on new leads.",
    remediation="Fix routing gaps and unassigned leads; alert owners on new leads; cover "
    "the hours with the slowest response.",
    inputs=("people", "activities"),
    example='speed_to_lead(people, activities, sla=config.sla, by="segment")',
    headline="median_hours",
    notes=speed_to_lead_notes,
)
def speed_to_lead(
    people: FrameT,
    activities: Any,
    *,
    sla: SLAConfig | None = None,
    as_of: datetime | date | str | None = None,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    start: str | None = None,
    types: Sequence[str] | None = None,
    segments: Sequence[Segment] = (),
    person_id: str = "person_id",
    activity_person_id: str = "person_id",
    activity_type: str = "type",
    occurred_at: str = "occurred_at",
    segment: str = "segment",
    kind: str = "kind",
) -> FrameT:
    """Business hours from the moment a person became a lead to work (the SLA clock's start,
    ``sla.speed_to_lead_start``: ``mql_at`` by default, as the audit measures it; or
    ``start="created_at"`` for every new record) to their first qualifying activity
    (``sla.qualifying_activity_types``; call, email, meeting).

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
    lf = _leads(
        people,
        activities,
        sla=sla or SLAConfig(),
        segments=segments,
        as_of=as_of,
        start=start,
        types=types,
        person_id=person_id,
        activity_person_id=activity_person_id,
        activity_type=activity_type,
        occurred_at=occurred_at,
        segment=segment,
        kind=kind,
        by=by,
        users=users,
        accounts=accounts,
    )
    touched = ~nw.col("__first_touch_at").is_null()
    lf = lf.with_columns(nw.when(touched).then(nw.col("__stl_seconds") / 3600).alias("__hours"))
    lf, keys = keyed(lf, by=by, every=every, time=nw.col("__start"), what="people")
    out = aggregate(
        lf,
        keys,
        [
            nw.len().cast(nw.Int64).alias("leads"),
            count_if(~nw.col("__first_touch_at").is_null()).alias("contacted"),
            *quantile_aggs(nw.col("__hours"), "hours"),
        ],
    ).with_columns(safe_div(nw.col("contacted"), nw.col("leads")).alias("contact_rate"))
    cols = ["leads", "contacted", "contact_rate", "mean_hours", "median_hours"]
    out = out.select(*keys, *cols, "p75_hours", "p90_hours")
    return back(sort_keys(out, keys), people)


@kpi(
    title="SLA compliance rate",
    unit="share",
    basis="people by the period their SLA clock started ([sla].speed_to_lead_start), "
    "as of as_of; SLA hours per segment from [sla]",
    owner=SALES_DEVELOPMENT,
    driver="Speed to lead against the agreed SLA.",
    remediation="List breached leads by owner; rebalance queues and set alerts before the "
    "SLA expires.",
    inputs=("people", "activities"),
    example="sla_compliance_rate(people, activities, sla=config.sla, as_of=as_of)",
    headline="sla_compliance_rate",
    notes=speed_to_lead_notes,
)
def sla_compliance_rate(
    people: FrameT,
    activities: Any,
    *,
    sla: SLAConfig | None = None,
    as_of: datetime | date | str | None = None,
    by: Columns = None,
    every: str | None = None,
    users: Any = None,
    accounts: Any = None,
    start: str | None = None,
    segment: str = "segment",
    types: Sequence[str] | None = None,
    segments: Sequence[Segment] = (),
    person_id: str = "person_id",
    activity_person_id: str = "person_id",
    activity_type: str = "type",
    occurred_at: str = "occurred_at",
    kind: str = "kind",
) -> FrameT:
    """Share of leads first contacted within the speed-to-lead SLA.

    The clock starts at ``start`` (default ``sla.speed_to_lead_start``, as
    :func:`speed_to_lead`). The SLA is ``sla.speed_to_lead_hours`` business hours: the most
    specific key that matches the lead (``segment:kind``, its segment, its ``kind``, else
    ``default``). The segment is the lead's ``segment`` column, else the first of
    ``segments`` (``config.segments``) it meets. As of ``as_of`` (default now) a lead has
    *met* the SLA if its
    first qualifying activity came within it; it has *breached* if that activity came later,
    or if it is still untouched and more business hours than allowed have passed; otherwise
    it is *pending* and left out of the rate.

    Formula: ``sla_compliance_rate = met / (met + breached)``.

    Returns: ``[*by, period], leads, met, breached, pending, sla_compliance_rate``.
    """
    lf = _leads(
        people,
        activities,
        sla=sla or SLAConfig(),
        segments=segments,
        as_of=as_of,
        start=start,
        types=types,
        person_id=person_id,
        activity_person_id=activity_person_id,
        activity_type=activity_type,
        occurred_at=occurred_at,
        segment=segment,
        kind=kind,
        by=by,
        users=users,
        accounts=accounts,
    ).with_columns(nw.col("__stl_met").alias("__met"), nw.col("__stl_breached").alias("__breached"))
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
