"""Time helpers of the demo generator: numpy datetime64 arithmetic and business days.

Timestamps are numpy ``datetime64[us]`` holding UTC wall time (naive); they become polars
``Datetime("us", "UTC")`` only when the frames are built. Business days are those of the one
business calendar (:class:`revgov.definitions.calendar.BusinessCalendar`, built from the
config's ``[sla]``), moved with ``numpy.busday_offset``, so the generator, the audit and the
KPIs can never disagree about which days and hours count.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.definitions.calendar import BusinessCalendar

__all__ = [
    "DAY_US",
    "BusinessCalendar",
    "Times",
    "at_local",
    "days",
    "local_date",
    "minutes",
    "roll",
    "to_datetime64",
    "utc_series",
]

Times = npt.NDArray[np.datetime64]
DAY_US = 86_400_000_000


def days(x: npt.ArrayLike) -> npt.NDArray[np.timedelta64]:
    """Fractional days as microsecond timedeltas."""
    return (np.asarray(x, dtype=np.float64) * DAY_US).astype(np.int64).astype("timedelta64[us]")


def minutes(x: npt.ArrayLike) -> npt.NDArray[np.timedelta64]:
    return days(np.asarray(x, dtype=np.float64) / 1440.0)


def to_datetime64(moment: datetime) -> np.datetime64:
    """An aware (or UTC-naive) datetime as a naive UTC ``datetime64[us]``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "us")


def utc_series(name: str, values: Times) -> pl.Series:
    """A polars UTC datetime column from naive-UTC ``datetime64[us]`` values (NaT -> null)."""
    return pl.Series(name, values.astype("datetime64[us]")).dt.replace_time_zone("UTC")


def local_date(calendar: BusinessCalendar, utc: Times) -> npt.NDArray[np.datetime64]:
    """The calendar day, in the business time zone, of each UTC instant."""
    local = utc_series("t", utc).dt.convert_time_zone(calendar.timezone).dt.date()
    return local.to_numpy().astype("datetime64[D]")


def roll(
    calendar: BusinessCalendar, day: npt.NDArray[np.datetime64], offset: npt.ArrayLike = 0
) -> Times:
    """Move ``offset`` business days from ``day``; a non-business day rolls back first."""
    return np.busday_offset(
        day.astype("datetime64[D]"),
        offset,
        roll="backward",
        weekmask=calendar.weekmask,
        holidays=np.array(calendar.holidays, dtype="datetime64[D]"),
    )


def at_local(
    calendar: BusinessCalendar, day: npt.NDArray[np.datetime64], minute_of_day: npt.ArrayLike
) -> Times:
    """UTC instants of a local wall-clock time (minutes after midnight) on local days."""
    naive = day.astype("datetime64[us]") + minutes(minute_of_day)
    local = pl.Series("t", naive).dt.replace_time_zone(
        calendar.timezone, ambiguous="earliest", non_existent="null"
    )
    out = local.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return out.to_numpy().astype("datetime64[us]")
