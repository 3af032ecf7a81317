"""The weekly report's plays section: each active play's running lift, its chart with the
interval over time, and the latest lift recomputed here in plain polars from the snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from revgov.config import load_config
from revgov.demo import DemoOutput
from revgov.plays import stable_unit
from revgov.reports import RevenueReport, build_report
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def weekly(demo: DemoOutput, as_of: datetime) -> RevenueReport:
    cfg = load_config(demo.config_path)
    frames = SnapshotStore(demo.snapshot_dir).frames()
    return build_report(frames, cfg, as_of=as_of, cadence="weekly", snapshot=demo.snapshot_dir)


def _meeting_lift_in_plain_polars(demo: DemoOutput, as_of: datetime) -> float:
    cfg = load_config(demo.config_path)
    play = cfg.play("smb-meetings")
    cutoff = as_of.replace(tzinfo=None)
    start = datetime.combine(play.start, datetime.min.time())
    people = pl.read_delta(str(demo.snapshot_dir / "people")).with_columns(
        pl.col("created_at").dt.replace_time_zone(None)
    )
    acts = pl.read_delta(str(demo.snapshot_dir / "activities")).with_columns(
        pl.col("occurred_at").dt.replace_time_zone(None)
    )
    pop = people.filter(
        (pl.col("segment") == "smb")
        & pl.col("lifecycle_stage").is_in(["subscriber", "lead"])
        & (pl.col("created_at") >= start)
        & (pl.col("created_at") < cutoff - timedelta(days=play.window_days))
    )
    met = (
        pop.join(acts.filter(pl.col("type") == "meeting"), on="person_id")
        .filter(
            (pl.col("occurred_at") >= pl.col("created_at"))
            & (pl.col("occurred_at") < pl.col("created_at") + timedelta(days=play.window_days))
        )["person_id"]
        .unique()
    )
    held = [stable_unit(i, play.name) < play.control.share for i in pop["person_id"]]
    pop = pop.with_columns(
        pl.Series("held", held), pl.col("person_id").is_in(met.implode()).alias("met")
    )
    rates = pop.group_by("held").agg(pl.col("met").mean())
    rate = dict(zip(rates["held"], rates["met"], strict=True))
    return float(rate[False] - rate[True])


def test_the_weekly_report_shows_each_active_play(
    weekly: RevenueReport, demo: DemoOutput, as_of: datetime
) -> None:
    section = weekly.section("plays")
    summary = section.table("plays").frame
    assert summary["play"].to_list() == ["smb-meetings", "enterprise-fast-follow"]
    smb = summary.row(0, named=True)
    assert smb["lift"] == pytest.approx(_meeting_lift_in_plain_polars(demo, as_of))
    assert smb["lower"] <= smb["lift"] <= smb["upper"]
    running = section.table("lift_smb-meetings").frame
    assert running["as_of"].to_list()[-1] == as_of.replace(tzinfo=None)
    assert running.drop_nulls("lift")["lift"].to_list()[-1] == pytest.approx(smb["lift"])
    assert {c.id for c in section.charts} == {"play_smb-meetings", "play_enterprise-fast-follow"}
    assert any(n.startswith("smb-meetings: ") for n in section.notes)


def test_the_html_draws_the_lift_with_its_interval(weekly: RevenueReport) -> None:
    html = weekly.to_html()
    assert "smb-meetings: lift in meeting rate" in html
    assert "weekly readings; latest" in html  # the chart's text alternative
