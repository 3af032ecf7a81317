"""The Salesforce connector (``pip install revgov[salesforce]``), on simple-salesforce.

Importing this package does not import simple-salesforce: loading a config only needs the
settings models; the client library is imported when a pull starts.
"""

from __future__ import annotations

from revgov.connectors.salesforce.connector import SalesforceConnector
from revgov.connectors.salesforce.credentials import SalesforceCredentials
from revgov.connectors.salesforce.defaults import DEFAULT_ENTITIES
from revgov.connectors.salesforce.settings import (
    ObjectMapping,
    SalesforceEntitySettings,
    SalesforceSettings,
)

__all__ = [
    "DEFAULT_ENTITIES",
    "ObjectMapping",
    "SalesforceConnector",
    "SalesforceCredentials",
    "SalesforceEntitySettings",
    "SalesforceSettings",
]
