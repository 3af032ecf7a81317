"""One definition each of a deal's outcome, the win rate, the deal size and the cycle length.

The standalone KPIs (:func:`~revgov.metrics.win_rate_by_count`,
:func:`~revgov.metrics.average_deal_size`, :func:`~revgov.metrics.sales_cycle_days`), sales
velocity, required coverage and the funnel model all build on these, so a change of definition
(how blank amounts count, which timestamp closes a deal) lands in every one of them at once.

:func:`with_outcome` adds the columns the terms read; each ``*_terms`` function returns the
numerator and denominator as aggregations, so callers can pool them (monthly, then over a
window) before dividing with :func:`~revgov.metrics._frames.safe_div`.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw

from revgov._typing import Basis
from revgov.metrics._frames import has
from revgov.metrics._kpi import close_time, closed_flag, count_if, total, won_flag
from revgov.metrics._time import days_between, naive

__all__ = [
    "CLOSED",
    "CLOSE_T",
    "DAYS",
    "WON",
    "cycle_terms",
    "deal_size_terms",
    "win_rate_terms",
    "with_cycle_days",
    "with_outcome",
]

#: Columns :func:`with_outcome` adds.
CLOSED, WON, CLOSE_T, DAYS = "__closed", "__won", "__close_t", "__days"


def with_outcome(
    lf: nw.LazyFrame[Any],
    *,
    is_closed: str,
    is_won: str,
    closed_at: str,
    close_date: str,
    start: str | None = None,
    calendar: bool = True,
) -> nw.LazyFrame[Any]:
    """``lf`` with ``__closed`` (won or lost), ``__won``, ``__close_t`` (``closed_at`` where
    known, else ``close_date``) and, given ``start``, ``__days`` from ``start`` to the close
    (calendar days, or elapsed days as a fraction with ``calendar=False``).

    A frame without ``is_closed`` counts its won deals as its closed ones.
    """
    closed = closed_flag(is_closed, is_won) if has(lf, is_closed) else won_flag(is_won)
    end = close_time(lf, closed_at, close_date)
    lf = lf.with_columns(closed.alias(CLOSED), won_flag(is_won).alias(WON), end.alias(CLOSE_T))
    return with_cycle_days(lf, start=start, calendar=calendar) if start is not None else lf


def with_cycle_days(
    lf: nw.LazyFrame[Any], *, start: str, calendar: bool = True
) -> nw.LazyFrame[Any]:
    """``lf`` (from :func:`with_outcome`) with ``__days`` from ``start`` to the close; apply
    it after filtering to the deals that matter, it is the costly part."""
    begin = naive(lf.collect_schema(), start)
    days = days_between(begin, nw.col(CLOSE_T), lf.implementation, calendar=calendar)
    return lf.with_columns(days.cast(nw.Float64).alias(DAYS))


def win_rate_terms(basis: Basis, amount: str) -> tuple[nw.Expr, nw.Expr]:
    """Numerator and denominator of the win rate, aggregated over closed deals.

    ``count``: won deals / closed deals. ``amount``: won amount / closed amount, over the
    deals that have an amount (null when none has).
    """
    if basis == "count":
        return count_if(nw.col(WON)), nw.len().cast(nw.Int64)
    return total(nw.col(amount), where=nw.col(WON)), total(nw.col(amount))


def deal_size_terms(amount: str) -> tuple[nw.Expr, nw.Expr]:
    """Won amount and the number of won deals *with an amount*: their ratio is the average
    deal size, null when every won amount is blank (a blank is unknown, not zero)."""
    won = nw.col(WON)
    return total(nw.col(amount), where=won), count_if(won & ~nw.col(amount).is_null())


def cycle_terms(where: nw.Expr | None = None) -> tuple[nw.Expr, nw.Expr]:
    """Days summed over the deals meeting ``where`` (default: won) whose cycle is known, and
    how many they are: their ratio is the mean cycle length (``with_outcome(..., start=...)``
    first)."""
    known = (nw.col(WON) if where is None else where) & ~nw.col(DAYS).is_null()
    return total(nw.col(DAYS), where=known), count_if(known)
