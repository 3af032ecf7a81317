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
from datetime import UTC, datetime
from typing import Any

import polars as pl

from revgov.connectors.history import events_from_entered
from revgov.connectors.hubspot._objects import HistorySpec

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
    """The canonical events of a page (lazy: the page is collected once, with whatever uses
    them), and how many records' history is known incomplete."""

    events: pl.LazyFrame
    incomplete: int


def _stamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _moment(text: Any) -> tuple[int, str] | None:
    """Epoch milliseconds of a HubSpot timestamp (ISO with a Z, with or without milliseconds,
    or epoch milliseconds as text), and one spelling of it (ISO, milliseconds, Z) so that equal
    moments are equal text and text sorts as time; None if it is not a timestamp."""
    if not text:
        return None
    raw = str(text)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return (int(raw), _stamp(int(raw))) if raw.isdigit() else None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    if len(raw) == 24 and raw[19] == "." and raw[-1] == "Z":  # HubSpot's usual spelling
        return ms, raw
    if len(raw) == 20 and raw[-1] == "Z":  # whole seconds
        return ms, raw[:19] + ".000Z"
    return ms, _stamp(ms)


_Entry = tuple[int, str, str, str | None]  # ms, changed_at, value, changed_by


def _entries(
    record: Mapping[str, Any],
    spec: HistorySpec,
    entered: Mapping[str, str],
    users: Mapping[int, str],
) -> list[_Entry]:
    """One record's history, then the date properties' entries the history does not already
    hold (same value within the tolerance)."""
    found: list[_Entry] = []
    for entry in (record.get("propertiesWithHistory") or {}).get(spec.property) or []:
        at, value = _moment(entry.get("timestamp")), entry.get("value")
        if at is None or not value:
            continue
        user = entry.get("updatedByUserId")
        by = None if user is None else users.get(user, str(user))
        found.append((at[0], at[1], str(value), by))
    known: dict[str, list[int]] = {}
    for ms, _, value, _ in found:
        known.setdefault(value, []).append(ms)
    props = record.get("properties") or {}
    for column, value in entered.items():
        text = props.get(column)
        at = _moment(text) if text else None  # most stages were never entered: skip fast
        if at is None or any(abs(at[0] - seen) <= TOLERANCE_MS for seen in known.get(value, ())):
            continue
        known.setdefault(value, []).append(at[0])
        found.append((at[0], at[1], value, None))
    return found


def _left_after(record: Mapping[str, Any], exited: Mapping[str, str], last: int | None) -> bool:
    """The record left a stage after its last known change: its history has a gap."""
    props = record.get("properties") or {}
    for column in exited:
        text = props.get(column)
        at = _moment(text) if text else None
        if at is not None and (last is None or at[0] > last + TOLERANCE_MS):
            return True
    return False


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
    other user column). Flattening is plain Python over a page's few hundred entries; the
    transitions are :func:`~revgov.connectors.history.events_from_entered`'s.
    """
    entered, exited = spec.entered_columns(values), spec.exited_columns(values)
    labels, users = labels or {}, users or {}
    rows: dict[str, list[str | None]] = {k: [] for k in _ROW_SCHEMA}
    incomplete = 0
    for record in records:
        rid = str(record["id"])
        entries = _entries(record, spec, entered, users)
        last = max((entry[0] for entry in entries), default=None)
        incomplete += _left_after(record, exited, last)
        for _, changed_at, value, by in entries:
            rows["record_id"].append(rid)
            rows["to_value"].append(labels.get(value, value))
            rows["changed_at"].append(changed_at)
            rows["changed_by"].append(by)
    events = events_from_entered(
        pl.DataFrame(rows, schema=_ROW_SCHEMA),
        record_entity=spec.record_entity,
        field=spec.field,
        changed_by="changed_by",
    )
    return StageHistory(events, incomplete)
