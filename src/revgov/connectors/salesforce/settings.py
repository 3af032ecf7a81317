"""Settings of the Salesforce connector: a source's ``options`` and each entity's objects.

These models import pydantic only: loading a config never imports simple-salesforce.
Credentials are not settings: they come from the environment (:mod:`.credentials`).

An entity (``people``, ``activities``...) is read from one or more Salesforce objects, each
with a default mapping (:mod:`.defaults`). A source overrides that mapping field by field::

    [sources.entities.people.columns]          # every object of the entity
    utm_source = "UTM_Source__c"

    [sources.entities.people.objects.Lead]     # one object
    columns = { segment = "Segment__c", company = "" }   # "" unmaps a default column
    custom_fields = { Lead_Score__c = "float" }

    [sources.entities.opportunities.objects.Deal__c]   # a custom object, added
    columns = { opportunity_id = "Id", stage = "Stage__c", amount = "Amount__c" }
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from revgov._typing import Entity
from revgov.connectors.settings import ConnectorSettings, EntityMapping

__all__ = [
    "ObjectMapping",
    "SalesforceEntitySettings",
    "SalesforceSettings",
    "check_field_name",
    "check_object_name",
]

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Field names go into SOQL as they are (they cannot be quoted), so only API names pass.
_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def check_field_name(name: str) -> str:
    """``name`` if it is a field API name or a parent path such as ``Owner.Name``."""
    if not _FIELD_PATH.match(name):
        raise ValueError(
            f"{name!r} is not a Salesforce field API name (letters, digits and _, with `.` "
            "between a relationship and its field)"
        )
    return name


def check_object_name(name: str) -> str:
    """``name`` if it is an object API name (``Lead``, ``Deal__c``)."""
    if not _API_NAME.match(name):
        raise ValueError(f"{name!r} is not a Salesforce object API name (letters, digits, _)")
    return name


AuthFlow = Literal["auto", "password", "jwt", "client_credentials", "session"]


class SalesforceSettings(ConnectorSettings):
    """``[sources.options]`` of a ``connector = "salesforce"`` source. Every key is optional."""

    auth: AuthFlow = Field(
        "auto",
        description="How to log in: `password` (username + password + security token), `jwt` "
        "(OAuth 2.0 JWT bearer), `client_credentials`, `session` (session id + instance URL), "
        "or `auto`: the first whose environment variables are all set.",
    )
    env_prefix: str = Field(
        "SALESFORCE_",
        pattern=r"^[A-Z][A-Z0-9_]*$",
        description="Prefix of the credential variables (`SALESFORCE_USERNAME`...): give two "
        "orgs two prefixes.",
    )
    login_url: str | None = Field(
        None,
        description="Where logins and token exchanges go (default "
        "`https://login.salesforce.com`; `https://test.salesforce.com` for sandboxes, or a My "
        "Domain URL). Also read from `<prefix>LOGIN_URL`.",
    )
    api_version: str = Field("59.0", pattern=r"^\d+\.\d$", description="REST API version.")
    ca_bundle: Path | None = Field(
        None,
        description="CA bundle (PEM) that Salesforce's certificate must chain to (a TLS proxy, "
        "the test emulator). Also read from `<prefix>CA_BUNDLE`; default: the system's.",
    )
    bulk: bool = Field(True, description="Use Bulk API 2.0 for large objects.")
    bulk_threshold: int = Field(
        50_000,
        ge=0,
        description="Objects whose changed-record COUNT() exceeds this are read with Bulk API "
        "2.0; smaller ones with REST query.",
    )
    page_size: int = Field(
        25_000,
        ge=1,
        description="Records per committed page (also Bulk 2.0's maxRecords per result page); "
        "about two pages are in memory at once.",
    )
    rest_batch_size: int = Field(
        2_000, ge=200, le=2_000, description="REST query page size (Sforce-Query-Options)."
    )
    lookback_seconds: int = Field(
        600,
        ge=0,
        description="Each incremental pull re-reads this many seconds before its cursor, so "
        "records committed late or sharing the cursor's timestamp are never skipped.",
    )
    start: str | None = Field(
        None,
        description="Earliest cursor timestamp of a first pull (ISO 8601), default: everything.",
    )
    api_budget_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Stop, with every page saved, before the org's daily API usage passes this "
        "share of its limit (read from Sforce-Limit-Info on every response).",
    )
    max_url_length: int = Field(
        16_384,
        ge=500,
        description="REST query URLs longer than this are split into several field lists, "
        "stitched back together by Id.",
    )
    bulk_poll_seconds: float = Field(
        2.0, gt=0, description="Seconds between Bulk 2.0 job status checks."
    )
    bulk_timeout_seconds: float = Field(
        3_600.0, gt=0, description="Give up on a Bulk 2.0 job after this long (then use REST)."
    )
    timeout_seconds: float = Field(120.0, gt=0, description="Timeout of one HTTP request.")
    retry_attempts: int = Field(
        8, ge=1, description="Attempts per request on 429, 5xx and dropped connections."
    )
    retry_max_wait: float = Field(
        60.0, gt=0, description="Longest wait between two attempts (seconds)."
    )
    pipeline: str = Field(
        "sales",
        min_length=1,
        description="Pipeline name given to opportunities and to OpportunityStage rows.",
    )


class _NamesFields(BaseModel):
    """Checks the field names a mapping puts into SOQL (``columns`` values, custom fields)."""

    @field_validator("columns", "custom_fields", check_fields=False)
    @classmethod
    def _field_names(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        named = value.keys() if info.field_name == "custom_fields" else value.values()
        for item in named:
            for name in [item] if isinstance(item, str) else item:
                if name:  # "" unmaps a default column
                    check_field_name(name)
        return value


class ObjectMapping(EntityMapping, _NamesFields):
    """How one Salesforce object maps onto its canonical entity; every key overrides the
    default mapping of that object key by key (``values``, ``constants`` and
    ``custom_fields`` as for any source)."""

    enabled: bool | None = Field(None, description="Read this object (default: yes).")
    columns: dict[str, str | list[str]] = Field(  # type: ignore[assignment]
        default_factory=dict,
        description="Canonical column to a field (`Owner.Name` for a parent's field), or a list "
        "of fields: the first that is not null. An empty string unmaps a default.",
    )
    prefixes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Canonical column to the objects its value must point at (by key prefix), "
        'e.g. `person_id = ["Lead", "Contact"]` for a polymorphic WhoId.',
    )
    percent: list[str] | None = Field(
        None, description="Canonical columns read from a 0-100 percent field, stored as 0-1."
    )
    optional: list[str] | None = Field(
        None,
        description="Fields some orgs lack by design (not a field-level-security gap): their "
        "absence is noted as info, not as a warning.",
    )
    history: Literal["entered", "changes"] | None = Field(
        None,
        description="A history object: `entered` (a row per value entered, like "
        "OpportunityHistory) or `changes` (old and new values, like LeadHistory).",
    )
    record_entity: Entity | None = Field(None, description="History: the entity it is about.")
    field: str | None = Field(None, description="History `entered`: the canonical field.")
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="History `changes`: the object's `Field` values to canonical field names.",
    )

    @field_validator("prefixes")
    @classmethod
    def _prefix_objects(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for objects in value.values():
            for name in objects:
                check_object_name(name)
        return value


class SalesforceEntitySettings(EntityMapping, _NamesFields):
    """``[sources.entities.NAME]`` of a Salesforce source: the top-level mapping keys apply to
    every object of the entity; ``objects`` overrides or adds objects one by one."""

    enabled: bool = Field(True, description="Pull this entity.")
    objects: dict[str, ObjectMapping] = Field(
        default_factory=dict,
        description="Per Salesforce object (standard or custom, e.g. `Deal__c`), its mapping "
        "overrides; an object not read by default is added.",
    )

    @field_validator("objects")
    @classmethod
    def _object_names(cls, value: dict[str, ObjectMapping]) -> dict[str, ObjectMapping]:
        for name in value:
            check_object_name(name)
        return value
