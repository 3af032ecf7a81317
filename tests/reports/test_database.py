"""Runs into DuckDB and a real PostgreSQL server: append-only tables, a run id on every row,
one transaction per run, passwords never shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import polars as pl
import pytest
from tests.reports.conftest import PG_PASSWORD

from revgov.config import load_config
from revgov.demo import DemoOutput
from revgov.errors import DatabaseOutputError
from revgov.reports import SCHEMAS, RunTables, build_report, run_tables, write_results
from revgov.reports.database import TABLE_PREFIX
from revgov.rules import audit
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def run(demo: DemoOutput, as_of: datetime) -> RunTables:
    cfg = load_config(demo.config_path)
    frames = SnapshotStore(demo.snapshot_dir).frames()
    report = audit(frames, config=cfg, as_of=as_of)
    doc = build_report(frames, cfg, as_of=as_of, audit_report=report)
    return run_tables(report, snapshot=str(demo.snapshot_dir)).with_kpis(doc.kpi_tables())


def _counts(rows: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in rows.items()}


def test_duckdb_appends_runs_with_their_ids(run: RunTables, tmp_path: Any) -> None:
    url = f"duckdb:///{tmp_path}/out/revgov.db"
    first = write_results(url, run)
    again = _same(run)
    second = write_results(url, again)
    assert first.rows["findings"] == run.findings.height > 0
    assert first.rows["kpi_values"] == run.kpi_values.height > 0
    with duckdb.connect(f"{tmp_path}/out/revgov.db", read_only=True) as con:
        for name, schema in SCHEMAS.items():
            table = TABLE_PREFIX + name
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert cols == list(schema), name
            per_run = dict(
                con.execute(f"SELECT run_id, count(*) FROM {table} GROUP BY 1").fetchall()
            )
            expected = {run.run_id: first.rows[name], again.run_id: second.rows[name]}
            assert per_run == {k: v for k, v in expected.items() if v}, name
            assert con.execute(f"SELECT count(*) FROM {table} WHERE run_id IS NULL").fetchone() == (
                0,
            )
        score = con.execute(
            f"SELECT score FROM {TABLE_PREFIX}runs WHERE run_id = ?", [run.run_id]
        ).fetchone()
        # The KPI values pivot back to the report's tables.
        funnel = con.execute(
            f"SELECT labels, value FROM {TABLE_PREFIX}kpi_values WHERE run_id = ? AND "
            "kpi_table = 'funnel.funnel' AND measure = 'reached' ORDER BY row_number",
            [run.run_id],
        ).fetchall()
    assert score[0] == pytest.approx(run.runs["score"][0])
    assert [v for _, v in funnel] == [
        float(x)
        for x in run.kpi_values.filter(
            (pl.col("kpi_table") == "funnel.funnel") & (pl.col("measure") == "reached")
        )["value"]
    ]
    assert '"stage": "Prospecting"' in funnel[0][0]


def _same(run: RunTables) -> RunTables:
    """The same rows under a new run id (a second run of an unchanged snapshot)."""
    new_id = run.run_id[:-6] + "ffffff"
    return RunTables(
        new_id,
        *(
            run.tables()[name].with_columns(pl.lit(new_id).alias("run_id"))
            for name in ("runs", "rule_results", "dimension_scores", "findings", "kpi_values")
        ),
    )


def test_duckdb_adds_new_columns_and_rolls_back_a_failed_run(run: RunTables, tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    with duckdb.connect(str(path)) as con:
        # A table of an older revgov without the last column; a findings table that breaks.
        con.execute(f"CREATE TABLE {TABLE_PREFIX}runs (run_id VARCHAR, recorded_at TIMESTAMPTZ)")
        con.execute(f"CREATE TABLE {TABLE_PREFIX}findings (run_id VARCHAR, rule_id INTEGER)")
    with pytest.raises(DatabaseOutputError, match="DuckDB refused the run"):
        write_results(f"duckdb:///{path}", run)
    with duckdb.connect(str(path)) as con:
        assert con.execute(f"SELECT count(*) FROM {TABLE_PREFIX}runs").fetchone() == (0,)
        con.execute(f"DROP TABLE {TABLE_PREFIX}findings")
    write_results(f"duckdb:///{path}", run)
    with duckdb.connect(str(path), read_only=True) as con:
        cols = [r[0] for r in con.execute(f"DESCRIBE {TABLE_PREFIX}runs").fetchall()]
        assert cols[:2] == ["run_id", "recorded_at"] and set(cols) == set(SCHEMAS["runs"])
        assert con.execute(f"SELECT findings FROM {TABLE_PREFIX}runs").fetchone() == (
            run.findings.height,
        )


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(DatabaseOutputError, match="unknown scheme 'mysql'") as err:
        write_results("mysql://me:hunter2@db/x", _empty())
    assert "hunter2" not in str(err.value) and "***" in str(err.value)


def _empty() -> RunTables:
    return RunTables(
        "x",
        *(
            pl.DataFrame(schema=s)
            for s in (
                SCHEMAS["runs"],
                SCHEMAS["rule_results"],
                SCHEMAS["dimension_scores"],
                SCHEMAS["findings"],
                SCHEMAS["kpi_values"],
            )
        ),
    )


def test_postgresql_appends_runs_in_one_transaction(run: RunTables, postgres_url: str) -> None:
    import psycopg

    summary = write_results(postgres_url, run)
    write_results(postgres_url, _same(run))
    assert PG_PASSWORD not in summary.target
    with psycopg.connect(postgres_url) as con:
        for name, schema in SCHEMAS.items():
            table = TABLE_PREFIX + name
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "ORDER BY ordinal_position",
                    (table,),
                ).fetchall()
            ]
            assert cols == list(schema), name
            rows = dict(
                con.execute(f"SELECT run_id, count(*) FROM {table} GROUP BY 1".encode()).fetchall()
            )
            if summary.rows[name]:
                assert rows == {
                    run.run_id: summary.rows[name],
                    _same(run).run_id: summary.rows[name],
                }
        owners = con.execute(
            f"SELECT owner_id, count(*) FROM {TABLE_PREFIX}findings WHERE run_id = %s "
            "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1".encode(),
            (run.run_id,),
        ).fetchone()
        recorded = con.execute(
            f"SELECT recorded_at FROM {TABLE_PREFIX}runs LIMIT 1".encode()
        ).fetchone()
    top = (
        run.findings.group_by("owner_id")
        .len()
        .sort(["len", "owner_id"], descending=[True, False], nulls_last=True)
        .row(0)
    )
    assert owners == top
    assert recorded[0].tzinfo is not None  # timestamps keep their zone


def test_postgresql_errors_never_show_the_password(run: RunTables, postgres_url: str) -> None:
    wrong = postgres_url.replace(PG_PASSWORD, "not-the-password-123")
    with pytest.raises(DatabaseOutputError, match="PostgreSQL refused the run") as err:
        write_results(wrong, run)
    text = str(err.value) + repr(err.value)
    assert "not-the-password-123" not in text and PG_PASSWORD not in text
    assert "OperationalError" in text and "password authentication failed" in text
