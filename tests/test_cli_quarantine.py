"""Quarantine in plain sight (issue 12, item 5): `revgov snapshot quarantine` lists the rows a
pull could not type; the audit's `pulled.rows_quarantined` rule fails per entity with rows in
quarantine; audit and metrics say how many rows of each input are out of every rule and KPI."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from revgov import audit
from revgov.cli import EXIT_USAGE, main
from revgov.config import load_config
from revgov.demo import DemoOutput, write_demo
from revgov.pull import pull

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart export with dates in two formats planted in five deals (the case of the
    issue: they dropped out of every KPI without a word)."""
    root = tmp_path_factory.mktemp("quarantine") / "project"
    shutil.copytree(QUICKSTART, root)
    deals = pl.read_csv(root / "deals.csv", infer_schema=False)
    planted = deals["Deal ID"].head(5).to_list()
    deals = deals.with_columns(
        pl.when(pl.col("Deal ID").is_in(planted))
        .then(pl.col("Close Date").str.strptime(pl.Date, "%Y-%m-%d").dt.strftime("%d/%m/%Y"))
        .otherwise(pl.col("Close Date"))
        .alias("Close Date")
    )
    deals.write_csv(root / "deals.csv")
    pull(load_config(root / "revgov.toml"), root / "snap", progress=False)
    return root / "snap"


def _expected(snapshot: Path) -> dict[str, tuple[str, str]]:
    """The quarantined deals, recomputed from the export with the csv module: every deal
    whose close date is not ISO, or whose amount is not a number."""
    out = {}
    with (snapshot.parent / "deals.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if "/" in row["Close Date"]:
                out[row["Deal ID"]] = ("close_date", row["Close Date"])
            elif row["Amount"] and not _number(row["Amount"]):
                out[row["Deal ID"]] = ("amount", row["Amount"])
    return out


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_snapshot_quarantine_lists_each_row_in_every_format(snapshot: Path) -> None:
    expected = _expected(snapshot)
    assert len(expected) >= 6  # five planted dates, and the quickstart's own bad amounts
    code, out, _ = _run("snapshot", "quarantine", str(snapshot), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["source_id"]: (r["field"], r["raw_value"]) for r in rows} == expected
    assert all(r["entity"] == "opportunities" and r["reason"] for r in rows)
    code, out, _ = _run("snapshot", "quarantine", str(snapshot), "-f", "csv", "-e", "opportunities")
    frame = pl.read_csv(io.StringIO(out))
    assert frame.height == 6 and {"raw_record", "detail", "reason"} <= set(frame.columns)
    code, out, _ = _run("snapshot", "quarantine", str(snapshot), "-e", "accounts")
    assert code == 0 and "no accounts rows in quarantine" in out


def test_the_quarantine_table_fits_80_columns(
    snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run("snapshot", "quarantine", str(snapshot))
    assert code == 0
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    for deal, (field, value) in _expected(snapshot).items():
        line = next(x for x in out.splitlines() if deal in x)
        assert field in line and value in line  # ids, fields and values whole


def test_an_unknown_entity_is_a_usage_error(snapshot: Path) -> None:
    code, _, err = _run("snapshot", "quarantine", str(snapshot), "--entity", "deals")
    assert code == EXIT_USAGE and "deals" in err


def test_the_audit_has_an_integrity_rule_per_entity(snapshot: Path) -> None:
    _, out, _ = _run("audit", "-s", str(snapshot), "-f", "json", "--no-record")
    data = json.loads(out)
    rule = next(r for r in data["rules"] if r["id"] == "pulled.rows_quarantined")
    stored = pl.read_csv(snapshot.parent / "accounts.csv").height
    assert rule["dimension"] == "integrity" and rule["status"] == "fail"
    # Entities pulled: opportunities, accounts, pipeline_stages; one has quarantined rows.
    assert (rule["checked"], rule["violating"]) == (3, 1)
    assert data["quarantined"] == {"opportunities": 6}
    assert stored > 0
    _, out, _ = _run("audit", "-s", str(snapshot), "--no-record", "--fail-on", "never")
    flat = " ".join(out.split())
    assert "quarantined at pull, left out of every rule and KPI: opportunities 6" in flat


def test_the_report_audits_the_pull_counts_too(snapshot: Path, tmp_path: Path) -> None:
    """`revgov report` runs the same rule as `revgov audit`: its audit reads the pull's counts."""
    out = tmp_path / "report.json"
    code, _, _ = _run(
        "report", "-s", str(snapshot), "--format", "json", "--out", str(out), "--no-record"
    )
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    rule = next(r for r in data["audit"]["rules"] if r["id"] == "pulled.rows_quarantined")
    # Same answer as `revgov audit`: 3 entities pulled, opportunities with rows in quarantine.
    assert (rule["status"], rule["checked"], rule["violating"]) == ("fail", 3, 1)


def test_metrics_say_which_kpis_the_quarantined_rows_touch(snapshot: Path) -> None:
    code, out, err = _run("metrics", "-s", str(snapshot), "-f", "json", "--as-of", "2026-07-01")
    assert code == 0, err
    data = json.loads(out)
    assert data["quarantined"] == {"opportunities": 6}
    touched = data["quarantine_touches"]["opportunities"]
    assert {"pipeline_created", "bookings", "win_rate_by_count"} <= set(touched)
    assert "opportunities 6 (touches pipeline_created" in " ".join(err.split())
    code, out, _ = _run("metrics", "-s", str(snapshot), "-f", "csv", "--as-of", "2026-07-01")
    assert "# quarantined=opportunities:6" in out.splitlines()


def test_a_clean_snapshot_passes_and_frames_alone_make_the_rule_not_applicable(
    tmp_path: Path,
) -> None:
    demo: DemoOutput = write_demo(tmp_path / "demo", scale=0.02, seed=4)
    _, out, _ = _run("audit", "-s", str(demo.snapshot_dir), "-f", "json", "--no-record")
    data = json.loads(out)
    rule = next(r for r in data["rules"] if r["id"] == "pulled.rows_quarantined")
    assert rule["status"] == "pass" and rule["checked"] > 0 and data["quarantined"] == {}
    report = audit(
        {e: f.lazy() for e, f in demo.data.frames.items()},
        config=demo.data.config,
        as_of=datetime.fromisoformat(str(demo.data.manifest["as_of"])),
    )
    # Frames without the pull's counts: the rule says it could not run, never that it passed.
    result = report.result("pulled.rows_quarantined")
    assert result.status == "not_applicable" and "pulled" in str(result.reason)
