"""The base every canonical entity model derives from: lineage columns and the primary key."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class CanonicalRecord(BaseModel):
    """One row of a canonical entity.

    Subclasses declare ``entity`` (the snapshot name) and ``primary_key``. Every field but the
    key and the lineage is optional: CRMs have blanks, and finding them is the rules' job, not
    the loader's.
    """

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)

    entity: ClassVar[str]
    primary_key: ClassVar[tuple[str, ...]]

    source_system: str = Field(description="Connector that produced the row, e.g. `salesforce`.")
    source_id: str = Field(description="The record's id in the source system.")
    pulled_at: datetime = Field(description="When revgov pulled the row (UTC).")
