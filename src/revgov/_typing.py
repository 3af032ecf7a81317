"""The closed vocabularies of revgov, each written once.

Config models, rules, metrics and the CLI import these names from here, so that a new value
(a severity, a dimension, an entity) is added in one place and checked everywhere by mypy.
The tuples beside each Literal are its values at run time, in their canonical order.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "BASES",
    "DIMENSIONS",
    "ENTITY_NAMES",
    "ROUTING_OUTCOMES",
    "SEVERITIES",
    "Basis",
    "ClockStart",
    "CoverageBasis",
    "Dimension",
    "Entity",
    "HistoryEntity",
    "RoutedEntity",
    "RoutingOutcome",
    "RuleOrigin",
    "RuleStatus",
    "SLAClock",
    "Severity",
]

#: The canonical entities, in model order.
Entity = Literal[
    "accounts",
    "people",
    "opportunities",
    "stage_events",
    "activities",
    "campaigns",
    "campaign_touches",
    "users",
    "pipeline_stages",
    "spend",
    "targets",
]
ENTITY_NAMES: tuple[Entity, ...] = get_args(Entity)

#: How serious a rule's violation is (ordered from least to most).
Severity = Literal["info", "warn", "error"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

#: The governance dimensions the audit scores.
Dimension = Literal["completeness", "conformity", "routing", "sla", "integrity"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)

#: The entities a routing rule can route.
RoutedEntity = Literal["people", "accounts", "opportunities"]

#: What the routing table says of a routed record's owner (``<entity>.misrouted``): no
#: owner, a deactivated owner, an owner in no round-robin pool, an owner in another pool
#: than the expected one, another owner than the expected one.
RoutingOutcome = Literal["unassigned", "owner_inactive", "no_pool", "wrong_pool", "wrong_owner"]
ROUTING_OUTCOMES: tuple[RoutingOutcome, ...] = get_args(RoutingOutcome)

#: The entities with a stage history in ``stage_events`` (stage, lifecycle stage).
HistoryEntity = Literal["opportunities", "people"]

#: When the speed-to-lead SLA clock starts: the person's MQL time, creation, or assignment
#: to the current owner.
ClockStart = Literal["mql_at", "created_at", "assigned_at"]

#: How the speed-to-lead SLA clock runs: in the business calendar of ``[sla]``, or around
#: the clock (nights and weekends count).
SLAClock = Literal["business_hours", "wall_clock"]

#: Where a rule comes from: a pack, revgov.toml, or Python.
RuleOrigin = Literal["builtin", "config", "python"]

#: What an audit says of a rule (``not_applicable``: it could not check anything, and says
#: why; never a pass).
RuleStatus = Literal["pass", "fail", "within_threshold", "not_applicable"]

#: What a rate or a sum is weighted by.
Basis = Literal["count", "amount"]
BASES: tuple[Basis, ...] = get_args(Basis)

#: What pipeline coverage divides by the remaining target.
CoverageBasis = Literal["open_pipeline", "weighted_pipeline"]

#: What pipeline coverage divides by: the target left after bookings, or the whole target.
CoverageAgainst = Literal["remaining", "target"]

#: How a win rate or a conversion places deals in time: ``cohort``, the period a deal was
#: created in (closed deals only: open ones are not yet an outcome); ``period``, the period
#: it closed in.
ConversionBasis = Literal["cohort", "period"]
CONVERSION_BASES: tuple[ConversionBasis, ...] = get_args(ConversionBasis)

__all__ += ["CONVERSION_BASES", "ConversionBasis", "CoverageAgainst"]

#: Every output format of the command line; each command accepts one of the subsets below
#: (a test checks that each subset stays inside this one).
OutputFormat = Literal["table", "text", "json", "csv", "md", "html"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = get_args(OutputFormat)
#: ``revgov audit``: the report as a table, JSON or Markdown.
ReportFormat = Literal["table", "json", "md"]
#: ``revgov metrics`` and ``revgov forecast``: tables, JSON or CSV.
TableFormat = Literal["table", "json", "csv"]
#: ``revgov pull`` and ``revgov snapshot info``: a text summary or JSON.
SummaryFormat = Literal["text", "json"]

#: ``revgov report``: one self-contained HTML page, Markdown or JSON.
DocumentFormat = Literal["html", "md", "json"]

__all__ += [
    "OUTPUT_FORMATS",
    "DocumentFormat",
    "OutputFormat",
    "ReportFormat",
    "SummaryFormat",
    "TableFormat",
]

#: The primary and guardrail KPIs a play can be measured on (see docs/plays.md).
PlayKPI = Literal[
    "meeting_rate",
    "lead_to_opportunity",
    "mql_to_sql",
    "speed_to_lead",
    "opportunity_to_win",
    "pipeline_created",
    "stage_conversion",
    "time_in_stage",
]
PLAY_KPIS: tuple[PlayKPI, ...] = get_args(PlayKPI)
#: The entities whose records a play is given to.
PlayEntity = Literal["people", "accounts", "opportunities"]
#: What a play is compared with: a hashed holdout, another segment, or its own past.
PlayControl = Literal["holdout", "comparison", "pre_period"]
#: What the decision rule says of a play.
PlayVerdict = Literal["scale", "keep_running", "stop"]

__all__ += ["PLAY_KPIS", "PlayControl", "PlayEntity", "PlayKPI", "PlayVerdict"]
