"""The canonical model: one pydantic model per entity, and the frames derived from them."""

from __future__ import annotations

from revgov.model._base import CanonicalRecord
from revgov.model._numbers import NumberFormat, decode_frame
from revgov.model.accounts import Account
from revgov.model.activities import Activity
from revgov.model.campaigns import Campaign, CampaignTouch
from revgov.model.frames import (
    ENTITIES,
    LINEAGE_COLUMNS,
    QUARANTINE_SCHEMA,
    REJECT_COLUMN,
    REJECT_DTYPE,
    FieldType,
    TypedPage,
    empty_frame,
    field_types,
    model_for,
    polars_schema,
    type_records,
    with_rejections,
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
    "REJECT_COLUMN",
    "REJECT_DTYPE",
    "Account",
    "Activity",
    "Campaign",
    "CampaignTouch",
    "CanonicalRecord",
    "FieldType",
    "NumberFormat",
    "Opportunity",
    "Person",
    "PipelineStage",
    "Spend",
    "StageEvent",
    "Target",
    "TypedPage",
    "User",
    "decode_frame",
    "empty_frame",
    "field_types",
    "model_for",
    "polars_schema",
    "type_records",
    "with_rejections",
]
