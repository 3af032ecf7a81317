"""The snapshot as it stood at ``as_of``: the shared cut-off behind every time-dependent KPI.

A snapshot holds today's state; measuring "as of" an earlier moment means forgetting what
happened after it. :func:`frames_as_of` applies one rule to every entity, so no KPI can
forget to:

- records created after ``as_of`` do not exist yet (opportunities, people, accounts,
  campaigns); stage events, activities and campaign touches after it have not happened;
  spend lines of later periods have not been spent;
- a deal closed after ``as_of`` is still open: its won/closed flags are cleared, its
  ``closed_at`` is blank, and its stage is the one its stage history shows at ``as_of``
  (blank when the history cannot tell);
- a person's MQL time or conversion after ``as_of`` has not happened, and a lifecycle stage
  changed after it is read back from the lifecycle stage history.

Rows whose timestamp is blank are kept (they cannot be placed). Targets, users and the
pipeline definition are plans and reference data, not history: they are kept whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import narwhals as nw
import polars as pl

from revgov.metrics._frames import back, has, lazy, lookup_join
from revgov.metrics._history import with_next_time
from revgov.metrics._kpi import close_time, closed_flag, won_flag
from revgov.metrics._time import naive

__all__ = ["frames_as_of"]

#: Entity -> the column whose moment must not be after ``as_of`` for the row to exist.
_EXISTS_FROM = {
    "accounts": "created_at",
    "campaigns": "created_at",
    "stage_events": "changed_at",
    "activities": "occurred_at",
    "campaign_touches": "touched_at",
    "spend": "period",
}


def _not_after(lf: nw.LazyFrame[Any], column: str, cutoff: datetime) -> nw.Expr:
    """True where ``column`` is blank or not after ``cutoff``."""
    return ~(naive(lf.collect_schema(), column) > nw.lit(cutoff)).fill_null(False)


def frames_as_of(frames: Mapping[str, Any], cutoff: datetime) -> dict[str, Any]:
    """Every frame as it stood at ``cutoff`` (a naive UTC datetime); same kinds of frames out.

    Opportunities should already carry their stage's won/closed flags (as
    :func:`~revgov.metrics.with_stage_attributes` fills them), so that a deal closed after
    ``cutoff`` is recognised as closed before it is reopened.
    """
    out = dict(frames)
    for entity, column in _EXISTS_FROM.items():
        frame = out.get(entity)
        if frame is None:
            continue
        lf = lazy(frame, name=entity)
        if has(lf, column):
            out[entity] = back(lf.filter(_not_after(lf, column, cutoff)), frame)
    # Which records changed after the cut-off is read from the whole (uncut) history.
    events = frames.get("stage_events")
    ev = lazy(events, name="stage_events") if events is not None else None
    opps = out.get("opportunities")
    if opps is not None:
        out["opportunities"] = back(
            _opportunities(lazy(opps, name="opportunities"), ev, cutoff), opps
        )
    people = out.get("people")
    if people is not None:
        original = frames.get("opportunities")
        out["people"] = back(
            _people(
                lazy(people, name="people"),
                ev,
                lazy(original, name="opportunities") if original is not None else None,
                cutoff,
            ),
            people,
        )
    return out


def _history(
    events: nw.LazyFrame[Any] | None,
    cutoff: datetime,
    *,
    entity: str,
    field: str,
    like: nw.LazyFrame[Any],
) -> nw.LazyFrame[Any] | None:
    """Per record whose ``field`` changed after ``cutoff`` (in the *uncut* history): its
    value at ``cutoff`` (``__asof_value``, null if the history starts later)."""
    if events is None or not all(has(events, c) for c in ("record_id", "to_value", "changed_at")):
        return None
    ev = lazy(events, name="stage_events", like=like)
    if has(ev, "field"):
        ev = ev.filter(nw.col("field").fill_null("stage") == field)
    if has(ev, "record_entity"):
        ev = ev.filter(nw.col("record_entity").fill_null(entity) == entity)
    t = naive(ev.collect_schema(), "changed_at")
    ev = ev.filter(~nw.col("changed_at").is_null()).with_columns(t.alias("__t"))
    changed = (
        ev.filter(nw.col("__t") > nw.lit(cutoff))
        .select(nw.col("record_id").alias("__rid"))
        .unique(["__rid"])
    )
    if ev.implementation is nw.Implementation.POLARS:
        return _in_two_steps(changed, lambda ids: _values_at(ev, ids, cutoff))
    return _values_at(ev, changed, cutoff)


def _values_at(
    ev: nw.LazyFrame[Any], changed: nw.LazyFrame[Any], cutoff: datetime
) -> nw.LazyFrame[Any]:
    """Per record of ``changed`` (``__rid``): the ``to_value`` of its last event of ``ev``
    not after ``cutoff`` (``__asof_value``, null when there is none)."""
    # Only the records that changed later need their earlier value: a semi join keeps the
    # window below to them (a snapshot taken at as_of has none).
    order = ["__t", "event_id"] if has(ev, "event_id") else ["__t"]
    before = (
        ev.filter(nw.col("__t") <= nw.lit(cutoff))
        .select("record_id", "to_value", *order)
        .join(changed, left_on="record_id", right_on="__rid", how="semi")
    )
    before = (
        with_next_time(before, record_id="record_id", order=order, time="__t", alias="__next")
        .filter(nw.col("__next").is_null())
        .select(nw.col("record_id").alias("__rid"), nw.col("to_value").alias("__asof_value"))
    )
    return changed.join(before, on="__rid", how="left").with_columns(
        nw.lit(True).alias("__changed_after")
    )


def _in_two_steps(
    changed: nw.LazyFrame[Any],
    values_at: Callable[[nw.LazyFrame[Any]], nw.LazyFrame[Any]],
) -> nw.LazyFrame[Any]:
    """``values_at(changed)`` on polars, computed in two steps when the frame is collected:
    first the (few) records that changed after the cut-off, then the look-up of their values
    with those records in memory.

    In one plan, polars' streaming engine holds the whole filtered stage history to semi-join
    it with ``changed`` (built from the same scan) and to run the window: some 0.65 GB for 10M
    stage events, growing with them. With ``changed`` collected first, the events stream past
    a small hash table of record ids, and only the changed records' events reach the window
    (benchmarks/bench_memory.py). Deferred (``pl.defer``), so preparing frames stays lazy and
    each collect reads the snapshot as it is then.
    """
    native: pl.LazyFrame = changed.to_native()
    schema = values_at(changed).to_native().collect_schema()

    def run() -> pl.DataFrame:
        # The engine the caller chose ("auto": spilled_frames streams, a collect() does not).
        ids = native.collect(engine="auto")
        if ids.height == 0:  # nothing changed after the cut-off: no second read
            return pl.DataFrame(schema=schema)
        done: pl.LazyFrame = values_at(nw.from_native(ids.lazy())).to_native()
        return done.collect(engine="auto")

    return nw.from_native(pl.defer(run, schema=schema))


def _attach_history(
    lf: nw.LazyFrame[Any], history: nw.LazyFrame[Any] | None, key: str
) -> nw.LazyFrame[Any]:
    if history is None:
        return lf.with_columns(
            nw.lit(False).alias("__changed_after"),
            nw.lit(None, dtype=nw.String()).alias("__asof_value"),
        )
    out = lookup_join(lf, history, left_on=key, right_on="__rid")
    return out.with_columns(nw.col("__changed_after").fill_null(False))


def _opportunities(
    lf: nw.LazyFrame[Any], events: nw.LazyFrame[Any] | None, cutoff: datetime
) -> nw.LazyFrame[Any]:
    if has(lf, "created_at"):
        lf = lf.filter(_not_after(lf, "created_at", cutoff))
    # Without close facts no deal can be reopened, but a stage that moved after as_of is
    # still read back from the history: the stage roll-back must not depend on them.
    knows_close = has(lf, "is_won") and (has(lf, "closed_at") or has(lf, "close_date"))
    if knows_close:
        closed = closed_flag("is_closed", "is_won") if has(lf, "is_closed") else won_flag("is_won")
        at = close_time(lf, "closed_at", "close_date")
        late = closed & (at > nw.lit(cutoff)).fill_null(False)
    else:
        late = nw.lit(False)
    lf = lf.with_columns(late.alias("__late"))
    reopen: list[nw.Expr] = []
    if has(lf, "is_won"):
        reopen.append(
            nw.when(nw.col("__late"))
            .then(nw.lit(False))
            .otherwise(nw.col("is_won"))
            .alias("is_won")
        )
    if has(lf, "is_closed"):
        reopen.append(
            nw.when(nw.col("__late"))
            .then(nw.lit(False))
            .otherwise(nw.col("is_closed"))
            .alias("is_closed")
        )
    if has(lf, "closed_at"):
        reopen.append(nw.when(~nw.col("__late")).then(nw.col("closed_at")).alias("closed_at"))
    if has(lf, "stage") and has(lf, "opportunity_id"):
        history = _history(events, cutoff, entity="opportunities", field="stage", like=lf)
        lf = _attach_history(lf, history, "opportunity_id")
        moved = nw.col("__changed_after") | nw.col("__late")
        reopen.append(
            nw.when(nw.col("__changed_after"))
            .then(nw.col("__asof_value"))
            .when(~nw.col("__late"))
            .then(nw.col("stage"))
            .alias("stage")
        )
        if has(lf, "stage_entered_at"):
            reopen.append(
                nw.when(~moved).then(nw.col("stage_entered_at")).alias("stage_entered_at")
            )
        lf = lf.with_columns(*reopen).drop("__changed_after", "__asof_value")
    elif reopen:
        lf = lf.with_columns(*reopen)
    return lf.drop("__late")


def _people(
    lf: nw.LazyFrame[Any],
    events: nw.LazyFrame[Any] | None,
    opportunities: nw.LazyFrame[Any] | None,
    cutoff: datetime,
) -> nw.LazyFrame[Any]:
    if has(lf, "created_at"):
        lf = lf.filter(_not_after(lf, "created_at", cutoff))
    cols: list[nw.Expr] = []
    if has(lf, "mql_at"):
        cols.append(
            nw.when(_not_after(lf, "mql_at", cutoff)).then(nw.col("mql_at")).alias("mql_at")
        )
    # A conversion after as_of has not happened: by its time, or by its deal's creation.
    later = nw.lit(False)
    if has(lf, "converted_at"):
        later = ~_not_after(lf, "converted_at", cutoff)
    if (
        has(lf, "converted_opportunity_id")
        and opportunities is not None
        and all(has(opportunities, c) for c in ("opportunity_id", "created_at"))
    ):
        future = (
            opportunities.filter(~_not_after(opportunities, "created_at", cutoff))
            .select(nw.col("opportunity_id").alias("__future_oid"))
            .unique(["__future_oid"])
            .with_columns(nw.lit(True).alias("__future"))
        )
        future = lazy(future, name="opportunities", like=lf)
        lf = lookup_join(lf, future, left_on="converted_opportunity_id", right_on="__future_oid")
        later = later | nw.col("__future").fill_null(False)
    if has(lf, "is_converted"):
        cols.append(
            nw.when(later)
            .then(nw.lit(False))
            .otherwise(nw.col("is_converted"))
            .alias("is_converted")
        )
    if has(lf, "converted_opportunity_id"):
        cols.append(
            nw.when(~later)
            .then(nw.col("converted_opportunity_id"))
            .alias("converted_opportunity_id")
        )
    if has(lf, "converted_at"):
        cols.append(nw.when(~later).then(nw.col("converted_at")).alias("converted_at"))
    if has(lf, "lifecycle_stage") and has(lf, "person_id"):
        history = _history(events, cutoff, entity="people", field="lifecycle_stage", like=lf)
        if history is not None:
            lf = _attach_history(lf, history, "person_id")
            cols.append(
                nw.when(nw.col("__changed_after"))
                .then(nw.col("__asof_value"))
                .otherwise(nw.col("lifecycle_stage"))
                .alias("lifecycle_stage")
            )
    if cols:
        lf = lf.with_columns(*cols)
    drop = [c for c in ("__future", "__changed_after", "__asof_value") if has(lf, c)]
    return lf.drop(*drop) if drop else lf
