"""Acceptance: on the demo CRM the built-in pack finds exactly the planted defects.

The demo contract: every defect kind is the id of a built-in rule; the set of
(entity, record_id, rule_id) findings of those rules equals the ground-truth manifest, and
every other built-in rule finds nothing.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from revgov.demo import DEFECT_RATES, generate
from revgov.rules import audit, builtin_rules

KEY = ["entity", "record_id", "defect_kind"]


@pytest.mark.parametrize(("scale", "seed"), [(1.0, 7), (0.3, 2024)])
def test_audit_finds_exactly_the_planted_defects(scale: float, seed: int) -> None:
    demo = generate(scale=scale, seed=seed)
    as_of = datetime.fromisoformat(demo.manifest["as_of"])
    report = audit({e: f.lazy() for e, f in demo.frames.items()}, config=demo.config, as_of=as_of)

    rule_ids = {r.id for r in builtin_rules(demo.config)}
    kinds = set(DEFECT_RATES)
    assert kinds <= rule_ids, f"defect kinds without a rule: {sorted(kinds - rule_ids)}"
    # Every rule runs on the demo's frames but the one on the pull's counts (a snapshot's).
    assert all(r.reason is None for r in report.results if r.entity != "pulled"), [
        (r.id, r.reason) for r in report.results if r.reason
    ]

    found = report.findings_df.select(
        "entity", "record_id", pl.col("rule_id").alias("defect_kind")
    ).unique()
    truth = demo.ground_truth.select(KEY).unique()
    for kind in sorted(kinds):
        want = truth.filter(pl.col("defect_kind") == kind)
        got = found.filter(pl.col("defect_kind") == kind)
        missed = want.join(got, on=KEY, how="anti")
        extra = got.join(want, on=KEY, how="anti")
        assert want.height > 0, f"{kind}: nothing planted"
        assert missed.height == 0, f"{kind}: {missed.height} planted defects not found"
        assert extra.height == 0, f"{kind}: {extra.height} findings not planted"
    others = found.filter(~pl.col("defect_kind").is_in(sorted(kinds)))
    assert others.height == 0, others.group_by("defect_kind").len().to_dicts()
    # The counts agree with the findings: one violating record per planted record.
    for r in report.results:
        planted = truth.filter(pl.col("defect_kind") == r.id).height
        assert r.violating == planted, r.id
