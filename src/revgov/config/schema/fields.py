"""``[[required_fields]]``: fields an entity must have, optionally only in some states."""

from __future__ import annotations

from pydantic import Field, model_validator

from revgov._typing import Entity, Severity
from revgov.config.schema._base import Strict, invalid

__all__ = ["RequiredFields"]


class RequiredFields(Strict):
    """`[[required_fields]]`: fields an entity must have, optionally only in some states."""

    id: str | None = Field(
        None,
        description="Rule id, e.g. `amount_missing_late_stage` (default: one rule per field, "
        "`<entity>.<field>_missing`).",
    )
    entity: Entity
    fields: list[str] = Field(min_length=1)
    when_stage: list[str] = Field(default_factory=list, description="Only in these stages.")
    when_lifecycle_stage: list[str] = Field(default_factory=list)
    when_segment: list[str] = Field(default_factory=list)
    when_type: list[str] = Field(default_factory=list, description="Record types / kinds.")
    severity: Severity = "error"

    @model_validator(mode="after")
    def _id_of_entity(self) -> RequiredFields:
        if self.id is not None and "." in self.id and self.id.split(".", 1)[0] != self.entity:
            raise invalid(
                f"rule id {self.id!r} does not start with the entity {self.entity!r}",
                at=("id",),
                hint=f"write id = {self.id.split('.', 1)[-1]!r} or {self.entity}.<name>",
            )
        return self

    def rule_id(self, field: str | None = None) -> str:
        """The id of the rule this entry declares (of one field's rule without ``id``)."""
        if self.id is None:
            return f"{self.entity}.{field}_missing"
        return self.id if "." in self.id else f"{self.entity}.{self.id}"
