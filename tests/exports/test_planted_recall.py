"""A new user's path on vendor-layout exports: ``revgov init`` → company definitions →
``revgov pull`` → ``revgov audit`` recovers exactly the planted defects, kind by kind.

The exports come from :mod:`tests.exports.generator` (Salesforce and HubSpot layouts, field
names and quirks, defects planted on disjoint records from a seed). The config is the one
``revgov init`` writes, reviewed as its TODOs ask: the stage init flags as never seen in the
history is removed, stale limits are set, and the company's definitions are added
(:data:`~tests.exports.generator.COMPANY_DEFINITIONS`). Nothing else is edited.

Measured (seeds 1 and 2, both layouts): recall 1.0 and precision 1.0 for every kind —
18 kinds on the Salesforce layout (including stale-in-stage and stage regression seen only in
OpportunityHistory, skipped stages, lifecycle regression and mql_at from LeadHistory, and the
routing outcomes), 8 on the HubSpot layout (stale-in-stage from "Date entered" columns). The
kinds in :data:`~tests.exports.generator.ROUTING_DEPENDENT_KINDS` are expected as main routes
today (see there); update them when routing outcomes are named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import tomlkit
from tests.exports.generator import (
    AS_OF,
    HUBSPOT_KINDS,
    ROUTING_DEPENDENT_KINDS,
    SALESFORCE_KINDS,
    STALE_DAYS,
    Export,
    hubspot_export,
    salesforce_export,
)

from revgov.cli import main

Generator = Callable[..., Export]
LAYOUTS: dict[str, tuple[Generator, tuple[str, ...]]] = {
    "salesforce": (salesforce_export, SALESFORCE_KINDS),
    "hubspot": (hubspot_export, HUBSPOT_KINDS),
}


def _review(config: Path, export: Export) -> None:
    """What the company does with init's TODOs: drop the stage no deal ever entered through
    the history (a mistake), set stale limits, add its definitions before the sources."""
    doc = tomlkit.parse(config.read_text(encoding="utf-8"))
    pipeline = doc["pipelines"][0]  # type: ignore[index]
    stages = pipeline["stages"]  # type: ignore[index]
    flagged = [s["name"] for s in stages if "never in the history" in s["name"].trivia.comment]  # type: ignore[union-attr,index]
    pipeline["stages"] = [s for s in stages if s["name"] not in flagged]  # type: ignore[index,union-attr]
    pipeline["stale_days"] = dict.fromkeys(export.open_stages, STALE_DAYS)  # type: ignore[index]
    head, sep, tail = tomlkit.dumps(doc).partition("[[sources]]")
    config.write_text(head + export.definitions() + "\n" + sep + tail, encoding="utf-8")


def _audit(tmp_path: Path, layout: str, seed: int) -> tuple[Export, pl.DataFrame]:
    generate, _ = LAYOUTS[layout]
    export = generate(tmp_path / "export", seed=seed)
    config = tmp_path / "revgov.toml"
    assert main(["init", str(tmp_path / "export"), "--out", str(config)]) == 0
    _review(config, export)
    assert main(["config", "check", str(config)]) == 0
    assert main(["pull", "--config", str(config), "--no-progress"]) == 0
    findings = tmp_path / "findings.parquet"
    code = main(
        [
            "audit",
            "--config",
            str(config),
            "--as-of",
            AS_OF.isoformat(),
            "--findings-out",
            str(findings),
            "--fail-on",
            "never",
        ]
    )
    assert code == 0
    return export, pl.read_parquet(findings)


def _scores(export: Export, findings: pl.DataFrame, kinds: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for kind in kinds:
        planted = export.planted.get(kind, set())
        found = set(findings.filter(pl.col("rule_id") == kind)["record_id"].to_list())
        hit = len(planted & found)
        recall = hit / len(planted) if planted else float("nan")
        precision = hit / len(found) if found else float("nan")
        out[kind] = f"recall {recall:.2f} precision {precision:.2f} ({hit}/{len(planted)})"
    return out


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_init_pull_audit_finds_exactly_the_planted_defects(
    tmp_path: Path, layout: str, seed: int
) -> None:
    export, findings = _audit(tmp_path, layout, seed)
    kinds = LAYOUTS[layout][1]
    assert set(export.planted) == set(kinds), "every kind is planted"
    scores = _scores(export, findings, kinds)
    perfect = "recall 1.00 precision 1.00"
    wrong = {k: v for k, v in scores.items() if not v.startswith(perfect)}
    assert not wrong, f"{layout} seed {seed}: {wrong}"
    for kind in kinds:
        found = set(findings.filter(pl.col("rule_id") == kind)["record_id"].to_list())
        assert found == export.planted[kind], kind
    # Records not planted with a kind are clean for every rule: no finding elsewhere.
    others = findings.filter(~pl.col("rule_id").is_in(list(kinds)))
    assert others.is_empty(), others.group_by("rule_id").len()


def test_routing_dependent_kinds_are_named_and_planted() -> None:
    # The kinds the routing change will move are planted on the Salesforce layout, so the
    # recall test above covers them with main's outcomes until they are updated.
    assert set(SALESFORCE_KINDS) >= ROUTING_DEPENDENT_KINDS
