"""The canonical model: one pydantic model per entity, and the frames derived from them."""

from __future__ import annotations

from revgov.model._base import CanonicalRecord
from revgov.model.accounts import Account
from revgov.model.activities import Activity
from revgov.model.campaigns import Campaign, CampaignTouch
from revgov.model.frames import (
    ENTITIES,
    LINEAGE_COLUMNS,
    QUARANTINE_SCHEMA,
    FieldType,
    TypedPage,
    empty_frame,
    field_types,
    model_for,
    polars_schema,
    type_records,
)
from revgov.model.opportunities import Opportunity
from revgov.model.people import Person
from revgov.model.pipeline_stages import PipelineStage
from revgov.model.plans import Spend, Target
from revgov.model.stage_events import StageEvent
from revgov.model.users import User

__all__ = [
    "ENTITIES",
    "LINEAGE_COLUMNS",
    "QUARANTINE_SCHEMA",
    "Account",
    "Activity",
    "Campaign",
    "CampaignTouch",
    "CanonicalRecord",
    "FieldType",
    "Opportunity",
    "Person",
    "PipelineStage",
    "Spend",
    "StageEvent",
    "Target",
    "TypedPage",
    "User",
    "empty_frame",
    "field_types",
    "model_for",
    "polars_schema",
    "type_records",
]
