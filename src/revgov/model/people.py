"""People: leads and contacts."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Person(CanonicalRecord):
    entity: ClassVar[str] = "people"
    primary_key: ClassVar[tuple[str, ...]] = ("person_id",)

    person_id: str = Field(description="Canonical person id.")
    kind: str | None = Field(None, description="`lead` or `contact`.")
    email: str | None = Field(None, description="Email address.")
    phone: str | None = Field(None, description="Phone number (E.164 expected).")
    first_name: str | None = Field(None, description="Given name.")
    last_name: str | None = Field(None, description="Family name.")
    title: str | None = Field(None, description="Job title.")
    role: str | None = Field(None, description="Buying-group role, e.g. `champion`.")
    account_id: str | None = Field(None, description="Account the person belongs to.")
    company: str | None = Field(None, description="Company name as typed on the lead.")
    lifecycle_stage: str | None = Field(None, description="Canonical lifecycle stage.")
    status: str | None = Field(None, description="Lead status.")
    owner_id: str | None = Field(None, description="Owning user id.")
    lead_source: str | None = Field(None, description="Lead source.")
    utm_source: str | None = Field(None, description="UTM source.")
    utm_medium: str | None = Field(None, description="UTM medium.")
    utm_campaign: str | None = Field(None, description="UTM campaign.")
    utm_term: str | None = Field(None, description="UTM term.")
    utm_content: str | None = Field(None, description="UTM content.")
    country: str | None = Field(None, description="Country code or name.")
    segment: str | None = Field(None, description="Segment.")
    employees: int | None = Field(None, description="Head count of the person's company.")
    industry: str | None = Field(None, description="Industry of the person's company.")
    is_converted: bool | None = Field(None, description="A lead converted to a contact.")
    converted_at: datetime | None = Field(None, description="When the lead was converted.")
    converted_opportunity_id: str | None = Field(
        None, description="Opportunity created when the lead converted."
    )
    mql_at: datetime | None = Field(None, description="When the person became an MQL.")
    assigned_at: datetime | None = Field(
        None, description="When the person was assigned to the current owner."
    )
    created_at: datetime | None = Field(None, description="When the record was created.")
    is_deleted: bool | None = Field(None, description="Deleted or archived in the source.")
