"""``[lifecycle]`` and ``[qualified]``: the funnel's stages and what counts as qualified."""

from __future__ import annotations

from pydantic import Field, model_validator

from revgov.config.schema._base import Strict, did_you_mean, invalid
from revgov.definitions.spelling import spelling_key

__all__ = ["LifecycleConfig", "QualifiedDefinition"]


class LifecycleConfig(Strict):
    """`[lifecycle]`: canonical lifecycle stages and how vendor values map onto them."""

    stages: list[str] = Field(
        default_factory=lambda: [
            "subscriber",
            "lead",
            "mql",
            "sql",
            "opportunity",
            "customer",
        ],
        min_length=1,
        description="Canonical lifecycle stages, in funnel order.",
    )
    map: dict[str, str] = Field(
        default_factory=dict,
        description="Vendor lifecycle value (any case, spaces trimmed) to canonical stage.",
    )
    required_stages: list[str] = Field(
        default_factory=list,
        description="Stages a record may not skip on its way up the funnel.",
    )

    @model_validator(mode="after")
    def _stages_known(self) -> LifecycleConfig:
        seen: dict[str, str] = {}
        for i, stage in enumerate(self.stages):
            other = seen.setdefault(spelling_key(stage), stage)
            if other != stage or self.stages.index(stage) != i:
                raise invalid(
                    f"{stage!r} repeats the stage {other!r} (stages match in any case)",
                    at=("stages",),
                    hint="list each lifecycle stage once",
                )
        keys: dict[str, str] = {}
        for vendor, canonical in self.map.items():
            if canonical not in self.stages:
                raise invalid(
                    f"lifecycle.map[{vendor!r}] = {canonical!r} is not in lifecycle.stages",
                    at=("map", vendor),
                    hint=did_you_mean(canonical, self.stages, "stages"),
                )
            key = spelling_key(vendor)
            named = next((st for st in self.stages if spelling_key(st) == key), canonical)
            if named != canonical:
                raise invalid(
                    f"lifecycle.map[{vendor!r}] = {canonical!r}, but {vendor!r} spells the "
                    f"stage {named!r}",
                    at=("map", vendor),
                    hint="a stage's own name always means that stage: remove the entry",
                )
            if keys.setdefault(key, canonical) != canonical:
                raise invalid(
                    f"lifecycle.map maps {vendor!r} and another spelling of it to different "
                    f"stages ({keys[key]!r} and {canonical!r})",
                    at=("map", vendor),
                    hint="vendor values match in any case: map each value once",
                )
        for s in self.required_stages:
            if s not in self.stages:
                raise invalid(
                    f"lifecycle.required_stages has {s!r}, not in lifecycle.stages",
                    at=("required_stages",),
                    hint=did_you_mean(s, self.stages, "stages"),
                )
        return self


class QualifiedDefinition(Strict):
    """`[qualified]`: the governed meaning of \"qualified\" for deals and people."""

    opportunity_min_stage: str | None = Field(
        None, description="A deal is qualified once it reaches this stage (by order)."
    )
    opportunity_min_amount: float | None = Field(
        None, ge=0, description="And has at least this amount."
    )
    person_lifecycle_stages: list[str] = Field(
        default_factory=lambda: ["sql", "opportunity", "customer"],
        min_length=1,
        description="Lifecycle stages that count as sales-qualified.",
    )
    mql_lifecycle_stage: str = Field("mql", description="The lifecycle stage that is an MQL.")
