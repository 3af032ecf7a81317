"""Rules: governance checks as expressions, the engine that runs them, and the report.

::

    from revgov.rules import audit
    report = audit(store.frames(), config=config, as_of=as_of)
    report.raise_for_findings(min_severity="error")

Rules are narwhals expressions, so one pack runs on polars (the default), DuckDB and
PySpark frames. Write your own with :func:`rule` or the constructors in
:mod:`revgov.rules.kinds`, or declare them in ``revgov.toml``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from revgov.rules.base import (
    DIMENSIONS,
    SEVERITIES,
    Check,
    Derivation,
    DeriveContext,
    Dimension,
    Rule,
    Severity,
    rule,
)
from revgov.rules.engine import audit, resolve_rules
from revgov.rules.findings import FINDINGS_COLUMNS, FINDINGS_SCHEMA
from revgov.rules.maturity import Maturity
from revgov.rules.report import Report, RuleResult

if TYPE_CHECKING:
    from revgov.rules._naming import CampaignName, TokenProblem, parse_campaign_name
    from revgov.rules.packs import available_packs, builtin_rules, load_pack

__all__ = [
    "DIMENSIONS",
    "FINDINGS_COLUMNS",
    "FINDINGS_SCHEMA",
    "SEVERITIES",
    "CampaignName",
    "Check",
    "Derivation",
    "DeriveContext",
    "Dimension",
    "Maturity",
    "Report",
    "Rule",
    "RuleResult",
    "Severity",
    "TokenProblem",
    "audit",
    "available_packs",
    "builtin_rules",
    "load_pack",
    "parse_campaign_name",
    "resolve_rules",
    "rule",
]

# The packs and campaign naming load on first use: an audit with rules of its own needs
# neither, and they are the larger part of the package.
_LAZY = {
    "CampaignName": "revgov.rules._naming",
    "TokenProblem": "revgov.rules._naming",
    "parse_campaign_name": "revgov.rules._naming",
    "available_packs": "revgov.rules.packs",
    "builtin_rules": "revgov.rules.packs",
    "load_pack": "revgov.rules.packs",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
