"""A revgov connector for TinyCRM (a made-up CRM with a Pipedrive-style API)."""

from __future__ import annotations

from tinycrm_revgov.connector import TinyCRMConnector, TinyCRMEntity, TinyCRMSettings

__all__ = ["TinyCRMConnector", "TinyCRMEntity", "TinyCRMSettings"]
