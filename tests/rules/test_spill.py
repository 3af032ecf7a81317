"""Flagged frames streamed to disk (bounded memory) give the audit they give in memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from revgov.demo import DemoData
from revgov.rules import _history, audit
from revgov.rules.findings import sort_findings


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
    in_memory = audit(frames, config=cfg, as_of=as_of)
    monkeypatch.setattr(_history, "EVENTS_PER_BUCKET", -(-events // 7))
    on_disk = audit(frames, config=cfg, as_of=as_of, spill_dir=tmp_path)
    buckets = sorted(tmp_path.glob("history-*/*.parquet"))
    # One folder per history derivation the rules use, seven buckets each.
    assert buckets and len(buckets) % 7 == 0
    history_rules = [r for r in in_memory.results if "regress" in r.id or "skip" in r.id]
    assert history_rules and any(r.findings for r in history_rules)
    assert on_disk.results == in_memory.results
    assert_frame_equal(sort_findings(on_disk.findings_df), sort_findings(in_memory.findings_df))
