"""`revgov report`, `revgov history`, `revgov diff`, and `revgov audit` recording its runs,
writing `--to` a database and posting `--notify` alerts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from tests.emulator.server import Emulator, Request, Response

from revgov.cli import main
from revgov.reports import RunHistory
from revgov.store import SnapshotStore


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_writes_html_beside_the_snapshot_and_records_the_run(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = demo_copy / "snapshot"
    code, out, _ = _run(["report", "-s", str(snap)], capsys)
    assert code == 0
    html = demo_copy / "reports" / "audit.html"
    assert f"wrote {html}" in out.replace("\n", "")
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and "Revenue governance report" in text
    assert len(RunHistory.of_snapshot(snap)) == 1
    code, out, _ = _run(["report", "-s", str(snap), "--cadence", "weekly", "-f", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["cadence"] == "weekly" and "weekly.new_people" in data["key_numbers"]
    runs = RunHistory.of_snapshot(snap)
    assert data["stamp"]["run_id"] == runs.latest() and len(runs) == 2
    code, out, _ = _run(
        ["report", "-s", str(snap), "-f", "md", "--cadence", "monthly", "--no-record"], capsys
    )
    assert code == 0 and out.startswith("# Monthly pipeline review") and len(runs) == 2


def test_a_report_of_an_earlier_version_reads_and_stamps_that_version(
    demo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = demo_copy / "snapshot"
    store = SnapshotStore(snap)
    latest = store.version
    # Remove the deals in a new version: the report of the version before still has them.
    deals = store.scan("opportunities").collect()
    store.commit(
        {"opportunities": deals.head(0)},
        deletions={"opportunities": deals["opportunity_id"].to_list()},
    )
    assert SnapshotStore(snap).row_count("opportunities") == 0
    code, out, _ = _run(["report", "-s", str(snap), "--version", str(latest), "-f", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["stamp"]["snapshot_version"] == latest
    runs = RunHistory.of_snapshot(snap).runs()
    assert runs["snapshot_version"].to_list() == [latest]
    code, out, _ = _run(["report", "-s", str(snap), "-f", "json", "--no-record"], capsys)
    assert code == 0 and json.loads(out)["stamp"]["snapshot_version"] == latest + 1
    code, _, err = _run(["report", "-s", str(snap), "--version", "1", "--at", "2026-01-01"], capsys)
    assert code == 2 and "--version or --at" in err


def test_history_and_diff_of_audit_runs(
    demo_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    snap = demo_copy / "snapshot"
    code, _, err = _run(["history", "-s", str(snap)], capsys)
    assert code == 0 and "no runs recorded" in err
    assert main(["audit", "-s", str(snap), "--fail-on", "never"]) == 0
    store = SnapshotStore(snap)
    person = store.scan("people").filter(pl.col("owner_id").is_not_null()).head(1).collect()
    store.commit({"people": person.with_columns(pl.lit(None, pl.String).alias("owner_id"))})
    assert main(["audit", "-s", str(snap), "--fail-on", "never"]) == 0
    capsys.readouterr()
    code, out, _ = _run(["history", "-s", str(snap), "-f", "json"], capsys)
    runs = json.loads(out)["runs"]
    assert code == 0 and len(runs) == 2 and all(r["command"] == "audit" for r in runs)
    assert runs[1]["findings"] >= runs[0]["findings"]
    code, out, _ = _run(["history", "-s", str(snap)], capsys)
    assert code == 0 and "score trend" in out and runs[1]["run_id"] in out.replace("\n", "")
    # A pipe gets whole lines with every column; 80 columns drop the least important ones
    # and keep every run id and number whole.
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = _run(["history", "-s", str(snap)], capsys)
    assert all(h in out for h in ("version", "config", "change", "failing rules"))
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run(["history", "-s", str(snap)], capsys)
    lines = out.splitlines()
    assert code == 0 and max(len(line.rstrip()) for line in lines) <= 80
    for run in runs:
        row = next(line for line in lines if line.split()[:1] == [run["run_id"]])
        assert row.split()[-1] == f"{run['findings']:,}"
    code, out, _ = _run(["diff", "previous", "latest", "-s", str(snap), "-f", "json"], capsys)
    diff = json.loads(out)
    assert code == 0 and diff["before"] == runs[0]["run_id"] and diff["after"] == runs[1]["run_id"]
    new = diff["records"]["new"]
    who = person["person_id"][0]
    assert {"rule_id": "people.owner_missing", "record_id": who} in [
        {"rule_id": r["rule_id"], "record_id": r["record_id"]} for r in new
    ]
    assert diff["counts"]["persisting"] > 0
    code, out, _ = _run(["diff", runs[0]["run_id"][:-2], "latest", "-s", str(snap)], capsys)
    assert code == 0 and "per owner" in out and who in out
    code, again, _ = _run(["diff", "-s", str(snap), "--", "-2", "-1"], capsys)
    assert code == 0 and again == out
    code, _, err = _run(["diff", "nope", "latest", "-s", str(snap)], capsys)
    assert code == 3 and "RG701" in err


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    got: list[dict[str, object]] = []

    def handle(request: Request) -> Response:
        got.append(request.json())
        return Response(200, "ok")

    with Emulator(tls=False) as emu:
        emu.add("POST", "/hook/secret-path", handle)
        yield emu.url + "/hook/secret-path", got


def test_audit_writes_to_duckdb_and_notifies(
    demo_copy: Path,
    hook: tuple[str, list[dict[str, object]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, got = hook
    monkeypatch.setenv("TEAM_HOOK", url)
    db = demo_copy / "results.db"
    args = [
        "audit",
        "-s",
        str(demo_copy / "snapshot"),
        "--fail-on",
        "never",
        "-f",
        "json",
        "--to",
        f"duckdb:///{db}",
        "--notify-env",
        "TEAM_HOOK",
    ]
    code, out, err = _run(args, capsys)
    assert code == 0
    assert json.loads(out)["summary"]["findings"] > 0  # stdout stays the audit's JSON
    assert "wrote run" in err and "alert posted to the webhook in $TEAM_HOOK" in err
    assert "secret-path" not in out + err
    assert len(got) == 1 and "revgov audit" in str(got[0]["text"])
    run_id = RunHistory.of_snapshot(demo_copy / "snapshot").latest()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT run_id, command FROM revgov_runs").fetchall() == [
            (run_id, "audit")
        ]
        n = con.execute(
            "SELECT count(*) FROM revgov_findings WHERE run_id = ?", [run_id]
        ).fetchone()
    assert n == (json.loads(out)["summary"]["findings"],)


def test_notify_without_its_variable_is_a_clear_error(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REVGOV_NOTIFY_URL", raising=False)
    code, _, err = _run(["audit", "-s", str(demo_copy / "snapshot"), "--notify"], capsys)
    assert code == 3 and "RG703" in err and "REVGOV_NOTIFY_URL" in err
