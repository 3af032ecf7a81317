"""Routing derivations: each record's segment and expected route, and round-robin load.

What the routing table means (which rule a record falls under, its expected owner or pool)
is :mod:`revgov.definitions.routing`; segments are :mod:`revgov.definitions.icp`. This
module turns them into the columns the routing rules read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import narwhals as nw

from revgov.config import Config
from revgov.definitions.icp import segment_expr, text_keys
from revgov.definitions.routing import route_columns, route_inputs, route_ok, route_outcome
from revgov.definitions.spelling import spelling_key_expr
from revgov.rules._expr import is_in, not_null
from revgov.rules.base import Derivation, DeriveContext, Frame

if TYPE_CHECKING:
    from revgov._typing import RoutedEntity

__all__ = [
    "ROUTE_COLUMNS",
    "add_route",
    "add_segment",
    "pool_columns",
    "round_robin_load",
    "routing",
    "routing_outcome",
    "segment_derivation",
]

ROUTE_COLUMNS = ("__route_rule", "__route_owner", "__route_pool", "__route_ok")


def add_segment(frame: Frame, config: Config) -> Frame:
    """``__segment`` (see :func:`~revgov.definitions.icp.segment_expr`) and the spelling
    keys of the text criteria (``__industry_key``, ``__country_key``) and of the segment
    (``__segment_key``), computed once for every rule, unless an earlier derivation added
    them."""
    cols = frame.collect_schema().names()
    if "__segment" in cols:
        return frame
    keys = text_keys(cols)
    frame = frame.with_columns(*[k.alias(f"__{label}_key") for label, k in keys.items()])
    columns = {label: nw.col(f"__{label}_key") for label in keys}
    segment = segment_expr(config.segments, cols, keys=columns)
    frame = frame.with_columns(segment.alias("__segment"))
    return frame.with_columns(spelling_key_expr(nw.col("__segment")).alias("__segment_key"))


def segment_derivation(entity: str) -> Derivation:
    """``__segment`` of each ``entity`` record: the one derivation every rule that reads a
    segment shares (routing, ``when_segment``, speed-to-lead limits)."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return add_segment(frame, ctx.config)

    return Derivation(
        name=f"{entity}.segment", build=build, provides=("__segment", "__segment_key")
    )


def add_route(frame: Frame, config: Config, entity: RoutedEntity, owner: str = "owner_id") -> Frame:
    """Add ``__segment`` and the expected route: rule name, owner or pool, and ``__route_ok``
    (the actual owner is the expected one, or a member of the expected pool)."""
    frame = add_segment(frame, config)
    keys = {"segment_key": nw.col("__segment_key")}
    if "__country_key" in frame.collect_schema().names():
        keys["country_key"] = nw.col("__country_key")
    route = route_columns(config.routing, entity, nw.col("__segment"), **keys)
    frame = frame.with_columns(
        route["rule"].alias("__route_rule"),
        route["owner"].alias("__route_owner"),
        route["pool"].alias("__route_pool"),
    )
    ok = route_ok(config.routing, nw.col(owner), nw.col("__route_owner"), nw.col("__route_pool"))
    return frame.with_columns(ok.alias("__route_ok"))


def routing(entity: RoutedEntity, config: Config) -> Derivation:
    """Derivation adding the expected route of each ``entity`` record."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return add_route(frame, ctx.config, entity)

    return Derivation(
        name=f"{entity}.routing",
        build=build,
        provides=ROUTE_COLUMNS,
        columns=("owner_id", *route_inputs(config.routing, entity)),
        after=(segment_derivation(entity),),
    )


def routing_outcome(entity: RoutedEntity, config: Config, owners: Derivation) -> Derivation:
    """``__route_outcome``: the routing outcome of each ``entity`` record
    (:func:`revgov.definitions.routing.route_outcome`), from the route and the owner's
    user row (``owners``: :func:`revgov.rules._derive.owner_lookup`)."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        outcome = route_outcome(
            ctx.config.routing,
            nw.col("owner_id"),
            owner_active=nw.col("__owner_active"),
            route_rule=nw.col("__route_rule"),
            route_owner=nw.col("__route_owner"),
            route_pool=nw.col("__route_pool"),
        )
        return frame.with_columns(outcome.alias("__route_outcome"))

    return Derivation(
        name=f"{entity}.routing_outcome",
        build=build,
        provides=("__route_outcome",),
        columns=("owner_id",),
        after=(owners, routing(entity, config)),
    )


def pool_columns(index: int) -> tuple[str, str, str]:
    """(member flag, load, even share) column names of the pool at ``index``."""
    return (f"__rr_member_{index}", f"__rr_load_{index}", f"__rr_share_{index}")


def _pool_loads(ctx: DeriveContext, entities: list[RoutedEntity]) -> list[Frame]:
    """Per routed entity: records routed to a pool, counted by (pool, owner)."""
    parts = []
    for ent in entities:
        if ent not in ctx.frames:
            continue
        routed = add_route(ctx.frame(ent), ctx.config, ent)
        parts.append(
            routed.filter(not_null("__route_pool") & not_null("owner_id"))
            .group_by("__route_pool", "owner_id")
            .agg(nw.len().cast(nw.Int64()).alias("__n"))
        )
    return parts


def round_robin_load(config: Config) -> Derivation:
    """For users: per pool, whether the user is an active member, how many routed records the
    user owns, and the pool's even share (routed records owned by active members / their
    count)."""
    pools = list(config.routing.pools.items())
    routed_entities = sorted({r.entity for r in config.routing.rules if r.pool is not None})

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        parts = _pool_loads(ctx, routed_entities)
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
        ent: ("owner_id", *route_inputs(config.routing, ent)) for ent in routed_entities
    }
    provides = tuple(c for i in range(len(pools)) for c in pool_columns(i))
    return Derivation(
        name="users.round_robin",
        build=build,
        provides=provides,
        columns=("user_id", "is_active"),
        requires=needs,
    )
