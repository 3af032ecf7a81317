"""The report: scores, maturity, offenders, failing on findings, and its renderings."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from revgov.config import Config
from revgov.demo import DemoData
from revgov.errors import FindingsError
from revgov.rules import Report, audit, kinds
from revgov.rules.maturity import CRITERIA, assess

from .conftest import AS_OF, run

PEOPLE = [
    {"person_id": "p1", "email": None, "owner_id": "u1", "phone": "123"},
    {"person_id": "p2", "email": "a@b.co", "owner_id": "u1", "phone": "+12025550100"},
    {"person_id": "p3", "email": None, "owner_id": "u2", "phone": "456"},
    {"person_id": "p4", "email": "e@f.co", "owner_id": None, "phone": None},
]
USERS = [
    {"user_id": "u1", "name": "Ann", "team": "East", "is_active": True},
    {"user_id": "u2", "name": "Bob", "team": "West", "is_active": True},
]


def _report() -> Report:
    rules = [
        kinds.required("people.email_missing", "people", ["email"]),
        kinds.formatted("people.phone_format", "people", "phone", "e164", severity="warn"),
        kinds.required(
            "people.owner_missing", "people", ["owner_id"], dimension="routing", severity="info"
        ),
    ]
    return run(rules, {"people": PEOPLE, "users": USERS})


def test_pass_rates_and_scores() -> None:
    report = _report()
    assert report.result("people.email_missing").pass_rate == 0.5
    assert report.result("people.phone_format").pass_rate == pytest.approx(1 / 3)
    scores = report.scores
    assert scores["completeness"] == 0.5
    assert scores["conformity"] == pytest.approx(1 / 3)
    assert scores["routing"] == 0.75
    assert scores["sla"] is None and scores["integrity"] is None
    assert report.score == pytest.approx((0.5 + 1 / 3 + 0.75) / 3)


def test_raise_for_findings_by_severity() -> None:
    report = _report()
    with pytest.raises(FindingsError) as err:
        report.raise_for_findings()
    assert "1 rule(s) at severity error or worse failed: people.email_missing (2 of 4)" in str(
        err.value
    )
    assert err.value.code == "RG502"
    with pytest.raises(FindingsError, match="3 rule"):
        report.raise_for_findings("info")
    # A bad argument is a revgov error too (not a ValueError), with the closest severity.
    with pytest.raises(FindingsError, match="min_severity 'erorr' is not one of") as bad:
        report.raise_for_findings("erorr")  # type: ignore[arg-type]
    assert "did you mean 'error'?" in str(bad.value)
    clean = run(
        [kinds.required("people.person_id_missing", "people", ["person_id"])], {"people": PEOPLE}
    )
    clean.raise_for_findings("info")
    assert [r.id for r in report.failing("warn")] == ["people.email_missing", "people.phone_format"]


def test_top_offenders_by_owner_and_team() -> None:
    report = _report()
    owners = report.top_offenders("owner")
    assert owners.row(0, named=True) == {
        "owner_id": "u1",
        "owner_name": "Ann",
        "team": "East",
        "findings": 2,
        "records": 1,
        "errors": 1,
    }
    assert set(owners["owner_id"]) == {"u1", "u2", "(unassigned)"}
    teams = dict(report.top_offenders("team").select("team", "findings").iter_rows())
    assert teams == {"East": 2, "West": 2, "(no team)": 1}


def test_json_lists_every_rule_with_counts_and_the_hash() -> None:
    report = _report()
    data = json.loads(report.to_json(findings=2))
    assert data["config_hash"] == Config().config_hash
    assert data["as_of"] == AS_OF.isoformat()
    assert [(r["id"], r["checked"], r["violating"]) for r in data["rules"]] == [
        ("people.email_missing", 4, 2),
        ("people.phone_format", 3, 2),
        ("people.owner_missing", 4, 1),
    ]
    assert data["summary"]["fail"] == 3 and data["summary"]["findings"] == 5
    assert len(data["findings"]) == 2
    assert data["maturity"]["stage"] == 1
    assert {c["name"] for c in data["maturity"]["criteria"]} == {c.name for c in CRITERIA}


def test_markdown_and_terminal_renderings() -> None:
    report = _report()
    md = report.to_markdown()
    assert f"- config hash: `{report.config_hash}`" in md
    assert "| `people.email_missing` | error | completeness | fail | 4 | 2 | 50.0% |" in md
    assert "## Top offenders by team" in md
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(report)
    out = buf.getvalue()
    assert "people.email_missing" in out and report.config_hash in out


def test_maturity_stages_from_criteria() -> None:
    all_rules = {
        "opportunities.stage_unknown": 1.0,
        "opportunities.pipeline_unknown": 1.0,
        "opportunities.account_missing": 0.99,
        "people.owner_missing": 0.99,
        "accounts.owner_missing": 0.99,
        "opportunities.owner_missing": 1.0,
        "people.utm_vocabulary": 0.99,
        "people.utm_case_drift": 0.99,
        "people.utm_required_by_channel": 0.99,
        "campaigns.naming": 0.95,
        "opportunities.closed_won_without_amount": 1.0,
    }
    good = {"completeness": 0.99, "routing": 0.99, "sla": 0.95, "integrity": 0.99}
    assert assess(all_rules, good, has_stage_history=True).stage == 3
    weak_sla = assess(all_rules, {**good, "sla": 0.5}, has_stage_history=True)
    assert weak_sla.stage == 2
    assert [c.name for c in weak_sla.unmet()] == ["SLAs kept"]
    no_history = assess(all_rules, good, has_stage_history=False)
    assert no_history.stage == 1  # stage 3 criteria hold, but stage 2's do not
    missing = assess({}, good, has_stage_history=True)
    assert missing.stage == 1 and any(c.value is None for c in missing.criteria)


def test_demo_report_places_the_demo(demo_small: DemoData) -> None:
    report = audit(
        {e: f.lazy() for e, f in demo_small.frames.items()},
        config=demo_small.config,
        as_of=AS_OF,
    )
    m = report.maturity
    assert m.stage >= 2
    assert report.has_stage_history
    # Spelling families: planted case drift shows next to the canonical spelling.
    fam = report.utm_families
    assert fam.height > 0
    for (_, _, _), group in fam.group_by(["entity", "tag", "family"]):
        assert group["value"].n_unique() > 1
    # The terminal table shows the offenders by team and the families, as JSON and md do.
    buf = io.StringIO()
    Console(file=buf, width=200, color_system=None).print(report)
    out = buf.getvalue()
    assert "Top offenders by team" in out and "UTM spelling families" in out
    teams = report.top_offenders("team")
    assert teams.height > 0 and str(teams["team"][0]) in out
    first = fam.row(0, named=True)
    family_line = next(
        line for line in out.splitlines() if f" {first['family']} " in line and first["tag"] in line
    )
    assert f"{first['value']} ({first['count']})" in family_line
