"""Stage history: per-record facts from ``stage_events`` (regressions, skipped stages).

One derivation per (entity, field) aggregates the record's events once; the regression and
skipped-stage rules read its columns:

* ``__hist_events``       events of the record
* ``__hist_moves``        events with a known from and to value (a from-value the history
                          lacks is derived from the previous event, see
                          :func:`revgov.definitions.history.with_from_values`)
* ``__hist_regressions``  moves back to an earlier stage
* ``__hist_first_back``   the first regression, as ``from -> to at <time>``
* ``__hist_seen_<i>`` / ``__hist_beyond_<i>`` for each required stage ``i``: the record was in
  it (as ``from`` or ``to``), and it reached a later forward stage.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import narwhals as nw
import polars as pl

from revgov.definitions.history import (
    HISTORY_ENTITY_NAMES,
    STAGE_EVENT_COLUMNS,
    HistoryEntity,
    events_of,
    with_from_values,
)
from revgov.definitions.lifecycle import LifecycleStages
from revgov.definitions.spelling import spelling_key_expr
from revgov.definitions.stages import PipelineStages
from revgov.errors import RuleError
from revgov.rules._expr import lit_str, not_null
from revgov.rules.base import Derivation, DeriveContext, Frame

__all__ = [
    "HISTORY_ENTITY_NAMES",
    "STAGE_EVENT_COLUMNS",
    "StageHistory",
    "lifecycle_history",
    "stage_entered",
    "stage_history",
]


#: The ``stage_events`` columns a history derivation cannot do without.
HISTORY_COLUMNS = tuple(c for c in STAGE_EVENT_COLUMNS if c != "from_value")

#: ``(value, pipeline, spelling key of value) -> expression``.
Meaning = Callable[[nw.Expr, nw.Expr, nw.Expr], nw.Expr]


@dataclass(frozen=True)
class StageHistory:
    """What the history of one field means: canonical values, order, forward stages (from
    :mod:`revgov.definitions.stages` or :mod:`~revgov.definitions.lifecycle`)."""

    canonical: Meaning
    order: Meaning
    back_allowed_to: Meaning
    forward: Meaning


def _moves(
    ctx: DeriveContext,
    entity: HistoryEntity,
    field: str,
    key: str,
    meaning: StageHistory,
    pipe_column: str | None,
    bucket: tuple[int, int] | None = None,
) -> Frame:
    """The record's events on ``field`` with canonical from/to values, their order, and
    whether the target is a forward stage or one a record may not move back to (with
    ``bucket`` ``(b, n)``, only the records whose id hashes to ``b`` modulo ``n``)."""
    events = ctx.frame("stage_events") if bucket is None else _in_bucket(ctx, *bucket)
    names = frozenset(events.collect_schema().names())
    ev = with_from_values(
        events.filter(events_of(entity, field, names=names) & not_null("record_id"))
    )
    ev = ev.select(nw.col("record_id").alias(key), "from_value", "to_value", "changed_at")
    # The entity's own input, not the derived frame: that carries other derivations' joins.
    source = _records_in_bucket(ctx.frame(entity), key, bucket)
    if pipe_column is not None:
        pipes = PipelineStages.of(ctx.config)
        owners = source.select(key, pipes.pipe(pipe_column).alias("__pipe"))
    else:
        owners = source.select(key, lit_str("").alias("__pipe"))
    ev = ev.join(owners, on=key, how="inner").with_columns(
        spelling_key_expr(nw.col("from_value")).alias("__from_key"),
        spelling_key_expr(nw.col("to_value")).alias("__to_key"),
    )
    pipe, frm_key, to_key = nw.col("__pipe"), nw.col("__from_key"), nw.col("__to_key")
    frm, to = nw.col("from_value"), nw.col("to_value")
    return ev.with_columns(
        meaning.canonical(frm, pipe, frm_key).alias("__from"),
        meaning.canonical(to, pipe, to_key).alias("__to"),
        meaning.order(frm, pipe, frm_key).alias("__from_order"),
        meaning.order(to, pipe, to_key).alias("__to_order"),
        meaning.forward(to, pipe, to_key).alias("__to_forward"),
        meaning.back_allowed_to(to, pipe, to_key).alias("__to_back_target"),
    )


def _move_flags(meaning: StageHistory, required: Sequence[str]) -> list[nw.Expr]:
    """Per event: a move back (and its label), and per required stage: seen, moved past."""
    frm, to, pipe = nw.col("__from"), nw.col("__to"), nw.col("__pipe")
    back = (
        nw.col("__to_back_target")
        & not_null("__from_order")
        & not_null("__to_order")
        & (nw.col("__to_order") < nw.col("__from_order"))
    ).fill_null(False)
    when = nw.col("changed_at").dt.to_string("%Y-%m-%d %H:%M:%S")
    # Sorted by time first (min() of the labels is the first move back), then cut.
    label = nw.concat_str(
        [
            when.fill_null(""),
            lit_str("|"),
            frm.fill_null("null"),
            lit_str(" -> "),
            to.fill_null("null"),
            lit_str(" at "),
            when.fill_null("unknown time"),
        ]
    )
    move = (not_null("from_value") & not_null("to_value")).fill_null(False)
    flags = [back.cast(nw.Int64()).alias("__back"), move.cast(nw.Int64()).alias("__move")]
    flags.append(nw.when(back).then(label).otherwise(lit_str(None)).alias("__back_label"))
    for i, stage in enumerate(required):
        literal = lit_str(stage)
        named = meaning.canonical(literal, pipe, spelling_key_expr(literal))
        target = meaning.order(literal, pipe, spelling_key_expr(literal))
        seen = ((frm == named) | (to == named)).fill_null(False)
        beyond = (nw.col("__to_forward") & (nw.col("__to_order") > target)).fill_null(False)
        flags.append(seen.cast(nw.Int64()).alias(f"__seen_{i}"))
        flags.append(beyond.cast(nw.Int64()).alias(f"__beyond_{i}"))
    return flags


def _history(
    entity: HistoryEntity,
    field: str,
    key: str,
    required: Sequence[str],
    spec: Callable[[DeriveContext], StageHistory],
    *,
    pipe_column: str | None,
) -> Derivation:
    seen_cols = [f"__hist_seen_{i}" for i in range(len(required))]
    beyond_cols = [f"__hist_beyond_{i}" for i in range(len(required))]

    def records(ctx: DeriveContext, bucket: tuple[int, int] | None) -> Frame:
        meaning = spec(ctx)
        ev = _moves(ctx, entity, field, key, meaning, pipe_column, bucket)
        ev = ev.with_columns(*_move_flags(meaning, required))
        per_record = ev.group_by(key).agg(
            nw.len().alias("__hist_events"),
            nw.col("__move").sum().alias("__hist_moves"),
            nw.col("__back").sum().alias("__hist_regressions"),
            nw.col("__back_label").min().alias("__hist_first_back"),
            *[nw.col(f"__seen_{i}").max().alias(seen_cols[i]) for i in range(len(required))],
            *[nw.col(f"__beyond_{i}").max().alias(beyond_cols[i]) for i in range(len(required))],
        )
        return per_record.with_columns(nw.col("__hist_first_back").str.replace_all(r"^[^|]*\|", ""))

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return frame.join(_bucketed(ctx, records), on=key, how="left")

    return Derivation(
        name=f"{entity}.history.{field}.{'|'.join(required)}",
        build=build,
        provides=(
            "__hist_events",
            "__hist_moves",
            "__hist_regressions",
            "__hist_first_back",
            *seen_cols,
            *beyond_cols,
        ),
        columns=(key,) + ((pipe_column,) if pipe_column else ()),
        # from_value may be absent: it is derived from the order of the events.
        requires={"stage_events": HISTORY_COLUMNS},
    )


#: Stage events per bucket when the history is computed in buckets (see :func:`_bucketed`):
#: the window and group-by over one bucket's events run in memory, so this bounds them.
EVENTS_PER_BUCKET = 2_500_000
_SEED = 0x5EED


def _in_bucket(ctx: DeriveContext, b: int, n: int) -> Frame:
    """The events of the records whose id hashes to ``b`` modulo ``n`` (every event of a
    record falls in the same bucket, so per-record windows and aggregates are unchanged),
    read from the stage events written once in ``n`` buckets (:func:`_event_buckets`)."""
    folder, schema = _event_buckets(ctx, n)
    files = sorted((folder / f"__bucket={b}").glob("*.parquet"))
    native = pl.scan_parquet(files) if files else pl.LazyFrame(schema=schema)
    bucket: Frame = nw.from_native(native)
    return bucket


def _bucket_hash(column: str) -> pl.Expr:
    # Of the id as text: a record's events and the record itself (whose id column may be
    # of another type) hash alike.
    return pl.col(column).cast(pl.String).hash(_SEED)


def _records_in_bucket(frame: Frame, key: str, bucket: tuple[int, int] | None) -> Frame:
    """The records (of the entity with history) of ``bucket`` ``(b, n)``: a bucket's events
    are joined to its own records only, not to every record again."""
    if bucket is None:
        return frame
    b, n = bucket
    native: pl.LazyFrame = frame.to_native()
    records: Frame = nw.from_native(native.filter(_bucket_hash(key) % n == b))
    return records


def _event_buckets(ctx: DeriveContext, n: int) -> tuple[Path, pl.Schema]:
    """The stage events (the columns history reads) written to Parquet in ``n`` hash buckets
    of record ids, in one streamed pass, once per audit (``ctx.spilled``): reading a bucket
    then reads its own events only, not every event again to filter them."""
    assert ctx.spill_dir is not None  # only called by _bucketed, with a spill directory
    events: pl.LazyFrame = ctx.frame("stage_events").to_native()
    names = events.collect_schema().names()
    events = events.select([c for c in STAGE_EVENT_COLUMNS if c in names])
    name = f"stage-events-{n}"
    if name not in ctx.spilled:
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=ctx.spill_dir))
        key = (_bucket_hash("record_id") % n).alias("__bucket")
        # In the events' order (maintained): ties in changed_at keep the order they had.
        events.sink_parquet(pl.PartitionBy(folder, key=key, include_key=False))
        # A bucket is read from the folder polars names after its key: any other layout
        # would leave events unread, so it is an error, not an empty history.
        expected = {f"__bucket={b}" for b in range(n)}
        unknown = sorted(p.name for p in folder.iterdir() if p.name not in expected)
        if unknown:
            raise RuleError(
                f"stage events written in buckets to {str(folder)!r} are laid out as "
                f"{', '.join(unknown[:3])}, not as __bucket=<n> folders",
                hint="this polars version writes partitions differently; report it, and "
                "audit without a spill directory meanwhile",
            )
        ctx.spilled[name] = folder
    return ctx.spilled[name], events.collect_schema()


def _bucketed(
    ctx: DeriveContext, records: Callable[[DeriveContext, tuple[int, int] | None], Frame]
) -> Frame:
    """``records(ctx, bucket)`` (per-record facts), for all records at once, or, with a spill
    directory (polars) and more stage events than :data:`EVENTS_PER_BUCKET`, computed one
    hash bucket of record ids at a time into Parquet there and scanned back: polars cannot
    stream the window over every stage event by record, which otherwise holds them all in
    memory at once (nor, within bounds, the joins and group-bys over every event)."""
    spill = ctx.spill_dir
    if spill is None:
        return records(ctx, None)
    events = ctx.frame("stage_events")
    total = int(events.select(nw.len()).collect(backend="polars").item())
    n = -(-total // EVENTS_PER_BUCKET)
    if n <= 1:
        return records(ctx, None)
    folder = Path(tempfile.mkdtemp(prefix="history-", dir=spill))
    paths = []
    for b in range(n):
        path = folder / f"{b}.parquet"
        records(ctx, (b, n)).to_native().sink_parquet(path)
        paths.append(path)
    scanned: Frame = nw.from_native(pl.scan_parquet(paths))
    return scanned


def stage_history(required: Sequence[str], key: str = "opportunity_id") -> Derivation:
    """Opportunity stage history. A regression is a move to an earlier *open* stage; a
    forward stage is open or won (losing a deal early skips nothing)."""

    def spec(ctx: DeriveContext) -> StageHistory:
        p = PipelineStages.of(ctx.config)
        return StageHistory(
            canonical=lambda v, pipe, k: p.canonical(v, pipe, key=k),
            order=lambda v, pipe, k: p.order(v, pipe, key=k),
            back_allowed_to=lambda v, pipe, k: p.open(v, pipe, key=k),
            forward=lambda v, pipe, k: p.progress(v, pipe, key=k),
        )

    return _history("opportunities", "stage", key, required, spec, pipe_column="pipeline")


def lifecycle_history(required: Sequence[str], key: str = "person_id") -> Derivation:
    """People lifecycle history: any move to an earlier lifecycle stage is a regression."""

    def spec(ctx: DeriveContext) -> StageHistory:
        lc = LifecycleStages.of(ctx.config)

        def known(v: nw.Expr, _pipe: nw.Expr, k: nw.Expr) -> nw.Expr:
            return lc.known(v, key=k)

        return StageHistory(
            canonical=lambda v, _pipe, k: lc.canonical(v, key=k),
            order=lambda v, _pipe, k: lc.order(v, key=k),
            back_allowed_to=known,
            forward=known,
        )

    return _history("people", "lifecycle_stage", key, required, spec, pipe_column=None)


def _entered_from_history(ctx: DeriveContext, key: str) -> Frame | None:
    """Per deal, when it entered its current stage per stage history: the first event into
    that stage after the last event into any other (null where the history never shows it);
    None when there is no usable history. Computed in buckets of deals, like the history."""
    if "stage_events" not in ctx.frames:
        return None
    names = frozenset(ctx.frame("stage_events").collect_schema().names())
    if not {"record_id", "to_value", "changed_at"} <= names:
        return None

    def records(ctx: DeriveContext, bucket: tuple[int, int] | None) -> Frame:
        events = ctx.frame("stage_events") if bucket is None else _in_bucket(ctx, *bucket)
        pipes = PipelineStages.of(ctx.config)
        deals = _records_in_bucket(ctx.frame("opportunities"), key, bucket)
        deal_cols = deals.collect_schema().names()
        pipe = pipes.pipe() if "pipeline" in deal_cols else lit_str(pipes.default)
        deals = deals.select(
            key,
            pipe.alias("__pipe"),
            spelling_key_expr(
                pipes.canonical(nw.col("stage"), pipe, key=spelling_key_expr(nw.col("stage")))
            ).alias("__cur"),
        )
        ev = events.filter(
            events_of("opportunities", names=names) & not_null("record_id") & not_null("changed_at")
        ).select(nw.col("record_id").cast(nw.String()).alias(key), "to_value", "changed_at")
        ev = ev.join(deals.with_columns(nw.col(key).cast(nw.String())), on=key, how="inner")
        to = nw.col("to_value")
        ev = ev.with_columns(
            (
                spelling_key_expr(pipes.canonical(to, nw.col("__pipe"), key=spelling_key_expr(to)))
                == nw.col("__cur")
            )
            .fill_null(False)
            .alias("__same")
        )
        left = (
            ev.filter(~nw.col("__same")).group_by(key).agg(nw.col("changed_at").max().alias("__t"))
        )
        entered = ev.filter(nw.col("__same")).join(left, on=key, how="left")
        entered = entered.filter(nw.col("__t").is_null() | (nw.col("changed_at") > nw.col("__t")))
        return entered.group_by(key).agg(nw.col("changed_at").min().alias("__hist_entered_at"))

    return _bucketed(ctx, records)


def stage_entered(key: str = "opportunity_id") -> Derivation:
    """``__stage_entered_at``: when each deal entered its current stage, from
    ``opportunities.stage_entered_at``, else from stage history (exports such as
    Salesforce's carry no stage-entered date, only OpportunityHistory); and
    ``__stage_entered_from`` (``"stage_entered_at"`` or ``"stage history"``)."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        names = frame.collect_schema().names()
        own = nw.col("stage_entered_at") if "stage_entered_at" in names else None
        hist = _entered_from_history(ctx, key)
        if hist is not None:
            key_type = frame.collect_schema()[key]
            frame = frame.join(hist.with_columns(nw.col(key).cast(key_type)), on=key, how="left")
        from_hist = nw.col("__hist_entered_at") if hist is not None else None
        entered: nw.Expr
        source: nw.Expr
        if own is not None and from_hist is not None:
            entered = nw.coalesce(own, from_hist.cast(frame.collect_schema()["stage_entered_at"]))
            source = (
                nw.when(own.is_null() & ~from_hist.is_null())
                .then(lit_str("stage history"))
                .otherwise(lit_str("stage_entered_at"))
            )
        elif own is not None:
            entered, source = own, lit_str("stage_entered_at")
        elif from_hist is not None:
            entered, source = from_hist, lit_str("stage history")
        else:
            entered, source = nw.lit(None, nw.Datetime("us", "UTC")), lit_str(None)
        frame = frame.with_columns(
            entered.alias("__stage_entered_at"), source.alias("__stage_entered_from")
        )
        return frame.drop("__hist_entered_at") if hist is not None else frame

    return Derivation(
        name=f"opportunities.stage_entered.{key}",
        build=build,
        provides=("__stage_entered_at", "__stage_entered_from"),
        columns=(key, "stage"),
    )
