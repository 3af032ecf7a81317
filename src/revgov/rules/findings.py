"""The findings frame: one tidy row per (rule, record, field) that violates a rule.

Columns, all text: ``rule_id``, ``severity`` (info, warn, error), ``dimension``, ``entity``,
``record_id``, ``owner_id`` (the record's owner, the one to fix it), ``field``, ``value`` (the
offending value, formatted the same on every engine), ``message`` (what is wrong, in words).

Past a size, an audit keeps its findings on disk (:class:`SpilledFindings`) rather than as
one frame in memory: on a large snapshot they are the largest thing the audit makes.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import TypeVar

import polars as pl

__all__ = [
    "FINDINGS_COLUMNS",
    "FINDINGS_SCHEMA",
    "SpilledFindings",
    "empty_findings",
    "sort_findings",
]

FINDINGS_COLUMNS = (
    "rule_id",
    "severity",
    "dimension",
    "entity",
    "record_id",
    "owner_id",
    "field",
    "value",
    "message",
)
FINDINGS_SCHEMA = pl.Schema(dict.fromkeys(FINDINGS_COLUMNS, pl.String()))

_F = TypeVar("_F", pl.DataFrame, pl.LazyFrame)


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def sort_findings(findings: _F) -> _F:
    """A stable order for output and comparison: rule, record, field, value."""
    return findings.sort(["rule_id", "record_id", "field", "value", "message"], nulls_last=True)


class SpilledFindings:
    """Findings kept in a Parquet file, in a temporary folder of their own.

    The file is moved there from where the audit streamed it (the audit's spill folder is
    not needed once it returns), and the folder is removed when the process exits, not when
    this object is collected: the LazyFrames scanning the file (``report.findings``, the
    run's findings table) carry only its path and may outlive the report.
    """

    def __init__(self, path: Path, rows: int) -> None:
        folder = Path(tempfile.mkdtemp(prefix="revgov-findings-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        self.path = Path(shutil.move(path, folder / "findings.parquet"))
        self.rows = rows

    def scan(self) -> pl.LazyFrame:
        return pl.scan_parquet(self.path)

    def read(self) -> pl.DataFrame:
        return pl.read_parquet(self.path)

    def __repr__(self) -> str:
        return f"SpilledFindings({str(self.path)!r}, rows={self.rows})"
