"""Derivations: columns the engine adds before the row-level pass (joins and windows).

Each factory returns a :class:`~revgov.rules.base.Derivation` named after what it computes, so
rules that need the same lookup (the owner's user row, say) share one join.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import narwhals as nw
import polars as pl

from revgov.definitions.sla import STATUS_COLUMNS, SpeedToLead
from revgov.definitions.touches import first_touches
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import not_null
from revgov.rules._routing import segment_derivation
from revgov.rules.base import Derivation, DeriveContext, Frame

__all__ = [
    "duplicate_groups",
    "first_touch",
    "lookup",
    "owner_lookup",
    "reference",
    "speed_to_lead",
]


def lookup(
    name: str,
    *,
    key: str,
    target: str,
    target_key: str,
    values: Mapping[str, nw.Expr],
    target_columns: Sequence[str] = (),
    found: str | None = None,
) -> Derivation:
    """Left-join aggregates of ``target`` rows whose ``target_key`` equals column ``key``.

    ``values`` are aggregate expressions over the target (one row per key), ``found`` names a
    boolean column that is true where a target row exists.
    """
    # Column names stay plain identifiers: Spark reads dots as struct access.
    counter = "__n_" + re.sub(r"\W", "_", name)

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        right = ctx.frame(target).filter(not_null(target_key))
        right = right.group_by(target_key).agg(
            nw.len().alias(counter), *[e.alias(n) for n, e in values.items()]
        )
        if target_key != key:
            right = right.rename({target_key: key})
        out = frame.join(right, on=key, how="left")
        if found is not None:
            out = out.with_columns(not_null(counter).alias(found))
        return out.drop(counter)

    provides = (*values, found) if found else tuple(values)
    return Derivation(
        name=name,
        build=build,
        provides=tuple(p for p in provides if p),
        columns=(key,),
        requires={target: (target_key, *target_columns)},
    )


def owner_lookup(entity: str, owner_column: str = "owner_id") -> Derivation:
    """``__owner_found``, ``__owner_active`` (null when unknown) and ``__owner_team``."""
    return lookup(
        f"{entity}.owner_lookup",
        key=owner_column,
        target="users",
        target_key="user_id",
        values={
            "__owner_active": nw.col("is_active").max(),
            "__owner_team": nw.col("team").min(),
        },
        target_columns=("is_active", "team"),
        found="__owner_found",
    )


def reference(entity: str, column: str, target: str, target_key: str) -> Derivation:
    """``__ref_<column>``: true where ``column`` names an existing ``target`` row."""
    return lookup(
        f"{entity}.ref.{column}.{target}",
        key=column,
        target=target,
        target_key=target_key,
        values={},
        found=f"__ref_{column}",
    )


def duplicate_groups(entity: str, column: str, normalized: nw.Expr, tag: str) -> Derivation:
    """``__dup_<tag>_key`` (the normalized value) and ``__dup_<tag>_n`` (its group size)."""
    key_col, n_col = f"__dup_{tag}_key", f"__dup_{tag}_n"

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        frame = frame.with_columns(normalized.alias(key_col))
        return frame.with_columns(nw.len().over(key_col).alias(n_col))

    return Derivation(
        name=f"{entity}.dup.{tag}", build=build, provides=(key_col, n_col), columns=(column,)
    )


def first_touch(key: str = "person_id", *, start: str = "mql_at") -> Derivation:
    """For people: ``__first_touch_at`` (the first qualifying touch at or after ``start``,
    by as_of) and ``__attempts`` (qualifying touches within the follow-up window); see
    :func:`revgov.definitions.touches.first_touches`."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        sla = ctx.config.sla
        acts = ctx.frame("activities").select(
            nw.col("person_id").alias("__pid"),
            nw.col("occurred_at").alias("__at"),
            nw.col("type").alias("__type"),
        )
        # The entity's own input, not `frame`: that carries other derivations' joins.
        starts = (
            ctx.frame("people")
            .filter(not_null(start))
            .select(nw.col(key).alias("__pid"), nw.col(start).alias("__start"))
        )

        def touches(starts: Frame, acts: Frame) -> Frame:
            return first_touches(
                starts,
                acts,
                types=sla.qualifying_activity_types,
                as_of=ctx.as_of,
                window_days=sla.follow_up_within_days,
            )

        touched = _by_person_buckets(ctx, starts, acts, touches)
        return frame.join(touched.rename({"__pid": key}), on=key, how="left")

    return Derivation(
        name=f"people.first_touch.{start}",
        build=build,
        provides=("__first_touch_at", "__attempts"),
        columns=(key, start),
        requires={"activities": ("person_id", "occurred_at", "type")},
    )


#: Activities per bucket when first touches are computed in buckets of people (with a
#: spill directory): the join and group-by over one bucket's touches bound the memory.
ACTIVITIES_PER_BUCKET = 2_500_000
_SEED = 0x70C4


def _by_person_buckets(
    ctx: DeriveContext, starts: Frame, acts: Frame, per_person: Callable[[Frame, Frame], Frame]
) -> Frame:
    """``per_person(starts, acts)`` (one row per ``__pid``), at once, or, with a spill
    directory (polars) and more activities than :data:`ACTIVITIES_PER_BUCKET`, one hash
    bucket of person ids at a time into Parquet there, scanned back. Every touch of a person
    falls in the person's bucket, so each person's row is the one a single pass gives; only
    one bucket's join and group-by are in memory at a time."""
    spill = ctx.spill_dir
    if spill is None or acts.implementation is not nw.Implementation.POLARS:
        return per_person(starts, acts)
    total = int(acts.select(nw.len()).collect(backend="polars").item())
    n = -(-total // ACTIVITIES_PER_BUCKET)
    if n <= 1:
        return per_person(starts, acts)
    folder = Path(tempfile.mkdtemp(prefix="first-touch-", dir=spill))

    def in_bucket(frame: Frame, b: int) -> Frame:
        native: pl.LazyFrame = frame.to_native()
        bucket: Frame = nw.from_native(
            native.filter(pl.col("__pid").cast(pl.String).hash(_SEED) % n == b)
        )
        return bucket

    paths = []
    for b in range(n):
        path = folder / f"{b}.parquet"
        per_person(in_bucket(starts, b), in_bucket(acts, b)).to_native().sink_parquet(path)
        paths.append(path)
    scanned: Frame = nw.from_native(pl.scan_parquet(paths))
    return scanned


def speed_to_lead(key: str = "person_id", *, start: str = "mql_at") -> Derivation:
    """The speed-to-lead status of each person (:data:`~revgov.definitions.sla.STATUS_COLUMNS`:
    business seconds from ``start`` to the first touch or as_of, the limit in hours, met,
    breached), as :meth:`revgov.definitions.sla.SpeedToLead.status` defines it for the KPIs
    too."""
    touch = first_touch(key, start=start)

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        sla = SpeedToLead.of(ctx.config.sla, ctx.config.segments)
        names = frame.collect_schema().names()
        kind = nw.col("kind") if "kind" in names else None
        frame = frame.with_columns(nw.col(start).alias("__start"))
        frame = sla.status(
            frame,
            as_of=ctx.as_of,
            segment=nw.col("__segment"),
            kind=kind,
            error=RuleDefinitionError,
        )
        return frame.drop("__start")

    return Derivation(
        name=f"people.speed_to_lead.{start}",
        build=build,
        provides=STATUS_COLUMNS,
        columns=(start,),
        requires={},
        after=(touch, segment_derivation("people")),
    )
