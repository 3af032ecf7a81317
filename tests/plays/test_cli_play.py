"""`revgov play` and `revgov play plan` on the demo, and the demo's planted plays recovered:
the true lift of smb-meetings inside its interval and scaled; the null play not scaled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from revgov.cli import EXIT_REVGOV_ERROR, EXIT_USAGE, main
from revgov.cli.play import demo_plays
from revgov.demo import DemoOutput, write_demo
from revgov.plays import play_lift


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    return write_demo(tmp_path_factory.mktemp("plays") / "demo", scale=0.3, seed=7)


@pytest.fixture(scope="module")
def demo(written: DemoOutput) -> Path:
    return written.out_dir


def test_revgov_demo_prints_both_verdicts_beside_the_truth(written: DemoOutput) -> None:
    console = Console(record=True, width=200)
    demo_plays(written, console)
    text = console.export_text()
    assert "smb-meetings (meeting_rate): lift +" in text and "planted +8.0 pts" in text
    assert "SCALE:" in text
    assert "enterprise-fast-follow (lead_to_opportunity)" in text and "planted +0.0 pts" in text
    assert any(v in text for v in ("KEEP RUNNING:", "STOP:"))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_planted_lift_is_recovered_and_scaled(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = json.loads((demo / "demo_manifest.json").read_text(encoding="utf-8"))
    truth = manifest["plays"]["smb-meetings"]
    code, out, _ = _run(
        ["play", "smb-meetings", "-s", str(demo / "snapshot"), "-f", "json"], capsys
    )
    assert code == 0
    result = json.loads(out)
    p = result["primary"]
    assert p["kpi"] == truth["kpi"] == "meeting_rate"
    assert p["lower"] <= truth["true_lift"] <= p["upper"]
    assert result["verdict"] == "scale"
    assert result["as_of"].startswith("2026-07-01")  # the demo's as_of, not now


def test_the_null_play_is_not_scaled(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((demo / "demo_manifest.json").read_text(encoding="utf-8"))
    assert manifest["plays"]["enterprise-fast-follow"]["true_lift"] == 0.0
    code, out, _ = _run(
        ["play", "enterprise-fast-follow", "-s", str(demo / "snapshot"), "-f", "json"], capsys
    )
    result = json.loads(out)
    assert code == 0 and result["verdict"] != "scale"
    assert result["primary"]["lower"] <= 0.0 <= result["primary"]["upper"]


def test_table_and_markdown(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["play", "smb-meetings", "-s", str(demo / "snapshot")], capsys)
    assert code == 0 and "SCALE:" in out and "lift" in out and "interval" in out
    code, out, _ = _run(["play", "smb-meetings", "-s", str(demo / "snapshot"), "-f", "md"], capsys)
    assert out.startswith("# Play `smb-meetings`") and "| meeting_rate |" in out


def test_plan(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        ["play", "plan", "enterprise-fast-follow", "-s", str(demo / "snapshot"), "-f", "json"],
        capsys,
    )
    assert code == 0
    plan = json.loads(out)
    assert plan["kpi"] == "lead_to_opportunity" and plan["records_per_week"] > 0
    assert plan["records_needed"] > 0 and plan["weeks_needed"] > 0
    code, out, _ = _run(["play", "plan", "smb-meetings", "-s", str(demo / "snapshot")], capsys)
    assert code == 0 and "records a week" in out and "weeks of entries" in out


def test_errors(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["play", "smb-meeting", "-s", str(demo / "snapshot")], capsys)
    assert code == EXIT_REVGOV_ERROR and "RG602" in err and "did you mean 'smb-meetings'" in err
    code, _, err = _run(["play", "smb-meetings", "-s", str(demo / "snapshot"), "-f", "csv"], capsys)
    assert code == EXIT_USAGE


def test_the_same_verdict_on_duckdb(demo: Path) -> None:
    import duckdb

    from revgov.config import load_config
    from revgov.store import SnapshotStore

    cfg = load_config(demo / "revgov.toml")
    frames = SnapshotStore(demo / "snapshot").frames()
    polars_run = play_lift("smb-meetings", frames, config=cfg, as_of="2026-07-01")
    on_duckdb = {k: duckdb.from_arrow(v.collect().to_arrow()) for k, v in frames.items()}
    duck_run = play_lift("smb-meetings", on_duckdb, config=cfg, as_of="2026-07-01")
    assert duck_run.to_dict() == polars_run.to_dict()
