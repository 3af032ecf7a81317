"""Audit runs into a database a BI tool reads: DuckDB (embedded) or PostgreSQL.

``write_results("duckdb:///revgov.db", run)`` appends one run's rows (see
:mod:`revgov.reports.runs`) to five tables, ``revgov_runs``, ``revgov_rule_results``,
``revgov_dimension_scores``, ``revgov_findings`` and ``revgov_kpi_values``, each row with the
run's ``run_id``. The schema is append-only: tables are created when missing, a column added
in a later revgov version is added to an existing table (``ALTER TABLE ... ADD COLUMN``), and
nothing is ever updated or deleted. A run is written in one transaction, so a reader sees all
of it or none. docs/outputs.md documents the tables.

URLs: ``duckdb:///relative/path.db`` or ``duckdb:////absolute/path.db`` (as SQLAlchemy
writes them), ``postgresql://user:password@host:port/database`` (any libpq URI; the password
is better given in ``PGPASSWORD`` or ``~/.pgpass``). A password is never shown in errors.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from revgov.errors import DatabaseOutputError
from revgov.reports.runs import SCHEMAS, RunTables, frame_batches

__all__ = ["TABLE_PREFIX", "WriteSummary", "redact", "sql_type", "write_results"]

TABLE_PREFIX = "revgov_"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def sql_type(dtype: pl.DataType, dialect: str) -> str:
    """The column type of a polars dtype in ``duckdb`` or ``postgresql``."""
    if dtype == pl.String:
        return "VARCHAR" if dialect == "duckdb" else "TEXT"
    if dtype == pl.Int64:
        return "BIGINT"
    if dtype == pl.Float64:
        return "DOUBLE" if dialect == "duckdb" else "DOUBLE PRECISION"
    if dtype == pl.Date:
        return "DATE"
    if dtype == pl.Boolean:
        return "BOOLEAN"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ"
    raise TypeError(f"no SQL type for {dtype}")  # pragma: no cover - schemas are fixed


def _without_password(text: str, url: str) -> str:
    match = re.search(r"://[^:/@]+:([^@]*)@", url)
    return text.replace(match.group(1), "***") if match and match.group(1) else text


@dataclass(frozen=True)
class WriteSummary:
    """What :func:`write_results` appended: rows per table."""

    target: str
    run_id: str
    rows: dict[str, int]


def _ddl(table: str, schema: pl.Schema, dialect: str) -> str:
    cols = ", ".join(f"{c} {sql_type(t, dialect)}" for c, t in schema.items())
    return f"CREATE TABLE IF NOT EXISTS {TABLE_PREFIX}{table} ({cols})"


def _missing_columns(existing: set[str], schema: pl.Schema) -> list[str]:
    return [c for c in schema if c not in existing]


# -- DuckDB ------------------------------------------------------------------------------------


def _duckdb_path(url: str) -> str:
    path = url[len("duckdb:///") :]
    if not path:
        raise DatabaseOutputError(
            f"{url!r} names no database file", hint="write duckdb:///revgov.db"
        )
    return path


def _driver(module: str, extra: str) -> Any:
    """The database driver ``module`` (an optional dependency: the extra ``extra``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DatabaseOutputError(
            f"writing to this database needs the {module} package",
            hint=f"pip install 'revgov[{extra}]'",
        ) from exc


def _write_duckdb(url: str, run: RunTables) -> dict[str, int]:
    duckdb = _driver("duckdb", "duckdb")
    path = _duckdb_path(url)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(path)
    try:
        con.execute("BEGIN TRANSACTION")
        rows = {}
        for name, frame in run.tables().items():
            schema = SCHEMAS[name]
            con.execute(_ddl(name, schema, "duckdb"))
            existing = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                    [TABLE_PREFIX + name],
                ).fetchall()
            }
            for col in _missing_columns(existing, schema):
                con.execute(
                    f"ALTER TABLE {TABLE_PREFIX}{name} ADD COLUMN {col} "
                    f"{sql_type(schema[col], 'duckdb')}"
                )
            cols = ", ".join(schema)
            rows[name] = 0
            # Batch by batch: a run's findings kept on disk are never all in memory.
            for batch in frame_batches(frame.select(list(schema))):
                con.register("revgov_rows", batch.to_arrow())
                con.execute(
                    f"INSERT INTO {TABLE_PREFIX}{name} ({cols}) SELECT {cols} FROM revgov_rows"
                )
                con.unregister("revgov_rows")
                rows[name] += batch.height
        con.execute("COMMIT")
        return rows
    except duckdb.Error as exc:
        # Closing without COMMIT rolls the run back: nothing of it is visible.
        raise DatabaseOutputError(
            f"DuckDB refused the run at {redact(url)!r}: {type(exc).__name__}: {exc}",
            hint="check the file is writable and not open in another process",
        ) from exc
    finally:
        con.close()


# -- PostgreSQL --------------------------------------------------------------------------------


def _write_postgres(url: str, run: RunTables) -> dict[str, int]:
    psycopg = _driver("psycopg", "postgresql")
    target = redact(url)
    try:
        with psycopg.connect(url, connect_timeout=10) as con, con.cursor() as cur:
            rows = {}
            for name, frame in run.tables().items():
                schema = SCHEMAS[name]
                cur.execute(_ddl(name, schema, "postgresql").encode())
                cur.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND table_schema = current_schema()",
                    (TABLE_PREFIX + name,),
                )
                existing = {r[0] for r in cur.fetchall()}
                for col in _missing_columns(existing, schema):
                    cur.execute(
                        f"ALTER TABLE {TABLE_PREFIX}{name} ADD COLUMN {col} "
                        f"{sql_type(schema[col], 'postgresql')}".encode()
                    )
                cols = ", ".join(schema)
                rows[name] = 0
                with cur.copy(f"COPY {TABLE_PREFIX}{name} ({cols}) FROM STDIN".encode()) as copy:
                    # One COPY fed batch by batch: findings kept on disk stream from their file.
                    for batch in frame_batches(frame.select(list(schema))):
                        for row in batch.iter_rows():
                            copy.write_row(row)
                        rows[name] += batch.height
            # Leaving the `with` commits; an exception rolls the whole run back.
            return rows
    except psycopg.Error as exc:
        code = getattr(exc, "sqlstate", None) or type(exc).__name__
        said = _without_password(str(exc).strip().splitlines()[0] if str(exc) else "", url)
        raise DatabaseOutputError(
            f"PostgreSQL refused the run at {target!r} ({code}): {said}",
            hint="check the server is up, the URL's user may create tables, and the "
            "password is in PGPASSWORD or ~/.pgpass",
        ) from None  # the driver's own exception may quote the connection string


_WRITERS: dict[str, Callable[[str, RunTables], dict[str, int]]] = {
    "duckdb": _write_duckdb,
    "postgresql": _write_postgres,
    "postgres": _write_postgres,
}


def write_results(url: str, run: RunTables) -> WriteSummary:
    """Append ``run`` (its runs, rule results, scores, findings and KPI values) to the
    database at ``url`` in one transaction."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    writer = _WRITERS.get(scheme)
    if writer is None:
        raise DatabaseOutputError(
            f"cannot write results to {redact(url)!r}: unknown scheme {scheme or '(none)'!r}",
            hint="use duckdb:///path.db or postgresql://user@host:5432/database",
        )
    return WriteSummary(redact(url), run.run_id, writer(url, run))
