"""Stage history: per-record facts from ``stage_events`` (regressions, skipped stages).

One derivation per (entity, field) aggregates the record's events once; the regression and
skipped-stage rules read its columns:

* ``__hist_events``       events of the record
* ``__hist_regressions``  moves back to an earlier stage
* ``__hist_first_back``   the first regression, as ``from -> to at <time>``
* ``__hist_seen_<i>`` / ``__hist_beyond_<i>`` for each required stage ``i``: the record was in
  it (as ``from`` or ``to``), and it reached a later forward stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import narwhals as nw

from revgov.definitions.history import (
    HISTORY_ENTITY_NAMES,
    STAGE_EVENT_COLUMNS,
    HistoryEntity,
    events_of,
)
from revgov.definitions.lifecycle import LifecycleStages
from revgov.definitions.spelling import spelling_key_expr
from revgov.definitions.stages import PipelineStages
from revgov.rules._expr import lit_str, not_null
from revgov.rules.base import Derivation, DeriveContext, Frame

__all__ = [
    "HISTORY_ENTITY_NAMES",
    "STAGE_EVENT_COLUMNS",
    "StageHistory",
    "lifecycle_history",
    "stage_history",
]


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
) -> Frame:
    """The record's events on ``field`` with canonical from/to values, their order, and
    whether the target is a forward stage or one a record may not move back to."""
    ev = ctx.frame("stage_events").filter(events_of(entity, field) & not_null("record_id"))
    ev = ev.select(nw.col("record_id").alias(key), "from_value", "to_value", "changed_at")
    # The entity's own input, not the derived frame: that carries other derivations' joins.
    source = ctx.frame(entity)
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
    flags = [back.cast(nw.Int64()).alias("__back")]
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

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        meaning = spec(ctx)
        ev = _moves(ctx, entity, field, key, meaning, pipe_column)
        ev = ev.with_columns(*_move_flags(meaning, required))
        per_record = ev.group_by(key).agg(
            nw.len().alias("__hist_events"),
            nw.col("__back").sum().alias("__hist_regressions"),
            nw.col("__back_label").min().alias("__hist_first_back"),
            *[nw.col(f"__seen_{i}").max().alias(seen_cols[i]) for i in range(len(required))],
            *[nw.col(f"__beyond_{i}").max().alias(beyond_cols[i]) for i in range(len(required))],
        )
        per_record = per_record.with_columns(
            nw.col("__hist_first_back").str.replace_all(r"^[^|]*\|", "")
        )
        return frame.join(per_record, on=key, how="left")

    return Derivation(
        name=f"{entity}.history.{field}.{'|'.join(required)}",
        build=build,
        provides=(
            "__hist_events",
            "__hist_regressions",
            "__hist_first_back",
            *seen_cols,
            *beyond_cols,
        ),
        columns=(key,) + ((pipe_column,) if pipe_column else ()),
        requires={"stage_events": STAGE_EVENT_COLUMNS},
    )


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
