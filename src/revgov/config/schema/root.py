"""The whole of ``revgov.toml``: every table, and the checks that span tables."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from revgov.config.schema._base import Strict, did_you_mean, invalid
from revgov.config.schema.company import CompanyConfig, KPIChoices
from revgov.config.schema.fields import RequiredFields
from revgov.config.schema.icp import ICP, Segment
from revgov.config.schema.lifecycle import LifecycleConfig, QualifiedDefinition
from revgov.config.schema.pipelines import PipelineConfig
from revgov.config.schema.plays import PlayConfig
from revgov.config.schema.routing import RoutingConfig
from revgov.config.schema.rules import RulesSettings
from revgov.config.schema.sla import SLAConfig
from revgov.config.schema.sources import SourceConfig
from revgov.config.schema.utm import CampaignNaming, UTMConfig
from revgov.definitions.spelling import spelling_key

__all__ = ["Config"]


class Config(Strict):
    """The whole of ``revgov.toml``.

    Fields are validated in order, so a check that spans tables sits on the later table
    (``qualified`` names stages of the ``pipelines`` above it) and names its exact key.
    """

    company: CompanyConfig = Field(default_factory=CompanyConfig, description="Name, currency, FY.")
    lifecycle: LifecycleConfig = Field(
        default_factory=LifecycleConfig, description="Lifecycle stages and the vendor map."
    )
    pipelines: list[PipelineConfig] = Field(
        default_factory=list, description="Pipelines and their stages (`[[pipelines]]`)."
    )
    qualified: QualifiedDefinition = Field(
        default_factory=QualifiedDefinition, description="What counts as qualified."
    )
    icp: ICP = Field(default_factory=ICP, description="The ideal customer profile.")
    segments: list[Segment] = Field(default_factory=list, description="Segments, first match.")
    required_fields: list[RequiredFields] = Field(
        default_factory=list, description="Required fields per entity, stage, segment."
    )
    utm: UTMConfig = Field(default_factory=UTMConfig, description="UTM conventions.")
    campaign_naming: CampaignNaming = Field(
        default_factory=CampaignNaming, description="Campaign naming template and vocabulary."
    )
    routing: RoutingConfig = Field(
        default_factory=RoutingConfig, description="Routing table and round-robin pools."
    )
    sla: SLAConfig = Field(default_factory=SLAConfig, description="SLAs and business hours.")
    kpis: KPIChoices = Field(default_factory=KPIChoices, description="KPI definition choices.")
    sources: list[SourceConfig] = Field(
        default_factory=list, description="Where records come from (`[[sources]]`)."
    )
    rules: RulesSettings = Field(
        default_factory=RulesSettings, description="Rule settings (see docs/rules.md)."
    )
    plays: list[PlayConfig] = Field(
        default_factory=list, description="Plays and how their lift is measured (`[[plays]]`)."
    )

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("pipelines")
    @classmethod
    def _unique_pipelines(cls, pipelines: list[PipelineConfig]) -> list[PipelineConfig]:
        _unique([p.name for p in pipelines], "pipeline")
        return pipelines

    @field_validator("qualified")
    @classmethod
    def _qualified_names_stages(
        cls, q: QualifiedDefinition, info: ValidationInfo
    ) -> QualifiedDefinition:
        lifecycle: LifecycleConfig | None = info.data.get("lifecycle")
        # Only what the file sets: the defaults name stages a custom lifecycle may not have.
        if lifecycle is not None and "person_lifecycle_stages" in q.model_fields_set:
            for stage in q.person_lifecycle_stages:
                _known(stage, lifecycle.stages, ("person_lifecycle_stages",), "lifecycle stage")
        if lifecycle is not None and "mql_lifecycle_stage" in q.model_fields_set:
            mql = q.mql_lifecycle_stage
            _known(mql, lifecycle.stages, ("mql_lifecycle_stage",), "lifecycle stage")
        pipelines: list[PipelineConfig] = info.data.get("pipelines") or []
        wanted = q.opportunity_min_stage
        if wanted is not None and pipelines:
            default = pipelines[0]
            funnel = [s.name for s in default.ordered() if not s.is_closed or s.is_won]
            named = default.stage(wanted)
            if named is None or named.name not in funnel:
                raise invalid(
                    f"qualified.opportunity_min_stage {wanted!r} is not a pipeline stage deals "
                    f"pass on the way to won in {default.name!r}",
                    at=("opportunity_min_stage",),
                    hint=did_you_mean(wanted, funnel, "open and won stages"),
                )
        return q

    @field_validator("segments")
    @classmethod
    def _unique_segments(cls, segments: list[Segment]) -> list[Segment]:
        _unique([s.name for s in segments], "segment")
        return segments

    @field_validator("required_fields")
    @classmethod
    def _conditions_name_stages(
        cls, entries: list[RequiredFields], info: ValidationInfo
    ) -> list[RequiredFields]:
        spellings = _stage_spellings(info)
        lifecycle: LifecycleConfig | None = info.data.get("lifecycle")
        for i, rf in enumerate(entries):
            if spellings:
                for stage in rf.when_stage:
                    _known(stage, spellings, (i, "when_stage"), "pipeline stage")
            if lifecycle is not None:
                for stage in rf.when_lifecycle_stage:
                    _known(stage, lifecycle.stages, (i, "when_lifecycle_stage"), "lifecycle stage")
        return entries

    @field_validator("routing")
    @classmethod
    def _routing_names_segments(cls, routing: RoutingConfig, info: ValidationInfo) -> RoutingConfig:
        segments = [s.name for s in info.data.get("segments") or []]
        if segments:
            for i, r in enumerate(routing.rules):
                for seg in r.segments:
                    _known(seg, segments, ("rules", i, "segments"), "segment")
        return routing

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        _unique([s.name for s in sources], "source")
        return sources

    @field_validator("rules")
    @classmethod
    def _rules_name_stages(cls, rules: RulesSettings, info: ValidationInfo) -> RulesSettings:
        spellings = _stage_spellings(info)
        if spellings:
            for stage in rules.skipped_stage.required:
                _known(stage, spellings, ("skipped_stage", "required"), "pipeline stage")
        return rules

    @field_validator("plays")
    @classmethod
    def _unique_plays(cls, plays: list[PlayConfig]) -> list[PlayConfig]:
        _unique([p.name for p in plays], "play")
        return plays

    @property
    def path(self) -> Path | None:
        """The file the config was loaded from (relative source paths resolve against it)."""
        return self._path

    @property
    def config_hash(self) -> str:
        """SHA-256 of the validated definitions (not of the file's formatting), 16 hex chars."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def pipeline(self, name: str | None = None) -> PipelineConfig:
        if not self.pipelines:
            raise KeyError("no [[pipelines]] configured")
        if name is None:
            return self.pipelines[0]
        for p in self.pipelines:
            if p.name == name:
                return p
        raise KeyError(name)

    def play(self, name: str) -> PlayConfig:
        """The play called ``name`` (``KeyError`` when none is)."""
        for p in self.plays:
            if p.name == name:
                return p
        raise KeyError(name)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def _unique(names: list[str], what: str) -> None:
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise invalid(
                f"two {what}s share the name {name!r}",
                at=(i, "name"),
                hint=f"give every {what} its own name",
            )


def _stage_spellings(info: ValidationInfo) -> list[str]:
    pipelines: list[PipelineConfig] = info.data.get("pipelines") or []
    return [x for p in pipelines for s in p.stages for x in s.spellings]


def _known(value: str, options: list[str], at: tuple[str | int, ...], what: str) -> None:
    """``value`` names one of ``options`` (in any case, spaces trimmed: the spelling rule)."""
    if spelling_key(value) in {spelling_key(o) for o in options}:
        return
    raise invalid(
        f"{value!r} is not a {what}",
        at=at,
        hint=did_you_mean(value, list(dict.fromkeys(options)), f"{what}s"),
    )
