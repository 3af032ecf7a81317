"""HubSpot stage history as canonical stage_events: ``propertiesWithHistory`` reconciled with
the stage-calculated date properties.

HubSpot keeps a stage's history in two places, both used here:

* ``propertiesWithHistory.dealstage`` / ``.lifecyclestage``: every value entered, newest first,
  with its timestamp and (for people's edits) ``updatedByUserId``. It can be incomplete: an
  imported record's history starts at the import.
* The date properties per stage: ``hs_v2_date_entered_{id}`` (the latest entry) and the older
  ``hs_date_entered_{id}`` / ``hs_lifecyclestage_{value}_date`` (the first), built from the
  pipeline's stage ids or the lifecycle options (the properties API does not list them).

Reconciliation: an entry of the date properties that the history already has (same record,
same value, within a minute) is the same event and is dropped; the others fill the history's
gaps. The union, ordered by time, becomes transitions through
:func:`revgov.connectors.history.events_from_entered`. ``hs_v2_date_exited_*`` values later
than a record's last known change mean its history is still incomplete: that is counted and
reported as a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from revgov.connectors.history import events_from_entered
from revgov.connectors.hubspot._objects import HistorySpec
from revgov.model._casting import full_parse

__all__ = ["StageHistory", "stage_history"]

#: Entries this close together (same record and value) are one event seen twice.
TOLERANCE_MS = 60_000

_ROW_SCHEMA = {
    "record_id": pl.String,
    "to_value": pl.String,
    "changed_at": pl.String,
    "changed_by": pl.String,
}


@dataclass(frozen=True)
class StageHistory:
    """The canonical events of a page, and how many records' history is known incomplete."""

    events: pl.DataFrame
    incomplete: int


def _normalised(col: str) -> pl.Expr:
    """One spelling for every timestamp (ISO, milliseconds, Z), so text sorts as time."""
    return full_parse(pl.col(col), "datetime").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias(col)


def _history_rows(
    records: Sequence[Mapping[str, Any]], prop: str, users: Mapping[int, str]
) -> pl.DataFrame:
    rows: dict[str, list[str | None]] = {k: [] for k in _ROW_SCHEMA}
    for rec in records:
        for entry in (rec.get("propertiesWithHistory") or {}).get(prop) or []:
            user = entry.get("updatedByUserId")
            rows["record_id"].append(str(rec["id"]))
            rows["to_value"].append(entry.get("value"))
            rows["changed_at"].append(entry.get("timestamp"))
            rows["changed_by"].append(users.get(user, str(user)) if user is not None else None)
    return pl.DataFrame(rows, schema=_ROW_SCHEMA)


def _column_rows(records: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> pl.DataFrame:
    rows: dict[str, list[str | None]] = {k: [] for k in _ROW_SCHEMA}
    for rec in records:
        props = rec.get("properties") or {}
        for column, value in columns.items():
            at = props.get(column)
            if at:
                rows["record_id"].append(str(rec["id"]))
                rows["to_value"].append(value)
                rows["changed_at"].append(at)
                rows["changed_by"].append(None)
    return pl.DataFrame(rows, schema=_ROW_SCHEMA)


def _ms(col: str = "changed_at") -> pl.Expr:
    return full_parse(pl.col(col), "datetime").dt.epoch("ms")


def _reconcile(history: pl.DataFrame, columns: pl.DataFrame) -> pl.DataFrame:
    """History rows, plus the date-property rows the history does not already have."""
    columns = columns.unique(["record_id", "to_value", "changed_at"], maintain_order=True)
    if columns.is_empty() or history.is_empty():
        return pl.concat([history, columns])
    keyed = columns.with_row_index("__row").with_columns(_ms().alias("__t"))
    seen = history.select("record_id", "to_value", _ms().alias("__h"))
    known = (
        keyed.join(seen, on=["record_id", "to_value"], how="inner")
        .filter((pl.col("__t") - pl.col("__h")).abs() <= TOLERANCE_MS)
        .select("__row")
        .unique()
    )
    extra = keyed.join(known, on="__row", how="anti").drop("__row", "__t")
    return pl.concat([history, extra])


def _incomplete(
    events: pl.DataFrame, records: Sequence[Mapping[str, Any]], exited: Mapping[str, str]
) -> int:
    """Records that left a stage after their last known change (their history has a gap)."""
    exits = _column_rows(records, exited)
    if exits.is_empty():
        return 0
    last = events.group_by("record_id").agg(_ms().max().alias("__last"))
    late = exits.with_columns(_ms().alias("__exit")).join(last, on="record_id", how="left")
    late = late.filter(
        pl.col("__last").is_null() | (pl.col("__exit") > pl.col("__last") + TOLERANCE_MS)
    )
    return late.select("record_id").n_unique()


def stage_history(
    records: Sequence[Mapping[str, Any]],
    spec: HistorySpec,
    *,
    values: list[str],
    labels: Mapping[str, str] | None = None,
    users: Mapping[int, str] | None = None,
) -> StageHistory:
    """Events of ``spec.property`` for ``records`` (raw HubSpot results).

    ``values`` are the stage ids or lifecycle values the date properties are built from;
    ``labels`` translates values (deal stage ids to their labels) after reconciliation;
    ``users`` maps HubSpot user ids to owner ids (``changed_by`` names an owner, like every
    other user column).
    """
    history = _history_rows(records, spec.property, users or {})
    columns = _column_rows(records, spec.entered_columns(values))
    rows = _reconcile(history, columns).with_columns(_normalised("changed_at"))
    if labels:
        rows = rows.with_columns(pl.col("to_value").replace(dict(labels)))
    events = events_from_entered(
        rows,
        record_entity=spec.record_entity,
        field=spec.field,
        changed_by="changed_by",
    ).collect()
    return StageHistory(events, _incomplete(events, records, spec.exited_columns(values)))
