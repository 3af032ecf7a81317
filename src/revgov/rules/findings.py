"""The findings frame: one tidy row per (rule, record, field) that violates a rule.

Columns, all text: ``rule_id``, ``severity`` (info, warn, error), ``dimension``, ``entity``,
``record_id``, ``owner_id`` (the record's owner, the one to fix it), ``field``, ``value`` (the
offending value, formatted the same on every engine), ``message`` (what is wrong, in words).
"""

from __future__ import annotations

import polars as pl

__all__ = ["FINDINGS_COLUMNS", "FINDINGS_SCHEMA", "empty_findings", "sort_findings"]

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


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def sort_findings(findings: pl.DataFrame) -> pl.DataFrame:
    """A stable order for output and comparison: rule, record, field, value."""
    return findings.sort(["rule_id", "record_id", "field", "value", "message"], nulls_last=True)
