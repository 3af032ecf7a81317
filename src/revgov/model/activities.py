"""Activities: calls, emails, meetings and tasks."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class Activity(CanonicalRecord):
    entity: ClassVar[str] = "activities"
    primary_key: ClassVar[tuple[str, ...]] = ("activity_id",)

    activity_id: str = Field(description="Canonical activity id.")
    type: str | None = Field(None, description="`call`, `email`, `meeting` or `task`.")
    person_id: str | None = Field(None, description="Person involved.")
    opportunity_id: str | None = Field(None, description="Opportunity involved.")
    account_id: str | None = Field(None, description="Account involved.")
    owner_id: str | None = Field(None, description="User who did it.")
    occurred_at: datetime | None = Field(None, description="When it happened.")
    outcome: str | None = Field(None, description="Outcome, e.g. `connected`.")
