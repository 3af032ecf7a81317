"""Ownership and routing: every record has a current owner, the one the routing table
expects, and round-robin pools stay balanced."""

from __future__ import annotations

import narwhals as nw

from revgov._typing import (
    ROUTING_OUTCOMES,
    SEVERITIES,
    RoutedEntity,
    RoutingOutcome,
    Severity,
)
from revgov.config import Config
from revgov.rules import kinds
from revgov.rules._derive import owner_lookup
from revgov.rules._expr import any_of, fmt_number, is_in, not_null, text
from revgov.rules._routing import pool_columns, round_robin_load, routing_outcome
from revgov.rules.base import Check, Derivation, Rule
from revgov.rules.packs.baseline._common import SOPS, builtin

__all__ = ["misrouting", "ownership", "round_robin"]

_ASSIGN = {
    "people": (
        "Every person is assigned to an owner (no unassigned records).",
        "Route the records through the assignment rules; alert on unassigned leads.",
    ),
    "accounts": (
        "Every account has an owner.",
        "Assign the account by territory; alert on unowned accounts.",
    ),
    "opportunities": ("Every opportunity has an owner.", "Assign the deal to the account owner."),
}


def ownership(
    entity: RoutedEntity,
    config: Config,
    *,
    open_deal: nw.Expr | None = None,
    keyed: Derivation | None = None,
) -> list[Rule]:
    """``<entity>.owner_missing``, ``owner_unknown`` and ``owner_inactive`` (of open deals
    only, for opportunities: ``open_deal``, which reads the columns of ``keyed``)."""
    description, remediation = _ASSIGN[entity]
    owners = owner_lookup(entity)
    inactive = _owner_inactive(entity, owners, scope=open_deal)
    if open_deal is not None:
        inactive = inactive.replace(
            columns=("owner_id", "stage", "pipeline", "is_closed"),
            derivations=(*inactive.derivations, *((keyed,) if keyed else ())),
        )
    return [
        kinds.required(
            f"{entity}.owner_missing",
            entity,
            ["owner_id"],
            dimension="routing",
            description=description,
            remediation=remediation,
            owner=SOPS,
            **builtin(),
        ),
        _owner_unknown(entity),
        inactive,
    ]


def misrouting(entity: RoutedEntity, config: Config) -> list[Rule]:
    """``<entity>.misrouted``: people always; accounts and opportunities when
    ``[[routing.rules]]`` routes them."""
    if entity == "people" or any(r.entity == entity for r in config.routing.rules):
        return [_misrouted(entity, config)]
    return []


def _owner_unknown(entity: str) -> Rule:
    return kinds.references(
        f"{entity}.owner_unknown",
        entity,
        "owner_id",
        "users",
        description=f"owner_id of {entity}, when present, is a known user.",
        remediation="Reassign the records of users that do not exist (deleted or mistyped "
        "ids) through the routing rules.",
        owner=SOPS,
        **builtin(),
    ).replace(dimension="integrity")


def _owner_inactive(entity: str, owners: Derivation, *, scope: nw.Expr | None = None) -> Rule:
    found = nw.col("__owner_found").fill_null(False)
    return Rule(
        id=f"{entity}.owner_inactive",
        entity=entity,
        dimension="routing",
        kind="routing",
        description=f"{entity.capitalize()} are not owned by deactivated users"
        + (" (open deals)." if scope is not None else "."),
        checks=(
            Check(
                violation=nw.col("__owner_active") == False,  # noqa: E712
                field="owner_id",
                message=text("owner ", nw.col("owner_id"), " is an inactive user"),
            ),
        ),
        scope=found if scope is None else found & scope,
        columns=("owner_id",),
        derivations=(owners,),
        remediation="Reassign the departed user's records through the routing rules before "
        "deactivating the user.",
        owner=SOPS,
        **builtin(),
    )


def _outcome_message(outcome: RoutingOutcome) -> nw.Expr:
    owner = nw.col("owner_id")
    expected = nw.when(not_null("__route_owner"))
    target = expected.then(text("owner ", nw.col("__route_owner"))).otherwise(
        text("pool '", nw.col("__route_pool"), "'")
    )
    head = {
        "unassigned": text("no owner"),
        "owner_inactive": text("owner ", owner, " is an inactive user"),
        "no_pool": text("owner ", owner, " is in no routing pool"),
        "wrong_pool": text("owner ", owner, " is not in pool '", nw.col("__route_pool"), "'"),
        "wrong_owner": text(
            "owner ", owner, " is not the routing table's owner ", nw.col("__route_owner")
        ),
    }[outcome]
    return text(
        head, " (", outcome, "; rule '", nw.col("__route_rule"), "' routes to ", target, ")"
    )


def _misrouted(entity: RoutedEntity, config: Config) -> Rule:
    owners = owner_lookup(entity)
    outcomes = config.routing.outcomes
    counted = [o for o in ROUTING_OUTCOMES if getattr(outcomes, o).misrouted]
    severities: list[Severity] = [getattr(outcomes, o).severity for o in counted]
    worst: Severity = max(severities, key=SEVERITIES.index) if severities else "error"
    outcome = nw.col("__route_outcome")
    checks = tuple(
        Check(
            violation=(outcome == o).fill_null(False),
            field="owner_id",
            message=_outcome_message(o),
            severity=getattr(outcomes, o).severity,
        )
        for o in counted
    )
    listed = ", ".join(f"{o} ({getattr(outcomes, o).severity})" for o in counted) or "none"
    left = [o for o in ROUTING_OUTCOMES if o not in counted]
    return Rule(
        id=f"{entity}.misrouted",
        entity=entity,
        dimension="routing",
        kind="routing",
        description="The owner is the one the routing table expects: the first matching "
        "[[routing.rules]] entry's owner, or a member of its round-robin pool. Each routed "
        "record that is not has one outcome ([routing.outcomes]): unassigned, owner_inactive "
        "(a deactivated owner, in a pool or not), no_pool (in no pool), wrong_pool, "
        f"wrong_owner. Counted as misrouted here: {listed}"
        + (f"; not counted: {', '.join(left)}" if left else "")
        + ". Owners that are no known user are left to owner_unknown.",
        checks=checks or (Check(violation=nw.lit(False)),),
        # Unknown owners are owner_unknown's; outcomes not counted are not judged here.
        scope=(
            not_null("__route_rule")
            & (nw.col("owner_id").is_null() | nw.col("__owner_found").fill_null(False))
            & (outcome.is_null() | (is_in(outcome, counted) if counted else nw.lit(False)))
        ).fill_null(False),
        columns=("owner_id",),
        derivations=(owners, routing_outcome(entity, config, owners)),
        needs="needs records the routing table routes: [[routing.rules]] whose countries, "
        "segments or employee bands match them",
        remediation="Reassign the record to the expected owner or pool and fix the "
        "assignment rule that sent it elsewhere (or that left it with no or a departed "
        "owner).",
        owner=SOPS,
        severity=worst,
        settings=("routing.rules", "routing.pools", "routing.outcomes", "segments"),
        **builtin(),
    )


def round_robin(config: Config) -> list[Rule]:
    """Round-robin pools hand out an even share to their active members."""
    pools = list(config.routing.pools.items())
    tol = config.rules.round_robin.tolerance
    tolerance = config.routing.round_robin_tolerance if tol is None else tol
    checks = []
    for i, (name, _members) in enumerate(pools):
        member, load, share = pool_columns(i)
        dev = (nw.col(load) - nw.col(share)).abs()
        checks.append(
            Check(
                scope=nw.col(member),
                violation=(nw.col(share) > 0) & (dev > nw.col(share) * tolerance),
                field="owner_id",
                value=nw.col(load).cast(nw.String()),
                message=text(
                    f"pool '{name}': owns ",
                    nw.col(load).cast(nw.String()),
                    " routed records; even share ",
                    fmt_number(nw.col(share), 1),
                    f" (tolerance {tolerance:.0%})",
                ),
            )
        )
    members = [pool_columns(i)[0] for i in range(len(pools))]
    return [
        Rule(
            id="users.round_robin_imbalance",
            entity="users",
            dimension="routing",
            kind="routing",
            description="Active members of each round-robin pool own an even share of the "
            "records routed to the pool, within routing.round_robin_tolerance.",
            checks=tuple(checks) or (Check(violation=nw.lit(False)),),
            scope=any_of([nw.col(m) for m in members]) if members else nw.lit(False),
            columns=("user_id", "is_active"),
            derivations=(round_robin_load(config),),
            owner_column="user_id",
            remediation="Check the round-robin assignment (skipped or paused members, manual "
            "reassignments) and rebalance new records.",
            owner=SOPS,
            severity="warn",
            settings=("routing.pools", "routing.round_robin_tolerance"),
            **builtin(),
        )
    ]
