"""Which HubSpot objects feed which canonical entity, and how their properties map by default.

A source's entity tables only write what differs: their ``columns`` are merged over these
defaults (so a portal's UTM properties are one line each), their ``custom_fields`` added to
the defaults' ones. Columns whose source name starts with ``__`` are not HubSpot properties
but what the connector derives: association ids, the engagement type, stage_entered_at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from revgov.model.frames import FieldType

__all__ = [
    "ENGAGEMENT_TYPES",
    "ENTITY_OBJECTS",
    "HISTORY",
    "MERGEABLE",
    "AssociationSpec",
    "HistorySpec",
    "ObjectDefaults",
    "defaults_for",
    "is_derived",
]


@dataclass(frozen=True)
class AssociationSpec:
    """Associations of one object type read for a page: the primary id and all of them."""

    to: str
    #: Derived column with the primary associated id (a primary label, else the lowest id).
    primary: str
    #: Derived column with every associated id, ``;``-separated (nothing past 100 is lost).
    every: str
    #: HUBSPOT_DEFINED type ids that mark the primary association.
    primary_type_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class HistorySpec:
    """The property whose history becomes stage_events, and how its date columns are named."""

    property: str
    field: str
    record_entity: str
    #: Date-entered property names per value (``{value}`` is the stage id or lifecycle value).
    entered: tuple[str, ...]
    exited: tuple[str, ...] = ("hs_v2_date_exited_{value}",)

    def entered_columns(self, values: list[str]) -> dict[str, str]:
        return {pattern.format(value=v): v for pattern in self.entered for v in values}

    def exited_columns(self, values: list[str]) -> dict[str, str]:
        return {pattern.format(value=v): v for pattern in self.exited for v in values}


@dataclass(frozen=True)
class ObjectDefaults:
    """What a HubSpot object type maps to without any configuration."""

    columns: Mapping[str, str]
    constants: Mapping[str, str] = field(default_factory=dict)
    custom_fields: Mapping[str, FieldType] = field(default_factory=dict)
    associations: tuple[AssociationSpec, ...] = ()
    option_labels: tuple[str, ...] = ()


def is_derived(column: str) -> bool:
    return column.startswith("__")


#: The objects read for each entity when its table names none.
ENTITY_OBJECTS: dict[str, tuple[str, ...]] = {
    "accounts": ("companies",),
    "people": ("contacts",),
    "opportunities": ("deals",),
    "activities": ("calls", "emails", "meetings", "tasks"),
    "stage_events": ("deals", "contacts"),
}

ENGAGEMENT_TYPES = {"calls": "call", "emails": "email", "meetings": "meeting", "tasks": "task"}

#: Object types whose records HubSpot merges (the losers' ids become deletions).
MERGEABLE = frozenset({"contacts", "companies", "deals"})

HISTORY: dict[str, HistorySpec] = {
    "deals": HistorySpec(
        "dealstage",
        "stage",
        "opportunities",
        entered=("hs_v2_date_entered_{value}", "hs_date_entered_{value}"),
    ),
    "contacts": HistorySpec(
        "lifecyclestage",
        "lifecycle_stage",
        "people",
        entered=(
            "hs_v2_date_entered_{value}",
            "hs_date_entered_{value}",
            "hs_lifecyclestage_{value}_date",
        ),
    ),
}

_OWNER = {"owner_id": "hubspot_owner_id"}

_DEFAULTS: dict[tuple[str, str], ObjectDefaults] = {
    ("accounts", "companies"): ObjectDefaults(
        {
            "account_id": "hs_object_id",
            "name": "name",
            "domain": "domain",
            "industry": "industry",
            "employees": "numberofemployees",
            "annual_revenue": "annualrevenue",
            "country": "country",
            "parent_account_id": "hs_parent_company_id",
            "created_at": "createdate",
            **_OWNER,
        }
    ),
    ("people", "contacts"): ObjectDefaults(
        {
            "person_id": "hs_object_id",
            "email": "email",
            "first_name": "firstname",
            "last_name": "lastname",
            "phone": "phone",
            "title": "jobtitle",
            "company": "company",
            "lifecycle_stage": "lifecyclestage",
            "status": "hs_lead_status",
            "lead_source": "hs_analytics_source",
            "country": "country",
            "created_at": "createdate",
            "mql_at": "hs_lifecyclestage_marketingqualifiedlead_date",
            "account_id": "__company",
            "company_ids": "__companies",
            **_OWNER,
        },
        constants={"kind": "contact"},
        custom_fields={"company_ids": "string"},
        associations=(AssociationSpec("companies", "__company", "__companies", frozenset({1})),),
    ),
    ("opportunities", "deals"): ObjectDefaults(
        {
            "opportunity_id": "hs_object_id",
            "name": "dealname",
            "pipeline": "pipeline",
            "stage": "dealstage",
            "amount": "amount",
            "currency": "deal_currency_code",
            "close_date": "closedate",
            "created_at": "createdate",
            "is_closed": "hs_is_closed",
            "is_won": "hs_is_closed_won",
            "type": "dealtype",
            "lead_source": "hs_analytics_source",
            "stage_entered_at": "__stage_entered_at",
            "account_id": "__company",
            "primary_person_id": "__contact",
            "company_ids": "__companies",
            "contact_ids": "__contacts",
            **_OWNER,
        },
        custom_fields={"company_ids": "string", "contact_ids": "string"},
        associations=(
            AssociationSpec("companies", "__company", "__companies", frozenset({5})),
            AssociationSpec("contacts", "__contact", "__contacts"),
        ),
    ),
}

_OUTCOME = {
    "calls": "hs_call_disposition",
    "emails": "hs_email_status",
    "meetings": "hs_meeting_outcome",
    "tasks": "hs_task_status",
}
_ENGAGEMENT_ASSOCIATIONS = (
    AssociationSpec("contacts", "__contact", "__contacts"),
    AssociationSpec("deals", "__deal", "__deals"),
)
for _kind, _outcome in _OUTCOME.items():
    _DEFAULTS[("activities", _kind)] = ObjectDefaults(
        {
            "activity_id": "hs_object_id",
            "type": "__type",
            "occurred_at": "hs_timestamp",
            "outcome": _outcome,
            "person_id": "__contact",
            "opportunity_id": "__deal",
            "contact_ids": "__contacts",
            "deal_ids": "__deals",
            **_OWNER,
        },
        custom_fields={"contact_ids": "string", "deal_ids": "string"},
        associations=_ENGAGEMENT_ASSOCIATIONS,
        option_labels=("hs_call_disposition",) if _kind == "calls" else (),
    )


def defaults_for(entity: str, object_type: str, primary_key: str) -> ObjectDefaults:
    """The defaults of ``object_type`` read as ``entity``; any other object (a custom one)
    maps only its id to the entity's key (and, for activities, its type), the rest is the
    config's."""
    found = _DEFAULTS.get((entity, object_type))
    if found is not None:
        return found
    columns = {primary_key: "hs_object_id"}
    if entity == "activities":
        columns["type"] = "__type"
    return ObjectDefaults(columns)
