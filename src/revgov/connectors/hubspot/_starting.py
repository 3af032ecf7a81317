"""``revgov init --hubspot``: a starting revgov.toml from the portal's pipelines and properties.

It reads (with the credentials in the environment) the deal pipelines, whose stages become
``[[pipelines]]`` with HubSpot's probabilities and closed/won flags (labels as names, stage
ids as aliases), the contact lifecycle values, mapped onto the canonical stages where HubSpot's
standard names say which, and the contact properties that look like UTM tags (HubSpot has no
standard ones). Every guess is marked TODO.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from revgov.connectors.base import ConnectorContext
from revgov.connectors.hubspot._portal import Pipeline, PortalInfo
from revgov.connectors.hubspot.settings import HubSpotCredentials, HubSpotSettings

__all__ = ["starting_config"]

#: HubSpot's standard lifecycle values and the canonical stage each one is.
_STANDARD_LIFECYCLE = {
    "subscriber": "subscriber",
    "lead": "lead",
    "marketingqualifiedlead": "mql",
    "salesqualifiedlead": "sql",
    "opportunity": "opportunity",
    "customer": "customer",
}
_UTM_TAGS = ("source", "medium", "campaign", "term", "content")


def _q(text: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these)."""
    return json.dumps(text, ensure_ascii=False)


def _pipeline_lines(pipeline: Pipeline) -> list[str]:
    if not any(s.is_won for s in pipeline.stages):
        return [
            f"# TODO: pipeline {_q(pipeline.label)} (id {pipeline.id}) has no closed stage with",
            "# probability 1.0 (a won stage); add it here by hand if you report on it.",
            "",
        ]
    lines = [
        "[[pipelines]]",
        f"name = {_q(pipeline.label)}  # HubSpot pipeline id {_q(pipeline.id)}",
        "",
    ]
    seen: set[str] = set()
    for stage in pipeline.stages:
        name = stage.label if stage.label not in seen else f"{stage.label} ({stage.id})"
        seen.add(name)
        lines += ["[[pipelines.stages]]", f"name = {_q(name)}", f"order = {stage.order}"]
        if stage.probability is None:
            lines.append("probability = 0.0  # TODO: HubSpot has no probability for it")
        else:
            lines.append(f"probability = {float(stage.probability)}")
        if stage.is_closed:
            lines.append("is_closed = true")
        if stage.is_won:
            lines.append("is_won = true")
        lines += [f"aliases = [{_q(stage.id)}]  # the stage id in HubSpot", ""]
    return lines


def _lifecycle_lines(values: dict[str, str]) -> list[str]:
    lines = [
        "[lifecycle]",
        'stages = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"]',
        "",
        "[lifecycle.map]  # HubSpot lifecycle value = canonical stage",
    ]
    for value, label in values.items():
        canonical = _STANDARD_LIFECYCLE.get(value)
        if canonical is not None:
            lines.append(f"{_q(value)} = {_q(canonical)}  # {label}")
        else:
            lines.append(f"# {_q(value)} = ?  # TODO: {label}: a canonical stage, or leave out")
    return [*lines, ""]


def _utm_lines(names: list[str]) -> list[str]:
    lines = [
        "[sources.entities.people.columns]",
        "# HubSpot has no standard UTM properties: these contact properties look like them.",
        "# TODO: check each one (canonical column = HubSpot property).",
    ]
    found = False
    for tag in _UTM_TAGS:
        candidates = [n for n in names if "utm" in n.lower() and tag in n.lower()]
        if candidates:
            found = True
            others = f"  # also: {', '.join(candidates[1:])}" if candidates[1:] else ""
            lines.append(f"utm_{tag} = {_q(candidates[0])}{others}")
    if not found:
        lines.append('# utm_source = "your_utm_source_property"  # none found')
    return [*lines, ""]


def starting_config(context: ConnectorContext) -> str:
    """The text of a revgov.toml describing the portal the environment's credentials open."""
    from revgov.connectors.hubspot._api import HubSpotApi

    settings = HubSpotSettings()
    credentials = HubSpotCredentials.from_environment(settings)
    portal = PortalInfo(HubSpotApi(settings, credentials))
    pipelines = portal.pipelines("deals")
    lifecycle = portal.option_labels("contacts", "lifecyclestage")
    contact_properties = sorted(portal.properties("contacts"))
    today = datetime.now(UTC).date().isoformat()
    lines = [
        f"# revgov.toml written by `revgov init --hubspot` on {today}, from the portal's deal",
        "# pipelines and contact properties. Review every TODO, then run",
        "#   revgov config check revgov.toml",
        "",
        "[company]",
        'name = "TODO: your company"',
        'currency = "USD"  # TODO: the currency of deal amounts',
        "",
        *_lifecycle_lines(lifecycle),
        "# Deal pipelines as HubSpot defines them; stage names are HubSpot's labels (the",
        "# connector shows stages by label), each stage id an alias.",
        "",
    ]
    for pipeline in pipelines:
        lines += _pipeline_lines(pipeline)
    lines += [
        "# TODO: [qualified], [[segments]], [icp], [[required_fields]], [routing] and [sla]:",
        "# your own definitions (docs/config-guide.md).",
        "",
        "[[sources]]",
        'name = "hubspot"',
        'connector = "hubspot"',
        "",
        "[sources.options]",
        f"token_env = {_q(settings.token_env)}  # a private app token (docs/hubspot.md)",
        "",
        *_utm_lines(contact_properties),
    ]
    return "\n".join(lines)
