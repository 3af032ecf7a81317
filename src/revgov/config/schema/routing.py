"""``[routing]``: the routing table (first match wins), the round-robin pools, and what each
routing outcome counts (``[routing.outcomes]``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from revgov._typing import RoutedEntity, Severity
from revgov.config.schema._base import Strict, did_you_mean, invalid

__all__ = ["OutcomeSetting", "RoutingConfig", "RoutingOutcomes", "RoutingRule"]


class RoutingRule(Strict):
    """`[[routing.rules]]`: who should own a record with these firmographics."""

    name: str = Field(min_length=1)
    entity: RoutedEntity = "people"
    countries: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)
    owner: str | None = Field(None, description="A user id.")
    pool: str | None = Field(None, description="A round-robin pool name.")

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRule:
        if (self.owner is None) == (self.pool is None):
            raise invalid(
                f"routing rule {self.name!r} needs exactly one of owner or pool",
                at=("owner",),
                hint='write owner = "<user id>" or pool = "<pool name>", not both',
            )
        lo, hi = self.employees_min, self.employees_max
        if lo is not None and hi is not None and lo > hi:
            raise invalid(
                f"employees_min {lo} is above employees_max {hi}",
                at=("employees_max",),
                hint="the band is inclusive: min <= max",
            )
        return self


class OutcomeSetting(Strict):
    """One routing outcome's finding severity, and whether it counts as misrouted.

    ``misrouted = false``: ``<entity>.misrouted`` neither reports nor counts such records."""

    severity: Severity = Field("error", description="Severity of this outcome's findings.")
    misrouted: bool = Field(True, description="Whether the outcome counts as misrouted.")


class RoutingOutcomes(Strict):
    """`[routing.outcomes]`: each outcome of a routed record counts as misrouted, at error.

    ``<entity>.misrouted`` gives a routed record the first outcome that holds, in this
    order. Defaults: every outcome counts as misrouted, at severity error. An unknown owner
    (not among the users) is left to ``<entity>.owner_unknown``."""

    unassigned: OutcomeSetting = Field(
        default_factory=OutcomeSetting, description="No owner at all."
    )
    owner_inactive: OutcomeSetting = Field(
        default_factory=OutcomeSetting,
        description="The owner is a deactivated user (whatever pool they were in).",
    )
    no_pool: OutcomeSetting = Field(
        default_factory=OutcomeSetting,
        description="The table routes to a pool; the owner is in no pool of [routing.pools].",
    )
    wrong_pool: OutcomeSetting = Field(
        default_factory=OutcomeSetting,
        description="The table routes to a pool; the owner is in another pool.",
    )
    wrong_owner: OutcomeSetting = Field(
        default_factory=OutcomeSetting,
        description="The table routes to an owner; another user owns the record.",
    )


class RoutingConfig(Strict):
    """`[routing]`: the routing table (first match wins) and round-robin pools."""

    rules: list[RoutingRule] = Field(default_factory=list, description="First match wins.")
    pools: dict[str, list[str]] = Field(default_factory=dict, description="Pool to user ids.")
    round_robin_tolerance: float = Field(
        0.25, ge=0, description="Allowed relative deviation from an even share."
    )
    outcomes: RoutingOutcomes = Field(
        default_factory=RoutingOutcomes,
        description="Per routing outcome: severity and whether it counts as misrouted.",
    )

    @model_validator(mode="after")
    def _pools_exist(self) -> RoutingConfig:
        for name, members in self.pools.items():
            if not members:
                raise invalid(
                    f"pool {name!r} has no members", at=("pools", name), hint="list its user ids"
                )
        for i, r in enumerate(self.rules):
            if r.pool is not None and r.pool not in self.pools:
                raise invalid(
                    f"routing rule {r.name!r} names unknown pool {r.pool!r}",
                    at=("rules", i, "pool"),
                    hint=did_you_mean(r.pool, self.pools, "pools"),
                )
        return self
