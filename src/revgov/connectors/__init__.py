"""Connectors: the contract every CRM adapter implements, the registry that finds them, and
the resilience layer (retries, rate limits, budgets) every connector, plugins too, builds on."""

from __future__ import annotations

from revgov.connectors._resilience import (
    ApiBudget,
    Failure,
    FailureKind,
    RateLimiter,
    Resilience,
    RetryPolicy,
)
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
    "ApiBudget",
    "Connector",
    "ConnectorContext",
    "ConnectorSettings",
    "ConnectorSpec",
    "Cursor",
    "EntityMapping",
    "Failure",
    "FailureKind",
    "Page",
    "RateLimiter",
    "Resilience",
    "RetryPolicy",
    "SourceNote",
    "available_connectors",
    "create_connector",
    "get_connector_spec",
]
