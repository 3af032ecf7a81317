"""The speed-to-lead SLA: when the clock starts, how long a lead may wait, and its status.

* The clock starts at ``sla.speed_to_lead_start`` (``mql_at``: when the person became a
  marketing-qualified lead; ``created_at``; or ``assigned_at``, when the current owner got
  the lead) and runs until the first qualifying touch (:mod:`revgov.definitions.touches`),
  or until ``as_of`` for a lead not touched yet. It runs as ``sla.speed_to_lead_clock``
  says: in business time (:mod:`revgov.definitions.calendar`; a lead that became an MQL on
  Saturday noon and was emailed on Monday at 05:00 waited 0 business hours) or on the wall
  clock (the same lead waited 41 hours). Both are computed, so either can be reported.
* The limit is ``sla.speed_to_lead_hours``: the most specific key that matches the lead
  wins, ``segment:kind`` (e.g. ``enterprise:lead``) over a segment over a kind (``lead``
  / ``contact``) over ``default``. Segments are the record's segment
  (:func:`revgov.definitions.icp.segment_expr`); keys match under the case rule.
* A lead whose clock started by ``as_of`` has **met** the SLA if touched within the limit,
  **breached** it if touched later or if still untouched past the limit, and is otherwise
  **pending**.

The audit's ``people.speed_to_lead_breach`` flags exactly the breached leads that
``sla_compliance_rate`` counts: both call :meth:`SpeedToLead.status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import narwhals as nw

from revgov._typing import SLAClock
from revgov.definitions.business_time import wall_seconds_between
from revgov.definitions.calendar import BusinessCalendar
from revgov.definitions.spelling import spelling_key, spelling_key_expr
from revgov.errors import RevgovError

if TYPE_CHECKING:
    from revgov.config import Segment, SLAConfig

__all__ = ["STATUS_COLUMNS", "SpeedToLead", "hours_label"]

Frame = nw.LazyFrame[Any]

#: The columns :meth:`SpeedToLead.status` adds: ``__stl_seconds`` on the SLA's clock, and
#: both clocks' seconds (``__stl_business_seconds``, ``__stl_wall_seconds``).
STATUS_COLUMNS = (
    "__stl_started",
    "__stl_seconds",
    "__stl_business_seconds",
    "__stl_wall_seconds",
    "__stl_limit",
    "__stl_met",
    "__stl_breached",
)


def hours_label(clock: SLAClock) -> str:
    """``business hours`` or ``hours`` (wall clock), for messages and KPI units."""
    return "business hours" if clock == "business_hours" else "hours"


@dataclass(frozen=True)
class SpeedToLead:
    """The speed-to-lead SLA of ``[sla]``, with the segment names of ``[[segments]]``."""

    sla: SLAConfig
    segments: tuple[str, ...] = ()

    @classmethod
    def of(cls, sla: SLAConfig, segments: Sequence[Segment] = ()) -> SpeedToLead:
        return cls(sla, tuple(s.name for s in segments))

    @property
    def start(self) -> str:
        """The column the clock starts at (``mql_at``, ``created_at`` or ``assigned_at``)."""
        return self.sla.speed_to_lead_start

    @property
    def clock(self) -> SLAClock:
        """How the clock runs (``business_hours`` or ``wall_clock``)."""
        return self.sla.speed_to_lead_clock

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar.from_sla(self.sla)

    def limit_hours(
        self, segment: nw.Expr, kind: nw.Expr | None, *, keyed: bool = False
    ) -> nw.Expr:
        """Business hours allowed to first touch: ``segment:kind`` > segment > kind >
        ``default`` (a key that is no segment but ``lead``/``contact`` is a kind).
        ``keyed``: ``segment`` and ``kind`` are spelling keys already."""
        limits = self.sla.speed_to_lead_hours
        known = {spelling_key(s) for s in self.segments}
        seg = segment if keyed else spelling_key_expr(segment)
        who = (kind if keyed else spelling_key_expr(kind)) if kind is not None else None
        by_kind, by_segment, by_both = [], [], []
        for key, hours in limits.items():
            k = spelling_key(key)
            if key == "default":
                continue
            if ":" in k:
                a, b = k.split(":", 1)
                by_both.append((spelling_key(a), spelling_key(b), hours))
            elif k in known or k not in ("lead", "contact"):
                by_segment.append((k, hours))
            else:
                by_kind.append((k, hours))
        chain: nw.Expr = nw.lit(float(limits["default"]), nw.Float64())
        if who is not None:
            for k, h in reversed(by_kind):
                chain = nw.when(who == k).then(nw.lit(float(h), nw.Float64())).otherwise(chain)
        for s, h in reversed(by_segment):
            chain = nw.when(seg == s).then(nw.lit(float(h), nw.Float64())).otherwise(chain)
        if who is not None:
            for s, k, h in reversed(by_both):
                hit = (seg == s) & (who == k)
                chain = nw.when(hit).then(nw.lit(float(h), nw.Float64())).otherwise(chain)
        return chain

    def status(
        self,
        frame: Frame,
        *,
        as_of: datetime,
        segment: nw.Expr,
        kind: nw.Expr | None,
        error: type[RevgovError] = RevgovError,
        clock: SLAClock | None = None,
    ) -> Frame:
        """``frame`` (with ``__start`` and ``__first_touch_at``, see
        :func:`revgov.definitions.touches.first_touches`) with the lead's SLA status:
        ``__stl_seconds`` (seconds on the SLA's clock from the start to the first touch, or
        to ``as_of``; ``clock`` overrides ``sla.speed_to_lead_clock``), the business and
        the wall-clock seconds, ``__stl_limit`` (hours), ``__stl_started`` (the clock
        started by ``as_of``: the lead counts), ``__stl_met`` and ``__stl_breached`` (both
        false for a lead that does not count)."""
        running = clock or self.clock
        # The limit's chain reads the keys as columns: computed once, not once per branch.
        frame = frame.with_columns(
            spelling_key_expr(segment).alias("__stl_segment"),
            *([spelling_key_expr(kind).alias("__stl_kind")] if kind is not None else []),
        )
        has_kind = kind is not None
        limit = self.limit_hours(
            nw.col("__stl_segment"), nw.col("__stl_kind") if has_kind else None, keyed=True
        )
        frame = frame.with_columns(
            nw.coalesce(nw.col("__first_touch_at"), nw.lit(as_of)).alias("__stl_end"),
            limit.alias("__stl_limit"),
        ).drop("__stl_segment", *(["__stl_kind"] if has_kind else []))
        frame = self.calendar.add_business_seconds(
            frame, "__start", "__stl_end", "__stl_business_seconds", error=error
        )
        frame = wall_seconds_between(
            frame, "__start", "__stl_end", "__stl_wall_seconds", error=error
        )
        on_clock = "__stl_business_seconds" if running == "business_hours" else "__stl_wall_seconds"
        frame = frame.with_columns(nw.col(on_clock).alias("__stl_seconds"))
        started = (nw.col("__start") <= nw.lit(as_of)).fill_null(False)
        late = nw.col("__stl_seconds") > nw.col("__stl_limit") * 3600
        touched = ~nw.col("__first_touch_at").is_null()
        return frame.with_columns(
            started.alias("__stl_started"),
            (started & touched & ~late).fill_null(False).alias("__stl_met"),
            (started & late).fill_null(False).alias("__stl_breached"),
        ).drop("__stl_end")
