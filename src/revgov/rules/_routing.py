"""Routing from the governed table: segment, expected owner or pool, round-robin load.

``[[routing.rules]]`` are tried in order and the first whose criteria all match wins
(country in ``countries``, segment in ``segments``, ``employees_min <= employees <=
employees_max``; an empty criterion matches anything). Segments come from the record's
``segment`` column, else from ``[[segments]]`` (employee bands inclusive, countries,
industries), first match wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw

from revgov.config import Config, RoutingRule
from revgov.rules._expr import all_of, is_in, lit_str, not_null
from revgov.rules.base import Derivation, DeriveContext, Frame

__all__ = [
    "ROUTE_COLUMNS",
    "add_route",
    "add_segment",
    "round_robin_load",
    "route_columns_needed",
    "routing",
    "segment_derivation",
    "segment_expr",
]

ROUTE_COLUMNS = ("__route_rule", "__route_owner", "__route_pool", "__route_ok")


def segment_expr(config: Config, columns: Sequence[str]) -> nw.Expr:
    """The record's segment: its ``segment`` column, else the first matching config segment."""
    derived: nw.Expr = lit_str(None)
    for seg in reversed(config.segments):
        conds = []
        if seg.employees_min is not None and "employees" in columns:
            conds.append(nw.col("employees") >= seg.employees_min)
        if seg.employees_max is not None and "employees" in columns:
            conds.append(nw.col("employees") <= seg.employees_max)
        if seg.countries and "country" in columns:
            conds.append(is_in(nw.col("country"), seg.countries))
        if seg.industries and "industry" in columns:
            conds.append(is_in(nw.col("industry"), seg.industries))
        if not conds:
            continue
        derived = nw.when(all_of(conds).fill_null(False)).then(lit_str(seg.name)).otherwise(derived)
    if "segment" in columns:
        return nw.coalesce(nw.col("segment"), derived)
    return derived


def add_segment(frame: Frame, config: Config) -> Frame:
    """``__segment`` (see :func:`segment_expr`), unless an earlier derivation added it."""
    cols = frame.collect_schema().names()
    if "__segment" in cols:
        return frame
    return frame.with_columns(segment_expr(config, cols).alias("__segment"))


def segment_derivation(entity: str) -> Derivation:
    """``__segment`` of each ``entity`` record: the one derivation every rule that reads a
    segment shares (routing, ``when_segment``, speed-to-lead limits)."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return add_segment(frame, ctx.config)

    return Derivation(name=f"{entity}.segment", build=build, provides=("__segment",))


def _match(r: RoutingRule) -> nw.Expr:
    conds = []
    if r.countries:
        conds.append(is_in(nw.col("country"), r.countries))
    if r.segments:
        conds.append(is_in(nw.col("__segment"), r.segments))
    if r.employees_min is not None:
        conds.append(nw.col("employees") >= r.employees_min)
    if r.employees_max is not None:
        conds.append(nw.col("employees") <= r.employees_max)
    return all_of(conds).fill_null(False)


def route_columns_needed(config: Config, entity: str) -> tuple[str, ...]:
    """Columns the routing rules of ``entity`` read (beyond ``owner_id``)."""
    cols: dict[str, None] = {}
    for r in config.routing.rules:
        if r.entity != entity:
            continue
        if r.countries:
            cols["country"] = None
        if r.segments:
            cols["segment"] = None
        if r.employees_min is not None or r.employees_max is not None:
            cols["employees"] = None
    return tuple(cols)


def add_route(frame: Frame, config: Config, entity: str, owner: str = "owner_id") -> Frame:
    """Add ``__segment`` and the expected route: rule name, owner or pool, and ``__route_ok``
    (the actual owner is the expected one, or a member of the expected pool)."""
    frame = add_segment(frame, config)
    rules = [r for r in config.routing.rules if r.entity == entity]
    name: nw.Expr = lit_str(None)
    exp_owner: nw.Expr = lit_str(None)
    pool: nw.Expr = lit_str(None)
    for r in reversed(rules):
        m = _match(r)
        name = nw.when(m).then(lit_str(r.name)).otherwise(name)
        exp_owner = nw.when(m).then(lit_str(r.owner)).otherwise(exp_owner)
        pool = nw.when(m).then(lit_str(r.pool)).otherwise(pool)
    frame = frame.with_columns(
        name.alias("__route_rule"), exp_owner.alias("__route_owner"), pool.alias("__route_pool")
    )
    in_pool: nw.Expr = nw.lit(None, nw.Boolean())
    for pname, members in reversed(list(config.routing.pools.items())):
        in_pool = (
            nw.when(nw.col("__route_pool") == pname)
            .then(is_in(nw.col(owner), members))
            .otherwise(in_pool)
        )
    ok = (
        nw.when(not_null("__route_owner"))
        .then(nw.col(owner) == nw.col("__route_owner"))
        .when(not_null("__route_pool"))
        .then(in_pool)
        .otherwise(nw.lit(None, nw.Boolean()))
    )
    return frame.with_columns(ok.alias("__route_ok"))


def routing(entity: str, config: Config) -> Derivation:
    """Derivation adding the expected route of each ``entity`` record."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return add_route(frame, ctx.config, entity)

    return Derivation(
        name=f"{entity}.routing",
        build=build,
        provides=ROUTE_COLUMNS,
        columns=("owner_id", *route_columns_needed(config, entity)),
        after=(segment_derivation(entity),),
    )


def pool_columns(index: int) -> tuple[str, str, str]:
    """(member flag, load, even share) column names of the pool at ``index``."""
    return (f"__rr_member_{index}", f"__rr_load_{index}", f"__rr_share_{index}")


def round_robin_load(config: Config) -> Derivation:
    """For users: per pool, whether the user is an active member, how many routed records the
    user owns, and the pool's even share (routed records owned by active members / their
    count)."""
    pools = list(config.routing.pools.items())
    routed_entities = sorted({r.entity for r in config.routing.rules if r.pool is not None})

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        parts = []
        for ent in routed_entities:
            if ent not in ctx.frames:
                continue
            routed = add_route(ctx.frame(ent), ctx.config, ent)
            parts.append(
                routed.filter(not_null("__route_pool") & not_null("owner_id"))
                .group_by("__route_pool", "owner_id")
                .agg(nw.len().cast(nw.Int64()).alias("__n"))
            )
        for i, (pname, members) in enumerate(pools):
            member, load, share = pool_columns(i)
            frame = frame.with_columns(
                (is_in(nw.col("user_id"), members) & nw.col("is_active").fill_null(False))
                .fill_null(False)
                .alias(member)
            )
            if parts:
                loads = nw.concat(parts) if len(parts) > 1 else parts[0]
                loads = (
                    loads.filter(nw.col("__route_pool") == pname)
                    .group_by("owner_id")
                    .agg(nw.col("__n").sum().alias(load))
                    .rename({"owner_id": "user_id"})
                )
                frame = frame.join(loads, on="user_id", how="left")
                frame = frame.with_columns(nw.col(load).fill_null(0))
            else:
                frame = frame.with_columns(nw.lit(0, nw.Int64()).alias(load))
            masked = f"{load}__m"
            frame = frame.with_columns(
                nw.when(nw.col(member)).then(nw.col(load)).otherwise(nw.lit(0)).alias(masked)
            )
            frame = frame.with_columns(
                (nw.col(masked).sum().over(member) / nw.len().over(member)).alias(share)
            ).drop(masked)
        return frame

    needs: dict[str, tuple[str, ...]] = {
        ent: ("owner_id", *route_columns_needed(config, ent)) for ent in routed_entities
    }
    provides = tuple(c for i in range(len(pools)) for c in pool_columns(i))
    return Derivation(
        name="users.round_robin",
        build=build,
        provides=provides,
        columns=("user_id", "is_active"),
        requires=needs,
    )
