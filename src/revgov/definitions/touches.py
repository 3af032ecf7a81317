"""The first qualifying touch: when someone first worked a lead, and how often after.

A *qualifying* touch is an activity whose ``type`` is one of
``sla.qualifying_activity_types`` (the case rule of :mod:`revgov.definitions.spelling`), with
a person and a time, at or after the person's SLA clock start and not after ``as_of``. The
first one ends the speed-to-lead clock; the touches within ``sla.follow_up_within_days`` of
the start are the follow-up attempts. The audit (``people.speed_to_lead_breach``,
``people.follow_up_attempts``) and the KPIs (``speed_to_lead``, ``sla_compliance_rate``)
both call :func:`first_touches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import narwhals as nw

from revgov.definitions.spelling import spelling_key, spelling_key_expr

__all__ = ["first_touches", "qualifying"]

Frame = nw.LazyFrame[Any]


def qualifying(types: Sequence[str], column: str = "type") -> nw.Expr:
    """The activity's type is a qualifying one (false for blank)."""
    keys = sorted({spelling_key(t) for t in types})
    return spelling_key_expr(nw.col(column)).is_in(keys).fill_null(False)


def first_touches(
    starts: Frame,
    activities: Frame,
    *,
    types: Sequence[str],
    as_of: datetime | None = None,
    window_days: int | None = None,
) -> Frame:
    """Per person with a start, the first qualifying touch and the follow-up attempts.

    ``starts`` has ``__pid`` and ``__start`` (the clock start, not null); ``activities`` has
    ``__pid``, ``__at`` and ``__type``. Both times must be alike (both UTC-aware, or both
    naive UTC), and so must ``as_of``. Returns ``__pid``, ``__first_touch_at`` and
    ``__attempts`` (touches from the start to ``window_days`` after it; 0 without a window)
    for the people touched at least once.
    """
    acts = activities.filter(
        ~nw.col("__pid").is_null() & ~nw.col("__at").is_null() & qualifying(types, "__type")
    ).select("__pid", "__at")
    if as_of is not None:
        acts = acts.filter(nw.col("__at") <= nw.lit(as_of))
    joined = acts.join(starts.select("__pid", "__start"), on="__pid", how="inner").filter(
        nw.col("__at") >= nw.col("__start")
    )
    if window_days is not None:
        in_window = nw.col("__at") <= nw.col("__start").dt.offset_by(f"{window_days}d")
    else:
        in_window = nw.lit(False)
    return (
        joined.with_columns(in_window.cast(nw.Int64()).alias("__in_window"))
        .group_by("__pid")
        .agg(
            nw.col("__at").min().alias("__first_touch_at"),
            nw.col("__in_window").sum().alias("__attempts"),
        )
    )
