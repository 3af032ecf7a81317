"""``[[pipelines]]``: each pipeline's ordered stages, their aliases and stale limits."""

from __future__ import annotations

from pydantic import Field, model_validator

from revgov.config.schema._base import Strict, did_you_mean, invalid
from revgov.definitions.spelling import spelling_key

__all__ = ["PipelineConfig", "StageConfig"]


class StageConfig(Strict):
    """`[[pipelines.stages]]`: one stage of a pipeline."""

    name: str = Field(min_length=1)
    order: int = Field(ge=0, description="Position in the pipeline.")
    probability: float = Field(ge=0, le=1, description="Win probability in [0, 1].")
    is_closed: bool = False
    is_won: bool = False
    aliases: list[str] = Field(
        default_factory=list,
        description="Other spellings of the stage in the CRM (any spelling matches in any "
        "case, spaces trimmed).",
    )

    @model_validator(mode="after")
    def _won_is_closed(self) -> StageConfig:
        if self.is_won and not self.is_closed:
            raise invalid(
                f"stage {self.name!r} is_won but not is_closed",
                at=("is_closed",),
                hint="a won stage is closed: add is_closed = true",
            )
        return self

    @property
    def spellings(self) -> tuple[str, ...]:
        """The name and every alias."""
        return (self.name, *self.aliases)


class PipelineConfig(Strict):
    """`[[pipelines]]`: a pipeline, its ordered stages and stale limits."""

    name: str = Field(min_length=1)
    stages: list[StageConfig] = Field(min_length=1)
    stale_days: dict[str, int] = Field(
        default_factory=dict, description="Days in stage after which an open deal is stale."
    )

    @model_validator(mode="after")
    def _stages_ok(self) -> PipelineConfig:
        # Names first, then aliases: an alias that spells another stage is the one at fault.
        owner: dict[str, str] = {}
        spellings = [(i, s.name, "name") for i, s in enumerate(self.stages)]
        spellings += [(i, a, "aliases") for i, s in enumerate(self.stages) for a in s.aliases]
        for i, spelling, key in spellings:
            stage = self.stages[i].name
            first = owner.setdefault(spelling_key(spelling), stage)
            if first != stage or (key == "name" and _index(self, first) != i):
                raise invalid(
                    f"pipeline {self.name!r}: {spelling!r} names two stages ({first!r} and "
                    f"{stage!r}); stage names and aliases match in any case",
                    at=("stages", i, key),
                    hint="give every stage its own name and aliases",
                )
        if not any(s.is_won for s in self.stages):
            raise invalid(
                f"pipeline {self.name!r} has no is_won stage",
                at=("stages",),
                hint="mark the stage that books the deal with is_closed = true, is_won = true",
            )
        names = [s.name for s in self.stages]
        for st, days in self.stale_days.items():
            if st not in names:
                raise invalid(
                    f"stale_days names {st!r}, not a stage of {self.name!r}",
                    at=("stale_days", st),
                    hint=did_you_mean(st, names, "stages"),
                )
            if days < 1:
                raise invalid(
                    f"stale_days[{st!r}] = {days} is not a number of days",
                    at=("stale_days", st),
                    hint="write a whole number of days, 1 or more",
                )
        return self

    def ordered(self) -> list[StageConfig]:
        return sorted(self.stages, key=lambda s: s.order)

    def stage(self, spelling: str) -> StageConfig | None:
        """The stage ``spelling`` names (its name or an alias, in any case), if any."""
        key = spelling_key(spelling)
        for s in self.stages:
            if any(spelling_key(x) == key for x in s.spellings):
                return s
        return None


def _index(pipeline: PipelineConfig, name: str) -> int:
    return next(i for i, s in enumerate(pipeline.stages) if s.name == name)
