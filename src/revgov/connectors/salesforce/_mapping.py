"""One object's mapping: the default, overridden key by key by the source's settings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from revgov.connectors.salesforce.settings import ObjectMapping

__all__ = ["merged_mapping"]

#: Keys of the entity-level table that apply to every object of the entity.
_ENTITY_KEYS = ("columns", "values", "constants", "custom_fields")


def _merge(data: dict[str, Any], override: BaseModel, keys: tuple[str, ...] | None) -> None:
    for key in override.model_fields_set:
        if keys is not None and key not in keys:
            continue
        value = getattr(override, key)
        if key == "values":
            for column, table in value.items():
                data["values"][column] = {**data["values"].get(column, {}), **table}
        elif isinstance(value, dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value


def merged_mapping(
    default: ObjectMapping | None, entity: BaseModel, override: ObjectMapping | None
) -> ObjectMapping:
    """``default`` (None for an added object), then the entity table's ``columns``, ``values``,
    ``constants`` and ``custom_fields``, then the object's own table: later keys win, dicts
    merge key by key (a column mapped to ``""`` is unmapped)."""
    data = (default or ObjectMapping()).model_dump()
    _merge(data, entity, _ENTITY_KEYS)
    if override is not None:
        _merge(data, override, None)
    return ObjectMapping.model_validate(data)
