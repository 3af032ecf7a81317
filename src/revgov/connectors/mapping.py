"""Vendor-neutral mapping: export columns onto canonical ones, and the governed derivations.

Two steps, both plain expressions over frames:

* :func:`map_columns` renames a raw export (any CRM's) to canonical columns, as one source's
  ``[sources.entities.<entity>]`` table says: ``columns`` (canonical to export column),
  ``values`` (per canonical column, export value to canonical value), ``constants`` and
  ``custom_fields`` (kept as extra typed columns). An export column that is also a canonical
  name is taken as is unless ``auto_map`` is off.
* :func:`apply_definitions` fills in what the governed definitions imply and the export may lack:
  canonical stage names from any spelling of a stage, ``is_closed``/``is_won`` from the
  configured pipeline stages, canonical lifecycle stages, and the same for the from/to values
  of stage history. It runs for every connector, through the same definitions
  (:mod:`revgov.definitions`) the rules and the KPIs read.

Values stay text until :func:`revgov.model.type_records` types them, so a bad value reaches
quarantine with its raw text instead of failing here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import polars as pl

from revgov.config import Config
from revgov.connectors.settings import EntityMapping
from revgov.definitions.history import events_of
from revgov.definitions.lifecycle import LifecycleStages
from revgov.definitions.spelling import spelling_key_expr
from revgov.definitions.stages import PipelineStages
from revgov.errors import MappingError
from revgov.model.frames import LINEAGE_COLUMNS, FieldType, field_types, model_for

__all__ = [
    "MappedExport",
    "apply_definitions",
    "map_columns",
    "mapping_problems",
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


def mapping_problems(entity: str, spec: EntityMapping) -> list[tuple[tuple[str, ...], str, str]]:
    """What is wrong with ``spec`` whatever the export holds: ``(key, message, fix)`` for a
    custom field named like a canonical column, and for a ``[columns]`` or ``[constants]``
    entry that names no column of ``entity``. The config checks these when it is loaded;
    :func:`map_columns` refuses them too."""
    canonical = [c for c in field_types(entity) if c not in _NOT_MAPPABLE]
    problems: list[tuple[tuple[str, ...], str, str]] = []
    for name in spec.custom_fields:
        if name in canonical or name in LINEAGE_COLUMNS:
            problems.append(
                (
                    ("custom_fields", name),
                    f"custom field {name!r} is already a canonical {entity} column",
                    f'map it under [columns] ({name} = "<export column>") instead',
                )
            )
    for table, names in (("columns", spec.columns), ("constants", spec.constants)):
        for name in names:
            if name not in canonical and name not in spec.custom_fields:
                close = _closest(name, canonical)
                problems.append(
                    (
                        (table, name),
                        f"[{table}] names {name!r}, which is not a column of {entity}",
                        (f"did you mean {close!r}? " if close else "")
                        + "add it to custom_fields (with a type) to keep it as an extra column",
                    )
                )
    return problems


def _listing(names: list[str], limit: int = 40) -> str:
    """Column names for an error message: each cut to 40 characters, at most ``limit``."""
    shown = [n if len(n) <= 40 else n[:37] + "..." for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(shown) + more


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
    problems = mapping_problems(entity, spec)
    if problems:
        _, message, hint = problems[0]
        raise MappingError(f"{where}: {message}", hint=hint)

    columns = dict(spec.columns)
    for name in custom:
        columns.setdefault(name, name)
    if auto_map:
        for name in canonical:
            if name in available and name not in columns and name not in spec.constants:
                columns[name] = name
    # A file that shares no column with the mapping may not be an export at all (a path
    # pointing at the wrong file): its first line is never echoed.
    readable = bool(set(available) & ({*columns.values(), *canonical}))
    listed = (
        _listing(available)
        if readable
        else "none the mapping names (the file's first line is not shown)"
    )
    for target, export in columns.items():
        if export not in available:
            close = _closest(export, available) if readable else None
            raise MappingError(
                f"{where}: column {export!r} (mapped to {entity}.{target}) is not in the "
                f"export; available columns: {listed}",
                hint=(f"did you mean {close!r}? " if close else "")
                + f"fix the mapping of {target!r} in the source's [columns] table",
            )
    for key in model_for(entity).primary_key:
        if key not in columns and key not in spec.constants:
            close = _closest(key, available) if readable else None
            raise MappingError(
                f"{where}: the primary key {entity}.{key} is not mapped; available columns: "
                f"{listed}",
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


def _text(col: str) -> nw.Expr:
    """A column as text, with blanks as null."""
    t = nw.col(col).cast(nw.String())
    return nw.when(t.str.strip_chars() == "").then(nw.lit(None, nw.String())).otherwise(t)


def _opportunity_definitions(frame: nw.DataFrame[Any], config: Config) -> nw.DataFrame[Any]:
    if not config.pipelines or "stage" not in frame.columns:
        return frame
    stages = PipelineStages.of(config)
    default = nw.lit(stages.default, nw.String())
    pipe = nw.coalesce(_text("pipeline"), default) if "pipeline" in frame.columns else default
    stage = _text("stage")
    # The key once, as a column: every branch of the attribute chains reads it.
    keyed = frame.with_columns(spelling_key_expr(stage).alias("__key"))
    key = nw.col("__key")
    out = keyed.with_columns(
        nw.coalesce(stages.attr("name", stage, pipe, key=key), stage).alias("stage"),
        *[
            nw.coalesce(
                *([_text(flag)] if flag in frame.columns else []),
                stages.attr(flag, stage, pipe, key=key).cast(nw.String()),
            ).alias(flag)
            for flag in ("is_closed", "is_won")
        ],
    ).drop("__key")
    if "pipeline" not in frame.columns:
        out = out.with_columns(default.alias("pipeline"))
    return out


def _stage_event_definitions(frame: nw.DataFrame[Any], config: Config) -> nw.DataFrame[Any]:
    """from/to values of stage and lifecycle history, canonical like the records' own."""
    needed = {"field", "from_value", "to_value"}
    if not needed <= set(frame.columns):
        return frame
    stages = PipelineStages.of(config)
    lifecycle = LifecycleStages.of(config)
    names = frozenset(frame.columns)
    deals = events_of("opportunities", names=names)
    people = events_of("people", names=names)
    values = ("from_value", "to_value")
    keyed = frame.with_columns(*[spelling_key_expr(_text(c)).alias(f"__{c}_key") for c in values])
    return keyed.with_columns(
        *[
            nw.when(deals & (nw.col("field") == "stage"))
            .then(stages.canonical(_text(c), key=nw.col(f"__{c}_key")))
            .when(people & (nw.col("field") == "lifecycle_stage"))
            .then(lifecycle.canonical(_text(c), key=nw.col(f"__{c}_key")))
            .otherwise(nw.col(c))
            .alias(c)
            for c in values
        ]
    ).drop(*[f"__{c}_key" for c in values])


def apply_definitions(entity: str, frame: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Apply the governed definitions a mapped page may not carry itself.

    * opportunities: a stage spelled as its name or one of its ``aliases`` (in any case)
      becomes the stage's name; a missing ``pipeline`` column is the first configured
      pipeline; blank or missing ``is_closed``/``is_won`` come from the stage's definition
      (unknown stages stay null) (:mod:`revgov.definitions.stages`).
    * people: ``lifecycle_stage`` values that spell a stage or a ``lifecycle.map`` key (in
      any case) become the canonical stage; others are kept as they are
      (:mod:`revgov.definitions.lifecycle`).
    * stage_events: the from and to values of ``stage`` and ``lifecycle_stage`` history, the
      same way (a deal's pipeline is not known there: the first pipeline that has the
      spelling decides).

    Values are produced as text, for :func:`revgov.model.type_records` to type.
    """
    nf = nw.from_native(frame, eager_only=True)
    if entity == "opportunities":
        nf = _opportunity_definitions(nf, config)
    elif entity == "people" and "lifecycle_stage" in nf.columns:
        text = _text("lifecycle_stage")
        nf = nf.with_columns(spelling_key_expr(text).alias("__key"))
        canonical = LifecycleStages.of(config).canonical(text, key=nw.col("__key"))
        nf = nf.with_columns(canonical.alias("lifecycle_stage")).drop("__key")
    elif entity == "stage_events":
        nf = _stage_event_definitions(nf, config)
    out: pl.DataFrame = nf.to_native()
    return out


def pipeline_stage_records(config: Config) -> pl.DataFrame:
    """The configured pipelines as raw ``pipeline_stages`` records (one row per stage)."""
    rows = PipelineStages.of(config).rows()
    schema: Mapping[str, pl.DataType] = {
        "pipeline": pl.String(),
        "stage": pl.String(),
        "order": pl.Int64(),
        "probability": pl.Float64(),
        "is_closed": pl.Boolean(),
        "is_won": pl.Boolean(),
    }
    return pl.DataFrame(rows, schema=dict(schema))
