"""Business time for the KPIs: :mod:`revgov._business_hours` under an ``[sla]`` table.

Kept as the metrics package's entry point (``responsiveness`` imports it); the algorithm
lives in :mod:`revgov._business_hours`, shared with the rules engine.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw

from revgov._business_hours import BusinessCalendar, add_business_seconds_between
from revgov.config import SLAConfig
from revgov.errors import MetricInputError

__all__ = ["with_business_seconds"]


def with_business_seconds(
    lf: nw.LazyFrame[Any], start: str, end: str, out: str, sla: SLAConfig
) -> nw.LazyFrame[Any]:
    """Add column ``out`` (Float64): business seconds from column ``start`` to column ``end``
    under ``sla``'s time zone, hours, working days and holidays, to the microsecond; 0 when
    ``end`` is not after ``start``, null when either is null. Invalid business hours and
    columns that are not dates or datetimes raise :class:`MetricInputError`.
    """
    calendar = BusinessCalendar.from_sla(sla, error=MetricInputError)
    return add_business_seconds_between(lf, start, end, out, calendar, error=MetricInputError)
