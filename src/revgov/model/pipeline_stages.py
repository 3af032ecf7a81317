"""Pipeline stages as the CRM defines them."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from revgov.model._base import CanonicalRecord


class PipelineStage(CanonicalRecord):
    entity: ClassVar[str] = "pipeline_stages"
    primary_key: ClassVar[tuple[str, ...]] = ("pipeline", "stage")

    pipeline: str = Field(description="Pipeline name.")
    stage: str = Field(description="Stage name.")
    order: int | None = Field(None, description="Position in the pipeline, from 1.")
    probability: float | None = Field(None, description="Win probability in [0, 1].")
    is_closed: bool | None = Field(None, description="A closed stage.")
    is_won: bool | None = Field(None, description="The won stage.")
