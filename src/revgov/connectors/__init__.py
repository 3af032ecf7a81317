"""Connectors: the contract every CRM adapter implements, and the registry that finds them."""

from __future__ import annotations

from revgov.connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorSpec,
    Cursor,
    Page,
    SourceNote,
)
from revgov.connectors.registry import (
    ENTRY_POINT_GROUP,
    available_connectors,
    create_connector,
    get_connector_spec,
)
from revgov.connectors.settings import ConnectorSettings, EntityMapping

__all__ = [
    "ENTRY_POINT_GROUP",
    "Connector",
    "ConnectorContext",
    "ConnectorSettings",
    "ConnectorSpec",
    "Cursor",
    "EntityMapping",
    "Page",
    "SourceNote",
    "available_connectors",
    "create_connector",
    "get_connector_spec",
]
