"""Notebook views: findings and KPI results render as escaped HTML, convert to polars and
chart themselves; the report's tables and charts are reachable by name."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from revgov.config import load_config
from revgov.demo import DemoOutput
from revgov.reports import Findings, build_report, kpi
from revgov.reports.views import frame_html
from revgov.rules import audit
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def frames(demo: DemoOutput) -> dict[str, pl.LazyFrame]:
    return SnapshotStore(demo.snapshot_dir).frames()


def test_a_kpi_result_shows_converts_and_charts(
    frames: dict[str, pl.LazyFrame], demo: DemoOutput, as_of: datetime
) -> None:
    cfg = load_config(demo.config_path)
    result = kpi("pipeline_created", frames, cfg, every="1mo", by=["segment"], as_of=as_of)
    frame = result.to_polars()
    # Independent: the same sums in plain polars over the snapshot's files.
    opps = pl.read_delta(str(demo.snapshot_dir / "opportunities"))
    assert frame["pipeline_amount"].sum() == pytest.approx(
        opps.filter(pl.col("created_at") <= as_of)["amount"].sum()
    )
    html = result._repr_html_()
    assert "Pipeline created" in html and cfg.config_hash in html and "<table" in html
    spec = result.chart().to_dict()
    assert spec["encoding"]["y"]["field"] == "pipeline_amount"
    assert spec["encoding"]["color"]["field"] == "segment"
    plain = kpi("win_rate_by_count", frames, cfg, by=["segment"], as_of=as_of).chart().to_dict()
    assert plain["mark"]["type"] == "bar"


def test_findings_show_count_and_chart(
    frames: dict[str, pl.LazyFrame], demo: DemoOutput, as_of: datetime
) -> None:
    report = audit(frames, config=load_config(demo.config_path), as_of=as_of)
    findings = Findings.of(report)
    assert len(findings) == report.findings_df.height
    by_rule = findings.count_by("rule")
    expected = report.findings_df.group_by("rule_id").len()
    assert dict(by_rule.select("rule_id", "findings").iter_rows()) == dict(expected.iter_rows())
    assert findings.chart("team").to_dict()["encoding"]["y"]["field"] == "team"
    assert "findings</p>" in findings._repr_html_()


def test_frame_html_escapes_and_says_when_it_cuts() -> None:
    frame = pl.DataFrame({"name": ["<b>x</b>"] * 60, "n": range(60)})
    html = frame_html(frame, caption="c")
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "showing 50 of 60" in html and html.count("<tr>") == 51


def test_report_lookups_name_what_exists(
    frames: dict[str, pl.LazyFrame], demo: DemoOutput, as_of: datetime
) -> None:
    report = build_report(frames, load_config(demo.config_path), as_of=as_of, cadence="monthly")
    assert report.to_polars("monthly.summary").height > 0
    with pytest.raises(KeyError, match=r"monthly\.summary"):
        report.to_polars("nope")
    with pytest.raises(KeyError, match="funnel"):
        report.chart("nope")
    assert "revgov-report" in report._repr_html_()
    assert set(report.kpi_tables()) >= {"monthly.summary", "funnel.funnel"}
    assert not any(k.startswith(("scorecard.", "findings.")) for k in report.kpi_tables())
