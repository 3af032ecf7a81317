"""The governed definitions: the ``revgov.toml`` model, loading, hashing and diff.

A company's definitions live in one TOML file. :func:`load_config` parses it, validates it with
the models below, and turns any problem into a :class:`~revgov.errors.ConfigError` that names
the file, the line, the key and the closest valid key. :attr:`Config.config_hash` is stamped on
every output; :func:`diff_configs` says in words what changed between two versions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from revgov._typing import Basis, CoverageBasis, Entity, Severity

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "ICP",
    "CampaignNaming",
    "Config",
    "KPIChoices",
    "LifecycleConfig",
    "PipelineConfig",
    "QualifiedDefinition",
    "RequiredFields",
    "RoutingConfig",
    "RoutingRule",
    "SLAConfig",
    "Segment",
    "SourceConfig",
    "StageConfig",
    "UTMConfig",
    "config_from_dict",
    "diff_configs",
    "load_config",
]


class _Strict(BaseModel):
    """Unknown keys are errors (with a "did you mean" from the loader), never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanyConfig(_Strict):
    """`[company]`: who the definitions belong to."""

    name: str = Field("My company", description="Shown on reports.")
    currency: str = Field("USD", description="ISO 4217 code of amounts.")
    fiscal_year_start_month: int = Field(1, ge=1, le=12, description="First month of the FY.")


class LifecycleConfig(_Strict):
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
        description="Canonical lifecycle stages, in funnel order.",
    )
    map: dict[str, str] = Field(
        default_factory=dict,
        description="Vendor lifecycle value (any case) to canonical stage.",
    )
    required_stages: list[str] = Field(
        default_factory=list,
        description="Stages a record may not skip on its way up the funnel.",
    )

    @model_validator(mode="after")
    def _targets_exist(self) -> LifecycleConfig:
        known = set(self.stages)
        for vendor, canonical in self.map.items():
            if canonical not in known:
                raise ValueError(
                    f"lifecycle.map[{vendor!r}] = {canonical!r} is not in lifecycle.stages"
                )
        for s in self.required_stages:
            if s not in known:
                raise ValueError(f"lifecycle.required_stages has {s!r}, not in lifecycle.stages")
        return self


class StageConfig(_Strict):
    """`[[pipelines.stages]]`: one stage of a pipeline."""

    name: str
    order: int = Field(ge=0, description="Position in the pipeline.")
    probability: float = Field(ge=0, le=1, description="Win probability in [0, 1].")
    is_closed: bool = False
    is_won: bool = False
    aliases: list[str] = Field(default_factory=list, description="Vendor spellings of the stage.")

    @model_validator(mode="after")
    def _won_is_closed(self) -> StageConfig:
        if self.is_won and not self.is_closed:
            raise ValueError(f"stage {self.name!r} is_won but not is_closed")
        return self


class PipelineConfig(_Strict):
    """`[[pipelines]]`: a pipeline, its ordered stages and stale limits."""

    name: str
    stages: list[StageConfig]
    stale_days: dict[str, int] = Field(
        default_factory=dict, description="Days in stage after which an open deal is stale."
    )

    @model_validator(mode="after")
    def _stages_ok(self) -> PipelineConfig:
        names = [s.name for s in self.stages]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"pipeline {self.name!r} repeats stages {sorted(dupes)}")
        if not any(s.is_won for s in self.stages):
            raise ValueError(f"pipeline {self.name!r} has no is_won stage")
        for st in self.stale_days:
            if st not in names:
                raise ValueError(f"stale_days names {st!r}, not a stage of {self.name!r}")
        return self

    def ordered(self) -> list[StageConfig]:
        return sorted(self.stages, key=lambda s: s.order)


class QualifiedDefinition(_Strict):
    """`[qualified]`: the governed meaning of \"qualified\" for deals and people."""

    opportunity_min_stage: str | None = Field(
        None, description="A deal is qualified once it reaches this stage (by order)."
    )
    opportunity_min_amount: float | None = Field(None, description="And has at least this amount.")
    person_lifecycle_stages: list[str] = Field(
        default_factory=lambda: ["sql", "opportunity", "customer"],
        description="Lifecycle stages that count as sales-qualified.",
    )
    mql_lifecycle_stage: str = Field("mql", description="The lifecycle stage that is an MQL.")


class ICP(_Strict):
    """`[icp]`: the ideal customer profile (empty lists match anything)."""

    industries: list[str] = Field(default_factory=list)
    employees_min: int | None = None
    employees_max: int | None = None
    countries: list[str] = Field(default_factory=list)
    annual_revenue_min: float | None = None
    annual_revenue_max: float | None = None


class Segment(_Strict):
    """`[[segments]]`: a segment by firmographics; the first matching segment wins."""

    name: str
    employees_min: int | None = None
    employees_max: int | None = None
    countries: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)


class RequiredFields(_Strict):
    """`[[required_fields]]`: fields an entity must have, optionally only in some states."""

    id: str | None = Field(
        None,
        description="Rule id, e.g. `amount_missing_late_stage` (default: one rule per field, "
        "`<entity>.<field>_missing`).",
    )
    entity: Entity
    fields: list[str]
    when_stage: list[str] = Field(default_factory=list, description="Only in these stages.")
    when_lifecycle_stage: list[str] = Field(default_factory=list)
    when_segment: list[str] = Field(default_factory=list)
    when_type: list[str] = Field(default_factory=list, description="Record types / kinds.")
    severity: Severity = "error"


class UTMConfig(_Strict):
    """`[utm]`: UTM tagging conventions."""

    lowercase: bool = True
    required: list[str] = Field(
        default_factory=lambda: ["utm_source", "utm_medium", "utm_campaign"],
        description="Tags every tagged record must carry.",
    )
    required_by_channel: dict[str, list[str]] = Field(
        default_factory=dict, description="utm_medium value to the tags it requires."
    )
    vocabulary: dict[str, list[str]] = Field(
        default_factory=dict, description="Allowed values per tag."
    )


def _default_tokens() -> dict[str, list[str] | str]:
    return {"year": r"\d{4}", "quarter": r"q[1-4]"}


class CampaignNaming(_Strict):
    """`[campaign_naming]`: the campaign name template and each token's vocabulary."""

    template: str = Field(
        "{year}-{quarter}_{channel}_{region}_{offer}",
        description="Tokens in braces; literal separators between them.",
    )
    tokens: dict[str, list[str] | str] = Field(
        default_factory=_default_tokens,
        description="Per token: a list of allowed values or a regular expression.",
    )


class RoutingRule(_Strict):
    """`[[routing.rules]]`: who should own a record with these firmographics."""

    name: str
    entity: Literal["people", "accounts", "opportunities"] = "people"
    countries: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    employees_min: int | None = None
    employees_max: int | None = None
    owner: str | None = Field(None, description="A user id.")
    pool: str | None = Field(None, description="A round-robin pool name.")

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRule:
        if (self.owner is None) == (self.pool is None):
            raise ValueError(f"routing rule {self.name!r} needs exactly one of owner or pool")
        return self


class RoutingConfig(_Strict):
    """`[routing]`: the routing table (first match wins) and round-robin pools."""

    rules: list[RoutingRule] = Field(default_factory=list, description="First match wins.")
    pools: dict[str, list[str]] = Field(default_factory=dict, description="Pool to user ids.")
    round_robin_tolerance: float = Field(
        0.25, ge=0, description="Allowed relative deviation from an even share."
    )

    @model_validator(mode="after")
    def _pools_exist(self) -> RoutingConfig:
        for r in self.rules:
            if r.pool is not None and r.pool not in self.pools:
                raise ValueError(f"routing rule {r.name!r} names unknown pool {r.pool!r}")
        return self


class BusinessHours(_Strict):
    """`[sla.business_hours]`: the working day in the SLA time zone."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    working_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], description="ISO weekdays, Monday = 1."
    )


class SLAConfig(_Strict):
    """`[sla]`: service levels, measured in business hours."""

    timezone: str = Field("UTC", description="IANA time zone of the business hours.")
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    holidays: list[date] = Field(default_factory=list)
    speed_to_lead_hours: dict[str, float] = Field(
        default_factory=lambda: {"default": 4.0},
        description="Business hours to first touch; keys: `default` or a segment name.",
    )
    qualifying_activity_types: list[str] = Field(
        default_factory=lambda: ["call", "email", "meeting"]
    )
    follow_up_attempts: int = Field(3, ge=0, description="Attempts expected ...")
    follow_up_within_days: int = Field(7, ge=1, description="... within this many days.")
    stale_days_default: int = Field(30, ge=1, description="Days in stage before a deal is stale.")

    @field_validator("timezone")
    @classmethod
    def _tz_ok(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class KPIChoices(_Strict):
    """`[kpis]`: choices where public KPI definitions disagree."""

    win_rate_basis: Basis = "count"
    cycle_window_days: int = Field(365, ge=1, description="Trailing window for cycle length.")
    coverage_basis: CoverageBasis = "open_pipeline"
    gross_margin: float = Field(0.75, gt=0, le=1)
    cac_spend_lag_months: int = Field(
        1, ge=0, description="Spend of month m-lag is charged to new ARR of month m."
    )
    fiscal_calendar: bool = False


class SourceConfig(_Strict):
    """`[[sources]]`: one system records are pulled from.

    ``options`` and each table under ``entities`` are validated by the settings models the
    connector owns (see :mod:`revgov.connectors.settings`) when the config is loaded; the
    validated objects are :attr:`settings` and :meth:`entity_settings`.
    """

    name: str
    connector: str = Field(description="`files`, `salesforce`, `hubspot` or a plugin name.")
    entities: dict[Entity, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per canonical entity, the connector's entity settings and its mapping "
        "(`columns`, `values`, `constants`, `custom_fields`).",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Connector settings. Credentials never go here: name the environment "
        'variable that holds one with a `*_env` key, e.g. `token_env = "HUBSPOT_TOKEN"`.',
    )

    _settings: BaseModel | None = PrivateAttr(default=None)

    @field_validator("options")
    @classmethod
    def _no_inline_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        from revgov.config.secrets import is_secret_key

        for key in options:
            if is_secret_key(key):
                raise ValueError(
                    f"options.{key} looks like a credential: never put secrets in revgov.toml; "
                    f'set it in the environment and write `{key}_env = "VARIABLE_NAME"`'
                )
        return options

    _entity_settings: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    def bind(self) -> list[tuple[tuple[str | int, ...], ValidationError, type[BaseModel]]]:
        """Validate options and entity settings with the connector's own models.

        Returns the failures as (location under this source, error, model); raises
        :class:`~revgov.errors.UnknownConnectorError` if no connector has this name.
        """
        from revgov.connectors.registry import get_connector_spec

        spec = get_connector_spec(self.connector)
        failures: list[tuple[tuple[str | int, ...], ValidationError, type[BaseModel]]] = []
        try:
            self._settings = spec.settings_model.model_validate(self.options)
        except ValidationError as exc:
            failures.append((("options",), exc, spec.settings_model))
        for entity, raw in self.entities.items():
            try:
                self._entity_settings[entity] = spec.entity_settings_model.model_validate(raw)
            except ValidationError as exc:
                failures.append((("entities", entity), exc, spec.entity_settings_model))
        return failures

    def _bound(self) -> None:
        if self._settings is None:
            failures = self.bind()
            if failures:
                from revgov.config._errors import config_problems, nested_errors

                errors = [e for loc, exc, m in failures for e in nested_errors(exc, loc, m)]
                raise config_problems(errors, path=None, text=None)

    @property
    def settings(self) -> Any:
        """The validated ``options``: an instance of the connector's ``settings_model``."""
        self._bound()
        return self._settings

    def entity_settings(self, entity: str) -> Any:
        """The validated settings of one entity (the connector's ``entity_settings_model``)."""
        self._bound()
        return self._entity_settings[entity]


class Config(_Strict):
    """The whole of ``revgov.toml``."""

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
    rules: dict[str, Any] = Field(
        default_factory=dict, description="Rule settings (see docs/rules.md)."
    )

    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        names = [p.name for p in self.pipelines]
        if len(set(names)) != len(names):
            raise ValueError("two pipelines share a name")
        q = self.qualified.opportunity_min_stage
        if q is not None and self.pipelines:
            all_stages = {s.name for p in self.pipelines for s in p.stages}
            if q not in all_stages:
                raise ValueError(f"qualified.opportunity_min_stage {q!r} is not a pipeline stage")
        return self

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

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def _bind_sources(cfg: Config, *, path: Path | None, text: str | None) -> None:
    """Validate every source with its connector's settings models; all problems at once."""
    from revgov.config._errors import ModelAt, config_problems, nested_errors
    from revgov.errors import UnknownConnectorError

    problems: list[tuple[ErrorDetails, ModelAt]] = []
    for i, source in enumerate(cfg.sources):
        try:
            failures = source.bind()
        except UnknownConnectorError as exc:
            detail: ErrorDetails = {
                "type": "value_error",
                "loc": ("sources", i, "connector"),
                "msg": f"{exc.message}; {exc.hint}",
                "input": source.connector,
            }
            problems.append((detail, lambda _loc: None))
            continue
        for loc, error, model in failures:
            problems.extend(nested_errors(error, ("sources", i, *loc), model))
    if problems:
        raise config_problems(problems, path=path, text=text)


def config_from_dict(data: dict[str, Any], *, path: Path | None = None) -> Config:
    """Validate an already-parsed mapping (e.g. built in a notebook)."""
    from revgov.config._errors import validation_error

    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path=path, text=None) from None
    _bind_sources(cfg, path=path, text=None)
    cfg._path = path
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate ``revgov.toml``; errors name the file, line, key and a fix."""
    from revgov.config._errors import parse_toml, validation_error
    from revgov.errors import ConfigNotFoundError

    p = Path(path)
    if not p.is_file():
        raise ConfigNotFoundError(
            f"config file {str(p)!r} does not exist",
            hint="pass --config PATH, or run `revgov demo` to write an example revgov.toml",
        )
    text = p.read_text(encoding="utf-8")
    data = parse_toml(text, path=p)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path=p, text=text) from None
    _bind_sources(cfg, path=p, text=text)
    cfg._path = p.resolve()
    return cfg


def diff_configs(old: Config, new: Config) -> list[str]:
    """Say in words which definitions changed from ``old`` to ``new`` (empty if none)."""
    from revgov.config.diff import describe_changes

    return describe_changes(old.model_dump(mode="json"), new.model_dump(mode="json"))
