"""Accounts: the companies you sell to."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Account(CanonicalRecord):
    entity: ClassVar[str] = "accounts"
    primary_key: ClassVar[tuple[str, ...]] = ("account_id",)

    account_id: str = Field(description="Canonical account id.")
    name: str | None = Field(None, description="Company name.")
    domain: str | None = Field(None, description="Web domain, e.g. `acme.com`.")
    industry: str | None = Field(None, description="Industry or sector.")
    employees: int | None = Field(None, description="Head count.")
    annual_revenue: float | None = Field(
        None, description="Annual revenue in the company currency."
    )
    country: str | None = Field(None, description="ISO 3166 alpha-2 country code or name.")
    region: str | None = Field(None, description="Sales region, e.g. `NA`, `EMEA`.")
    segment: str | None = Field(None, description="Segment, e.g. `smb`, `enterprise`.")
    owner_id: str | None = Field(None, description="Owning user id.")
    parent_account_id: str | None = Field(None, description="Parent account, if a subsidiary.")
    created_at: datetime | None = Field(None, description="When the account was created.")
    is_deleted: bool | None = Field(None, description="Deleted or archived in the source.")
