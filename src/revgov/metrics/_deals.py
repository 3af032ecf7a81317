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

from datetime import datetime
from typing import Any

import narwhals as nw

from revgov._typing import Basis, ConversionBasis
from revgov.metrics._frames import Columns, lazy, require
from revgov.metrics._kpi import close_time, count_if, deal_closed, keyed, total, won_flag
from revgov.metrics._time import days_between, naive
from revgov.metrics.enrich import grouping_columns

__all__ = [
    "CLOSED",
    "CLOSE_T",
    "DAYS",
    "TERMS",
    "WON",
    "closed_deals",
    "created_aggs",
    "cycle_terms",
    "deal_size_terms",
    "open_at",
    "pooled_terms",
    "win_rate_terms",
    "with_cycle_days",
    "with_outcome",
    "won_aggs",
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
    closed = deal_closed(lf, is_closed, is_won)
    end = close_time(lf, closed_at, close_date)
    lf = lf.with_columns(closed.alias(CLOSED), won_flag(is_won).alias(WON), end.alias(CLOSE_T))
    return with_cycle_days(lf, start=start, calendar=calendar) if start is not None else lf


def closed_deals(
    opportunities: Any,
    *,
    by: Columns,
    every: str | None,
    needs: list[str | None],
    is_closed: str,
    is_won: str,
    closed_at: str,
    close_date: str,
    won_only: bool = False,
    basis: ConversionBasis = "period",
    created_at: str = "created_at",
    users: Any = None,
    accounts: Any = None,
) -> tuple[nw.LazyFrame[Any], list[str]]:
    """The deals closed (or, with ``won_only``, won) with :func:`with_outcome`'s columns, and
    the group keys: ``by`` and the period of the close (``basis="period"``) or of the
    creation (``basis="cohort"``: deals without ``created_at`` are left out). ``needs`` are
    the columns the KPI reads besides ``is_won``; the enrichments ``by`` names come from
    ``users`` and ``accounts`` when the frame lacks them."""
    lf = lazy(opportunities, name="opportunities")
    lf = grouping_columns(lf, by, what="opportunities", users=users, accounts=accounts)
    cohort = basis == "cohort"
    require(lf, [*needs, is_won, *([created_at] if cohort else [])], what="opportunities")
    lf = with_outcome(
        lf, is_closed=is_closed, is_won=is_won, closed_at=closed_at, close_date=close_date
    ).filter(nw.col(WON) if won_only else nw.col(CLOSED))
    if not cohort:
        return keyed(lf, by=by, every=every, time=nw.col(CLOSE_T), what="opportunities")
    created = naive(lf.collect_schema(), created_at)
    lf = lf.filter(~created.is_null())
    return keyed(lf, by=by, every=every, time=created, what="opportunities")


def open_at(
    lf: nw.LazyFrame[Any],
    moment: datetime,
    *,
    created_at: str,
    is_closed: str,
    is_won: str,
    closed_at: str,
    close_date: str,
) -> nw.Expr:
    """Whether each deal was open at ``moment``: created by then and not closed by then (a
    closed deal without a close time counts as closed)."""
    at = nw.lit(moment)
    closed_by_then = deal_closed(lf, is_closed, is_won) & (
        close_time(lf, closed_at, close_date) <= at
    ).fill_null(True)
    return (naive(lf.collect_schema(), created_at) <= at) & ~closed_by_then


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


#: The terms :func:`pooled_terms` sums, each a (numerator, denominator) pair of columns.
TERMS = {
    "win_rate": ("__rate_n", "__rate_d"),
    "average_deal_size": ("__size_n", "__size_d"),
    "cycle_days": ("__days_n", "__days_d"),
}


def pooled_terms(basis: Basis, amount: str) -> list[nw.Expr]:
    """The numerators and denominators of the win rate, deal size and cycle length, to sum
    over closed deals (``with_outcome(..., start=...)`` first), pool over periods, and divide
    (the columns of :data:`TERMS`)."""
    pairs = (win_rate_terms(basis, amount), deal_size_terms(amount), cycle_terms())
    out = []
    for (num, den), (num_name, den_name) in zip(pairs, TERMS.values(), strict=True):
        out += [num.cast(nw.Float64).alias(num_name), den.cast(nw.Float64).alias(den_name)]
    return out


def created_aggs(amount: str) -> list[nw.Expr]:
    """``opportunities`` and ``pipeline_amount``: the deals counted and their amount summed
    (as :func:`~revgov.metrics.pipeline_created`)."""
    return [
        nw.len().cast(nw.Int64).alias("opportunities"),
        total(nw.col(amount)).alias("pipeline_amount"),
    ]


def won_aggs(amount: str) -> list[nw.Expr]:
    """``won_deals`` and ``bookings``: won deals counted and their amount summed (as
    :func:`~revgov.metrics.bookings`)."""
    return [nw.len().cast(nw.Int64).alias("won_deals"), total(nw.col(amount)).alias("bookings")]
