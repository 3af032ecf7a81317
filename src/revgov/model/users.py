"""Users: the people who own records."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class User(CanonicalRecord):
    entity: ClassVar[str] = "users"
    primary_key: ClassVar[tuple[str, ...]] = ("user_id",)

    user_id: str = Field(description="Canonical user id.")
    name: str | None = Field(None, description="Full name.")
    email: str | None = Field(None, description="Email address.")
    team: str | None = Field(None, description="Team, e.g. `SDR East`.")
    role: str | None = Field(None, description="`sdr`, `ae`, `manager`...")
    manager_id: str | None = Field(None, description="Manager's user id.")
    region: str | None = Field(None, description="Region.")
    is_active: bool | None = Field(None, description="Can own records.")
    timezone: str | None = Field(None, description="IANA time zone.")
