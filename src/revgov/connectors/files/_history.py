"""An entity's history file (any shape, see :class:`FileHistory`) as canonical stage_events.

The shapes themselves are :mod:`revgov.connectors.history`'s (shared with the CRM
connectors); this module only names the history file's columns, picks the shape's function
and spells the values as the entity's own export does: the entity's ``values`` map of the
tracked field (e.g. HubSpot's internal stage ids to labels) applies to ``from_value`` and
``to_value`` too, so a deal's history and its current stage always speak the same words.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from revgov.connectors.files.settings import FileEntitySettings, FileHistory
from revgov.connectors.history import (
    derive_entered_at,
    events_from_changes,
    events_from_date_columns,
    events_from_entered,
)
from revgov.definitions.history import STAGE_FIELD
from revgov.errors import MappingError
from revgov.model.frames import model_for

__all__ = ["derive_timestamps", "history_events", "history_field", "history_source_columns"]


def history_field(entity: str, history: FileHistory) -> str:
    """The canonical field ``history`` tracks: its ``field``, else the entity's stage field."""
    if history.field:
        return history.field
    if entity in STAGE_FIELD:
        return STAGE_FIELD[entity]
    raise MappingError(
        f"the history of {entity} does not say which field it tracks",
        hint='add field = "<canonical column>" to its history table',
    )


def _record_key(entity: str) -> str:
    return model_for(entity).primary_key[0]


def history_source_columns(entity: str, spec: FileEntitySettings) -> dict[str, str]:
    """Role (stage_events column) to the history file's column; a ``date_columns`` history
    finds its record id where the entity's mapping does."""
    history = spec.history
    assert history is not None
    columns = dict(history.columns)
    if history.shape == "date_columns" and "record_id" not in columns:
        key = _record_key(entity)
        columns["record_id"] = spec.columns.get(key, key)
    return columns


def _spelled(events: pl.LazyFrame, values: Mapping[str, Mapping[str, str]]) -> pl.LazyFrame:
    """from/to values through the entity's value map of the field they belong to."""
    for field, mapping in values.items():
        if not mapping:
            continue
        events = events.with_columns(
            [
                pl.when(pl.col("field") == field)
                .then(pl.col(c).replace(dict(mapping)))
                .otherwise(pl.col(c))
                .alias(c)
                for c in ("from_value", "to_value")
            ]
        )
    return events


def history_events(raw: pl.LazyFrame, entity: str, spec: FileEntitySettings) -> pl.LazyFrame:
    """Canonical stage_events (text) of ``raw``, the rows of ``entity``'s history file (or of
    its own export, for ``date_columns``), columns as the file names them."""
    history = spec.history
    assert history is not None
    field = history_field(entity, history)
    roles = history_source_columns(entity, spec)
    available = set(raw.collect_schema().names())
    missing = sorted(c for c in roles.values() if c not in available)
    if history.shape == "date_columns":
        missing = [c for c in missing if c == roles["record_id"]]
    if missing:
        raise MappingError(
            f"the {entity} history ({history.path or 'its own export'}) has no column "
            f"{', '.join(map(repr, missing))}; available columns: {', '.join(sorted(available))}",
            hint=f"fix history.columns of {entity}",
        )
    if history.shape == "date_columns":
        events = events_from_date_columns(
            raw,
            record_entity=entity,
            field=field,
            columns=history.dates,
            record_id=roles["record_id"],
        )
    elif history.shape == "field_changes":
        events = events_from_changes(
            raw,
            record_entity=entity,
            fields=history.fields,
            record_id=roles["record_id"],
            field=roles["field"],
            old=roles["from_value"],
            new=roles["to_value"],
            changed_at=roles["changed_at"],
            changed_by=roles.get("changed_by"),
            event_id=roles.get("event_id"),
        )
    else:  # stage_entered and snapshots: a value per row, the previous row is the "from"
        events = events_from_entered(
            raw,
            record_entity=entity,
            field=field,
            record_id=roles["record_id"],
            value=roles["to_value"],
            changed_at=roles["changed_at"],
            changed_by=roles.get("changed_by"),
            # A snapshot row is not an event: its id would name the snapshot, not the change.
            event_id=roles.get("event_id") if history.shape == "stage_entered" else None,
        )
    return _spelled(events, spec.values)


def derive_timestamps(
    records: pl.DataFrame, events: pl.DataFrame, entity: str, spec: FileEntitySettings
) -> pl.DataFrame:
    """Mapped records with the timestamps their history gives filled where blank:
    opportunities' ``stage_entered_at`` (when each last entered its current stage) and each
    ``history.timestamps`` column (when the record first entered that value)."""
    history = spec.history
    assert history is not None
    field = history_field(entity, history)
    key = _record_key(entity)
    if key not in records.columns:
        return records
    out = records.lazy()
    if entity == "opportunities" and field == "stage" and "stage" in records.columns:
        out = derive_entered_at(out, events, key=key)
    for target, value in history.timestamps.items():
        spelled = spec.values.get(field, {}).get(value, value)
        out = derive_entered_at(
            out,
            events,
            key=key,
            field=field,
            current=None,
            value=spelled,
            target=target,
            which="first",
        )
    return out.collect()
