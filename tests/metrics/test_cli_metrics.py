"""`revgov metrics` and `revgov forecast` through the CLI entry point."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from revgov.cli import EXIT_REVGOV_ERROR, EXIT_USAGE, main
from revgov.config import load_config
from revgov.demo import write_demo
from revgov.metrics import KPIS
from revgov.pull import pull


@pytest.fixture(scope="module")
def maven_snapshot(
    datasets_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    config = repo_root / "examples" / "maven_crm" / "revgov.toml"
    snap = tmp_path_factory.mktemp("maven-cli")
    pull(load_config(config), snap, progress=False)
    return config, snap


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
    # The stamp comes first, as comment lines; then the table.
    stamp = dict(line[2:].split("=", 1) for line in lines if line.startswith("# "))
    assert stamp["config_hash"] == load_config(config).config_hash
    assert stamp["kpi"] == "bookings" and "as_of" in stamp
    table = [line for line in lines if not line.startswith("#")]
    assert table[0] == "owner_region,won_deals,bookings"
    assert "West,1438,3568647.0" in table


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
    assert main([*base, "--by", "segment"]) == EXIT_USAGE
    capsys.readouterr()
    assert main(["metrics", "-s", str(tmp_path / "none"), "-c", str(config)]) == EXIT_REVGOV_ERROR
    assert "[RG301]" in capsys.readouterr().err


def _listed(err: str, after: str) -> list[str]:
    """The comma-separated names after ``after`` in an error message (typer draws it in a
    box, wrapped)."""
    text = " ".join(err.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    tail = text.split(after, 1)[1]
    return [n.strip(" .'\"") for n in tail.split(",")]


def test_unknown_kpi_is_a_usage_error_listing_the_kpis(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    assert main(["metrics", "-s", str(snap), "-c", str(config), "--kpi", "win_rate_by_cont"]) == (
        EXIT_USAGE
    )
    err = capsys.readouterr().err
    names = _listed(err, "closest first:")
    assert names[0] == "win_rate_by_count"
    assert set(KPIS) <= {n.split()[0] for n in names if n}


def test_bad_by_column_is_a_usage_error_listing_the_columns(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "bookings"]
    assert main([*argv, "--by", "owner_regoin"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "owner_regoin" in err
    assert _listed(err, "closest first:")[0] == "owner_region"
    assert main([*argv, "--every", "fortnight"]) == EXIT_USAGE
    assert "1mo" in capsys.readouterr().err
    assert main([*argv, "--as-of", "last tuesday"]) == EXIT_USAGE


def test_a_kpi_that_cannot_take_every_says_so(
    maven_snapshot: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, snap = maven_snapshot
    fixed = dataclasses.replace(KPIS["bookings"], takes_every=False)
    monkeypatch.setitem(KPIS, "bookings", fixed)
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "bookings"]
    assert main([*argv, "--every", "1mo"]) == EXIT_USAGE
    assert "cannot be split into periods" in capsys.readouterr().err


def test_as_of_moves_every_headline(
    example_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {}
    for day in ("2024-02-15", "2024-04-01"):
        assert main(["metrics", "-s", str(example_snapshot), "--as-of", day, "-f", "json"]) == 0
        rows = _json(capsys)["tables"]["metrics"]
        values[day] = {r["kpi"]: r["value"] for r in rows}
    # Every KPI with a headline depends on time: none reads the same at both dates.
    same = [k for k in values["2024-04-01"] if values["2024-04-01"][k] == values["2024-02-15"][k]]
    assert same == []
    # By 02-15 only o3 (lost 02-10) had closed: no bookings yet, a win rate of 0.
    assert values["2024-02-15"]["bookings"] is None or values["2024-02-15"]["bookings"] == 0
    assert values["2024-02-15"]["win_rate_by_count"] == 0.0
    assert values["2024-04-01"]["bookings"] == 48_000


def test_headline_units_match_the_value_shown(
    example_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["metrics", "-s", str(example_snapshot), "--as-of", "2024-04-01", "-f", "json"]) == 0
    )
    rows = {r["kpi"]: r for r in _json(capsys)["tables"]["metrics"]}
    assert rows["sales_velocity"]["column"] == "velocity_per_month"
    assert rows["sales_velocity"]["unit"] == "currency per month"
    assert rows["pipeline_created"]["unit"] == "currency"
    assert rows["win_rate_by_count"]["unit"] == "share"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-cli") / "demo"
    write_demo(out, scale=0.02, seed=3, as_of=datetime(2026, 3, 1, tzinfo=UTC))
    return out


def test_a_demo_snapshot_is_measured_at_its_as_of_with_its_config(
    demo_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(demo_dir.parent)  # no revgov.toml here: the one beside the snapshot
    snap = demo_dir / "snapshot"
    assert main(["metrics", "-s", str(snap), "-f", "json"]) == 0
    captured = capsys.readouterr()
    meta = json.loads(captured.out)
    assert meta["as_of"] == "2026-03-01T00:00:00"
    assert meta["config_hash"] == load_config(demo_dir / "revgov.toml").config_hash
    assert meta["config_hash"] == meta["snapshot_config_hash"]
    assert "warning" not in captured.err and "default definitions" not in captured.err
    explicit = ["metrics", "-s", str(snap), "-f", "json", "--as-of", "2026-03-01"]
    assert main(explicit) == 0
    assert _json(capsys)["tables"] == meta["tables"]
    assert main(["forecast", "-s", str(snap), "-f", "json"]) == 0
    assert _json(capsys)["as_of"] == "2026-03-01T00:00:00"


def test_a_config_other_than_the_snapshots_is_warned_about(
    demo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "revgov.toml"
    text = (demo_dir / "revgov.toml").read_text(encoding="utf-8")
    other.write_text(text.replace("gross_margin = ", "gross_margin = 0.5 #"), encoding="utf-8")
    assert load_config(other).config_hash != load_config(demo_dir / "revgov.toml").config_hash
    snap = str(demo_dir / "snapshot")
    assert main(["metrics", "-s", snap, "-c", str(other), "--kpi", "bookings"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "differs from the snapshot's" in err
    assert load_config(other).config_hash in err
    assert main(["forecast", "-s", snap, "-c", str(other), "-f", "json"]) == 0
    assert "differs from the snapshot's" in " ".join(capsys.readouterr().err.split())


def test_forecast(example_snapshot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["forecast", "-s", str(example_snapshot), "--as-of", "2024-04-01"]
    assert main([*argv, "--target", "100000", "--format", "json"]) == 0
    tables = _json(capsys)["tables"]
    assert set(tables) == {"assumptions", "scenarios", "forward", "backward", "statement"}
    base = next(r for r in tables["backward"] if r["scenario"] == "base")
    assert base["target_bookings"] == 100_000
    # The open deals (o4, o5, o6) are expected to bring 43,250: only the rest is planned.
    assert base["expected_from_open_pipeline"] == pytest.approx(43_250)
    assert base["won_deals_needed"] == pytest.approx((100_000 - 43_250) / 16_000)
    assert main([*argv, "--format", "csv", "--table", "forward"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# snapshot=")
    forward = pl.read_csv(text.encode(), comment_prefix="#")
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
    assert sources == {
        "base x 1.2 where higher is better, base / 1.2 otherwise; "
        "each of n stage conversions x 1.2^(1/n)",
        "chain: the product of this case's stage conversions after the stage",
    }


# -- issue 11 item 7: --basis, any --by, notes in every format -------------------------------


def test_basis_cohort_leaves_open_deals_out_and_says_so(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "win_rate_by_count"]
    assert main([*argv, "--basis", "cohort", "--every", "1mo", "-f", "json"]) == 0
    out = _json(capsys)
    assert out["basis"] == "cohort"
    rows = out["tables"]["win_rate_by_count"]
    assert sum(r["closed"] for r in rows) == 6711
    # Maven's 1,589 engaging and 500 prospecting deals are open.
    assert "2,089 open deals are left out: not an outcome yet" in out["notes"]
    assert main([*argv, "--basis", "cohort", "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "# note=2,089 open deals are left out: not an outcome yet" in lines
    assert main([*argv, "--basis", "cohort"]) == 0
    assert "note: 2,089 open deals are left out" in capsys.readouterr().out


def test_basis_on_a_kpi_without_one_is_a_usage_error(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "bookings"]
    assert main([*argv, "--basis", "cohort"]) == EXIT_USAGE
    err = " ".join(capsys.readouterr().err.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    assert "no cohort or period basis" in err and "opportunity_to_win" in err
    assert main(["metrics", "-s", str(snap), "-c", str(config), "--basis", "cohort"]) == (
        EXIT_USAGE
    )


def test_by_reaches_the_owners_manager(
    maven_snapshot: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, snap = maven_snapshot
    argv = ["metrics", "-s", str(snap), "-c", str(config), "--kpi", "bookings"]
    assert main([*argv, "--by", "owner_manager", "-f", "json"]) == 0
    out = _json(capsys)
    managers = {r["owner_manager"] for r in out["tables"]["bookings"]}
    assert len(managers) == 6 and None not in managers
    assert "enriched_by: owner_manager from users.manager by owner_id" in out["notes"]


def test_sla_without_its_start_mapped_says_so_in_the_headlines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.metrics.conftest import EXAMPLE_TOML

    from revgov.metrics._examples import example_config, example_frames
    from revgov.store import SnapshotStore

    frames = example_frames()
    frames["people"] = frames["people"].with_columns(
        pl.lit(None, pl.Datetime("us")).alias("mql_at")
    )
    (tmp_path / "revgov.toml").write_text(EXAMPLE_TOML, encoding="utf-8")
    snap = tmp_path / "snapshot"
    SnapshotStore.create(snap, config_hash=example_config().config_hash).commit(frames)
    argv = ["metrics", "-s", str(snap), "-c", str(tmp_path / "revgov.toml"), "-f", "json"]
    assert main([*argv, "--as-of", "2024-03-31"]) == 0
    rows = {r["kpi"]: r for r in _json(capsys)["tables"]["metrics"]}
    for name in ("sla_compliance_rate", "speed_to_lead"):
        assert rows[name]["value"] is None
        assert (
            "people.mql_at ([sla].speed_to_lead_start), which no person has" in rows[name]["note"]
        )
