"""Other engines read a snapshot's tables directly and get the rows revgov reads: polars'
Delta reader, DuckDB over the files the Delta log names, and PySpark over the same files (its
Delta reader needs the delta-spark jar, which is not on PyPI: see docs/snapshot.md)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from revgov.model import type_records
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("engines") / "snap"
    store = SnapshotStore.create(root)
    rows = [{"opportunity_id": f"o{i}", "amount": str(i), "stage": "Open"} for i in range(50)]
    store.commit_page(type_records("opportunities", rows, source_system="x"), source="crm")
    update = [{"opportunity_id": "o3", "amount": "300", "stage": "Won"}]
    store.commit_page(
        type_records("opportunities", update, source_system="x"), source="crm", deletions=["o7"]
    )
    other = [{"opportunity_id": "z1", "amount": "9"}]
    store.commit_page(type_records("opportunities", other, source_system="x"), source="other")
    return root


def _revgov(root: Path) -> pl.DataFrame:
    frame = SnapshotStore(root).scan("opportunities").select("opportunity_id", "amount", "stage")
    return frame.collect().sort("opportunity_id")


def test_polars_delta_reader(snapshot: Path) -> None:
    direct = pl.scan_delta(str(snapshot / "opportunities")).collect()
    assert set(direct["_source"]) == {"crm", "other"}
    got = direct.select("opportunity_id", "amount", "stage").sort("opportunity_id")
    assert_frame_equal(got, _revgov(snapshot))
    assert "o7" not in got["opportunity_id"].to_list()


def test_duckdb_over_the_files_the_log_names(snapshot: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    files = DeltaTable(str(snapshot / "opportunities")).file_uris()
    rel = duckdb.sql(
        "select opportunity_id, amount, stage, _source from read_parquet($files, "
        "hive_partitioning = true, union_by_name = true) order by opportunity_id",
        params={"files": files},
    )
    got = rel.pl()
    assert_frame_equal(got.drop("_source"), _revgov(snapshot), check_dtypes=False)
    assert got.filter(pl.col("opportunity_id") == "z1")["_source"].to_list() == ["other"]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        pytest.skip("PySpark needs Java (scripts/test installs it)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .appName("revgov-store-tests")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.mark.spark
@pytest.mark.slow
def test_pyspark_over_the_files_the_log_names(snapshot: Path, spark: Any) -> None:
    files = DeltaTable(str(snapshot / "opportunities")).file_uris()
    df = spark.read.option("mergeSchema", "true").parquet(*files)
    rows = sorted(
        (r["opportunity_id"], r["amount"], r["stage"])
        for r in df.select("opportunity_id", "amount", "stage").collect()
    )
    assert rows == list(_revgov(snapshot).iter_rows())
