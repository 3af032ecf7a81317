"""Stage events: field history of stages and lifecycle stages."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class StageEvent(CanonicalRecord):
    entity: ClassVar[str] = "stage_events"
    primary_key: ClassVar[tuple[str, ...]] = ("event_id",)

    event_id: str = Field(description="Canonical event id.")
    record_entity: str | None = Field(None, description="`opportunities` or `people`.")
    record_id: str | None = Field(None, description="Id of the record that changed.")
    field: str | None = Field(None, description="`stage` or `lifecycle_stage`.")
    from_value: str | None = Field(None, description="Value before the change.")
    to_value: str | None = Field(None, description="Value after the change.")
    changed_at: datetime | None = Field(None, description="When the change happened.")
    changed_by: str | None = Field(None, description="User who made the change.")
