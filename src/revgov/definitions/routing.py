"""Routing: which ``[[routing.rules]]`` entry a record falls under, and who should own it.

The rules are tried in order and the first whose criteria all hold wins: country in
``countries`` (the case rule of :mod:`revgov.definitions.spelling`), segment in ``segments``
(the record's segment, :func:`revgov.definitions.icp.segment_expr`), and ``employees_min <=
employees <= employees_max``; an empty criterion matches anything. The winning rule names an
owner, or a round-robin pool whose members may own the record.

A record the table routes has one *outcome* (:func:`route_outcome`, the first that holds):
``unassigned`` (no owner), ``owner_inactive`` (a deactivated owner, whatever pool they are
in), ``no_pool`` (the rule names a pool; the owner is in none), ``wrong_pool`` (the owner is
in another pool), ``wrong_owner`` (the rule names another owner); null when the owner is the
expected one. ``[routing.outcomes]`` says which count as misrouted, at which severity.

The audit's routing rules read the expected route as columns (:func:`route_columns`); the
demo generator assigns owners with :func:`matched_rule` before planting misroutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import narwhals as nw

from revgov.definitions._expr import all_of, is_in, lit_str, not_null
from revgov.definitions.spelling import spelling_key, spelling_key_expr

if TYPE_CHECKING:
    from revgov._typing import RoutedEntity
    from revgov.config import RoutingConfig, RoutingRule

__all__ = [
    "matched_rule",
    "route_columns",
    "route_inputs",
    "route_ok",
    "route_outcome",
    "rule_matches",
]


def rule_matches(
    rule: RoutingRule,
    segment: nw.Expr,
    *,
    country_key: nw.Expr | None = None,
    segment_key: nw.Expr | None = None,
) -> nw.Expr:
    """The record meets every criterion of ``rule`` (false for blanks). ``country_key`` and
    ``segment_key``: the spelling keys, when the caller has them as columns."""
    conds = []
    if rule.countries:
        keys = sorted({spelling_key(c) for c in rule.countries})
        country = country_key if country_key is not None else spelling_key_expr(nw.col("country"))
        conds.append(country.is_in(keys))
    if rule.segments:
        seg = segment_key if segment_key is not None else spelling_key_expr(segment)
        conds.append(seg.is_in(sorted({spelling_key(s) for s in rule.segments})))
    if rule.employees_min is not None:
        conds.append(nw.col("employees") >= rule.employees_min)
    if rule.employees_max is not None:
        conds.append(nw.col("employees") <= rule.employees_max)
    return all_of(conds).fill_null(False)


def _rules(routing: RoutingConfig, entity: RoutedEntity) -> list[tuple[int, RoutingRule]]:
    return [(i, r) for i, r in enumerate(routing.rules) if r.entity == entity]


def matched_rule(
    routing: RoutingConfig, entity: RoutedEntity, segment: nw.Expr, **keys: nw.Expr
) -> nw.Expr:
    """The index in ``routing.rules`` of the first rule the record meets (null: none);
    ``keys`` as :func:`rule_matches` takes them."""
    chain: nw.Expr = nw.lit(None, nw.Int64())
    for i, r in reversed(_rules(routing, entity)):
        hit = rule_matches(r, segment, **keys)
        chain = nw.when(hit).then(nw.lit(i, nw.Int64())).otherwise(chain)
    return chain


def route_columns(
    routing: RoutingConfig, entity: RoutedEntity, segment: nw.Expr, **keys: nw.Expr
) -> dict[str, nw.Expr]:
    """The expected route as expressions: ``rule`` (its name), ``owner`` (a user id) or
    ``pool`` (a pool name) of the first rule the record meets; null where none does.
    ``keys`` as :func:`rule_matches` takes them."""
    name: nw.Expr = lit_str(None)
    owner: nw.Expr = lit_str(None)
    pool: nw.Expr = lit_str(None)
    for _, r in reversed(_rules(routing, entity)):
        m = rule_matches(r, segment, **keys)
        name = nw.when(m).then(lit_str(r.name)).otherwise(name)
        owner = nw.when(m).then(lit_str(r.owner)).otherwise(owner)
        pool = nw.when(m).then(lit_str(r.pool)).otherwise(pool)
    return {"rule": name, "owner": owner, "pool": pool}


def route_ok(routing: RoutingConfig, actual: nw.Expr, owner: nw.Expr, pool: nw.Expr) -> nw.Expr:
    """The actual owner is the expected owner, or a member of the expected pool (null when
    no rule applies)."""
    in_pool: nw.Expr = nw.lit(None, nw.Boolean())
    for pname, members in reversed(list(routing.pools.items())):
        in_pool = nw.when(pool == pname).then(is_in(actual, members)).otherwise(in_pool)
    return (
        nw.when(not_null(owner))
        .then(actual == owner)
        .when(not_null(pool))
        .then(in_pool)
        .otherwise(nw.lit(None, nw.Boolean()))
    )


def route_outcome(
    routing: RoutingConfig,
    actual: nw.Expr,
    *,
    owner_active: nw.Expr,
    route_rule: nw.Expr,
    route_owner: nw.Expr,
    route_pool: nw.Expr,
) -> nw.Expr:
    """The routing outcome of a record (see the module doc) as text; null where no rule
    routes it or the owner is the expected one. ``owner_active`` is the owner's
    ``is_active`` (null for an unknown owner, who is judged by the route alone)."""
    members = sorted({m for pool in routing.pools.values() for m in pool})
    in_any_pool = is_in(actual, members).fill_null(False) if members else nw.lit(False)
    ok = route_ok(routing, actual, route_owner, route_pool).fill_null(False)
    return (
        nw.when(route_rule.is_null())
        .then(lit_str(None))
        .when(actual.is_null())
        .then(lit_str("unassigned"))
        .when((owner_active == False).fill_null(False))  # noqa: E712
        .then(lit_str("owner_inactive"))
        .when(ok)
        .then(lit_str(None))
        .when(not_null(route_owner))
        .then(lit_str("wrong_owner"))
        .when(in_any_pool)
        .then(lit_str("wrong_pool"))
        .otherwise(lit_str("no_pool"))
    )


def route_inputs(routing: RoutingConfig, entity: RoutedEntity) -> tuple[str, ...]:
    """Columns the routing rules of ``entity`` read (beyond the owner)."""
    cols: dict[str, None] = {}
    for _, r in _rules(routing, entity):
        if r.countries:
            cols["country"] = None
        if r.segments:
            cols["segment"] = None
        if r.employees_min is not None or r.employees_max is not None:
            cols["employees"] = None
    return tuple(cols)
