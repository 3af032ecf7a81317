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
from typing import Any

import polars as pl
from pydantic import ValidationError

from revgov.errors import SchemaMismatchError, UnknownEntityError
from revgov.model._base import CanonicalRecord
from revgov.model._casting import (
    blank_to_null,
    date_reasons,
    fast_cast,
    is_blank,
    is_text,
    slow_cast,
)
from revgov.model._numbers import (
    AMBIGUOUS_GROUPS,
    NOT_FINITE,
    NumberFormat,
    has_decimal_comma,
    number_reasons,
)
from revgov.model._types import DTYPES, EXPECTED, PY_TYPES, FieldType
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
    "DUPLICATE_KEY_REASON",
    "ENTITIES",
    "LINEAGE_COLUMNS",
    "QUARANTINE_SCHEMA",
    "REJECT_COLUMN",
    "REJECT_DTYPE",
    "FieldType",
    "TypedPage",
    "empty_frame",
    "field_types",
    "model_for",
    "polars_schema",
    "raw_frame",
    "type_records",
    "with_rejections",
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

#: The quarantine reason of a row whose primary key an earlier row of the same read has (in
#: the same page here; across pages the store finds them when it publishes the read).
DUPLICATE_KEY_REASON = "duplicate key in source"

#: Quarantined rows per field and page that pydantic explains one by one (see type_records).
EXPLAIN_LIMIT = 200

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


#: A page may carry this column: a connector's verdict on rows it could not read (a CSV record
#: with too few fields, a number not in the export's format), as a struct of the field, the raw
#: value and the reason. :func:`type_records` quarantines those rows with that reason first.
REJECT_COLUMN = "__revgov_reject"
REJECT_DTYPE = pl.Struct({"field": pl.String(), "raw": pl.String(), "reason": pl.String()})


def with_rejections(frame: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with :data:`REJECT_COLUMN` set for the rows of ``failures`` (columns
    ``__row``, ``__field``, ``__raw``, ``__reason``; the first failure of a row wins, and so
    does a rejection the row already carries)."""
    if failures.is_empty():
        return frame
    first = failures.unique(subset="__row", keep="first", maintain_order=True).select(
        pl.col("__row").cast(pl.UInt32),
        pl.struct(
            pl.col("__field").alias("field"),
            pl.col("__raw").alias("raw"),
            pl.col("__reason").alias("reason"),
        ).alias("__new"),
    )
    joined = frame.with_row_index("__row").join(
        first, on="__row", how="left", maintain_order="left"
    )
    existing = (
        pl.col(REJECT_COLUMN) if REJECT_COLUMN in frame.columns else pl.lit(None, REJECT_DTYPE)
    )
    return joined.with_columns(pl.coalesce(existing, pl.col("__new")).alias(REJECT_COLUMN)).drop(
        "__row", "__new"
    )


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
        return PY_TYPES[base]
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


def raw_frame(raw: pl.DataFrame | Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A page of raw records as a frame; dicts become all-text columns (the union of keys)."""
    if isinstance(raw, pl.DataFrame):
        return raw
    if not raw:
        return pl.DataFrame()
    columns: set[str] = set().union(*(rec.keys() for rec in raw))
    # Read every value as text: vendors mix numbers, strings and booleans in one field, and
    # the casts decide what a value means, the same way for every source.
    schema = dict.fromkeys(sorted(columns), pl.String())
    try:
        return pl.from_dicts(raw, schema=schema, strict=False)
    except pl.exceptions.PolarsError:
        # Values polars will not turn into text (datetime objects...): convert them here.
        data = {c: [_to_text(r.get(c)) for r in raw] for c in schema}
        return pl.DataFrame(data, schema=schema)


def _to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def type_records(
    entity: str,
    raw: pl.DataFrame | Sequence[Mapping[str, Any]],
    *,
    source_system: str,
    pulled_at: datetime | None = None,
    extras: Mapping[str, FieldType] | None = None,
    explain: int = EXPLAIN_LIMIT,
) -> TypedPage:
    """Type one page of raw records (already renamed to canonical columns) in bulk.

    ``raw`` is a frame (any dtypes) or a sequence of dicts. Columns the model has but the page
    lacks become nulls; columns the page has but neither the model nor ``extras`` name are
    ignored (the mapping decides what survives). Blank text is null, not an error. A row goes
    to quarantine when its connector rejected it (:data:`REJECT_COLUMN`), when its primary key
    is missing or repeats an earlier row's, or when a non-blank value cannot be cast to its
    field's type (NaN and infinity included); the reason names the first such field, and for a
    number written in another locale, the format that would read it. A value like ``1.200``
    in a column whose other values use a decimal comma is quarantined as ambiguous.
    Pydantic validates the first ``explain`` quarantined rows of each field (0: none) one by
    one to add a human-readable ``detail``; the vectorized ``reason`` is always there, so a
    page with a systematic problem costs no more than a few explanations.
    """
    model = model_for(entity)
    schema = polars_schema(entity, extras)
    ftypes = field_types(entity) | dict(extras or {})
    pulled = (pulled_at or datetime.now(UTC)).astimezone(UTC)
    df = raw_frame(raw)
    if df.height == 0:
        return TypedPage(
            entity, pl.DataFrame(schema=schema), pl.DataFrame(schema=QUARANTINE_SCHEMA)
        )
    checks: list[pl.DataFrame] = []  # one frame of failures per check
    if REJECT_COLUMN in df.columns:
        if df[REJECT_COLUMN].is_not_null().any():
            checks.append(_rejections(df[REJECT_COLUMN]))
        df = df.drop(REJECT_COLUMN)
    keys = model.primary_key
    _require_keys(entity, keys, df.columns)

    value_cols = [c for c in schema.names() if c not in LINEAGE_COLUMNS]
    present = [c for c in value_cols if c in df.columns]
    df = _scalar_sources(entity, df, present, ftypes)
    typed = _cast_values(df, present, ftypes, checks)
    checks += _key_checks(df, typed, keys, checks)

    key_text = pl.concat_str([pl.col(k) for k in keys], separator="|")
    if "source_id" in df.columns:  # the vendor's own id, when the mapping provides one
        typed = typed.with_columns(df["source_id"].alias("__sid"))
        key_text = pl.coalesce(blank_to_null(pl.col("__sid")), key_text)
    typed = typed.with_columns(key_text.alias("source_id"))
    lineage = [
        pl.lit(source_system).alias("source_system"),
        pl.col("source_id"),
        pl.lit(pulled).cast(pl.Datetime("us", "UTC")).alias("pulled_at"),
    ]
    columns = [
        (pl.col(c) if c in present else pl.lit(None)).cast(schema[c]).alias(c) for c in value_cols
    ]
    if not checks:
        frame = typed.select(*columns, *lineage)
        return TypedPage(entity, frame, pl.DataFrame(schema=QUARANTINE_SCHEMA))

    first = (
        pl.concat(checks)
        .sort("__row", "__rank")
        .unique(subset="__row", keep="first", maintain_order=True)
    )
    bad = first["__row"]
    keep = pl.repeat(True, df.height, dtype=pl.Boolean, eager=True).scatter(bad, False)
    frame = typed.filter(keep).select(*columns, *lineage)
    records = df[bad].select(pl.struct(pl.all()).struct.json_encode().alias("raw_record"))
    quarantine = first.select(
        pl.lit(entity).alias("entity"),
        pl.lit(source_system).alias("source_system"),
        typed["source_id"].gather(bad).alias("source_id"),
        pl.col("__field").alias("field"),
        pl.col("__raw").alias("raw_value"),
        pl.col("__reason").alias("reason"),
        pl.lit(None, pl.String).alias("detail"),
        records["raw_record"],
        pl.lit(pulled).cast(pl.Datetime("us", "UTC")).alias("pulled_at"),
    )
    if explain > 0:
        quarantine = _explain(model, quarantine, source_system, pulled, limit=explain)
    return TypedPage(entity=entity, frame=frame, quarantine=quarantine.cast(QUARANTINE_SCHEMA))


def _failures(
    rows: pl.Series, rank: int, field: str | pl.Series, reason: str | pl.Series, raw: pl.Series
) -> pl.DataFrame:
    """One row per failing record of one check; ``rank`` orders checks (rejections, keys,
    then fields in model order). ``field`` and ``reason`` are one text or one per row."""
    n = rows.len()

    def per_row(value: str | pl.Series) -> pl.Series:
        if isinstance(value, pl.Series):
            return value.cast(pl.String)
        return pl.Series([value] * n, dtype=pl.String)

    return pl.DataFrame(
        {
            "__row": rows.cast(pl.UInt32),
            "__rank": pl.Series([rank] * n, dtype=pl.Int32),
            "__field": per_row(field),
            "__reason": per_row(reason),
            "__raw": raw.cast(pl.String),
        }
    )


def _scalar_sources(
    entity: str, df: pl.DataFrame, present: list[str], ftypes: Mapping[str, FieldType]
) -> pl.DataFrame:
    """``df`` with every ``present`` column in a dtype the casts read: text, numbers, booleans,
    dates and timestamps. Categories, binary text, times and decimals become text or floats;
    numbers meant as dates are read as text (epoch milliseconds, like an API's), never as
    days or microseconds since 1970. A column of lists, structs or durations is an error."""
    fixes: list[pl.Expr] = []
    for c in present:
        dtype, ftype = df.schema[c], ftypes[c]
        col = pl.col(c)
        numeric = dtype.is_numeric()  # Decimal included
        if dtype == pl.Null():
            fixes.append(col.cast(DTYPES[ftype]))
        elif isinstance(dtype, pl.Categorical | pl.Enum | pl.Binary | pl.Time) or (
            numeric and ftype in ("date", "datetime")
        ):
            fixes.append(col.cast(pl.String))
        elif isinstance(dtype, pl.Decimal):
            fixes.append(col.cast(pl.Float64))
        elif not (numeric or dtype in (pl.String(), pl.Boolean(), pl.Date()) or _stamp(dtype)):
            raise SchemaMismatchError(
                f"{entity}.{c} is a column of {dtype} values: only single values (text, "
                "numbers, true/false, dates and timestamps) can be typed",
                hint=f"map a column that holds one {ftype} value per row to {c!r}",
            )
    if not fixes:
        return df
    try:
        return df.with_columns(fixes)
    except pl.exceptions.PolarsError as exc:  # bytes that are not UTF-8 text
        raise SchemaMismatchError(
            f"{entity}: a binary column of the page is not UTF-8 text",
            hint="export the column as text",
        ) from exc


def _stamp(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Datetime)


def _cast_values(
    df: pl.DataFrame,
    present: list[str],
    ftypes: Mapping[str, FieldType],
    checks: list[pl.DataFrame],
) -> pl.DataFrame:
    """``present`` columns of ``df`` cast to their types; failures appended to ``checks``."""
    src = df.schema
    typed = df.select(
        fast_cast(c, ftypes[c], src[c], df[c].drop_nulls().head(500)) for c in present
    )
    for rank, c in enumerate(present, start=1):
        ftype = ftypes[c]
        if ftype == "string":
            continue
        reasons = pl.Series(dtype=pl.String)
        if src[c] != DTYPES[ftype]:
            retry = (df[c].is_not_null() & typed[c].is_null()).arg_true()
            if retry.len() > 0:
                sub = df.select(pl.col(c).gather(retry))
                again = sub.select(slow_cast(c, ftype, src[c]))[c]
                typed = typed.with_columns(typed[c].scatter(retry, again))
                failed = again.is_null() & ~sub.select(is_blank(pl.col(c)))[c]
                if failed.any():
                    raw = sub[c].filter(failed).cast(pl.String)
                    reasons = _reasons(ftype, raw)
                    checks.append(_failures(retry.filter(failed), rank, c, reasons, raw))
        if ftype == "float":
            # NaN and infinity cast fine and then poison every sum: never values.
            finite = typed[c].is_finite().fill_null(True)
            if not finite.all():
                rows = (~finite).arg_true()
                raw = df[c].gather(rows).cast(pl.String)
                checks.append(_failures(rows, rank, c, NOT_FINITE, raw))
        if ftype in ("int", "float") and is_text(src[c]) and has_decimal_comma(reasons):
            checks += _ambiguous_groups(df, c, rank)
    return typed


def _reasons(ftype: FieldType, raw: pl.Series) -> pl.Series:
    """Why each of the ``raw`` values (text) could not be cast to ``ftype``."""
    if ftype in ("int", "float"):
        why = number_reasons(
            pl.col("v"), NumberFormat(), whole=ftype == "int", expected=EXPECTED[ftype]
        )
    elif ftype == "date":
        why = date_reasons(pl.col("v"))
    else:
        why = pl.lit(f"not {EXPECTED[ftype]}")
    return raw.to_frame("v").with_columns(why.alias("r"))["r"]


def _ambiguous_groups(df: pl.DataFrame, col: str, rank: int) -> list[pl.DataFrame]:
    """Values like ``1.200`` in a text column whose other values use a decimal comma: 1.2 with
    a decimal point, 1200 in the column's own format. Neither is a safe guess."""
    text = df[col].cast(pl.String).str.strip_chars()
    hits = text.str.contains(AMBIGUOUS_GROUPS).fill_null(False)
    if not hits.any():
        return []
    rows = hits.arg_true()
    why = (
        "ambiguous: 1.2 with a decimal point, but other values of this column use a decimal "
        'comma, which makes it 1200: set decimal = "," and thousands = "." in the export\'s '
        "number format"
    )
    return [_failures(rows, rank, col, why, df[col].gather(rows).cast(pl.String))]


def _rejections(column: pl.Series) -> pl.DataFrame:
    """The rows a connector rejected (the REJECT_COLUMN struct), as failures ranked first."""
    rows = column.is_not_null().arg_true()
    picked = column.gather(rows).struct.unnest()
    return _failures(rows, -1, picked["field"], picked["reason"], picked["raw"])


def _key_checks(
    df: pl.DataFrame, typed: pl.DataFrame, keys: tuple[str, ...], checks: list[pl.DataFrame]
) -> list[pl.DataFrame]:
    """Rows whose primary key is missing, or repeats an earlier storable row's.

    Of the rows that can be stored (no failure among ``checks``, a connector's rejection
    included), the first with a key is kept and later ones are duplicates: the store applies
    the same rule across the pages of a read, so the result does not depend on where pages
    begin.
    """
    out = []
    key_null = typed.select(pl.any_horizontal(pl.col(k).is_null() for k in keys)).to_series()
    if key_null.any():
        rows = key_null.arg_true()
        out.append(_failures(rows, 0, keys[0], "missing primary key", df[keys[0]].gather(rows)))
    unstored = key_null.clone()
    for check in checks:
        unstored = unstored.scatter(check["__row"], True)
    candidates = (~unstored).arg_true()
    key_frame = typed.select(keys)[candidates]
    if key_frame.n_unique() < key_frame.height:
        first_seen = key_frame.select(pl.struct(keys).is_first_distinct()).to_series()
        rows = candidates.filter(~first_seen)
        out.append(_failures(rows, 0, keys[0], DUPLICATE_KEY_REASON, df[keys[0]].gather(rows)))
    return out


def _require_keys(entity: str, keys: tuple[str, ...], columns: list[str]) -> None:
    missing = [k for k in keys if k not in columns]
    if missing:
        close = difflib.get_close_matches(missing[0], columns, n=1)
        raise SchemaMismatchError(
            f"{entity}: the page has no primary key column {missing[0]!r} "
            f"(columns: {', '.join(columns)})",
            hint=(f"did you map {close[0]!r}? " if close else "")
            + "map the vendor's id column to it in the source's [columns] table",
        )


def _explain(
    model: type[CanonicalRecord],
    quarantine: pl.DataFrame,
    source_system: str,
    pulled: datetime,
    *,
    limit: int,
) -> pl.DataFrame:
    """Per-row pydantic validation of (at most ``limit`` per field) quarantined rows."""
    import json

    picked = quarantine.with_row_index("__i").filter(pl.int_range(pl.len()).over("field") < limit)
    details: list[str | None] = []
    for rec_json, field in zip(picked["raw_record"], picked["field"], strict=True):
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
    detail = pl.Series([None] * quarantine.height, dtype=pl.String)
    detail = detail.scatter(picked["__i"], pl.Series(details, dtype=pl.String))
    return quarantine.with_columns(detail.alias("detail"))
