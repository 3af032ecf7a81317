"""One value per record for each play KPI, computed by the public KPI functions.

A play is measured record by record (the bootstrap resamples records), so each KPI is asked
for its value grouped by the record id: ``lead_to_opportunity(people, by="person_id")`` gives
each person's conversion (0 or 1), ``speed_to_lead(..., by="person_id")`` their hours to
first touch, and so on. The definitions stay the KPIs' own; only the grouping is the play's.
``meeting_rate`` (a meeting logged within ``window_days`` of entering) and
``pipeline_created`` per record (the amount of deals created within ``window_days`` of
entering) are read from activities and deals over the same window for every record.

Everything here builds lazy narwhals queries on the frames' own engine (polars, DuckDB,
PySpark); :func:`per_record` collects only the per-record values.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import narwhals as nw
import polars as pl

from revgov._typing import PlayEntity, PlayKPI
from revgov.config.schema import Config, PlayConfig
from revgov.config.schema.plays import Scalar
from revgov.errors import MetricInputError, PlayError
from revgov.metrics import (
    lead_to_opportunity,
    mql_to_sql,
    naive,
    opportunity_to_win,
    pipeline_created,
    speed_to_lead,
    stage_conversion,
    time_in_stage,
)

__all__ = [
    "ENTERED",
    "ID_COLUMNS",
    "entry_column",
    "lazy_frame",
    "matches",
    "naive_time",
    "per_record",
]

#: The record id column of each entity a play can be given to.
ID_COLUMNS: dict[PlayEntity, str] = {
    "people": "person_id",
    "accounts": "account_id",
    "opportunities": "opportunity_id",
}

#: The column holding when each record entered (naive UTC).
ENTERED = "__entered"
_RID = "__rid"
_VALUE = "__value"


def lazy_frame(frames: Mapping[str, Any], entity: str, *, needed_by: str) -> nw.LazyFrame[Any]:
    """``frames[entity]`` as a narwhals lazy frame; a missing frame names who needed it."""
    frame = frames.get(entity)
    if frame is None:
        raise PlayError(
            f"{needed_by} needs the {entity} frame, which was not given",
            hint=f"pass frames with an {entity!r} entry (e.g. SnapshotStore(...).frames())",
        )
    if isinstance(frame, nw.LazyFrame):
        return frame
    wrapped = nw.from_native(frame)
    if isinstance(wrapped, nw.DataFrame):
        return wrapped.lazy()
    return cast("nw.LazyFrame[Any]", wrapped)


def naive_time(lf: nw.LazyFrame[Any], column: str) -> nw.Expr:
    """``column`` as a naive UTC datetime (the KPIs' own reading of times), with the error a
    play's author can act on."""
    try:
        return naive(lf.collect_schema(), column)
    except MetricInputError as exc:
        raise PlayError(
            exc.message,
            hint="name a date or datetime column as the play's population.entered_at",
        ) from None


def _require(lf: nw.LazyFrame[Any], columns: Sequence[str], *, what: str) -> None:
    names = lf.collect_schema().names()
    for col in columns:
        if col not in names:
            close = difflib.get_close_matches(col, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PlayError(
                f"{what} has no column {col!r}",
                hint=hint + f"columns: {', '.join(names)}",
            )


def matches(
    lf: nw.LazyFrame[Any], where: Mapping[str, Scalar | list[Scalar]], *, what: str
) -> nw.Expr:
    """Whether a record meets every ``where`` entry (text compared without case; a null
    never matches)."""
    _require(lf, list(where), what=what)
    schema = lf.collect_schema()
    cond: nw.Expr = nw.lit(True)
    for column, wanted in where.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        col = nw.col(column)
        if schema[column] == nw.String:
            col = col.str.to_lowercase()
            values = [str(v).lower() for v in values]
        cond = cond & col.is_in(values).fill_null(False)
    return cond


def entry_column(play: PlayConfig) -> str:
    """The time that puts a record in the play: ``population.entered_at``, else the primary
    KPI's cohort time (``mql_at`` for MQL-to-SQL, ``created_at`` otherwise)."""
    if play.population.entered_at:
        return play.population.entered_at
    return "mql_at" if play.primary_kpi == "mql_to_sql" else "created_at"


def per_record(
    kpis: Sequence[PlayKPI],
    population: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """The population's records (``population``: the entity's rows with :data:`ENTERED`) with
    one column per KPI in ``kpis`` (null where the KPI has no value for the record), plus the
    ``keep`` columns, collected as polars."""
    id_col = ID_COLUMNS[play.population.entity]
    out = population.select(id_col, ENTERED, *keep)
    for kpi in kpis:
        values = _VALUES[kpi](population, frames, play=play, config=config, as_of=as_of)
        values = values.select(nw.col(id_col), nw.col(_VALUE).cast(nw.Float64).alias(kpi))
        out = out.join(values, on=id_col, how="left")
    collected = out.collect()
    native = (
        collected.to_polars()
        if not isinstance(collected.to_native(), pl.DataFrame)
        else collected.to_native()
    )
    return native.with_columns(pl.col(id_col).cast(pl.String))


def _window(play: PlayConfig) -> timedelta:
    return timedelta(days=play.window_days)


def _meeting_rate(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    id_col = ID_COLUMNS[play.population.entity]
    acts = lazy_frame(frames, "activities", needed_by="meeting_rate")
    _require(acts, [id_col, "type", "occurred_at"], what="activities")
    meetings = acts.filter(nw.col("type").str.to_lowercase() == "meeting").select(
        nw.col(id_col).alias(_RID), naive_time(acts, "occurred_at").alias("__t")
    )
    met = (
        pop.select(nw.col(id_col).alias(_RID), nw.col(ENTERED))
        .join(meetings, on=_RID, how="inner")
        .filter(
            (nw.col("__t") >= nw.col(ENTERED))
            & (nw.col("__t") < nw.col(ENTERED) + _window(play))
            & (nw.col("__t") <= as_of)
        )
        .select(_RID)
        .unique()
        .with_columns(nw.lit(1.0).alias("__met"))
    )
    return (
        pop.select(id_col)
        .join(met, left_on=id_col, right_on=_RID, how="left")
        .select(id_col, nw.col("__met").fill_null(0.0).alias(_VALUE))
    )


def _pipeline_created(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    id_col = ID_COLUMNS[play.population.entity]
    # A person's deals are those naming them as primary contact; an account's, its deals.
    link = "primary_person_id" if play.population.entity == "people" else "account_id"
    opps = lazy_frame(frames, "opportunities", needed_by="pipeline_created")
    _require(opps, [link, "created_at", "amount"], what="opportunities")
    deals = (
        opps.select(
            nw.col(link).alias(_RID),
            naive_time(opps, "created_at").alias("created_at"),
            nw.col("amount"),
        )
        .join(pop.select(nw.col(id_col).alias(_RID), nw.col(ENTERED)), on=_RID, how="inner")
        .filter(
            (nw.col("created_at") >= nw.col(ENTERED))
            & (nw.col("created_at") < nw.col(ENTERED) + _window(play))
            & (nw.col("created_at") <= as_of)
        )
    )
    amounts = pipeline_created(deals, by=_RID)
    return (
        pop.select(id_col)
        .join(
            amounts.select(_RID, "pipeline_amount", nw.lit(True).alias("__deals")),
            left_on=id_col,
            right_on=_RID,
            how="left",
        )
        .with_columns(
            # No deal created: no pipeline (0); deals whose amounts are all blank: unknown.
            nw.when(nw.col("__deals").is_null())
            .then(0.0)
            .otherwise(nw.col("pipeline_amount"))
            .alias(_VALUE)
        )
        .select(id_col, _VALUE)
    )


def _lead_to_opportunity(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    out = lead_to_opportunity(pop, frames.get("opportunities"), by="person_id")
    return out.select("person_id", nw.col("conversion_rate").alias(_VALUE))


def _mql_to_sql(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    out = mql_to_sql(
        pop,
        stage_events=frames.get("stage_events"),
        opportunities=frames.get("opportunities"),
        qualified=config.qualified if config else None,
        lifecycle=config.lifecycle if config else None,
        by="person_id",
    )
    return out.select("person_id", nw.col("conversion_rate").alias(_VALUE))


def _speed_to_lead(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    acts = lazy_frame(frames, "activities", needed_by="speed_to_lead")
    start = "mql_at" if entry_column(play) == "mql_at" else "created_at"
    out = speed_to_lead(
        pop,
        acts,
        sla=config.sla if config else None,
        as_of=as_of,
        start=start,
        by="person_id",
    )
    # A lead never contacted has no hours (they are left out, and said to be).
    return out.select("person_id", nw.col("mean_hours").alias(_VALUE))


def _opportunity_to_win(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    out = opportunity_to_win(pop, by="opportunity_id")
    return out.select("opportunity_id", nw.col("conversion_rate").alias(_VALUE))


#: The deal id as a grouping column (the stage KPIs already read ``opportunity_id`` as the key).
_DEAL = "__deal"


def _stage(play: PlayConfig, config: Config | None) -> str:
    """The play's stage, as the pipelines spell it (a typo is an error, never no deals)."""
    stage = str(play.stage)
    known = [s.name for p in config.pipelines for s in p.stages] if config else []
    if config is not None and stage.casefold() not in {k.casefold() for k in known}:
        close = difflib.get_close_matches(stage, known, n=1)
        raise PlayError(
            f"play {play.name!r}: stage {stage!r} is not a stage of any pipeline",
            hint=(f"did you mean {close[0]!r}? " if close else "") + f"stages: {', '.join(known)}",
        )
    return stage


def _stage_conversion(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    if config is None:
        raise PlayError("stage_conversion needs the config's pipelines", hint="pass config=")
    stage = _stage(play, config)
    events = lazy_frame(frames, "stage_events", needed_by="stage_conversion")
    out = stage_conversion(
        events,
        stages=config.pipelines,
        opportunities=pop.with_columns(nw.col("opportunity_id").alias(_DEAL)),
        by=_DEAL,
        window_days=play.window_days,
    )
    # Per deal, cumulative conversion at the stage is 1 when the deal reached it, else 0.
    out = out.filter(nw.col("stage").str.to_lowercase() == stage.casefold())
    return out.select(
        nw.col(_DEAL).alias("opportunity_id"), nw.col("cumulative_conversion").alias(_VALUE)
    )


def _time_in_stage(
    pop: nw.LazyFrame[Any],
    frames: Mapping[str, Any],
    *,
    play: PlayConfig,
    config: Config | None,
    as_of: datetime,
) -> nw.LazyFrame[Any]:
    stage = _stage(play, config)
    events = lazy_frame(frames, "stage_events", needed_by="time_in_stage")
    out = time_in_stage(
        events,
        as_of=as_of,
        pipelines=config.pipelines if config else None,
        opportunities=pop.with_columns(nw.col("opportunity_id").alias(_DEAL)),
        by=_DEAL,
    )
    # Deals that never entered the stage have no days (left out, and said to be).
    out = out.filter(nw.col("stage").str.to_lowercase() == stage.casefold())
    return out.select(nw.col(_DEAL).alias("opportunity_id"), nw.col("mean_days").alias(_VALUE))


_VALUES = {
    "meeting_rate": _meeting_rate,
    "lead_to_opportunity": _lead_to_opportunity,
    "mql_to_sql": _mql_to_sql,
    "speed_to_lead": _speed_to_lead,
    "opportunity_to_win": _opportunity_to_win,
    "pipeline_created": _pipeline_created,
    "stage_conversion": _stage_conversion,
    "time_in_stage": _time_in_stage,
}
