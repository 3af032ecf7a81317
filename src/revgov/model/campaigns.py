"""Campaigns and the touches that link people to them."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Campaign(CanonicalRecord):
    entity: ClassVar[str] = "campaigns"
    primary_key: ClassVar[tuple[str, ...]] = ("campaign_id",)

    campaign_id: str = Field(description="Canonical campaign id.")
    name: str | None = Field(None, description="Campaign name (see `[campaign_naming]`).")
    channel: str | None = Field(None, description="Channel, e.g. `paid-search`.")
    cost: float | None = Field(None, description="Total cost.")
    start_date: date | None = Field(None, description="First day.")
    end_date: date | None = Field(None, description="Last day.")
    owner_id: str | None = Field(None, description="Owning user id.")
    created_at: datetime | None = Field(None, description="When it was created.")


class CampaignTouch(CanonicalRecord):
    entity: ClassVar[str] = "campaign_touches"
    primary_key: ClassVar[tuple[str, ...]] = ("touch_id",)

    touch_id: str = Field(description="Canonical touch id.")
    person_id: str | None = Field(None, description="Person touched.")
    campaign_id: str | None = Field(None, description="Campaign.")
    touched_at: datetime | None = Field(None, description="When.")
    utm_source: str | None = Field(None, description="UTM source.")
    utm_medium: str | None = Field(None, description="UTM medium.")
    utm_campaign: str | None = Field(None, description="UTM campaign.")
    utm_term: str | None = Field(None, description="UTM term.")
    utm_content: str | None = Field(None, description="UTM content.")
