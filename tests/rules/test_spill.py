"""Flagged frames streamed to disk (bounded memory) give the audit they give in memory."""

from __future__ import annotations

import gc
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.demo import DemoData
from revgov.rules import _derive, _history, audit, engine
from revgov.rules.findings import SpilledFindings, sort_findings


def test_the_demo_audit_is_the_same_through_disk(demo_small: DemoData, tmp_path: Path) -> None:
    frames = {e: f.lazy() for e, f in demo_small.frames.items()}
    as_of = datetime.fromisoformat(str(demo_small.manifest["as_of"]))
    cfg = demo_small.config
    in_memory = audit(frames, config=cfg, as_of=as_of)
    on_disk = audit(frames, config=cfg, as_of=as_of, spill_dir=tmp_path)
    assert len(list(tmp_path.glob("flags-*.parquet"))) == len(in_memory.rows)
    assert on_disk.results == in_memory.results
    assert on_disk.rows == in_memory.rows
    assert in_memory.findings_df.height > 500
    assert_frame_equal(sort_findings(on_disk.findings_df), sort_findings(in_memory.findings_df))
    assert on_disk.to_dict() == in_memory.to_dict()


def test_stage_history_in_buckets_gives_the_same_audit(
    demo_small: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stage history computed one hash bucket of records at a time (as on a large snapshot)
    finds the same regressions and skipped stages as all at once in memory."""
    frames = {e: f.lazy() for e, f in demo_small.frames.items()}
    as_of = datetime.fromisoformat(str(demo_small.manifest["as_of"]))
    cfg = demo_small.config
    events = demo_small.frames["stage_events"].height
    activities = demo_small.frames["activities"].height
    in_memory = audit(frames, config=cfg, as_of=as_of)
    monkeypatch.setattr(_history, "EVENTS_PER_BUCKET", -(-events // 7))
    monkeypatch.setattr(_derive, "ACTIVITIES_PER_BUCKET", -(-activities // 5))
    on_disk = audit(frames, config=cfg, as_of=as_of, spill_dir=tmp_path)
    buckets = sorted(tmp_path.glob("history-*/*.parquet"))
    # One folder per history derivation the rules use (stage entered too), seven buckets
    # each, read from the stage events written once in seven buckets.
    assert buckets and len(buckets) % 7 == 0
    assert len(list(tmp_path.glob("stage-events-7-*/__bucket=*"))) == 7
    # First touches in five buckets of people.
    assert len(list(tmp_path.glob("first-touch-*/*.parquet"))) == 5
    touch_rules = [in_memory.result(r) for r in ("people.speed_to_lead_breach",)]
    assert all(r.checked for r in touch_rules) and any(r.findings for r in touch_rules)
    history_rules = [r for r in in_memory.results if "regress" in r.id or "skip" in r.id]
    assert history_rules and any(r.findings for r in history_rules)
    assert on_disk.results == in_memory.results
    assert_frame_equal(sort_findings(on_disk.findings_df), sort_findings(in_memory.findings_df))


def test_findings_kept_on_disk_give_the_same_report(
    demo_small: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size (forced to none here), the findings stay in a Parquet file the report
    owns: the same findings, scores, offenders, samples and renderings as in memory."""
    frames = {e: f.lazy() for e, f in demo_small.frames.items()}
    as_of = datetime.fromisoformat(str(demo_small.manifest["as_of"]))
    cfg = demo_small.config
    in_memory = audit(frames, config=cfg, as_of=as_of)
    monkeypatch.setattr(engine, "FINDINGS_IN_MEMORY_MAX", 0)
    (tmp_path / "spill").mkdir()
    on_disk = audit(frames, config=cfg, as_of=as_of, spill_dir=tmp_path / "spill")
    assert isinstance(in_memory.findings_rows, pl.DataFrame)
    stored = on_disk.findings_rows
    assert isinstance(stored, SpilledFindings)
    # Outside the audit's spill folder (not needed once audit returns).
    assert stored.path.is_file() and tmp_path not in stored.path.parents
    assert on_disk.findings_count == in_memory.findings_count == in_memory.findings_df.height
    assert in_memory.findings_count > 500
    assert_frame_equal(
        sort_findings(on_disk.findings.collect()), sort_findings(in_memory.findings.collect())
    )
    assert_frame_equal(sort_findings(on_disk.findings_df), sort_findings(in_memory.findings_df))
    assert on_disk.results == in_memory.results
    assert on_disk.scores == in_memory.scores and on_disk.score == in_memory.score
    assert on_disk.maturity == in_memory.maturity
    for by in ("owner", "team"):
        assert_frame_equal(on_disk.top_offenders(by), in_memory.top_offenders(by))
    assert on_disk.to_dict(findings=300) == in_memory.to_dict(findings=300)
    assert on_disk.to_markdown(findings=5) == in_memory.to_markdown(findings=5)
    assert on_disk.summary()["findings"] == in_memory.findings_count

    # The findings' LazyFrame outlives the report: the file stays until the process exits.
    findings, count = on_disk.findings, on_disk.findings_count
    del on_disk, stored
    gc.collect()
    assert findings.collect().height == count


def test_findings_stay_in_memory_below_the_size_or_for_eager_input(
    demo_small: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_of = datetime.fromisoformat(str(demo_small.manifest["as_of"]))
    cfg = demo_small.config
    lazy = {e: f.lazy() for e, f in demo_small.frames.items()}
    below = audit(lazy, config=cfg, as_of=as_of, spill_dir=tmp_path)
    assert isinstance(below.findings_rows, pl.DataFrame)
    monkeypatch.setattr(engine, "FINDINGS_IN_MEMORY_MAX", 0)
    # Eager frames in, an eager findings frame out, whatever its size.
    eager = audit(dict(demo_small.frames), config=cfg, as_of=as_of, spill_dir=tmp_path)
    assert isinstance(eager.findings_rows, pl.DataFrame)
    assert isinstance(eager.findings, pl.DataFrame)
    assert_frame_equal(sort_findings(eager.findings), sort_findings(below.findings_df))


def test_stage_entered_from_history_in_buckets_is_the_same(
    demo_small: DemoData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a stage_entered_at column (a Salesforce export), when each deal entered its
    stage comes from the stage history: computed in buckets, the same stale deals."""
    frames = {e: f.lazy() for e, f in demo_small.frames.items()}
    frames["opportunities"] = frames["opportunities"].drop("stage_entered_at")
    as_of = datetime.fromisoformat(str(demo_small.manifest["as_of"]))
    cfg = demo_small.config
    only = ["opportunities.stale_in_stage"]
    in_memory = audit(frames, config=cfg, as_of=as_of, only=only)
    events = demo_small.frames["stage_events"].height
    monkeypatch.setattr(_history, "EVENTS_PER_BUCKET", -(-events // 4))
    on_disk = audit(frames, config=cfg, as_of=as_of, only=only, spill_dir=tmp_path)
    assert len(list(tmp_path.glob("history-*/*.parquet"))) == 4
    stale = in_memory.result("opportunities.stale_in_stage")
    assert stale.checked and stale.findings
    assert in_memory.findings_df["message"].str.contains("per stage history").any()
    assert on_disk.results == in_memory.results
    assert_frame_equal(sort_findings(on_disk.findings_df), sort_findings(in_memory.findings_df))
