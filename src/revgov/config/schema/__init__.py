"""The models of ``revgov.toml``, one module per table (``root`` holds the whole file)."""

from __future__ import annotations

from revgov.config.schema._base import Strict, invalid
from revgov.config.schema.company import CompanyConfig, KPIChoices
from revgov.config.schema.fields import RequiredFields
from revgov.config.schema.icp import ICP, Segment
from revgov.config.schema.lifecycle import LifecycleConfig, QualifiedDefinition
from revgov.config.schema.pipelines import PipelineConfig, StageConfig
from revgov.config.schema.plays import (
    DecisionRule,
    Guardrail,
    PlayConfig,
    PlayControlConfig,
    Population,
)
from revgov.config.schema.root import Config
from revgov.config.schema.routing import (
    OutcomeSetting,
    RoutingConfig,
    RoutingOutcomes,
    RoutingRule,
)
from revgov.config.schema.rules import (
    Column,
    CustomRuleBase,
    FormatSettings,
    Regex,
    RoundRobinSettings,
    RuleOverride,
    RulesSettings,
    SkippedStageSettings,
)
from revgov.config.schema.sla import BusinessHours, SLAConfig
from revgov.config.schema.sources import SourceConfig
from revgov.config.schema.utm import UTM_TAGS, CampaignNaming, UTMConfig

__all__ = [
    "ICP",
    "UTM_TAGS",
    "BusinessHours",
    "CampaignNaming",
    "Column",
    "CompanyConfig",
    "Config",
    "CustomRuleBase",
    "DecisionRule",
    "FormatSettings",
    "Guardrail",
    "KPIChoices",
    "LifecycleConfig",
    "OutcomeSetting",
    "PipelineConfig",
    "PlayConfig",
    "PlayControlConfig",
    "Population",
    "QualifiedDefinition",
    "Regex",
    "RequiredFields",
    "RoundRobinSettings",
    "RoutingConfig",
    "RoutingOutcomes",
    "RoutingRule",
    "RuleOverride",
    "RulesSettings",
    "SLAConfig",
    "Segment",
    "SkippedStageSettings",
    "SourceConfig",
    "StageConfig",
    "Strict",
    "UTMConfig",
    "invalid",
]
