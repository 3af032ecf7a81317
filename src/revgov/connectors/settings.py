"""What every connector's settings share: the options base and the per-entity mapping.

A connector owns two pydantic models, named on its class:

* ``settings_model``: the source's ``[sources.options]`` table. Derive it from
  :class:`ConnectorSettings`, which refuses unknown keys and inline credentials.
* ``entity_settings_model``: each ``[sources.entities.NAME]`` table. Derive it from
  :class:`EntityMapping`, which holds what every connector maps the same way (columns, value
  maps, constants, custom fields); add the connector's own keys (a file path, an object name).

Both are validated when revgov.toml is loaded, so ``revgov config check`` reports a bad option
with its line and a "did you mean" exactly as it reports any other key. This module imports
pydantic only: loading a config never imports a vendor's client library.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from revgov.model._types import FieldType

__all__ = ["ConnectorSettings", "EntityMapping"]


class ConnectorSettings(BaseModel):
    """Base of a connector's ``options`` model: unknown keys are errors.

    Credentials never go in revgov.toml (:class:`~revgov.config.SourceConfig` refuses them
    for every connector): a connector reads them from the environment, and an option may name
    the variable that holds one with a ``*_env`` key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityMapping(BaseModel):
    """``[sources.entities.NAME]``: how one entity of a source maps onto the canonical model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(
        default_factory=dict, description="Canonical column to the source's column."
    )
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per canonical column, source value to canonical value."
    )
    constants: dict[str, str] = Field(
        default_factory=dict, description="Canonical column to a constant value."
    )
    custom_fields: dict[str, FieldType] = Field(
        default_factory=dict, description="Extra source columns to keep, with their type."
    )
