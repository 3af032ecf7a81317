"""A recorded run whose findings the audit kept on disk (the size forced to none) streams them
to every store in batches, and each store ends up with the rows of the run held in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.config import load_config
from revgov.demo import DemoOutput
from revgov.reports import SCHEMAS, RunHistory, RunTables, run_tables, runs, write_results
from revgov.reports.database import TABLE_PREFIX
from revgov.reports.history import HISTORY_TABLES
from revgov.rules import Report, audit, engine
from revgov.store import SnapshotStore

RUN_ID = "20260701T120000Z-abcdef"
RECORDED_AT = datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def reports(
    demo: DemoOutput, as_of: datetime, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Report, Report]:
    """The demo's audit with its findings in memory, and again with them kept on disk."""
    cfg = load_config(demo.config_path)
    frames = SnapshotStore(demo.snapshot_dir).frames()
    in_memory = audit(frames, config=cfg, as_of=as_of)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "FINDINGS_IN_MEMORY_MAX", 0)
        spill = tmp_path_factory.mktemp("spill")
        on_disk = audit(frames, config=cfg, as_of=as_of, spill_dir=spill)
    assert not in_memory.spilled and on_disk.spilled
    assert on_disk.findings_count == in_memory.findings_count > 400
    return in_memory, on_disk


def _tables(report: Report, run_id: str = RUN_ID) -> RunTables:
    return run_tables(report, run_id=run_id, recorded_at=RECORDED_AT, snapshot="demo")


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many batches from the demo's findings, as a large audit's millions make.
    monkeypatch.setattr(runs, "BATCH_ROWS", 50)


def test_a_spilled_run_keeps_its_findings_lazy_with_the_same_rows(
    reports: tuple[Report, Report],
) -> None:
    in_memory, on_disk = (_tables(r) for r in reports)
    assert isinstance(in_memory.findings, pl.DataFrame)
    assert isinstance(on_disk.findings, pl.LazyFrame)
    eager = on_disk.findings_df()
    assert eager.schema == SCHEMAS["findings"]
    # Owner names are joined to the spilled findings as to those in memory.
    assert eager["owner_name"].is_not_null().sum() > 50
    assert_frame_equal(_sorted(eager), _sorted(in_memory.findings))
    batches = list(runs.frame_batches(on_disk.findings))
    assert len(batches) > 5 and max(b.height for b in batches) <= 50
    assert sum(b.height for b in batches) == eager.height
    for name in ("runs", "rule_results", "dimension_scores"):
        assert_frame_equal(getattr(on_disk, name), getattr(in_memory, name), check_exact=True)


def test_the_run_history_gets_the_same_tables(
    reports: tuple[Report, Report], tmp_path: Path
) -> None:
    stored = []
    for label, report in zip(("memory", "disk"), reports, strict=True):
        history = RunHistory(tmp_path / label)
        assert history.record(_tables(report)) == RUN_ID
        stored.append(history)
    a, b = stored
    assert a.ids() == b.ids() == [RUN_ID]
    assert a.findings(RUN_ID).height == reports[0].findings_count
    assert_frame_equal(_sorted(b.findings(RUN_ID)), _sorted(a.findings(RUN_ID)))
    assert_frame_equal(b.rule_results(RUN_ID), a.rule_results(RUN_ID))
    assert_frame_equal(b.trend(), a.trend())
    # One append (one Delta commit) for all the batches of findings.
    log = sorted((tmp_path / "disk" / "findings" / "_delta_log").glob("*.json"))
    assert len(log) == 1
    assert set(HISTORY_TABLES) <= {p.name for p in (tmp_path / "disk").iterdir()}


def _duckdb_rows(path: Path, name: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = pl.from_arrow(con.sql(f"SELECT * FROM {TABLE_PREFIX}{name}").to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return _sorted(frame)


def test_duckdb_gets_the_same_tables(reports: tuple[Report, Report], tmp_path: Path) -> None:
    written = []
    for label, report in zip(("memory", "disk"), reports, strict=True):
        written.append(write_results(f"duckdb:///{tmp_path}/{label}.db", _tables(report)))
    assert written[0].rows == written[1].rows
    assert written[1].rows["findings"] == reports[0].findings_count
    for name in SCHEMAS:
        assert_frame_equal(
            _duckdb_rows(tmp_path / "disk.db", name), _duckdb_rows(tmp_path / "memory.db", name)
        )


def test_postgresql_gets_the_same_tables(reports: tuple[Report, Report], postgres_url: str) -> None:
    import psycopg

    ids = {"memory": RUN_ID, "disk": RUN_ID[:-6] + "ffffff"}
    written = [
        write_results(postgres_url, _tables(report, ids[label]))
        for label, report in zip(ids, reports, strict=True)
    ]
    assert written[0].rows == written[1].rows
    assert written[1].rows["findings"] == reports[0].findings_count
    with psycopg.connect(postgres_url) as con:
        for name, schema in SCHEMAS.items():
            cols = [c for c in schema if c != "run_id"]
            got = {}
            for label, rid in ids.items():
                rows = con.execute(
                    f"SELECT {', '.join(cols)} FROM {TABLE_PREFIX}{name} WHERE run_id = %s".encode(),
                    (rid,),
                ).fetchall()
                got[label] = sorted(rows, key=repr)
            assert got["disk"] == got["memory"], name
            assert len(got["disk"]) == written[0].rows[name]
