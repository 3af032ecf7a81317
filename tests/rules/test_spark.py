"""The pack on PySpark (local mode) gives the same findings as on polars."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from revgov.demo import generate
from revgov.rules import audit
from revgov.rules.findings import sort_findings

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    java17 = Path("/usr/lib/jvm/java-17-openjdk-amd64")
    if "JAVA_HOME" not in os.environ and java17.is_dir():
        os.environ["JAVA_HOME"] = str(java17)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        # A short-lived JVM: the C1 compiler alone and the serial collector start faster and
        # halve this test's time (the audit is many small queries, not much data).
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.adaptive.enabled", "false")
        .appName("revgov-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_agrees_with_polars(spark: Any) -> None:
    # Small data: the cost is Spark's per-query overhead, and every rule of the pack runs.
    demo = generate(scale=0.01, seed=5)
    as_of = datetime.fromisoformat(demo.manifest["as_of"])
    on_polars = audit(
        {e: f.lazy() for e, f in demo.frames.items()}, config=demo.config, as_of=as_of
    )
    frames = {e: spark.createDataFrame(f.to_arrow()) for e, f in demo.frames.items()}
    on_spark = audit(frames, config=demo.config, as_of=as_of)
    assert on_spark.engine == "pyspark"
    assert type(on_spark.findings).__name__ == "DataFrame"
    assert on_polars.findings_df.height > 50
    # Every rule runs but the one on the pull's counts, which frames without a snapshot lack.
    assert all(r.reason is None for r in on_spark.results if r.entity != "pulled")
    assert on_spark.result("pulled.rows_quarantined").status == "not_applicable"
    assert sort_findings(on_polars.findings_df).equals(sort_findings(on_spark.findings_df))
    counts = [(r.id, r.checked, r.violating) for r in on_polars.results]
    assert counts == [(r.id, r.checked, r.violating) for r in on_spark.results]
