"""`revgov metrics` and `revgov forecast` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from revgov.cli import EXIT_REVGOV_ERROR, EXIT_USAGE, main
from revgov.config import load_config
from revgov.metrics._examples import example_frames
from revgov.pull import pull
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def maven_snapshot(
    datasets_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    config = repo_root / "examples" / "maven_crm" / "revgov.toml"
    snap = tmp_path_factory.mktemp("maven-cli")
    pull(load_config(config), snap, progress=False)
    return config, snap


@pytest.fixture(scope="module")
def example_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    snap = tmp_path_factory.mktemp("example-cli")
    SnapshotStore.create(snap).commit(example_frames())
    return snap


def _json(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(capsys.readouterr().out)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "--list", "--format", "json"]) == 0
    kpis = [r["kpi"] for r in _json(capsys)["tables"]["kpis"]]
    assert "win_rate_by_count" in kpis and "funnel_leakage" in kpis


def test_headline_metrics_on_maven(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    code = main(
        ["metrics", "-s", str(snap), "-c", str(config), "--as-of", "2018-01-01", "-f", "json"]
    )
    assert code == 0
    out = _json(capsys)
    assert out["config_hash"] == load_config(config).config_hash
    rows = {r["kpi"]: r for r in out["tables"]["metrics"]}
    assert rows["win_rate_by_count"]["value"] == pytest.approx(4238 / 6711)
    assert rows["bookings"]["value"] == 10_005_534
    assert rows["sales_cycle_days"]["value"] == 57
    # Maven has no people: those KPIs say why they are empty instead of failing.
    assert rows["speed_to_lead"]["value"] is None
    assert "people" in rows["speed_to_lead"]["note"]


def test_one_kpi_by_owner_region_as_csv(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "bookings"]
    assert main([*argv, "--by", "owner_region", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "owner_region,won_deals,bookings"
    assert "West,1438,3568647.0" in lines


def test_table_output(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "win_rate_by_count"]
    assert main([*argv, "--every", "1q"]) == 0
    text = capsys.readouterr().out
    assert "2017-07-01" in text and "config_hash" in text


def test_errors(
    maven_snapshot: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    base = ["metrics", "-s", str(snap), "-c", str(config)]
    assert main([*base, "--kpi", "win_rate_by_cont"]) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG601]" in err and "win_rate_by_count" in err
    assert main([*base, "--kpi", "bookings", "--every", "fortnight"]) == EXIT_REVGOV_ERROR
    assert "1mo" in capsys.readouterr().err
    assert main([*base, "--by", "segment"]) == EXIT_USAGE
    capsys.readouterr()
    assert main(["metrics", "-s", str(tmp_path / "none"), "-c", str(config)]) == EXIT_REVGOV_ERROR
    assert "[RG301]" in capsys.readouterr().err


def test_forecast(example_snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["forecast", "-s", str(example_snapshot), "--as-of", "2024-04-01"]
    assert main([*argv, "--target", "100000", "--format", "json"]) == 0
    tables = _json(capsys)["tables"]
    assert set(tables) == {"assumptions", "scenarios", "forward", "backward"}
    base = next(r for r in tables["backward"] if r["scenario"] == "base")
    assert base["target_bookings"] == 100_000
    assert base["won_deals_needed"] == pytest.approx(100_000 / 16_000)
    assert main([*argv, "--format", "csv", "--table", "forward"]) == 0
    forward = pl.read_csv(capsys.readouterr().out.encode())
    assert set(forward["scenario"]) == {"base", "conservative", "aggressive"}


def test_forecast_multipliers_come_in_pairs(
    example_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["forecast", "-s", str(example_snapshot), "--conservative", "0.8"]
    assert main(argv) == EXIT_USAGE
    capsys.readouterr()
    argv += ["--aggressive", "1.2", "--as-of", "2024-04-01", "-f", "json"]
    assert main(argv) == 0
    scen = _json(capsys)["tables"]["scenarios"]
    sources = {r["source"] for r in scen if r["scenario"] == "aggressive"}
    assert sources == {"base x 1.2 (higher is better) or base / 1.2"}
