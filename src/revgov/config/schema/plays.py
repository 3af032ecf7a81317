"""``[[plays]]``: one orchestrated play, who it is given to, what it is compared with, the
KPI it should move and the rule that decides whether to scale it (docs/plays.md)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from revgov._typing import PlayControl, PlayEntity, PlayKPI
from revgov.config.schema._base import Strict, invalid

__all__ = [
    "KPI_ENTITIES",
    "LOWER_IS_BETTER",
    "DecisionRule",
    "Guardrail",
    "PlayConfig",
    "PlayControlConfig",
    "Population",
    "Scalar",
]

#: A value a filter compares a column with.
Scalar = str | int | float | bool

#: The entities whose records each play KPI is measured on, one value per record.
KPI_ENTITIES: dict[PlayKPI, tuple[PlayEntity, ...]] = {
    "meeting_rate": ("people", "accounts"),
    "lead_to_opportunity": ("people",),
    "mql_to_sql": ("people",),
    "speed_to_lead": ("people",),
    "opportunity_to_win": ("opportunities",),
    "pipeline_created": ("people", "accounts"),
    "stage_conversion": ("opportunities",),
    "time_in_stage": ("opportunities",),
}

#: The KPIs measured at one pipeline stage, named by the play's ``stage``.
STAGE_KPIS: frozenset[PlayKPI] = frozenset({"stage_conversion", "time_in_stage"})

#: The KPIs where less is better (a play that cuts hours to first touch improves it).
LOWER_IS_BETTER: frozenset[PlayKPI] = frozenset({"speed_to_lead", "time_in_stage"})


class Population(Strict):
    """Who is in the play: the records of ``entity`` matching every ``where`` entry.

    A ``where`` value is one value or a list of values any of which matches; a record is in
    the play when it enters (``entered_at``) between the play's start and end."""

    entity: PlayEntity = Field("people", description="Whose records get the play.")
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="Column = value (or list of values) filters, all met."
    )
    entered_at: str | None = Field(
        None,
        description="The time column that puts a record in the play (default: the KPI's "
        "cohort time, created_at, or mql_at for mql_to_sql).",
    )


class PlayControlConfig(Strict):
    """What the play is compared with.

    ``holdout``: a random ``share`` of the population, assigned by a stable hash of the
    record id and the play name, does not get the play. ``comparison``: the records matching
    ``where`` (a segment that does not get the play), by difference-in-differences against the
    pre-period. ``pre_period``: the population's own past, by difference-in-differences
    against the records outside the population over the same dates.
    """

    kind: PlayControl = Field("holdout", description="holdout, comparison or pre_period.")
    share: float = Field(0.2, gt=0, lt=1, description="Holdout share of the population.")
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict, description="The comparison segment (kind = comparison)."
    )
    pre_weeks: int | None = Field(
        None, gt=0, description="Weeks before the start read as the pre-period (default 8)."
    )

    @model_validator(mode="after")
    def _kind_has_its_keys(self) -> PlayControlConfig:
        if self.kind == "comparison" and not self.where:
            raise invalid(
                "a comparison control needs the segment it compares with",
                at=("where",),
                hint='add e.g. where = { segment = "mid_market" }',
            )
        if self.kind != "comparison" and self.where:
            raise invalid(
                f"where only applies to kind = 'comparison', not {self.kind!r}",
                at=("where",),
                hint="remove where, or set kind = 'comparison'",
            )
        if self.kind == "holdout" and self.pre_weeks is not None:
            raise invalid(
                "a holdout has no pre-period",
                at=("pre_weeks",),
                hint="remove pre_weeks, or use kind = 'comparison' or 'pre_period'",
            )
        return self


class Guardrail(Strict):
    """A KPI the play must not harm by more than ``max_harm`` (in the KPI's own unit)."""

    kpi: PlayKPI = Field(description="The KPI guarded.")
    max_harm: float = Field(0.0, ge=0, description="Tolerated worsening, in the KPI's unit.")


class DecisionRule(Strict):
    """When to scale: the lift is at least ``min_lift`` (in the KPI's unit: share points for
    rates, hours, currency) and its interval at ``confidence`` excludes no lift."""

    min_lift: float = Field(gt=0, description="The smallest lift worth scaling.")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Two-sided interval level.")
    power: float = Field(0.8, gt=0.5, lt=1, description="Power `revgov play plan` plans for.")
    min_records: int = Field(
        50, ge=10, description="Fewer records in an arm than this: too few to decide."
    )


class PlayConfig(Strict):
    """`[[plays]]`: one play, measured by :func:`revgov.plays.play_lift`."""

    name: str = Field(
        min_length=1, pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="Lower-case, - or _."
    )
    owner: str = Field(min_length=1, description="Who answers for the play.")
    population: Population = Field(default_factory=Population, description="Who is in it.")
    start: date = Field(description="First day of the play.")
    end: date | None = Field(None, description="Last day of the play (open while null).")
    control: PlayControlConfig = Field(
        default_factory=PlayControlConfig, description="What it is compared with."
    )
    primary_kpi: PlayKPI = Field(description="The KPI the play should move.")
    window_days: int = Field(
        30, gt=0, description="Days after entering that a meeting or a deal counts."
    )
    guardrails: list[Guardrail] = Field(
        default_factory=list, description="KPIs the play must not harm."
    )
    decision: DecisionRule = Field(description="When to scale, keep running or stop.")
    stage: str | None = Field(
        None,
        description="For stage_conversion (the share of deals that reach this stage within "
        "window_days) and time_in_stage (days a deal stays in it): a pipeline stage.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> PlayConfig:
        if self.end is not None and self.end <= self.start:
            raise invalid(
                f"end {self.end} is not after start {self.start}",
                at=("end",),
                hint="end is the play's last day, after its start",
            )
        entity = self.population.entity
        kpis: list[tuple[PlayKPI, tuple[str | int, ...]]] = [(self.primary_kpi, ("primary_kpi",))]
        kpis += [(g.kpi, ("guardrails", i, "kpi")) for i, g in enumerate(self.guardrails)]
        for kpi, at in kpis:
            if entity not in KPI_ENTITIES[kpi]:
                fits = [k for k, ents in KPI_ENTITIES.items() if entity in ents]
                raise invalid(
                    f"{kpi} is not measured per record of {entity}",
                    at=at,
                    hint=f"KPIs of {entity}: {', '.join(fits)}; or population.entity = "
                    f"{' or '.join(repr(e) for e in KPI_ENTITIES[kpi])}",
                )
        staged = [kpi for kpi, _ in kpis if kpi in STAGE_KPIS]
        if staged and not self.stage:
            raise invalid(
                f"{staged[0]} needs the stage it is measured at",
                at=("stage",),
                hint='set stage = "<a pipeline stage>" in the play',
            )
        for i, g in enumerate(self.guardrails):
            if g.kpi == self.primary_kpi:
                raise invalid(
                    f"{g.kpi} is the primary KPI, not a guardrail",
                    at=("guardrails", i, "kpi"),
                    hint="a guardrail is another KPI the play must not harm",
                )
        return self

    def is_active(self, on: date) -> bool:
        """Whether the play runs on day ``on`` (started and not ended)."""
        return self.start <= on and (self.end is None or on <= self.end)
