"""One audit run as tables: its metadata, rule results, dimension scores, findings and KPI values.

The same tables go to the run history beside the snapshot (:mod:`revgov.reports.history`) and
to a database (:mod:`revgov.reports.database`), so a run reads alike wherever it is stored.
Every row carries the ``run_id``. The schemas are append-only: columns are added at the end,
never renamed or removed (docs/outputs.md lists them).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from revgov.reports._format import as_utc
from revgov.rules import DIMENSIONS, FINDINGS_COLUMNS, Report

__all__ = [
    "FINDINGS_SCHEMA",
    "KPI_VALUES_SCHEMA",
    "RULES_SCHEMA",
    "RUNS_SCHEMA",
    "SCHEMAS",
    "SCORES_SCHEMA",
    "RunTables",
    "findings_with_owners",
    "frame_batches",
    "kpi_values",
    "new_run_id",
    "owned_findings",
    "run_tables",
]

_TS = pl.Datetime("us", "UTC")

RUNS_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        "recorded_at": _TS,
        "as_of": _TS,
        "command": pl.String(),
        "snapshot": pl.String(),
        "snapshot_version": pl.Int64(),
        "config_hash": pl.String(),
        "snapshot_config_hash": pl.String(),
        "revgov_version": pl.String(),
        "engine": pl.String(),
        "score": pl.Float64(),
        "maturity_stage": pl.Int64(),
        "maturity_name": pl.String(),
        "rules": pl.Int64(),
        "rules_pass": pl.Int64(),
        "rules_fail": pl.Int64(),
        "rules_within_threshold": pl.Int64(),
        "rules_not_applicable": pl.Int64(),
        "rules_ungoverned": pl.Int64(),
        "findings": pl.Int64(),
    }
)
RULES_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        "rule_id": pl.String(),
        "entity": pl.String(),
        "severity": pl.String(),
        "dimension": pl.String(),
        "kind": pl.String(),
        "status": pl.String(),
        "checked": pl.Int64(),
        "violating": pl.Int64(),
        "findings": pl.Int64(),
        "pass_rate": pl.Float64(),
        "threshold": pl.Float64(),
        "owner": pl.String(),
        "reason": pl.String(),
        "definition": pl.String(),
        "governed": pl.Boolean(),
    }
)
SCORES_SCHEMA = pl.Schema({"run_id": pl.String(), "dimension": pl.String(), "score": pl.Float64()})
FINDINGS_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        **dict.fromkeys(FINDINGS_COLUMNS, pl.String()),
        "owner_name": pl.String(),
        "team": pl.String(),
    }
)
KPI_VALUES_SCHEMA = pl.Schema(
    {
        "run_id": pl.String(),
        "kpi_table": pl.String(),
        "row_number": pl.Int64(),
        "period": pl.Date(),
        "labels": pl.String(),
        "measure": pl.String(),
        "value": pl.Float64(),
    }
)
#: Rows a recorded run's findings are written in at a time (when they are kept on disk).
BATCH_ROWS = 250_000

#: Table name (without prefix) to schema, in the order a run is written: ``runs`` last, so a
#: reader that sees a run's row sees all of its other rows.
SCHEMAS: dict[str, pl.Schema] = {
    "findings": FINDINGS_SCHEMA,
    "rule_results": RULES_SCHEMA,
    "dimension_scores": SCORES_SCHEMA,
    "kpi_values": KPI_VALUES_SCHEMA,
    "runs": RUNS_SCHEMA,
}


def new_run_id(moment: datetime) -> str:
    """A run id that sorts by time: ``20260701T120000Z-3f9a1c``."""
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunTables:
    """The rows of one run, one frame per table of :data:`SCHEMAS`.

    ``findings`` is lazy (a scan of the report's findings file, owner names joined on the
    fly) when the audit kept its findings on disk, so that recording a large run never
    holds them all in memory; the other tables are small and always eager.
    """

    run_id: str
    runs: pl.DataFrame
    rule_results: pl.DataFrame
    dimension_scores: pl.DataFrame
    findings: pl.DataFrame | pl.LazyFrame
    kpi_values: pl.DataFrame

    def tables(self) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        """Table name to rows, in :data:`SCHEMAS` order (``runs`` last)."""
        return {name: getattr(self, name) for name in SCHEMAS}

    def findings_df(self) -> pl.DataFrame:
        """The findings as an eager frame (read into memory when they are kept on disk)."""
        f = self.findings
        return f.collect() if isinstance(f, pl.LazyFrame) else f

    def with_kpis(self, tables: Mapping[str, pl.DataFrame]) -> RunTables:
        """The same run with ``tables`` (KPI results) added as ``kpi_values`` rows."""
        return RunTables(
            self.run_id,
            self.runs,
            self.rule_results,
            self.dimension_scores,
            self.findings,
            kpi_values(self.run_id, tables),
        )


def frame_batches(
    frame: pl.DataFrame | pl.LazyFrame, rows: int | None = None
) -> Iterator[pl.DataFrame]:
    """``frame`` in slices of at most ``rows`` rows (:data:`BATCH_ROWS` by default; none
    when it is empty); a lazy frame runs on the streaming engine, one batch in memory at a
    time."""
    rows = rows or BATCH_ROWS
    if isinstance(frame, pl.LazyFrame):
        batches: Iterator[pl.DataFrame] = iter(frame.collect_batches(chunk_size=rows))
    else:
        batches = frame.iter_slices(rows)
    return (b for b in batches if b.height)


def owned_findings(report: Report) -> pl.LazyFrame:
    """The findings with each owner's name and team (as the report's users name them), as a
    lazy frame: a scan of the findings file when the audit kept them on disk."""
    f = report.findings_lazy().select(FINDINGS_COLUMNS)
    users = report.users
    if users.width and "user_id" in users.columns:
        names = users.select(
            pl.col("user_id").cast(pl.String).alias("owner_id"),
            (pl.col("name") if "name" in users.columns else pl.lit(None))
            .cast(pl.String)
            .alias("owner_name"),
            (pl.col("team") if "team" in users.columns else pl.lit(None))
            .cast(pl.String)
            .alias("team"),
        ).unique("owner_id", keep="first")
        return f.join(
            names.lazy(), on="owner_id", how="left", nulls_equal=False, maintain_order="left"
        )
    return f.with_columns(
        pl.lit(None, pl.String).alias("owner_name"), pl.lit(None, pl.String).alias("team")
    )


def findings_with_owners(report: Report) -> pl.DataFrame:
    """The findings with each owner's name and team (as the report's users name them)."""
    return owned_findings(report).collect()


def run_tables(
    report: Report,
    *,
    run_id: str | None = None,
    recorded_at: datetime | None = None,
    command: str = "audit",
    snapshot: str | None = None,
    snapshot_version: int | None = None,
    snapshot_config_hash: str | None = None,
) -> RunTables:
    """The tables of one audit run from its :class:`~revgov.rules.Report`.

    ``snapshot_version`` is the version of the snapshot the audit read (None until the
    snapshot store keeps versions); ``snapshot_config_hash`` the hash stamped on the snapshot
    when it was pulled (it may differ from the report's own ``config_hash``).
    """
    moment = as_utc(recorded_at)
    rid = run_id or new_run_id(moment)
    s = report.summary()
    m = report.maturity
    runs = pl.DataFrame(
        [
            {
                "run_id": rid,
                "recorded_at": moment,
                "as_of": as_utc(report.as_of),
                "command": command,
                "snapshot": snapshot,
                "snapshot_version": snapshot_version,
                "config_hash": report.config_hash,
                "snapshot_config_hash": snapshot_config_hash,
                "revgov_version": _version(),
                "engine": report.engine,
                "score": report.score,
                "maturity_stage": m.stage,
                "maturity_name": m.name,
                "rules": s["rules"],
                "rules_pass": s["pass"],
                "rules_fail": s["fail"],
                "rules_within_threshold": s["within_threshold"],
                "rules_not_applicable": s["not_applicable"],
                "rules_ungoverned": s["ungoverned"],
                "findings": s["findings"],
            }
        ],
        schema=RUNS_SCHEMA,
    )
    rules = pl.DataFrame(
        [
            {
                "run_id": rid,
                **{k: v for k, v in r.to_dict().items() if k in RULES_SCHEMA and k != "id"},
                "rule_id": r.id,
                "pass_rate": r.pass_rate,
            }
            for r in report.results
        ],
        schema=RULES_SCHEMA,
    )
    scores = pl.DataFrame(
        [{"run_id": rid, "dimension": d, "score": report.scores.get(d)} for d in DIMENSIONS],
        schema=SCORES_SCHEMA,
    )
    findings = (
        owned_findings(report)
        .select(pl.lit(rid).alias("run_id"), *[c for c in FINDINGS_SCHEMA if c != "run_id"])
        .cast(FINDINGS_SCHEMA)
    )
    return RunTables(
        run_id=rid,
        runs=runs,
        rule_results=rules,
        dimension_scores=scores,
        # Findings kept on disk stay a lazy scan: written in batches where the run goes.
        findings=findings if report.spilled else findings.collect(),
        kpi_values=pl.DataFrame(schema=KPI_VALUES_SCHEMA),
    )


def _version() -> str:
    from revgov import __version__

    return __version__


def _label(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def kpi_values(run_id: str, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """KPI tables in one long, stable shape: one row per (table, row, numeric column).

    The text, date and boolean columns of a row become its ``labels`` (a JSON object, keys
    sorted), its ``period`` column (if any) also ``period``; each numeric column becomes a
    ``measure`` with its ``value``. A BI tool pivots them back; new KPIs never change the
    schema.
    """
    parts: list[pl.DataFrame] = []
    for name, frame in tables.items():
        if frame.height == 0:
            continue
        numeric = [c for c, t in frame.schema.items() if t.is_numeric()]
        labels = [c for c in frame.columns if c not in numeric]
        if not numeric:
            continue
        label_rows = frame.select(labels).rows(named=True) if labels else [{}] * frame.height
        period = (
            frame["period"].cast(pl.Date, strict=False)
            if "period" in frame.columns and frame.schema["period"].is_temporal()
            else pl.Series("period", [None] * frame.height, pl.Date)
        )
        base = pl.DataFrame(
            {
                "row_number": pl.Series(range(frame.height), dtype=pl.Int64),
                "period": period,
                "labels": [
                    json.dumps({k: _label(v) for k, v in row.items()}, sort_keys=True)
                    for row in label_rows
                ],
            }
        )
        long = pl.concat([base, frame.select(numeric).cast(pl.Float64)], how="horizontal").unpivot(
            index=["row_number", "period", "labels"], variable_name="measure", value_name="value"
        )
        parts.append(
            long.select(
                pl.lit(run_id).alias("run_id"),
                pl.lit(name).alias("kpi_table"),
                "row_number",
                "period",
                "labels",
                "measure",
                "value",
            )
        )
    if not parts:
        return pl.DataFrame(schema=KPI_VALUES_SCHEMA)
    return pl.concat(parts).cast(KPI_VALUES_SCHEMA)
