"""The HubSpot connector (``pip install revgov[hubspot]``): see :mod:`.connector` and
docs/hubspot.md. Importing this package does not import hubspot-api-client."""

from __future__ import annotations

from revgov.connectors.hubspot.connector import DEFAULT_ENTITIES, HubSpotConnector
from revgov.connectors.hubspot.settings import (
    HubSpotCredentials,
    HubSpotEntitySettings,
    HubSpotSettings,
)

__all__ = [
    "DEFAULT_ENTITIES",
    "HubSpotConnector",
    "HubSpotCredentials",
    "HubSpotEntitySettings",
    "HubSpotSettings",
]
