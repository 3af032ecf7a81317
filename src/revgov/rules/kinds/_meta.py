"""What the built-in kinds share: the words of their catalogue entries' common keys."""

from __future__ import annotations

from revgov.model.frames import ENTITIES

__all__ = ["entity_key"]


def entity_key(entity: str) -> str | None:
    """The single-column primary key of a canonical entity (None otherwise)."""
    model = ENTITIES.get(entity)
    return model.primary_key[0] if model is not None and len(model.primary_key) == 1 else None
