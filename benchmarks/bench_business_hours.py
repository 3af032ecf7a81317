"""Benchmark: business seconds between two timestamps (``revgov._business_hours``).

What it guards: SQL engines must plan queries over the business clock quickly (a CASE over
every zone change once made DuckDB take seconds to plan an aggregated query), and the clock
must stay cheap per row. For polars and DuckDB it times:

* ``plan``: building the expressions and running an aggregated query (median, mean, p90 by
  group) over ONE row: almost all of it is building and planning;
* ``run``: the same query over ``--rows`` rows (default 1,000,000).

The calendar is New York, 9-17 Monday to Friday, with ``--holidays`` holidays a year over
2020-2027; instants are seeded, spread over those years, with microseconds. Each figure is the
best of ``--repeat`` runs after a warm-up.

    python benchmarks/bench_business_hours.py [--rows 1000000] [--holidays 12] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import narwhals as nw
import numpy as np
import polars as pl
from revgov._business_hours import BusinessCalendar, add_business_seconds_between
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results" / "business_hours.json"


def frame(rows: int, seed: int = 11) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start_us = 1_577_836_800_000_000  # 2020-01-01
    span = 8 * 365 * 86_400_000_000
    a = start_us + rng.integers(0, span, rows)
    b = a + rng.integers(0, 30 * 86_400_000_000, rows)
    return pl.DataFrame(
        {
            "g": rng.integers(0, 5, rows),
            "a": pl.Series(a).cast(pl.Datetime("us", "UTC")),
            "b": pl.Series(b).cast(pl.Datetime("us", "UTC")),
        }
    )


def calendar(per_year: int) -> BusinessCalendar:
    days = [date(2020, 1, 1) + timedelta(days=i) for i in range(8 * 365)]
    step = max(1, 365 // max(per_year, 1))
    holidays = tuple(days[::step]) if per_year else ()
    return BusinessCalendar(timezone="America/New_York", holidays=holidays)


def query(native: Any, cal: BusinessCalendar) -> Any:
    lf = add_business_seconds_between(nw.from_native(native), "a", "b", "s", cal)
    return lf.group_by("g").agg(
        nw.col("s").median().alias("median"),
        nw.col("s").mean().alias("mean"),
        nw.col("s").quantile(0.9, "linear").alias("p90"),
    )


def best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--holidays", type=int, default=12, help="holidays a year")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cal = calendar(args.holidays)
    one, many = frame(1), frame(args.rows)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def polars_run(df: pl.DataFrame) -> Callable[[], object]:
        return lambda: query(df.lazy(), cal).collect()

    def duckdb_run(df: pl.DataFrame) -> Callable[[], object]:
        rel = con.from_arrow(df.to_arrow())
        return lambda: query(rel, cal).to_native().fetchall()

    results: dict[str, dict[str, float]] = {}
    for engine, run in (("polars", polars_run), ("duckdb", duckdb_run)):
        results[engine] = {
            "plan_s": best(run(one), args.repeat),
            "run_s": best(run(many), args.repeat),
        }

    table = Table(title=f"business seconds: {args.rows:,} rows, {len(cal.holidays)} holidays")
    for col in ("engine", "plan (1 row) s", f"run ({args.rows:,} rows) s"):
        table.add_column(col)
    for engine, r in results.items():
        table.add_row(engine, f"{r['plan_s']:.3f}", f"{r['run_s']:.3f}")
    Console().print(table)

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "rows": args.rows,
                "holidays": len(cal.holidays),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
