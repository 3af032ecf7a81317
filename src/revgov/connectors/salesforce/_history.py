"""Salesforce history objects as canonical ``stage_events``, through :mod:`revgov.connectors.history`.

* ``entered`` objects (OpportunityHistory: one row per stage entered, no "from" value): the
  previous row of the same record is the ``from_value``. A page of new rows lacks the rows
  committed before it, so the reader fetches the records' earlier rows as context; events are
  derived over both and only those of the page's rows are kept.
* ``changes`` objects (OpportunityFieldHistory, LeadHistory: ``Field``, ``OldValue``,
  ``NewValue``): one event per change of a mapped field (StageName → ``stage``, Status →
  ``status``, Owner → ``owner``). A lookup change writes two rows, one with ids and one with
  names (``DataType`` ``EntityId`` and ``Text``); the id row is kept.

Event ids are composites of entity, record, field, time and value (the shared helpers'
default), so an event has the same id whichever API read it. When OpportunityHistory is
readable, the connector leaves OpportunityFieldHistory's StageName rows out: both objects
record the same stage changes, and a read holding an event twice would quarantine it as a
duplicate key.
"""

from __future__ import annotations

import polars as pl

from revgov.connectors.history import (
    STAGE_EVENT_COLUMNS,
    derive_entered_at,
    events_from_changes,
    events_from_entered,
)
from revgov.connectors.salesforce.settings import ObjectMapping

__all__ = ["ROLES", "event_ids", "history_events", "roles_frame", "stage_entered_at"]

#: What a history object's ``columns`` name: stage_events columns, plus ``data_type``.
ROLES = ("record_id", "field", "from_value", "to_value", "changed_at", "changed_by", "data_type")
_FIELD = "__field"


def roles_frame(raw: pl.DataFrame, mapping: ObjectMapping, available: set[str]) -> pl.DataFrame:
    """The history rows with their roles as column names (text; null where not mapped)."""
    exprs = []
    for role in ROLES:
        source = mapping.columns.get(role)
        name = source if isinstance(source, str) else (source[0] if source else None)
        if name and name in available:
            exprs.append(pl.col(name).cast(pl.String).alias(role))
        else:
            exprs.append(pl.lit(None, pl.String).alias(role))
    return raw.select(exprs)


def _record_entity(mapping: ObjectMapping) -> str:
    return str(mapping.record_entity or "opportunities")


def _changes(rows: pl.DataFrame, mapping: ObjectMapping) -> pl.LazyFrame:
    # Of the two rows a lookup change writes at one moment, keep the one with the ids.
    ranked = rows.with_columns(
        (pl.col("data_type").fill_null("") != "EntityId").alias("__text")
    ).sort(["record_id", "field", "changed_at", "__text"], maintain_order=True, nulls_last=True)
    kept = ranked.unique(["record_id", "field", "changed_at"], keep="first", maintain_order=True)
    return events_from_changes(
        kept,
        record_entity=_record_entity(mapping),
        fields=mapping.fields,
        changed_by="changed_by",
    )


def _entered(rows: pl.DataFrame, mapping: ObjectMapping) -> pl.LazyFrame:
    return events_from_entered(
        rows,
        record_entity=_record_entity(mapping),
        field=str(mapping.field or "stage"),
        changed_by="changed_by",
    )


def event_ids(rows: pl.DataFrame, mapping: ObjectMapping) -> pl.Series:
    """The event id each history row stands for (whether or not it is a transition)."""
    if mapping.history == "changes":
        return _changes(rows, mapping).collect()["event_id"]
    field = str(mapping.field or "stage")
    one = rows.with_columns(pl.lit(field).alias(_FIELD))
    return events_from_changes(
        one,
        record_entity=_record_entity(mapping),
        fields={field: field},
        field=_FIELD,
        old="from_value",
    ).collect()["event_id"]


def history_events(
    rows: pl.DataFrame, mapping: ObjectMapping, context: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Canonical stage_events (text) of a page of history rows.

    ``context``: for ``entered`` objects, the same records' other rows (earlier pages), in the
    same role columns; the events of ``rows`` are derived over both.
    """
    if mapping.history == "changes":
        return _changes(rows, mapping).collect()
    if context is None or context.height == 0:
        return _entered(rows, mapping).collect()
    union = pl.concat([context, rows], how="vertical").unique(
        ["record_id", "changed_at", "to_value"], keep="last", maintain_order=True
    )
    wanted = event_ids(rows, mapping)
    return _entered(union, mapping).filter(pl.col("event_id").is_in(wanted.implode())).collect()


def stage_entered_at(records: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Opportunities' ``stage_entered_at`` where null: when each last entered its current
    stage, from OpportunityHistory rows (role columns) of those opportunities."""
    mapping = ObjectMapping(history="entered", record_entity="opportunities", field="stage")
    events = _entered(history, mapping)
    filled = derive_entered_at(records, events, key="opportunity_id").collect()
    return filled.select(records.columns)


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=dict.fromkeys(STAGE_EVENT_COLUMNS, pl.String))
