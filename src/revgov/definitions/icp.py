"""Firmographic fit: the segment a record belongs to, and whether it fits the ICP.

``[[segments]]`` and ``[icp]`` use the same criteria: industry and country (each one of a
list, compared under the case rule of :mod:`revgov.definitions.spelling`), employees and
annual revenue (inclusive bounds). A record meets a criterion the frame can check when its
value is present and within it; a blank value fails. Criteria whose column the frame lacks
are skipped (people carry no annual revenue).

A record's segment is its own ``segment`` value when it has one, else the first
``[[segments]]`` entry it meets. Routing, the segment conditions of required fields, the
SLA's per-segment limits (rules and KPIs alike) and the ICP fit rate read these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import narwhals as nw

from revgov.definitions._expr import all_of, lit_str
from revgov.definitions.spelling import spelling_key, spelling_key_expr

if TYPE_CHECKING:
    from revgov.config import ICP, Segment

__all__ = [
    "FIRMOGRAPHIC_COLUMNS",
    "Firmographics",
    "criteria",
    "icp_fit",
    "segment_expr",
    "text_keys",
]

#: The columns firmographic criteria read, by criterion.
FIRMOGRAPHIC_COLUMNS = ("industry", "country", "employees", "annual_revenue")


@dataclass(frozen=True)
class Firmographics:
    """Which column holds each criterion's value (canonical names by default)."""

    industry: str = "industry"
    country: str = "country"
    employees: str = "employees"
    annual_revenue: str = "annual_revenue"
    segment: str = "segment"

    @classmethod
    def of(cls, columns: Mapping[str, str]) -> Firmographics:
        return cls(**columns)


def text_keys(names: Sequence[str], cols: Firmographics = Firmographics()) -> dict[str, nw.Expr]:
    """The spelling keys of the text criteria (industry, country) a frame with columns
    ``names`` has, by label: add them as columns once when several criteria read them."""
    return {
        label: spelling_key_expr(nw.col(column))
        for label, column in (("industry", cols.industry), ("country", cols.country))
        if column in names
    }


def criteria(
    bands: ICP | Segment,
    names: Sequence[str],
    cols: Firmographics = Firmographics(),
    *,
    keys: Mapping[str, nw.Expr] | None = None,
) -> list[tuple[str, nw.Expr]]:
    """The criteria of ``bands`` a frame with columns ``names`` can check, by label.
    ``keys``: the text criteria's spelling keys, as columns (see :func:`text_keys`)."""
    out: list[tuple[str, nw.Expr]] = []
    known = keys if keys is not None else text_keys(names, cols)
    for label, values in (("industry", bands.industries), ("country", bands.countries)):
        if values and label in known:
            wanted = sorted({spelling_key(v) for v in values})
            out.append((label, known[label].is_in(wanted)))
    bounds = [("employees", bands.employees_min, bands.employees_max, cols.employees)]
    bounds.append(
        (
            "annual_revenue",
            getattr(bands, "annual_revenue_min", None),
            getattr(bands, "annual_revenue_max", None),
            cols.annual_revenue,
        )
    )
    for label, lo, hi, column in bounds:
        if (lo is not None or hi is not None) and column in names:
            cond = ~nw.col(column).is_null()
            if lo is not None:
                cond = cond & (nw.col(column) >= lo)
            if hi is not None:
                cond = cond & (nw.col(column) <= hi)
            out.append((label, cond))
    return out


def segment_expr(
    segments: Sequence[Segment],
    names: Sequence[str],
    cols: Firmographics = Firmographics(),
    *,
    keys: Mapping[str, nw.Expr] | None = None,
) -> nw.Expr:
    """The record's segment: its own segment column, else the first segment it meets."""
    derived: nw.Expr = lit_str(None)
    for seg in reversed(segments):
        conds = [c for _, c in criteria(seg, names, cols, keys=keys)]
        if not conds:
            continue
        derived = nw.when(all_of(conds).fill_null(False)).then(lit_str(seg.name)).otherwise(derived)
    if cols.segment in names:
        return nw.coalesce(nw.col(cols.segment), derived)
    return derived


def icp_fit(
    icp: ICP, names: Sequence[str], cols: Firmographics = Firmographics()
) -> tuple[nw.Expr, list[str]] | None:
    """Whether each record fits the ICP (false for blanks), and the criteria applied; None
    when no criterion can be checked on these columns."""
    checks = criteria(icp, names, cols)
    if not checks:
        return None
    return all_of([c.fill_null(False) for _, c in checks]), [label for label, _ in checks]
