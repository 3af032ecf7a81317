"""Polars schemas derived from the entity models, and bulk typing with quarantine.

The pydantic model of each entity is the single source of truth: :func:`polars_schema` reads
its fields, and :func:`type_records` casts a whole page of raw records in one vectorized pass.
Rows that cannot be typed go to the quarantine frame with the field, the raw value and the
reason; pydantic validates those rows one by one only to explain them. For every page,
``rows in == rows typed + rows quarantined``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import polars as pl
from pydantic import ValidationError

from revgov.errors import SchemaMismatchError, UnknownEntityError
from revgov.model._base import CanonicalRecord
from revgov.model.accounts import Account
from revgov.model.activities import Activity
from revgov.model.campaigns import Campaign, CampaignTouch
from revgov.model.opportunities import Opportunity
from revgov.model.people import Person
from revgov.model.pipeline_stages import PipelineStage
from revgov.model.plans import Spend, Target
from revgov.model.stage_events import StageEvent
from revgov.model.users import User

__all__ = [
    "ENTITIES",
    "LINEAGE_COLUMNS",
    "QUARANTINE_SCHEMA",
    "FieldType",
    "TypedPage",
    "empty_frame",
    "field_types",
    "model_for",
    "polars_schema",
    "type_records",
]

ENTITIES: dict[str, type[CanonicalRecord]] = {
    m.entity: m
    for m in (
        Account,
        Person,
        Opportunity,
        StageEvent,
        Activity,
        Campaign,
        CampaignTouch,
        User,
        PipelineStage,
        Spend,
        Target,
    )
}

LINEAGE_COLUMNS = ("source_system", "source_id", "pulled_at")

FieldType = Literal["string", "int", "float", "bool", "date", "datetime"]

#: Polars dtype for each field type a model or a custom field may use.
DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
}

_PY_TYPES: dict[type, FieldType] = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    date: "date",
    datetime: "datetime",
}

QUARANTINE_SCHEMA = pl.Schema(
    {
        "entity": pl.String(),
        "source_system": pl.String(),
        "source_id": pl.String(),
        "field": pl.String(),
        "raw_value": pl.String(),
        "reason": pl.String(),
        "detail": pl.String(),
        "raw_record": pl.String(),
        "pulled_at": pl.Datetime("us", "UTC"),
    }
)

# Datetime spellings seen in CRM APIs and exports, tried in order (first match wins).
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z")
_NAIVE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
)
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")

_EXPECTED: dict[str, str] = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a timestamp (ISO 8601 or epoch milliseconds)",
}


def model_for(entity: str) -> type[CanonicalRecord]:
    """The pydantic model of ``entity``; an unknown name suggests the closest one."""
    try:
        return ENTITIES[entity]
    except KeyError:
        close = difflib.get_close_matches(entity, ENTITIES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(ENTITIES)}"
        raise UnknownEntityError(f"unknown entity {entity!r}", hint=hint) from None


def field_types(entity: str) -> dict[str, FieldType]:
    """Field name to field type, in model order, lineage last."""
    model = model_for(entity)
    out: dict[str, FieldType] = {}
    lineage: dict[str, FieldType] = {}
    for name, info in model.model_fields.items():
        ftype = _field_type(info.annotation)
        (lineage if name in LINEAGE_COLUMNS else out)[name] = ftype
    return out | lineage


def _field_type(annotation: Any) -> FieldType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    base = args[0] if origin in (typing.Union, types.UnionType) and len(args) == 1 else annotation
    try:
        return _PY_TYPES[base]
    except KeyError:  # pragma: no cover - guarded by tests over every model
        raise TypeError(f"unsupported field annotation {annotation!r}") from None


def polars_schema(entity: str, extras: Mapping[str, FieldType] | None = None) -> pl.Schema:
    """The polars schema of ``entity``, plus the config's custom fields (before lineage)."""
    types_ = field_types(entity)
    core = {k: v for k, v in types_.items() if k not in LINEAGE_COLUMNS}
    core |= dict(extras or {})
    core |= {k: types_[k] for k in LINEAGE_COLUMNS}
    return pl.Schema({k: DTYPES[v] for k, v in core.items()})


def empty_frame(entity: str, extras: Mapping[str, FieldType] | None = None) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(entity, extras))


@dataclass(frozen=True)
class TypedPage:
    """The result of typing one page: the typed rows and the quarantined ones."""

    entity: str
    frame: pl.DataFrame
    quarantine: pl.DataFrame

    @property
    def rows_in(self) -> int:
        return self.frame.height + self.quarantine.height


def _blank_to_null(col: str) -> pl.Expr:
    """Text of ``col`` with blank (empty or whitespace-only) values as null; else unchanged."""
    s = pl.col(col).cast(pl.String)
    return pl.when(s.str.strip_chars() == "").then(None).otherwise(s)


def _parse(raw: pl.Expr, ftype: FieldType) -> pl.Expr:
    """A vectorized parse of a string expression into ``ftype``; null where it fails."""
    raw = raw.str.strip_chars()
    if ftype == "int":
        as_float = raw.cast(pl.Float64, strict=False)
        whole = pl.when(as_float == as_float.floor()).then(as_float).cast(pl.Int64, strict=False)
        return pl.coalesce(raw.cast(pl.Int64, strict=False), whole)
    if ftype == "float":
        return raw.cast(pl.Float64, strict=False)
    if ftype == "bool":
        low = raw.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    if ftype == "date":
        return pl.coalesce(
            raw.str.to_date("%Y-%m-%d", strict=False),
            _parse(raw, "datetime").dt.date(),
        )
    parsed = [
        raw.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC")
        for f in _AWARE_FORMATS
    ]
    parsed += [
        raw.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    parsed.append(
        raw.str.to_date("%Y-%m-%d", strict=False)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    epoch_ms = (
        pl.when(raw.str.contains(r"^\d{11,13}$"))
        .then(raw.cast(pl.Int64, strict=False))
        .cast(pl.Datetime("ms"))
        .dt.cast_time_unit("us")
        .dt.replace_time_zone("UTC")
    )
    parsed.append(epoch_ms)
    return pl.coalesce(*parsed)


def _typed_expr(col: str, ftype: FieldType, source: pl.DataType) -> pl.Expr:
    target = DTYPES[ftype]
    if ftype == "string":
        return _blank_to_null(col)
    if source == target:
        return pl.col(col)
    if source == pl.String() or source == pl.Null():
        return _parse(_blank_to_null(col), ftype)
    if ftype == "datetime" and source == pl.Date():
        return pl.col(col).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if ftype == "datetime" and isinstance(source, pl.Datetime):
        col_e = pl.col(col).dt.cast_time_unit("us")
        if source.time_zone is None:
            return col_e.dt.replace_time_zone("UTC")
        return col_e.dt.convert_time_zone("UTC")
    if ftype == "date" and isinstance(source, pl.Datetime):
        return pl.col(col).dt.date()
    if source.is_numeric() or source == pl.Boolean():
        return pl.col(col).cast(target, strict=False)
    return _parse(_blank_to_null(col), ftype)


def _as_frame(raw: pl.DataFrame | Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    if isinstance(raw, pl.DataFrame):
        return raw
    columns: dict[str, None] = {}
    for rec in raw:
        columns.update(dict.fromkeys(rec))
    # Read everything as text first: vendors mix numbers, strings and booleans in one field.
    data = {c: [_to_text(r.get(c)) for r in raw] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String()))


def _to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def type_records(
    entity: str,
    raw: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    source_system: str,
    pulled_at: datetime | None = None,
    extras: Mapping[str, FieldType] | None = None,
    explain: bool = True,
) -> TypedPage:
    """Type one page of raw records (already renamed to canonical columns) in bulk.

    ``raw`` is a frame (any dtypes) or a sequence of dicts. Columns the model has but the page
    lacks become nulls; columns the page has but neither the model nor ``extras`` name are
    ignored (the mapping decides what survives). A row goes to quarantine when its primary key
    is missing or repeats an earlier row's, or when a non-blank value cannot be cast to its
    field's type. With ``explain``, pydantic validates each quarantined row to add a detail.
    """
    model = model_for(entity)
    schema = polars_schema(entity, extras)
    ftypes = field_types(entity) | dict(extras or {})
    pulled = (pulled_at or datetime.now(UTC)).astimezone(UTC)
    df = _as_frame(raw)
    keys = model.primary_key
    missing_keys = [k for k in keys if k not in df.columns]
    if missing_keys and df.height:
        close = difflib.get_close_matches(missing_keys[0], df.columns, n=1)
        raise SchemaMismatchError(
            f"{entity}: the page has no primary key column {missing_keys[0]!r} "
            f"(columns: {', '.join(df.columns)})",
            hint=(f"did you map {close[0]!r}? " if close else "")
            + "map the vendor's id column to it in the source's [columns] table",
        )

    value_cols = [c for c in schema.names() if c not in LINEAGE_COLUMNS]
    present = [c for c in value_cols if c in df.columns]
    src_schema = df.schema
    typed = [_typed_expr(c, ftypes[c], src_schema[c]).alias(c) for c in present]
    raw_text = [_blank_to_null(c).alias(f"__raw_{c}") for c in present]
    has_sid = "source_id" in df.columns
    key_text = pl.concat_str([_blank_to_null(k) for k in keys], separator="|")
    sid = pl.coalesce(_blank_to_null("source_id"), key_text) if has_sid else key_text

    work = (
        df.lazy()
        .with_row_index("__row")
        .select(
            "__row",
            *typed,
            *raw_text,
            sid.alias("source_id"),
            pl.struct(pl.all().exclude("__row")).struct.json_encode().alias("__record"),
        )
    )
    # First failing field per row, in model order: keys first.
    fail_checks: list[tuple[str, pl.Expr, str]] = []
    for k in keys:
        fail_checks.append((k, pl.col(k).is_null(), "missing primary key"))
    dup = ~pl.struct(list(keys)).is_first_distinct()
    fail_checks.append(
        (
            keys[0],
            dup & pl.all_horizontal([pl.col(k).is_not_null() for k in keys]),
            "duplicate primary key (an earlier row in the page has it)",
        )
    )
    for c in present:
        if ftypes[c] == "string":
            continue
        fail_checks.append(
            (
                c,
                pl.col(f"__raw_{c}").is_not_null() & pl.col(c).is_null(),
                f"not {_EXPECTED[ftypes[c]]}",
            )
        )
    field_expr: pl.Expr = pl.lit(None, pl.String)
    reason_expr: pl.Expr = pl.lit(None, pl.String)
    raw_expr: pl.Expr = pl.lit(None, pl.String)
    for col, cond, why in reversed(fail_checks):
        field_expr = pl.when(cond).then(pl.lit(col)).otherwise(field_expr)
        reason_expr = pl.when(cond).then(pl.lit(why)).otherwise(reason_expr)
        raw_col = f"__raw_{col}" if col in present else None
        raw_val = pl.col(raw_col) if raw_col else pl.lit(None, pl.String)
        raw_expr = pl.when(cond).then(raw_val).otherwise(raw_expr)
    checked = work.with_columns(
        field_expr.alias("__field"), reason_expr.alias("__reason"), raw_expr.alias("__rawv")
    ).collect()

    bad_mask = checked["__field"].is_not_null()
    good = checked.filter(~bad_mask)
    bad = checked.filter(bad_mask)

    frame = good.select(
        *[
            (pl.col(c) if c in present else pl.lit(None)).cast(schema[c]).alias(c)
            for c in value_cols
        ],
        pl.lit(source_system).alias("source_system"),
        pl.col("source_id"),
        pl.lit(pulled).cast(pl.Datetime("us", "UTC")).alias("pulled_at"),
    )
    quarantine = bad.select(
        pl.lit(entity).alias("entity"),
        pl.lit(source_system).alias("source_system"),
        pl.col("source_id"),
        pl.col("__field").alias("field"),
        pl.col("__rawv").alias("raw_value"),
        pl.col("__reason").alias("reason"),
        pl.lit(None, pl.String).alias("detail"),
        pl.col("__record").alias("raw_record"),
        pl.lit(pulled).cast(pl.Datetime("us", "UTC")).alias("pulled_at"),
    )
    if explain and quarantine.height:
        quarantine = quarantine.with_columns(
            pl.Series("detail", _explain(model, quarantine, source_system, pulled), pl.String)
        )
    return TypedPage(entity=entity, frame=frame, quarantine=quarantine.cast(QUARANTINE_SCHEMA))


def _explain(
    model: type[CanonicalRecord], quarantine: pl.DataFrame, source_system: str, pulled: datetime
) -> list[str | None]:
    """Per-row pydantic validation of the quarantined rows only, for a human-readable detail."""
    import json

    details: list[str | None] = []
    for rec_json, field in zip(quarantine["raw_record"], quarantine["field"], strict=True):
        record = {k: v for k, v in json.loads(rec_json).items() if v not in (None, "")}
        record |= {"source_system": source_system, "pulled_at": pulled}
        record.setdefault("source_id", "?")
        try:
            model.model_validate(record)
        except ValidationError as exc:
            errs = [e for e in exc.errors() if e["loc"] and e["loc"][0] == field] or exc.errors()
            details.append("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errs))
        else:
            details.append(None)
    return details
