"""Opportunities: deals in a pipeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Opportunity(CanonicalRecord):
    entity: ClassVar[str] = "opportunities"
    primary_key: ClassVar[tuple[str, ...]] = ("opportunity_id",)

    opportunity_id: str = Field(description="Canonical opportunity id.")
    name: str | None = Field(None, description="Deal name.")
    account_id: str | None = Field(None, description="Account the deal is with.")
    pipeline: str | None = Field(None, description="Pipeline name (see `[[pipelines]]`).")
    stage: str | None = Field(None, description="Current stage name.")
    amount: float | None = Field(None, description="Deal amount.")
    currency: str | None = Field(None, description="ISO 4217 currency code.")
    close_date: date | None = Field(None, description="Expected or actual close date.")
    created_at: datetime | None = Field(None, description="When the deal was created.")
    closed_at: datetime | None = Field(None, description="When the deal was closed, if known.")
    is_closed: bool | None = Field(None, description="Closed (won or lost).")
    is_won: bool | None = Field(None, description="Closed won.")
    owner_id: str | None = Field(None, description="Owning user id.")
    type: str | None = Field(None, description="`new business`, `renewal`, `expansion`...")
    lead_source: str | None = Field(None, description="Lead source.")
    primary_campaign_id: str | None = Field(None, description="Primary campaign.")
    primary_person_id: str | None = Field(
        None, description="Person the deal came from (converted lead or primary contact)."
    )
    product: str | None = Field(None, description="Main product.")
    segment: str | None = Field(None, description="Segment.")
    region: str | None = Field(None, description="Region.")
    stage_entered_at: datetime | None = Field(None, description="When the current stage began.")
    is_deleted: bool | None = Field(None, description="Deleted or archived in the source.")
