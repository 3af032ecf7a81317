"""Vendor-neutral mapping: export columns onto canonical ones, and the governed derivations.

Two steps, both plain expressions over frames:

* :func:`map_columns` renames a raw export (any CRM's) to canonical columns, as one source's
  ``[sources.entities.<entity>]`` table says: ``columns`` (canonical to export column),
  ``values`` (per canonical column, export value to canonical value), ``constants`` and
  ``custom_fields`` (kept as extra typed columns). An export column that is also a canonical
  name is taken as is unless ``auto_map`` is off.
* :func:`apply_definitions` fills in what the governed definitions imply and the export may lack:
  canonical stage names from stage aliases, ``is_closed``/``is_won`` from the configured pipeline
  stages, and canonical lifecycle stages from ``lifecycle.map``. It runs for every connector.

Values stay text until :func:`revgov.model.type_records` types them, so a bad value reaches
quarantine with its raw text instead of failing here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from revgov.config import Config
from revgov.connectors.settings import EntityMapping
from revgov.errors import MappingError
from revgov.model.frames import LINEAGE_COLUMNS, FieldType, field_types, model_for

__all__ = [
    "MappedExport",
    "apply_definitions",
    "map_columns",
    "pipeline_stage_records",
]

#: Lineage columns the loader fills itself; a mapping may set only ``source_id``.
_NOT_MAPPABLE = frozenset(LINEAGE_COLUMNS) - {"source_id"}


@dataclass(frozen=True)
class MappedExport:
    """A raw export renamed to canonical columns (lazy), with its custom fields' types."""

    frame: pl.LazyFrame
    extras: dict[str, FieldType]
    #: Canonical (or custom) column to the export column it reads, after auto-mapping.
    columns: dict[str, str]


def _closest(name: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    if not found:
        lowered = {o.lower(): o for o in options}
        found = [lowered[name.lower()]] if name.lower() in lowered else []
    return found[0] if found else None


def map_columns(
    raw: pl.LazyFrame,
    entity: str,
    spec: EntityMapping,
    *,
    where: str,
    auto_map: bool = True,
) -> MappedExport:
    """Rename ``raw`` (export columns) to ``entity``'s canonical columns as ``spec`` says.

    ``where`` names the source in error messages (e.g. the file path). A mapped export column
    that does not exist raises :class:`~revgov.errors.MappingError` listing the available
    columns and the closest match; so does a canonical name the model does not have.
    """
    canonical = [c for c in field_types(entity) if c not in _NOT_MAPPABLE]
    available = raw.collect_schema().names()
    custom = dict(spec.custom_fields)

    for name in custom:
        if name in canonical or name in LINEAGE_COLUMNS:
            raise MappingError(
                f"{where}: custom field {name!r} is already a canonical {entity} column",
                hint=f'map it under [columns] ({name} = "<export column>") instead',
            )
    for table, names in (("columns", spec.columns), ("constants", spec.constants)):
        for name in names:
            if name not in canonical and name not in custom:
                close = _closest(name, canonical)
                raise MappingError(
                    f"{where}: [{table}] names {name!r}, which is not a column of {entity}",
                    hint=(f"did you mean {close!r}? " if close else "")
                    + "add it to custom_fields (with a type) to keep it as an extra column",
                )

    columns = dict(spec.columns)
    for name in custom:
        columns.setdefault(name, name)
    if auto_map:
        for name in canonical:
            if name in available and name not in columns and name not in spec.constants:
                columns[name] = name
    for target, export in columns.items():
        if export not in available:
            close = _closest(export, available)
            raise MappingError(
                f"{where}: column {export!r} (mapped to {entity}.{target}) is not in the "
                f"export; available columns: {', '.join(available)}",
                hint=(f"did you mean {close!r}? " if close else "")
                + f"fix the mapping of {target!r} in the source's [columns] table",
            )
    for key in model_for(entity).primary_key:
        if key not in columns and key not in spec.constants:
            close = _closest(key, available)
            raise MappingError(
                f"{where}: the primary key {entity}.{key} is not mapped; available columns: "
                f"{', '.join(available)}",
                hint=(f"did you mean {close!r}? " if close else "")
                + f'add {key} = "<export column>" to the source\'s [columns] table',
            )
    for name in spec.values:
        if name not in columns and name not in spec.constants:
            raise MappingError(
                f"{where}: [values] has a map for {name!r}, which is not mapped",
                hint=f"map {name!r} under [columns] first, or remove its value map",
            )

    exprs: list[pl.Expr] = []
    for target, export in columns.items():
        expr = pl.col(export)
        if target in spec.values:
            expr = expr.cast(pl.String).replace(spec.values[target])
        if target in spec.constants:
            # A mapped column with a constant: the constant fills the blanks only.
            blank = expr.cast(pl.String).str.strip_chars() == ""
            const = pl.lit(spec.constants[target])
            expr = pl.when(expr.is_null() | blank).then(const).otherwise(expr.cast(pl.String))
        exprs.append(expr.alias(target))
    for target, value in spec.constants.items():
        if target not in columns:
            exprs.append(pl.lit(value, pl.String).alias(target))
    return MappedExport(frame=raw.select(exprs), extras=custom, columns=columns)


def _text(col: str) -> pl.Expr:
    """A column as text, with blanks as null."""
    s = pl.col(col).cast(pl.String)
    return pl.when(s.str.strip_chars() == "").then(None).otherwise(s)


def _stage_table(config: Config) -> pl.DataFrame:
    """One row per (pipeline, vendor spelling): canonical stage, is_closed, is_won."""
    rows: dict[str, list[object]] = {
        "__pipeline": [],
        "__spelling": [],
        "__stage": [],
        "__closed": [],
        "__won": [],
    }
    for pipeline in config.pipelines:
        seen: set[str] = set()
        for stage in pipeline.ordered():
            for spelling in (stage.name, *stage.aliases):
                if spelling in seen:
                    continue
                seen.add(spelling)
                rows["__pipeline"].append(pipeline.name)
                rows["__spelling"].append(spelling)
                rows["__stage"].append(stage.name)
                rows["__closed"].append(stage.is_closed)
                rows["__won"].append(stage.is_won)
    return pl.DataFrame(
        rows,
        schema={
            "__pipeline": pl.String,
            "__spelling": pl.String,
            "__stage": pl.String,
            "__closed": pl.Boolean,
            "__won": pl.Boolean,
        },
    )


def _fill_flag(frame: pl.DataFrame, col: str, derived: str) -> pl.Expr:
    flag = pl.col(derived).cast(pl.String)
    if col not in frame.columns:
        return flag.alias(col)
    return pl.coalesce(_text(col), flag).alias(col)


def _opportunity_definitions(frame: pl.DataFrame, config: Config) -> pl.DataFrame:
    if not config.pipelines or "stage" not in frame.columns:
        return frame
    default = config.pipelines[0].name
    has_pipeline = "pipeline" in frame.columns
    pipeline = pl.coalesce(_text("pipeline"), pl.lit(default)) if has_pipeline else pl.lit(default)
    keyed = frame.with_columns(
        pipeline.alias("__pipeline"), pl.col("stage").cast(pl.String).alias("__spelling")
    )
    joined = keyed.join(
        _stage_table(config), on=["__pipeline", "__spelling"], how="left", maintain_order="left"
    )
    out = joined.with_columns(
        pl.coalesce(pl.col("__stage"), _text("stage")).alias("stage"),
        _fill_flag(frame, "is_closed", "__closed"),
        _fill_flag(frame, "is_won", "__won"),
    )
    if not has_pipeline:
        out = out.with_columns(pl.col("__pipeline").alias("pipeline"))
    return out.drop("__pipeline", "__spelling", "__stage", "__closed", "__won")


def _lifecycle_definitions(frame: pl.DataFrame, config: Config, col: str) -> pl.DataFrame:
    if col not in frame.columns:
        return frame
    lookup: dict[str, str] = {s.lower(): s for s in config.lifecycle.stages}
    lookup |= {vendor.strip().lower(): stage for vendor, stage in config.lifecycle.map.items()}
    text = _text(col)
    canonical = (
        text.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(lookup, default=text, return_dtype=pl.String)
    )
    return frame.with_columns(canonical.alias(col))


def apply_definitions(entity: str, frame: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Apply the governed definitions a mapped page may not carry itself.

    * opportunities: a stage spelled as one of its ``aliases`` becomes the stage's name; a
      missing ``pipeline`` column is the first configured pipeline; blank or missing
      ``is_closed``/``is_won`` come from the stage's definition (unknown stages stay null).
    * people: ``lifecycle_stage`` values (any case) map through ``lifecycle.map``; values that
      spell a canonical stage in another case become that stage; others are kept as they are.

    Values are produced as text, for :func:`revgov.model.type_records` to type.
    """
    if entity == "opportunities":
        return _opportunity_definitions(frame, config)
    if entity == "people":
        return _lifecycle_definitions(frame, config, "lifecycle_stage")
    return frame


def pipeline_stage_records(config: Config) -> pl.DataFrame:
    """The configured pipelines as raw ``pipeline_stages`` records (one row per stage)."""
    rows = [
        {
            "pipeline": p.name,
            "stage": s.name,
            "order": s.order,
            "probability": s.probability,
            "is_closed": s.is_closed,
            "is_won": s.is_won,
        }
        for p in config.pipelines
        for s in p.ordered()
    ]
    schema: Mapping[str, pl.DataType] = {
        "pipeline": pl.String(),
        "stage": pl.String(),
        "order": pl.Int64(),
        "probability": pl.Float64(),
        "is_closed": pl.Boolean(),
        "is_won": pl.Boolean(),
    }
    return pl.DataFrame(rows, schema=dict(schema))
