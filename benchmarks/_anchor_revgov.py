"""The ten anchor checks as revgov rules (run by bench_rules.py; prints like the baselines).

    python benchmarks/_anchor_revgov.py opps_1000000.parquet

Timing starts after imports, like ``polars_hand.py``: build the rules, scan, audit (row-level
findings and per-rule counts), collect.
"""

from __future__ import annotations

import sys
import time

import narwhals as nw
import polars as pl

from revgov.rules import Rule, audit, kinds
from revgov.rules._expr import is_in

EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
CAMPAIGN = r"^\d{4}-q[1-4]_[a-z-]+_[a-z]+_[a-z]+$"
STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
LATE = ["Proposal", "Negotiation", "Closed Won"]
E = "anchor"


def anchor_rules() -> list[Rule]:
    """The ten checks of ../shared/benchmarks/anchor_checks, one revgov rule each."""
    return [
        kinds.required(f"{E}.email_not_null", E, ["email"]),
        kinds.required(f"{E}.stage_not_null", E, ["stage"]),
        kinds.required(f"{E}.owner_not_null", E, ["owner_id"]),
        kinds.required(f"{E}.utm_source_not_null", E, ["utm_source"]),
        kinds.required(
            f"{E}.amount_required_late_stage",
            E,
            ["amount"],
            when=is_in(nw.col("stage"), LATE).fill_null(False),
            when_columns=["stage"],
        ),
        kinds.pattern(f"{E}.email_format", E, "email", EMAIL),
        kinds.allowed_values(f"{E}.stage_allowed", E, "stage", STAGES),
        kinds.pattern(f"{E}.campaign_naming", E, "utm_campaign", CAMPAIGN),
        kinds.in_range(f"{E}.amount_non_negative", E, "amount", min=0),
        kinds.unique(f"{E}.id_unique", E, "id"),
    ]


def main(path: str) -> None:
    t = time.perf_counter()
    rules = anchor_rules()
    report = audit({E: pl.scan_parquet(path)}, rules, keys={E: "id"})
    findings = report.findings_df
    secs = time.perf_counter() - t
    print(findings.group_by("rule_id").len().sort("rule_id"))
    print("rows", findings.height, "secs", round(secs, 3))


if __name__ == "__main__":
    main(sys.argv[1])
