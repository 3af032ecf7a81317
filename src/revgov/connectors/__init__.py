"""Connectors: the contract every CRM adapter implements, and the registry that finds them."""

from __future__ import annotations

from revgov.connectors.base import Connector, ConnectorFactory, Cursor, Page
from revgov.connectors.registry import (
    ENTRY_POINT_GROUP,
    available_connectors,
    create_connector,
    get_connector_factory,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Connector",
    "ConnectorFactory",
    "Cursor",
    "Page",
    "available_connectors",
    "create_connector",
    "get_connector_factory",
]
