"""`revgov pull` and `revgov snapshot info|vacuum` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, EXIT_USAGE, main

CONFIG = """\
[[pipelines]]
name = "sales"
[[pipelines.stages]]
name = "Open"
order = 1
probability = 0.3
[[pipelines.stages]]
name = "Won"
order = 2
probability = 1.0
is_closed = true
is_won = true

[[sources]]
name = "crm"
connector = "files"
[sources.entities.opportunities]
path = "exports/deals.csv"
[sources.entities.opportunities.columns]
opportunity_id = "Id"
stage = "Stage"
amount = "Amount"
[sources.entities.opportunities.custom_fields]
Channel = "string"
"""

DEALS = "Id,Stage,Amount,Channel\na,Won,10,web\nb,Open,x,web\nc,Open,5,\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "revgov.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def _pull(project: Path, *extra: str) -> int:
    return main(["pull", "--config", str(project / "revgov.toml"), "--no-progress", *extra])


def test_pull_then_info(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = project / "snap"
    assert _pull(project, "--snapshot", str(snap)) == 0
    out = capsys.readouterr().out
    assert "refreshed" in out and "opportunities" in out and "pipeline_stages" in out
    assert "1 row(s) quarantined" in out

    assert _pull(project, "--snapshot", str(snap)) == 0
    assert "unchanged" in capsys.readouterr().out

    assert main(["snapshot", "info", str(snap)]) == 0
    out = capsys.readouterr().out
    assert "opportunities" in out and "Channel (string)" in out and "crm" in out
    assert "rows=3" in out and "done=True" in out


def test_info_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = project / "snap"
    assert _pull(project, "--snapshot", str(snap), "--format", "json") == 0
    pulled = json.loads(capsys.readouterr().out)
    assert pulled["rows_typed"] == 2 + 2  # two deals, two configured stages
    assert pulled["rows_quarantined"] == 1

    assert main(["snapshot", "info", str(snap), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["config_hash"] == pulled["config_hash"]
    by_entity = {e["entity"]: e for e in info["entities"]}
    assert by_entity["opportunities"]["rows"] == 2
    assert by_entity["opportunities"]["quarantined"] == 1
    assert by_entity["opportunities"]["custom_fields"] == {"Channel": "string"}
    assert by_entity["pipeline_stages"]["rows"] == 2
    cursor = json.loads(info["cursors"]["crm"]["opportunities"])
    assert cursor["done"] is True and cursor["rows"] == 3
    assert info["quarantined"] == 1


def test_default_snapshot_dir_is_beside_the_config(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pull(project) == 0
    snap = project / "revgov-snapshot"
    assert (snap / "_revgov" / "runs" / "_delta_log").is_dir()
    assert (snap / "opportunities" / "_delta_log").is_dir()
    capsys.readouterr()


def test_vacuum(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = project / "snap"
    assert _pull(project, "--snapshot", str(snap)) == 0
    (project / "exports" / "deals.csv").write_text(DEALS + "d,Won,1,mail\n", encoding="utf-8")
    assert _pull(project, "--snapshot", str(snap)) == 0
    capsys.readouterr()
    # Within the default retention (7 days) the replaced files stay: version 1 is readable.
    assert main(["snapshot", "vacuum", str(snap)]) == 0
    assert "removed 0 file(s)" in capsys.readouterr().out
    assert main(["snapshot", "vacuum", str(snap), "--retention-hours", "0", "--dry-run"]) == 0
    assert "would remove" in capsys.readouterr().out
    assert main(["snapshot", "vacuum", str(snap), "--retention-hours", "0"]) == 0
    out = capsys.readouterr().out
    # The replaced deals file and its quarantine file, and the emptied page logs' files.
    removed = int(out.split("removed ")[1].split(" ")[0])
    assert removed >= 2
    files = list((snap / "opportunities").rglob("*.parquet"))
    assert len(files) == 1
    assert main(["snapshot", "info", str(snap), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {e["entity"]: e["rows"] for e in info["entities"]}["opportunities"] == 3


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["pull", "--config", "{tmp}/missing.toml"], "[RG103]"),
        (["snapshot", "info", "{tmp}/nowhere"], "[RG301]"),
        (["pull", "--config", "{project}/revgov.toml", "--source", "crn"], "[RG102]"),
    ],
)
def test_errors_print_a_code_without_traceback(
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: str,
) -> None:
    argv = [a.format(tmp=tmp_path, project=project) for a in args]
    assert main([*argv, "--no-progress"] if argv[0] == "pull" else argv) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert code in err and "Traceback" not in err
    if code == "[RG102]":
        assert "did you mean 'crm'?" in err


def test_mapping_and_missing_file_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = project / "revgov.toml"
    toml.write_text(CONFIG.replace('stage = "Stage"', 'stage = "Stag"'), encoding="utf-8")
    assert _pull(project) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG403]" in err and "did you mean 'Stage'?" in err and "Traceback" not in err

    toml.write_text(CONFIG.replace("exports/deals.csv", "exports/deal.csv"), encoding="utf-8")
    assert _pull(project) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG402]" in err and "deal.csv" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "--format", "xml"]) == EXIT_USAGE
    assert main(["snapshot", "info"]) == EXIT_USAGE
    capsys.readouterr()
