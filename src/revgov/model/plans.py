"""Spend and targets: the plan side of the revenue model."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Spend(CanonicalRecord):
    entity: ClassVar[str] = "spend"
    primary_key: ClassVar[tuple[str, ...]] = ("spend_id",)

    spend_id: str = Field(description="Canonical spend line id.")
    period: date | None = Field(None, description="First day of the period.")
    channel: str | None = Field(None, description="Channel.")
    campaign_id: str | None = Field(None, description="Campaign, if attributed.")
    segment: str | None = Field(None, description="Segment.")
    amount: float | None = Field(None, description="Amount spent.")


class Target(CanonicalRecord):
    entity: ClassVar[str] = "targets"
    primary_key: ClassVar[tuple[str, ...]] = ("target_id",)

    target_id: str = Field(description="Canonical target id.")
    period: date | None = Field(None, description="First day of the period.")
    metric: str | None = Field(None, description="`bookings`, `pipeline`, `mqls`...")
    segment: str | None = Field(None, description="Segment.")
    owner_id: str | None = Field(None, description="Owner.")
    channel: str | None = Field(None, description="Channel.")
    amount: float | None = Field(None, description="Target value.")
