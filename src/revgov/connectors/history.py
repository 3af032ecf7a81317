"""Stage and lifecycle history in every shape CRMs keep it, as canonical ``stage_events``.

CRMs record history in four shapes; each function below turns one into the canonical
``stage_events`` columns (``event_id, record_entity, record_id, field, from_value, to_value,
changed_at, changed_by``), so rules and metrics never learn which CRM a history came from:

* :func:`events_from_entered`: one row per value entered, without the value before it
  (Salesforce OpportunityHistory). ``from_value`` is the record's previous row; rows that
  repeat the previous value (OpportunityHistory also writes one when only the amount or close
  date changed) are not transitions and are dropped. History lists that come newest first
  (HubSpot ``propertiesWithHistory``), once flattened to rows, are this shape too: rows are
  ordered by time here, whatever order they arrive in. Periodic snapshots of a record's value
  are this shape as well: the first snapshot that shows a new value is the change.
* :func:`events_from_changes`: rows of field changes with old and new values (Salesforce
  OpportunityFieldHistory and LeadHistory, generic audit logs).
* :func:`events_from_date_columns`: one column per stage holding when the record entered it
  (HubSpot ``hs_v2_date_entered_<stage id>`` and the older ``hs_date_entered_<stage id>``).

:func:`derive_entered_at` fills a record's ``stage_entered_at`` (or a lifecycle timestamp such
as ``mql_at``) from the events where the source lacks it.

Values stay text (timestamps are parsed only to order rows) so that typing and quarantine
remain :func:`revgov.model.type_records`'s job. An ``event_id`` is the source's own id of the
history row when there is one, else a composite of entity, record, field, time and value, so a
re-pull of the same history upserts the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

from revgov.model._casting import full_parse
from revgov.model.frames import LINEAGE_COLUMNS, field_types

__all__ = [
    "STAGE_EVENT_COLUMNS",
    "derive_entered_at",
    "events_from_changes",
    "events_from_date_columns",
    "events_from_entered",
]

#: The canonical stage_events columns a history becomes (the model's, without lineage).
STAGE_EVENT_COLUMNS = tuple(c for c in field_types("stage_events") if c not in LINEAGE_COLUMNS)

Frame = pl.DataFrame | pl.LazyFrame


def _lazy(frame: Frame) -> pl.LazyFrame:
    return frame.lazy() if isinstance(frame, pl.DataFrame) else frame


def _text(col: str) -> pl.Expr:
    text = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _moment(col: str) -> pl.Expr:
    """A timestamp column as an aware datetime, whatever its spelling (for ordering only)."""
    return full_parse(pl.col(col), "datetime")


def _finish(frame: pl.LazyFrame, record_entity: str, event_id: str | None) -> pl.LazyFrame:
    composite = pl.concat_str(
        [
            pl.lit(record_entity),
            pl.col("record_id"),
            pl.col("field"),
            pl.col("changed_at").fill_null(""),
            pl.col("to_value").fill_null(""),
        ],
        separator="|",
    )
    ident = composite if event_id is None else pl.coalesce(_text(event_id), composite)
    return frame.with_columns(
        ident.alias("event_id"), pl.lit(record_entity).alias("record_entity")
    ).select(STAGE_EVENT_COLUMNS)


def events_from_entered(
    frame: Frame,
    *,
    record_entity: str,
    field: str,
    record_id: str = "record_id",
    value: str = "to_value",
    changed_at: str = "changed_at",
    changed_by: str | None = None,
    event_id: str | None = None,
) -> pl.LazyFrame:
    """Rows of values entered (no "from") as transitions with the previous value derived.

    Rows are ordered by record and time (a stable sort: ties keep their arrival order); a
    row whose value equals the record's previous row's is dropped; the first row of a record
    has no ``from_value``. Rows without a record id, value or time cannot be placed and are
    dropped.
    """
    rows = (
        _lazy(frame)
        .with_row_index("__order")
        .select(
            _text(record_id).alias("record_id"),
            _text(value).alias("to_value"),
            _text(changed_at).alias("changed_at"),
            (_text(changed_by) if changed_by else pl.lit(None, pl.String)).alias("changed_by"),
            (_text(event_id) if event_id else pl.lit(None, pl.String)).alias("__source_id"),
            _moment(changed_at).alias("__moment"),
            pl.col("__order"),
        )
        .drop_nulls(["record_id", "to_value", "__moment"])
        .sort(["record_id", "__moment", "__order"])
    )
    previous = pl.col("to_value").shift(1).over("record_id")
    transitions = rows.filter(previous.is_null() | (previous != pl.col("to_value")))
    out = transitions.with_columns(
        pl.col("to_value").shift(1).over("record_id").alias("from_value"),
        pl.lit(field).alias("field"),
    )
    return _finish(out, record_entity, "__source_id" if event_id else None)


def events_from_changes(
    frame: Frame,
    *,
    record_entity: str,
    fields: Mapping[str, str],
    record_id: str = "record_id",
    field: str = "field",
    old: str = "from_value",
    new: str = "to_value",
    changed_at: str = "changed_at",
    changed_by: str | None = None,
    event_id: str | None = None,
) -> pl.LazyFrame:
    """Rows of field changes (old and new value) as events, for the fields in ``fields``.

    ``fields`` maps the source's field names (e.g. ``StageName``) to canonical ones (``stage``);
    rows of other fields are left out. Values are kept as text.
    """
    out = (
        _lazy(frame)
        .filter(pl.col(field).cast(pl.String).is_in(list(fields)))
        .select(
            _text(record_id).alias("record_id"),
            pl.col(field).cast(pl.String).replace_strict(dict(fields)).alias("field"),
            _text(old).alias("from_value"),
            _text(new).alias("to_value"),
            _text(changed_at).alias("changed_at"),
            (_text(changed_by) if changed_by else pl.lit(None, pl.String)).alias("changed_by"),
            (_text(event_id) if event_id else pl.lit(None, pl.String)).alias("__source_id"),
        )
        .drop_nulls(["record_id", "changed_at"])
    )
    return _finish(out, record_entity, "__source_id" if event_id else None)


def events_from_date_columns(
    frame: Frame,
    *,
    record_entity: str,
    field: str,
    columns: Mapping[str, str],
    record_id: str = "record_id",
) -> pl.LazyFrame:
    """Per-stage "date entered" columns as transitions.

    ``columns`` maps each column (e.g. ``hs_v2_date_entered_appointmentscheduled``) to the
    value entered (the stage). A record's filled columns, ordered by time, are its path; the
    previous one is each event's ``from_value``. Columns absent from the frame are skipped.
    """
    lf = _lazy(frame)
    present = [c for c in columns if c in lf.collect_schema().names()]
    if not present:
        return pl.LazyFrame(schema=dict.fromkeys(STAGE_EVENT_COLUMNS, pl.String))
    long = lf.select(
        _text(record_id).alias("record_id"), *[_text(c).alias(c) for c in present]
    ).unpivot(index="record_id", on=present, variable_name="__column", value_name="changed_at")
    long = long.with_columns(
        pl.col("__column").replace_strict({c: columns[c] for c in present}).alias("to_value")
    )
    return events_from_entered(
        long.drop_nulls("changed_at"), record_entity=record_entity, field=field
    )


def derive_entered_at(
    records: Frame,
    events: Frame,
    *,
    key: str,
    field: str = "stage",
    current: str | None = "stage",
    value: str | None = None,
    target: str = "stage_entered_at",
    which: Literal["first", "last"] = "last",
) -> pl.LazyFrame:
    """Fill ``target`` where it is null, from the record's ``field`` events.

    * ``stage_entered_at`` (the defaults): when the record last entered its ``current`` stage.
    * A lifecycle timestamp such as ``mql_at``: pass ``value="mql"``, ``current=None``,
      ``field="lifecycle_stage"``, ``which="first"``: when the person first entered ``mql``.

    ``events`` are canonical stage_events; records with no matching event keep their value.
    """
    lf = _lazy(records)
    schema = lf.collect_schema()
    at_dtype = schema.get(target, pl.String)
    ev = _lazy(events)
    # Ordered by the moment, not the text: "3/10/2024" sorts before "3/9/2024" as text.
    stamped = ev.collect_schema().get("changed_at", pl.String).is_temporal()
    moment = pl.col("changed_at") if stamped else _moment("changed_at")
    ordered = pl.col("__at").sort_by("__moment")
    entered = (
        ev.filter(pl.col("field") == field)
        .select(
            pl.col("record_id").cast(pl.String).alias("__key"),
            pl.col("to_value").cast(pl.String).alias("__value"),
            pl.col("changed_at").cast(at_dtype, strict=False).alias("__at"),
            moment.alias("__moment"),
        )
        .drop_nulls("__moment")
        .group_by(["__key", "__value"])
        .agg(ordered.first() if which == "first" else ordered.last())
    )
    wanted = pl.lit(value, pl.String) if value is not None else pl.col(str(current)).cast(pl.String)
    joined = lf.with_columns(
        pl.col(key).cast(pl.String).alias("__key"), wanted.alias("__value")
    ).join(entered, on=["__key", "__value"], how="left", maintain_order="left")
    filled = pl.coalesce(pl.col(target), pl.col("__at")) if target in schema else pl.col("__at")
    return joined.with_columns(filled.alias(target)).drop("__key", "__value", "__at")
