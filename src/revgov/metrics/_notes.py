"""What a KPI leaves out or cannot say on a snapshot: the ``notes=`` of :func:`kpi`.

Each function takes the :class:`~revgov.metrics.registry.RunContext` the KPI ran with and
returns sentences: rows left out and how many, a degenerate value and why, the definition
choice the number rests on. They count with one query per frame, on any engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import narwhals as nw

from revgov.definitions.sla import SpeedToLead
from revgov.metrics._frames import has, lazy
from revgov.metrics._kpi import close_time, count_if, deal_closed, won_flag
from revgov.metrics._time import naive

if TYPE_CHECKING:
    from revgov.metrics.registry import RunContext

__all__ = [
    "cac_notes",
    "coverage_notes",
    "cycle_notes",
    "lead_conversion_notes",
    "opportunity_to_win_notes",
    "sourced_notes",
    "speed_to_lead_notes",
    "velocity_notes",
    "win_rate_amount_notes",
    "win_rate_notes",
]


def _counts(frame: Any, **conditions: nw.Expr) -> dict[str, int]:
    """How many rows of ``frame`` meet each condition (one query)."""
    # A row column under each condition: a condition may be a literal (a column the frame
    # lacks), and a literal cannot be summed per row.
    lf = lazy(frame, name="frame").with_columns(nw.lit(True).alias("__row"))
    row_ = nw.col("__row")
    aggs = [count_if(row_ & c).alias(k) for k, c in conditions.items()]
    row = lf.select(*aggs).collect().row(0)
    return {k: int(v or 0) for k, v in zip(conditions, row, strict=True)}


def _deals(ctx: RunContext) -> nw.LazyFrame[Any] | None:
    frame = ctx.frames.get("opportunities")
    return None if frame is None else lazy(frame, name="opportunities")


def _null(lf: nw.LazyFrame[Any], column: str) -> nw.Expr:
    return naive(lf.collect_schema(), column).is_null() if has(lf, column) else nw.lit(True)


def _closed_and_open(lf: nw.LazyFrame[Any]) -> tuple[nw.Expr, nw.Expr]:
    closed = deal_closed(lf, "is_closed", "is_won")
    return closed, ~closed


def _no_close_time(lf: nw.LazyFrame[Any]) -> nw.Expr:
    if not (has(lf, "closed_at") or has(lf, "close_date")):
        return nw.lit(True)
    return close_time(lf, "closed_at", "close_date").is_null()


def _basis_notes(ctx: RunContext, lf: nw.LazyFrame[Any], basis: str | None) -> list[str]:
    closed, still_open = _closed_and_open(lf)
    if basis == "cohort":
        n = _counts(lf, open=still_open, no_cohort=closed & _null(lf, "created_at"))
        out = []
        if n["open"]:
            out.append(f"{n['open']:,} open deals are left out: not an outcome yet")
        if n["no_cohort"]:
            out.append(f"{n['no_cohort']:,} closed deals without created_at are left out")
        return out
    n = _counts(lf, no_time=closed & _no_close_time(lf))
    out = []
    if n["no_time"] and ctx.every:
        out.append(f"{n['no_time']:,} closed deals without closed_at or close_date have no period")
    return out


def win_rate_notes(ctx: RunContext) -> list[str]:
    """On the cohort basis, the open deals and the closed deals without ``created_at`` left
    out; with periods, closed deals without a close time."""
    lf = _deals(ctx)
    return [] if lf is None else _basis_notes(ctx, lf, ctx.basis)


def win_rate_amount_notes(ctx: RunContext) -> list[str]:
    """As the count basis, plus closed deals without an amount (left out), and lost deals
    that all lack an amount (the rate then reads 1 by construction)."""
    lf = _deals(ctx)
    if lf is None:
        return []
    out = _basis_notes(ctx, lf, ctx.basis)
    closed, _ = _closed_and_open(lf)
    lost = closed & ~won_flag("is_won")
    amount = nw.col("amount") if has(lf, "amount") else nw.lit(None, dtype=nw.Float64())
    n = _counts(
        lf,
        blank=closed & amount.is_null(),
        lost=lost,
        lost_valued=lost & (amount.fill_null(0) > 0),
    )
    if n["blank"]:
        out.append(f"{n['blank']:,} closed deals without an amount are left out of both sides")
    if n["lost"] and not n["lost_valued"]:
        out.append(
            f"none of the {n['lost']:,} lost deals carries an amount: the rate reads 1 by "
            "construction; read win_rate_by_count"
        )
    return out


def opportunity_to_win_notes(ctx: RunContext) -> list[str]:
    """Open deals counted as not won (default) or left out (cohort basis), and deals
    without ``created_at`` left out."""
    lf = _deals(ctx)
    if lf is None:
        return []
    if ctx.basis is not None:
        return _basis_notes(ctx, lf, ctx.basis)
    _, still_open = _closed_and_open(lf)
    n = _counts(lf, open=still_open, no_cohort=_null(lf, "created_at"))
    out = []
    if n["open"]:
        out.append(
            f"{n['open']:,} open deals count as not won (to date); --basis cohort leaves them out"
        )
    if n["no_cohort"]:
        out.append(f"{n['no_cohort']:,} deals without created_at are left out")
    return out


def speed_to_lead_notes(ctx: RunContext) -> list[str]:
    """The people left out for want of the time the SLA clock starts at
    (``[sla].speed_to_lead_start``); when that is all of them, nothing to measure and what
    to map."""
    start = SpeedToLead.of(ctx.config.sla, ctx.config.segments).start
    where = f"the SLA clock starts at people.{start} ([sla].speed_to_lead_start)"
    frame = ctx.frames.get("people")
    if frame is None:
        return []
    lf = lazy(frame, name="people")
    if not has(lf, start):
        return [f"{where}, which the people frame lacks: map it, or choose another start"]
    n = _counts(lf, without=_null(lf, start), rows=nw.lit(True))
    if n["rows"] and n["without"] == n["rows"]:
        return [
            f"{where}, which no person has: nothing to measure. Map {start} in the source's "
            "people columns, or set [sla].speed_to_lead_start to a time the export has"
        ]
    if n["without"]:
        return [f"{n['without']:,} people without {start} are left out ({where})"]
    return []


def velocity_notes(ctx: RunContext) -> list[str]:
    """Open deals without ``created_at``: left out of the open deals."""
    lf = _deals(ctx)
    if lf is None:
        return []
    _, still_open = _closed_and_open(lf)
    n = _counts(lf, undated=still_open & _null(lf, "created_at"))
    if n["undated"]:
        return [f"{n['undated']:,} open deals without created_at are left out of open deals"]
    return []


def cycle_notes(ctx: RunContext) -> list[str]:
    """Won deals that closed before they were created: their negative cycles are counted
    (the audit's ``opportunities.close_before_created`` names them)."""
    lf = _deals(ctx)
    if lf is None or not (has(lf, "created_at") and has(lf, "is_won")):
        return []
    if not (has(lf, "closed_at") or has(lf, "close_date")):
        return []
    at = close_time(lf, "closed_at", "close_date")
    early = won_flag("is_won") & (at < naive(lf.collect_schema(), "created_at")).fill_null(False)
    n = _counts(lf, early=early)["early"]
    if n:
        return [
            f"{n:,} won {'deal' if n == 1 else 'deals'} closed before created: negative "
            "cycles counted (the audit's close_before_created rule lists them)"
        ]
    return []


def _all_blank(frame: Any, columns: tuple[str, ...]) -> bool:
    """No row of ``frame`` has any of ``columns`` (a column it lacks is blank)."""
    lf = lazy(frame, name="frame")
    present = [c for c in columns if has(lf, c)]
    if not present:
        return True
    blank = nw.all_horizontal(*[nw.col(c).is_null() for c in present], ignore_nulls=False)
    return _counts(lf, filled=~blank)["filled"] == 0


def lead_conversion_notes(ctx: RunContext) -> list[str]:
    """Nothing links people to deals (no conversion flag or converted deal on a person, no
    deal naming its person): conversion cannot be seen, and 0% is not a measurement."""
    people, deals = ctx.frames.get("people"), ctx.frames.get("opportunities")
    if people is None:
        return []
    if not _all_blank(people, ("is_converted", "converted_opportunity_id")):
        return []
    if deals is not None and not _all_blank(deals, ("primary_person_id",)):
        return []
    return [
        "cannot see conversions: no person is_converted or has a converted_opportunity_id, "
        "and no deal names its primary_person_id (map one of them)"
    ]


def sourced_notes(ctx: RunContext) -> list[str]:
    """No deal has a lead source or a primary campaign: sourcing cannot be seen, and 0% is
    not a measurement."""
    lf = _deals(ctx)
    if lf is None or not _all_blank(lf, ("lead_source", "primary_campaign_id")):
        return []
    return [
        "cannot see sourcing: no deal has a lead_source or a primary_campaign_id (map one of them)"
    ]


def cac_notes(ctx: RunContext) -> list[str]:
    """Won deals without an account (each new-business one its own customer; an account is
    a new customer once, at its first-ever win)."""
    out: list[str] = []
    lf = _deals(ctx)
    if lf is None:
        return out
    orphan = won_flag("is_won") & _null_text(lf, "account_id")
    n = _counts(lf, orphan=orphan)
    if n["orphan"]:
        out.append(
            f"{n['orphan']:,} won deals name no account: each new-business one counts as its "
            "own customer"
        )
    return out


def _null_text(lf: nw.LazyFrame[Any], column: str) -> nw.Expr:
    return nw.col(column).is_null() if has(lf, column) else nw.lit(True)


def coverage_notes(ctx: RunContext) -> list[str]:
    """Open deals without ``close_date``, left out of the pipeline (the output's ``basis``
    and ``against`` columns state ``kpis.coverage_basis`` and ``kpis.coverage_against``)."""
    out: list[str] = []
    lf = _deals(ctx)
    if lf is None:
        return out
    _, still_open = _closed_and_open(lf)
    n = _counts(lf, undated=still_open & _null(lf, "close_date"))
    if n["undated"]:
        out.append(f"{n['undated']:,} open deals without close_date are left out of the pipeline")
    return out
