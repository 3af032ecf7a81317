"""Salesforce records as frames: REST JSON and Bulk 2.0 CSV to one raw shape, then mapped.

Both paths give a frame of text columns named like the SELECT list (``Owner.Name`` for a
parent's field), so the mapping is the same whichever API read the page:

* REST records lose their ``attributes``; nested parent records are walked by path; numbers
  and booleans become text (``24000.0``, ``true``).
* Bulk 2.0 CSV is read with every column as text and no null markers but the empty field, so
  literal values such as ``"NA"`` survive as text.
* Datetimes are written one way (``2024-01-05T10:00:00.000Z``): REST sends ``+0000``, Bulk
  ``Z``; history event ids are built from them and must not depend on the API used.

:func:`map_object` then renames to canonical columns through the vendor-neutral
:func:`revgov.connectors.mapping.map_columns`, after resolving what only Salesforce has: a
list of fields (the first not null), polymorphic ids kept only when their key prefix points
at the right object (a WhoId is a lead or a contact), percent fields as shares, and compound
fields as the JSON of their components.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from revgov.connectors.mapping import map_columns
from revgov.connectors.salesforce._describe import FieldPlan
from revgov.connectors.salesforce.settings import ObjectMapping
from revgov.connectors.settings import EntityMapping
from revgov.model._types import FieldType

__all__ = ["csv_frame", "map_object", "normalise", "rest_frame"]

_SYNTH = "__sf__"


def _dig(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def rest_frame(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> pl.DataFrame:
    """REST query records (parsed JSON) as text columns named like ``fields``."""
    if not records:
        return pl.DataFrame(schema=dict.fromkeys(fields, pl.String))
    try:
        # polars reads the page in one pass, nested parents as structs.
        raw = pl.from_dicts(records, infer_schema_length=None)
        return raw.select(_text_path(raw.schema, name).alias(name) for name in fields)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return _walked(records, fields)


def _text_path(schema: pl.Schema, name: str) -> pl.Expr:
    """The text of ``name`` (``Owner.Name`` walks the parent's struct), null if absent."""
    head, *rest = name.split(".")
    dtype: Any = schema.get(head)
    expr = pl.col(head)
    for part in rest:
        if not isinstance(dtype, pl.Struct) or part not in {f.name for f in dtype.fields}:
            return pl.lit(None, pl.String)
        dtype = next(f.dtype for f in dtype.fields if f.name == part)
        expr = expr.struct.field(part)
    if dtype is None:
        return pl.lit(None, pl.String)
    if isinstance(dtype, pl.Struct | pl.List):
        return expr.struct.json_encode() if isinstance(dtype, pl.Struct) else expr.cast(pl.String)
    return expr.cast(pl.String)


def _walked(records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> pl.DataFrame:
    """The same, one value at a time (for pages polars cannot read as a whole)."""
    columns: dict[str, pl.Series] = {}
    for name in fields:
        if "." in name:
            path = name.split(".")
            values = [_dig(r, path) for r in records]
        else:
            values = [r.get(name) for r in records]
        columns[name] = pl.Series(name, values, dtype=pl.String, strict=False)
    return pl.DataFrame(columns, schema=dict.fromkeys(fields, pl.String))


def csv_frame(body: bytes, fields: Sequence[str]) -> pl.DataFrame:
    """A Bulk 2.0 CSV result page as text columns (only the empty field is null)."""
    if not body.strip():
        return pl.DataFrame(schema=dict.fromkeys(fields, pl.String))
    frame = pl.read_csv(io.BytesIO(body), infer_schema=False, null_values=None)
    missing = [f for f in fields if f not in frame.columns]
    if missing:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(f) for f in missing)
    return frame.select(fields)


def _utc_z(column: str) -> pl.Expr:
    """REST's ``...000+0000`` as Bulk's ``...000Z`` (a suffix swap: no regex on hot paths)."""
    text = pl.col(column)
    rest = text.str.ends_with("+0000")
    return pl.when(rest).then(text.str.strip_suffix("+0000") + "Z").otherwise(text).alias(column)


def normalise(frame: pl.DataFrame, plan: FieldPlan) -> pl.DataFrame:
    """One spelling of datetimes, one row per Id (the last one read wins)."""
    fixes = [_utc_z(c) for c in plan.datetimes if c in frame.columns]
    out = frame.with_columns(fixes) if fixes else frame
    if out.height and out["Id"].n_unique() != out.height:
        out = out.unique(subset="Id", keep="last", maintain_order=True)
    return out


def _candidates(fields: str | list[str]) -> list[str]:
    return [f for f in ([fields] if isinstance(fields, str) else fields) if f]


def _source(name: str, plan: FieldPlan) -> pl.Expr:
    parts = plan.compound.get(name)
    if parts:
        struct = pl.struct([pl.col(p) for p in parts])
        empty = pl.all_horizontal([pl.col(p).is_null() for p in parts])
        return pl.when(empty).then(None).otherwise(struct.struct.json_encode())
    return pl.col(name)


def _with_prefix(expr: pl.Expr, prefixes: Sequence[str]) -> pl.Expr:
    return pl.when(expr.str.slice(0, 3).is_in(list(prefixes))).then(expr)


def map_object(
    raw: pl.DataFrame,
    entity: str,
    mapping: ObjectMapping,
    plan: FieldPlan,
    *,
    key_prefixes: Callable[[Sequence[str]], list[str]],
    where: str,
) -> tuple[pl.DataFrame, dict[str, FieldType]]:
    """Canonical columns of ``entity`` from a raw frame of ``plan.sobject``; with the custom
    fields' types."""
    synth: list[pl.Expr] = []
    columns: dict[str, str] = {"source_id": _SYNTH + "source_id"}
    synth.append(pl.col("Id").alias(_SYNTH + "source_id"))
    for target, fields in mapping.columns.items():
        names = [n for n in _candidates(fields) if n in plan.available]
        if not _candidates(fields):
            continue  # unmapped by the source ("")
        exprs = [_source(n, plan).cast(pl.String) for n in names]
        if target in mapping.prefixes:
            allowed = key_prefixes(mapping.prefixes[target])
            exprs = [_with_prefix(e, allowed) for e in exprs]
        expr = pl.coalesce(exprs) if exprs else pl.lit(None, pl.String)
        if target in (mapping.percent or ()):
            expr = (expr.cast(pl.Float64, strict=False) / 100).cast(pl.String)
        synth.append(expr.alias(_SYNTH + target))
        columns[target] = _SYNTH + target
    for name in mapping.custom_fields:
        if name not in plan.available:
            synth.append(pl.lit(None, pl.String).alias(name))
        elif name in plan.compound:
            synth.append(_source(name, plan).alias(name))
    prepared = raw.with_columns(synth)
    spec = EntityMapping(
        columns=columns,
        values={k: v for k, v in mapping.values.items() if k in columns},
        constants=dict(mapping.constants),
        custom_fields=dict(mapping.custom_fields),
    )
    mapped = map_columns(prepared.lazy(), entity, spec, where=where, auto_map=False)
    return mapped.frame.collect(), dict(mapped.extras)
