"""The report's numbers, sections and renderings, checked against plain polars over the
snapshot's own files and against the demo's ground truth (not against the report's code)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from tests.reports.conftest import hostile_html

from revgov.config import load_config
from revgov.demo import DemoOutput
from revgov.reports import CADENCES, RevenueReport, build_report
from revgov.reports._format import display
from revgov.reports._inputs import window_start
from revgov.reports.spine import TRAILING_MONTHS
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def reports(demo: DemoOutput, as_of: datetime) -> dict[str, RevenueReport]:
    cfg = load_config(demo.config_path)
    frames = SnapshotStore(demo.snapshot_dir).frames()
    return {
        c: build_report(frames, cfg, as_of=as_of, cadence=c, snapshot=demo.snapshot_dir)
        for c in CADENCES
    }


def _opps(demo: DemoOutput) -> pl.DataFrame:
    # The Delta table read by polars' own reader, not by revgov's store.
    return pl.read_delta(str(demo.snapshot_dir / "opportunities"))


def test_key_numbers_equal_independent_counts(
    reports: dict[str, RevenueReport], demo: DemoOutput, as_of: datetime
) -> None:
    k = reports["audit"].key_numbers
    # Every planted defect is found and nothing else (the demo's ground truth).
    truth = pl.read_parquet(demo.ground_truth_path)
    assert k["findings"].value == truth.height
    opps = _opps(demo).with_columns(pl.col("created_at").dt.replace_time_zone(None))
    cutoff = as_of.replace(tzinfo=None)
    created = opps.filter(pl.col("created_at") <= cutoff)
    assert k["funnel_entered"].value == created.height
    start = datetime.combine(window_start(as_of, TRAILING_MONTHS), datetime.min.time())
    window = created.filter(pl.col("created_at") >= start)
    assert k["pipeline_created_trailing"].value == pytest.approx(window["amount"].sum())
    # The score is the mean of the dimension scores, each the mean pass rate of its rules.
    audit = reports["audit"].audit.to_dict()
    dims: dict[str, list[float]] = {}
    for r in audit["rules"]:
        if r["checked"] and r["governed"]:
            dims.setdefault(r["dimension"], []).append(1 - r["violating"] / r["checked"])
    means = [sum(v) / len(v) for v in dims.values()]
    assert k["score"].value == pytest.approx(sum(means) / len(means))


def test_weekly_numbers_are_the_weeks_against_the_week_before(
    reports: dict[str, RevenueReport], demo: DemoOutput, as_of: datetime
) -> None:
    k = reports["weekly"].key_numbers
    people = pl.read_delta(str(demo.snapshot_dir / "people"))
    t = people["created_at"].dt.replace_time_zone(None)
    end = as_of.replace(tzinfo=None)
    week = int(((t >= end - timedelta(days=7)) & (t < end)).sum())
    before = int(((t >= end - timedelta(days=14)) & (t < end - timedelta(days=7))).sum())
    assert k["weekly.new_people"].value == week
    assert k["weekly.new_people"].previous == before
    assert k["weekly.new_people"].better == "higher"


def test_each_cadence_holds_its_sections(reports: dict[str, RevenueReport]) -> None:
    ids = {c: [s.id for s in r.sections] for c, r in reports.items()}
    assert ids["audit"] == [
        "scorecard",
        "history",
        "funnel",
        "time_in_stage",
        "speed_to_lead",
        "pipeline",
        "scenarios",
        "findings",
        "definitions",
    ]
    assert "weekly" in ids["weekly"] and "speed_to_lead" in ids["weekly"]
    assert "monthly" in ids["monthly"] and "funnel" in ids["monthly"]
    assert "reforecast" in ids["quarterly"] and "scenarios" in ids["quarterly"]
    monthly = reports["monthly"].section("monthly")
    assert {t.name for t in monthly.tables} >= {"summary", "conversion", "leakage", "efficiency"}
    assert {"monthly.pipeline_created", "monthly.win_rate"} <= set(reports["monthly"].key_numbers)
    bands = reports["quarterly"].section("scenarios").table("scenarios").frame
    assert bands.columns == ["period", "conservative", "base", "aggressive"]
    assert (bands["conservative"] <= bands["base"]).all() and (
        bands["base"] <= bands["aggressive"]
    ).all()
    for report in reports.values():
        for s in report.sections:
            for c in s.charts:
                assert c.description and c.table in {t.name for t in s.tables}, (s.id, c.id)


def test_maturity_lists_the_criteria_that_placed_it(reports: dict[str, RevenueReport]) -> None:
    r = reports["audit"]
    m = r.audit.maturity
    crit = r.section("scorecard").table("maturity").frame
    assert crit.height == len(m.criteria)
    assert crit.filter(pl.col("stage") <= m.stage)["met"].all()
    if m.stage < 3:
        assert not crit.filter(pl.col("stage") == m.stage + 1)["met"].all()
        unmet = crit.filter((pl.col("stage") == m.stage + 1) & ~pl.col("met"))["criterion"]
        assert all(name in r.section("scorecard").intro for name in unmet)


def test_html_is_one_self_contained_file(reports: dict[str, RevenueReport]) -> None:
    for cadence, report in reports.items():
        html = report.to_html()
        assert len(html.encode()) < 5_000_000, cadence
        # No external resources: no src/href to another place, a CSP forbidding any.
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), cadence
        assert "default-src 'none'" in html
        assert "window.vegaEmbed=" in html  # the library itself is inlined
        assert report.stamp.config_hash in html and "snapshot <code" in html
        # Every section carries the stamp line: definitions hash, version, as-of.
        assert html.count(report.stamp.line()) == len(report.sections)


def test_json_and_markdown_say_the_same_numbers(reports: dict[str, RevenueReport]) -> None:
    r = reports["audit"]
    data = json.loads(r.to_json())
    md = r.to_markdown()
    assert data["stamp"]["config_hash"] == r.stamp.config_hash
    assert data["stamp"]["snapshot_version"] is None
    for key, k in data["key_numbers"].items():
        assert k["shown"] == display(k["value"], k["unit"], currency=r.stamp.currency), key
        assert f"**{k['label']}**: {k['shown']}" in md, key
    drill = data["sections"][-2]["details"]
    assert drill and all(t["shown_rows"] <= 50 for t in drill.values())
    assert sum(t["total_rows"] for t in drill.values()) == r.key_numbers["findings"].value


def test_hostile_crm_values_are_escaped(demo_copy: Path, as_of: datetime) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    html = hostile_html(demo_copy, as_of, evil)
    assert evil not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img src=x" not in html
