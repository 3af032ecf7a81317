"""revgov: revenue governance for CRM data.

Pull CRM records into one typed canonical model, audit them against governed definitions,
and compute the revenue KPI spine as plain functions.
"""

from __future__ import annotations

from revgov.errors import RevgovError
from revgov.model import ENTITIES, TypedPage, polars_schema, type_records

__version__ = "0.1.0"

__all__ = [
    "ENTITIES",
    "RevgovError",
    "TypedPage",
    "__version__",
    "polars_schema",
    "type_records",
]
