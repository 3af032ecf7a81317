"""``revgov init --salesforce``: a starting revgov.toml from the org's describe and stages.

The pipeline comes from OpportunityStage (order, probability, closed and won flags); the
source from the default mapping, with the org's custom fields on the revenue objects listed
(commented out) as candidates for ``custom_fields``, and mapped fields the integration user
cannot see called out. The company's own definitions (lifecycle, qualified, ICP, SLAs) are
marked TODO.
"""

from __future__ import annotations

import json
from typing import Any

from simple_salesforce.format import format_soql

from revgov.connectors.base import ConnectorContext
from revgov.connectors.salesforce._client import SalesforceClient
from revgov.connectors.salesforce._describe import ObjectInfo, plan_fields
from revgov.connectors.salesforce._reader import rest_pages
from revgov.connectors.salesforce.defaults import DEFAULT_ENTITIES
from revgov.connectors.salesforce.settings import SalesforceSettings

__all__ = ["starting_config"]

_TYPES = {
    "boolean": "bool",
    "int": "int",
    "double": "float",
    "currency": "float",
    "percent": "float",
    "date": "date",
    "datetime": "datetime",
}
#: Objects whose custom fields are offered, with the entity they belong to.
_OFFERED = {
    "Lead": "people",
    "Contact": "people",
    "Account": "accounts",
    "Opportunity": "opportunities",
}


def _q(text: object) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def _stages(client: SalesforceClient, info: ObjectInfo) -> list[dict[str, Any]]:
    name_field = "ApiName" if "ApiName" in info.fields else "MasterLabel"
    soql = format_soql(
        "SELECT {:literal}, MasterLabel, SortOrder, DefaultProbability, IsClosed, IsWon "
        "FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder ASC",
        name_field,
    )
    rows: list[dict[str, Any]] = []
    for page in rest_pages(client, soql, include_deleted=False, what="OpportunityStage query"):
        rows.extend(page.get("records") or [])
    return [
        {
            "name": r[name_field],
            "label": r.get("MasterLabel"),
            "probability": float(r.get("DefaultProbability") or 0) / 100,
            "is_closed": bool(r.get("IsClosed")),
            "is_won": bool(r.get("IsWon")),
        }
        for r in rows
    ]


def _pipeline(stages: list[dict[str, Any]], name: str) -> list[str]:
    out = ["[[pipelines]]", f"name = {_q(name)}", ""]
    for order, stage in enumerate(stages, start=1):
        out += ["[[pipelines.stages]]", f"name = {_q(stage['name'])}", f"order = {order}"]
        out.append(f"probability = {round(stage['probability'], 4)}")
        if stage["is_closed"]:
            out.append("is_closed = true")
        if stage["is_won"]:
            out.append("is_won = true")
        if stage["label"] and stage["label"] != stage["name"]:
            out.append(f"aliases = [{_q(stage['label'])}]")
        out.append("")
    return out


def _source(connector: Any, infos: dict[str, ObjectInfo | None]) -> list[str]:
    out = ["[[sources]]", 'name = "salesforce"', 'connector = "salesforce"']
    out += [
        "# options: see docs/salesforce.md (login_url, bulk_threshold, lookback_seconds...)",
        "",
    ]
    for sobject, entity in _OFFERED.items():
        info = infos.get(sobject)
        if info is None:
            continue
        mapping = DEFAULT_ENTITIES[entity][sobject]
        plan = plan_fields(info, entity, mapping, connector.describe)
        custom = [f for f in info.fields.values() if f.name.endswith("__c")]
        hidden = [n for n in plan.notes if n.kind == "hidden_field"]
        if not custom and not hidden:
            continue
        out.append(f"# {sobject} ({entity}): the default mapping is used; add the org's fields:")
        for note in hidden:
            out.append(f"# NOTE: {note.message}")
        if custom:
            out.append(f"# [sources.entities.{entity}.objects.{sobject}.custom_fields]")
            for f in sorted(custom, key=lambda f: f.name):
                out.append(f"# {f.name} = {_q(_TYPES.get(f.type, 'string'))}")
        out.append("")
    return out


def _lifecycle(raw: dict[str, Any] | None) -> list[str]:
    out = [
        "# TODO lifecycle: map the org's lead statuses onto your lifecycle stages, e.g.",
        "# [lifecycle.map]",
    ]
    statuses = [
        str(v.get("value"))
        for f in (raw or {}).get("fields", [])
        if f.get("name") == "Status"
        for v in f.get("picklistValues") or []
        if v.get("active", True)
    ]
    for status in statuses:
        out.append(f'# {_q(status)} = "lead"')
    return [*out, ""]


def starting_config(context: ConnectorContext) -> str:
    """The text of a starting revgov.toml for the org the environment's credentials open."""
    from revgov.config import SourceConfig
    from revgov.connectors.salesforce.connector import SalesforceConnector

    source = SourceConfig(name="salesforce", connector="salesforce")
    connector = SalesforceConnector(source, context)
    settings: SalesforceSettings = connector.settings
    client = connector.client
    infos = {name: connector.describe(name) for name in [*_OFFERED, "OpportunityStage"]}
    stage_info = infos.get("OpportunityStage")
    stages = _stages(client, stage_info) if stage_info is not None else []
    lead_raw = client.describe("Lead") if infos.get("Lead") is not None else None
    out = [
        "# revgov.toml written by `revgov init --salesforce` from the org's describe and",
        "# OpportunityStage. Review every TODO, then `revgov config check revgov.toml`.",
        "# Credentials stay in the environment (SALESFORCE_*), never in this file.",
        "",
        "[company]",
        'name = "My company"  # TODO',
        'currency = "USD"  # TODO',
        "",
    ]
    if stages:
        out += _pipeline(stages, settings.pipeline)
    else:
        out += ["# TODO pipelines: OpportunityStage could not be read", ""]
    out += _lifecycle(lead_raw)
    out += [
        "# TODO definitions: [qualified], [icp], [[segments]], [sla], [utm] (docs/config-guide.md)",
        "",
    ]
    out += _source(connector, infos)
    return "\n".join(out).rstrip() + "\n"
