"""What every section builder reads: the prepared snapshot frames, the definitions, the moment.

KPIs run through the public registry (:func:`revgov.metrics.compute`) on frames prepared once
(cut to ``as_of``, enriched with stage and owner attributes). A KPI whose inputs the snapshot
lacks, or that refuses them, is not guessed: the section gets a note saying which and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import narwhals as nw
import polars as pl

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import KPIS, compute, prepare_frames

__all__ = ["Inputs", "to_polars", "window_start"]


def to_polars(frame: Any) -> pl.DataFrame:
    """A KPI result of any engine as an eager polars frame (results are small tables)."""
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    native = nw.from_native(frame)
    eager = native.collect(backend="polars") if isinstance(native, nw.LazyFrame) else native
    result: pl.DataFrame = eager.to_polars()
    return result


def _materialized(frames: Mapping[str, Any]) -> dict[str, Any]:
    """Prepared polars frames computed once: every section reads them (the as-of cut joins
    the stage history); other engines cache their own plans."""
    return {
        k: v.collect().lazy() if isinstance(v, pl.LazyFrame) else v
        for k, v in frames.items()
        if v is not None
    }


def window_start(as_of: datetime, months: int) -> date:
    """The first day of the month ``months - 1`` months before ``as_of``'s month: the
    start of a trailing window of ``months`` calendar months that ends with the current one."""
    y, m = as_of.year, as_of.month - (months - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return date(y, m, 1)


@dataclass
class Inputs:
    """The snapshot as the report reads it."""

    frames: Mapping[str, Any]
    config: Config
    as_of: datetime
    ready: dict[str, Any] = field(init=False)
    _counts: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.ready = _materialized(prepare_frames(self.frames, self.config, as_of=self.as_of))

    def present(self, entity: str) -> bool:
        """Whether the snapshot has rows of ``entity`` (as of the report's moment)."""
        if entity not in self._counts:
            frame = self.ready.get(entity)
            if frame is None:
                self._counts[entity] = 0
            else:
                lf = nw.from_native(frame)
                lazy = lf.lazy() if isinstance(lf, nw.DataFrame) else lf
                self._counts[entity] = int(lazy.select(nw.len()).collect().item())
        return self._counts[entity] > 0

    def columns(self, entity: str) -> list[str]:
        frame = self.ready.get(entity)
        if frame is None:
            return []
        return list(nw.from_native(frame).collect_schema().names())

    def kpi(
        self,
        name: str,
        notes: list[str],
        *,
        by: Sequence[str] | None = None,
        every: str | None = None,
    ) -> pl.DataFrame | None:
        """KPI ``name`` as a polars frame, or None with the reason added to ``notes``."""
        definition = KPIS[name]
        missing = [e for e in definition.inputs if not self.present(e)]
        if missing:
            notes.append(f"{definition.title}: the snapshot has no {', '.join(missing)}.")
            return None
        try:
            out = compute(
                name, self.ready, self.config, by=by, every=every, as_of=self.as_of, prepared=True
            )
        except MetricInputError as exc:
            notes.append(f"{definition.title}: {exc.message}")
            return None
        return to_polars(out)

    def headline(self, name: str, notes: list[str]) -> float | None:
        """The KPI's one-number summary over the whole snapshot (None, with a note, if none)."""
        definition = KPIS[name]
        frame = self.kpi(name, notes)
        if frame is None or definition.headline is None or frame.height == 0:
            return None
        value = frame[definition.headline][0]
        return None if value is None else float(value)

    def since(self, frame: pl.DataFrame, months: int) -> pl.DataFrame:
        """Rows of ``frame`` whose ``period`` is in the trailing ``months`` months up to the
        report's moment."""
        start = window_start(self.as_of, months)
        end = self.as_of.date() + timedelta(days=1)
        period = pl.col("period").cast(pl.Date)
        return frame.filter((period >= start) & (period < end))
