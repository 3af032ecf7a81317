"""The run history beside the snapshot, and what changed between two runs.

The second run audits the snapshot after real edits to records (a fixed email, a removed
owner), so the expected diff is known from the edits, not from the code under test.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from revgov.config import load_config
from revgov.errors import RunNotFoundError
from revgov.reports import RunHistory, diff_findings, run_tables
from revgov.reports.publish import record_run
from revgov.rules import audit
from revgov.store import SnapshotStore


def _audit(snapshot: Path, as_of: datetime):  # type: ignore[no-untyped-def]
    cfg = load_config(snapshot.parent / "revgov.toml")
    return audit(SnapshotStore(snapshot).frames(), config=cfg, as_of=as_of)


def _edit_people(snapshot: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """Give five people with a missing email one; remove the owner of three owned people.
    Returns (fixed ids, unowned ids, the fixed people's owners)."""
    store = SnapshotStore(snapshot)
    people = store.scan("people").collect()
    missing = people.filter(pl.col("email").is_null() & pl.col("owner_id").is_not_null()).head(5)
    owned = people.filter(pl.col("email").is_not_null() & pl.col("owner_id").is_not_null()).tail(3)
    fixed = missing.with_columns((pl.col("person_id") + "@fixed.example.com").alias("email"))
    unowned = owned.with_columns(pl.lit(None, pl.String).alias("owner_id"))
    store.commit({"people": pl.concat([fixed, unowned])})
    owners = dict(zip(missing["person_id"], missing["owner_id"], strict=True))
    return missing["person_id"].to_list(), owned["person_id"].to_list(), owners


def test_runs_are_recorded_with_the_snapshot_and_diffed(demo_copy: Path, as_of: datetime) -> None:
    snapshot = demo_copy / "snapshot"
    first = record_run(_audit(snapshot, as_of), snapshot=snapshot)
    assert first.recorded and first.previous_id is None and first.diff is None
    fixed, unowned, owners = _edit_people(snapshot)
    second = record_run(_audit(snapshot, as_of), snapshot=snapshot)
    assert second.previous_id == first.run_id

    history = RunHistory.of_snapshot(snapshot)
    assert (snapshot / "_runs" / "runs" / "_delta_log").is_dir()  # Delta tables beside the data
    assert history.ids() == [first.run_id, second.run_id]
    diff = history.diff(first.run_id, second.run_id)
    resolved = diff.resolved.filter(pl.col("rule_id") == "people.email_missing")
    assert sorted(resolved["record_id"]) == sorted(fixed)
    # A resolved finding keeps the owner it had in the earlier run.
    assert dict(zip(resolved["record_id"], resolved["owner_id"], strict=True)) == owners
    new = diff.new.filter(pl.col("rule_id") == "people.owner_missing")
    assert sorted(new["record_id"]) == sorted(unowned)
    # Every other finding of the first run persists; the counts add up.
    before = history.findings(first.run_id).select("rule_id", "entity", "record_id", "field")
    c = diff.counts()
    assert c["persisting"] + c["resolved"] == before.unique().height
    assert (
        c["persisting"] + c["new"]
        == (history.findings(second.run_id).select("rule_id", "entity", "record_id", "field"))
        .unique()
        .height
    )
    # Per owner: the resolved findings are counted against their earlier owners.
    by_owner = diff.by_owner()
    for owner in set(owners.values()):
        row = by_owner.filter(pl.col("owner_id") == owner)
        assert row["resolved"][0] >= sum(1 for o in owners.values() if o == owner)
    # The same diff from the live report of run two (not read back from the history).
    assert second.diff is not None and second.diff.counts() == c


def test_trend_and_references(demo_copy: Path, as_of: datetime) -> None:
    snapshot = demo_copy / "snapshot"
    report = _audit(snapshot, as_of)
    history = RunHistory.of_snapshot(snapshot)
    ids = [history.record(run_tables(report, command=f"test{i}")) for i in range(3)]
    trend = history.trend()
    assert trend["run_id"].to_list() == ids
    assert trend["score"].to_list() == pytest.approx([report.score] * 3)
    assert trend["score_change"].to_list()[1:] == pytest.approx([0.0, 0.0])
    assert trend["score_sla"][0] == pytest.approx(report.scores["sla"])
    assert history.resolve("latest") == ids[-1]
    assert history.resolve("previous") == ids[-2]
    assert history.resolve("-3") == ids[0]
    assert history.resolve(ids[1][:-2]) == ids[1]
    assert history.previous(ids[0]) is None
    with pytest.raises(RunNotFoundError, match="-4"):
        history.resolve("-4")
    with pytest.raises(RunNotFoundError, match="not a recorded run"):
        history.resolve("nope")
    # Each run's rule counts are recorded.
    rules = history.rule_results(ids[0])
    assert rules.height == len(report.results)
    assert rules["violating"].sum() == sum(r.violating for r in report.results)


def test_a_run_without_its_runs_row_is_not_visible(demo_copy: Path, as_of: datetime) -> None:
    """A writer killed after the findings but before the runs row leaves no half-run."""
    snapshot = demo_copy / "snapshot"
    tables = run_tables(_audit(snapshot, as_of))
    tables.findings.write_delta(str(snapshot / "_runs" / "findings"), mode="append")
    history = RunHistory.of_snapshot(snapshot)
    assert history.ids() == []
    with pytest.raises(RunNotFoundError, match="no runs are recorded"):
        history.resolve("latest")


def test_diff_matches_on_rule_record_and_field_with_null_fields() -> None:
    cols = {
        "rule_id": pl.String,
        "entity": pl.String,
        "record_id": pl.String,
        "field": pl.String,
        "owner_id": pl.String,
    }
    a = pl.DataFrame(
        [
            ("r1", "people", "p1", None, "u1"),
            ("r1", "people", "p2", "email", "u1"),
            ("r2", "people", "p1", None, "u2"),
        ],
        schema=cols,
        orient="row",
    )
    b = pl.DataFrame(
        [
            ("r1", "people", "p1", None, "u9"),
            ("r2", "people", "p3", None, "u2"),
            ("r2", "people", "p3", None, "u2"),
        ],
        schema=cols,
        orient="row",
    )
    d = diff_findings(a, b)
    assert d.counts() == {"new": 1, "resolved": 2, "persisting": 1}
    assert d.persisting["owner_id"].to_list() == ["u9"]  # the owner as it is now
    assert sorted(d.resolved["record_id"]) == ["p1", "p2"]
