"""Helpers for rule tests: canonical frames from a few hand-written rows, and audit shortcuts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from revgov.config import Config, config_from_dict
from revgov.demo import DemoData, generate
from revgov.model.frames import polars_schema
from revgov.rules import Report, Rule, audit

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)


def canonical(entity: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """A frame with ``entity``'s canonical schema; columns the rows omit are null."""
    schema = polars_schema(entity)
    raw = pl.DataFrame(list(rows), infer_schema_length=None) if rows else pl.DataFrame()
    return pl.select(
        *[
            (raw[c] if c in raw.columns else pl.repeat(None, len(rows), dtype=schema[c]))
            .cast(schema[c])
            .alias(c)
            for c in schema.names()
        ]
    )


def run(
    rules: Iterable[Rule] | None,
    frames: Mapping[str, pl.DataFrame | Sequence[Mapping[str, Any]]],
    *,
    config: Config | None = None,
    as_of: datetime = AS_OF,
    **kwargs: Any,
) -> Report:
    """Audit hand-made rows (lists of dicts become canonical frames) with ``rules``."""
    lazy = {
        e: (f if isinstance(f, pl.DataFrame) else canonical(e, f)).lazy() for e, f in frames.items()
    }
    return audit(lazy, rules, config=config or Config(), as_of=as_of, **kwargs)


def flagged(report: Report, rule_id: str) -> set[str]:
    """Record ids with a finding of ``rule_id``."""
    df = report.findings_df.filter(pl.col("rule_id") == rule_id)
    return set(df["record_id"].to_list())


def config_of(**tables: Any) -> Config:
    return config_from_dict(dict(tables))


@pytest.fixture(scope="session")
def demo_small() -> DemoData:
    """The demo CRM at a tenth of the default size (fast; every defect kind planted)."""
    return generate(scale=0.1, seed=11)
