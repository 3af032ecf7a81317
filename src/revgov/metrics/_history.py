"""The stage history a KPI reads: the events of one field of one entity."""

from __future__ import annotations

from typing import Any

import narwhals as nw

from revgov.metrics._frames import has, lazy, require

__all__ = ["field_history"]


def field_history(
    stage_events: Any,
    *,
    entity: str,
    field: str,
    record_id: str = "record_id",
    to_value: str = "to_value",
    changed_at: str = "changed_at",
    like: nw.LazyFrame[Any] | None = None,
) -> nw.LazyFrame[Any]:
    """The ``stage_events`` rows that change ``field`` of ``entity`` records (a blank
    ``field`` or ``record_entity`` is taken as the one asked for), as a lazy frame on the
    engine of ``like``."""
    ev = lazy(stage_events, name="stage_events", like=like)
    require(ev, [record_id, to_value, changed_at], what="stage_events")
    if has(ev, "field"):
        ev = ev.filter(nw.col("field").fill_null(field) == field)
    if has(ev, "record_entity"):
        ev = ev.filter(nw.col("record_entity").fill_null(entity) == entity)
    return ev
