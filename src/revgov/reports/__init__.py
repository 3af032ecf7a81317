"""Reports people act on: one self-contained HTML file with charts, JSON and Markdown; the run
history beside the snapshot; results in DuckDB and PostgreSQL; alerts; notebook views.

::

    from revgov import reports

    history = reports.RunHistory.of_snapshot("revgov-snapshot")
    report = reports.build_report(frames, config, as_of=as_of, cadence="weekly",
                                  snapshot="revgov-snapshot", history=history)
    Path("weekly.html").write_text(report.to_html())
    report.chart("speed_to_lead")          # an Altair chart, in a notebook
    report.to_polars("funnel.funnel")      # a table as a polars frame

The layout of each cadence (audit, weekly, monthly, quarterly) is in docs/reports.md; the
tables of the run history and the database outputs in docs/outputs.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from revgov.reports._format import display, json_value
from revgov.reports.build import TITLES, build_report
from revgov.reports.diff import FINDING_KEY, RunDiff, diff_findings
from revgov.reports.document import (
    CADENCES,
    Cadence,
    Chart,
    KeyNumber,
    RevenueReport,
    Section,
    Stamp,
    Table,
)
from revgov.reports.history import HISTORY_DIR, RunHistory
from revgov.reports.runs import SCHEMAS, RunTables, new_run_id, run_tables
from revgov.reports.views import Findings, KPIResult, kpi

if TYPE_CHECKING:
    from revgov.reports.database import WriteSummary, write_results
    from revgov.reports.notify import DEFAULT_ENV, Alert, post_alert, webhook_from_env

__all__ = [
    "CADENCES",
    "DEFAULT_ENV",
    "FINDING_KEY",
    "HISTORY_DIR",
    "SCHEMAS",
    "TITLES",
    "Alert",
    "Cadence",
    "Chart",
    "Findings",
    "KPIResult",
    "KeyNumber",
    "RevenueReport",
    "RunDiff",
    "RunHistory",
    "RunTables",
    "Section",
    "Stamp",
    "Table",
    "WriteSummary",
    "build_report",
    "diff_findings",
    "display",
    "json_value",
    "kpi",
    "new_run_id",
    "post_alert",
    "run_tables",
    "webhook_from_env",
    "write_results",
]

# Outputs that pull in drivers and HTTP clients are imported when first used, so that
# `revgov report` without --to or --notify does not pay for them.
_LAZY = {
    "WriteSummary": "revgov.reports.database",
    "write_results": "revgov.reports.database",
    "DEFAULT_ENV": "revgov.reports.notify",
    "Alert": "revgov.reports.notify",
    "post_alert": "revgov.reports.notify",
    "webhook_from_env": "revgov.reports.notify",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'revgov.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
