"""Every rule says where its definition comes from; rules resting only on revgov defaults
the company never set run at severity info and leave the dimension scores alone (the
"three follow-ups in seven days" default must not pull the SLA score down)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from rich.console import Console

from revgov.config import Config, config_from_dict
from revgov.rules import builtin_rules
from revgov.rules._render import report_renderable
from revgov.rules.governance import key_is_set

from .conftest import AS_OF, run

IDS = ["people.follow_up_attempts", "people.speed_to_lead_breach"]


def _frames() -> dict[str, list[dict[str, object]]]:
    """Ten leads, MQL 20 days before as_of, each called once within the hour: every lead
    meets a 4-hour SLA and misses the default three follow-ups in seven days."""
    start = AS_OF - timedelta(days=20)
    start = start.replace(hour=10)  # a weekday morning inside business hours
    people = [{"person_id": f"p{i}", "kind": "lead", "mql_at": start} for i in range(10)]
    acts = [
        {
            "activity_id": f"a{i}",
            "type": "call",
            "person_id": f"p{i}",
            "occurred_at": start + timedelta(minutes=30),
        }
        for i in range(10)
    ]
    return {"people": people, "activities": acts}


def _audit(config: Config) -> tuple[object, object]:
    rules = [r for r in builtin_rules(config) if r.id in IDS]
    report = run(rules, _frames(), config=config)
    return report, report.result("people.follow_up_attempts")


def test_an_undefined_default_runs_at_info_and_is_not_scored() -> None:
    report, follow = _audit(Config())
    assert (follow.violating, follow.severity, follow.governed) == (10, "info", False)
    assert follow.definition == (
        "revgov default: sla.follow_up_attempts, sla.follow_up_within_days (not set in revgov.toml)"
    )
    findings = report.findings_df.filter(pl.col("rule_id") == "people.follow_up_attempts")
    assert findings.height == 10 and set(findings["severity"]) == {"info"}
    # Both SLA rules rest on defaults: nothing the company defined, no SLA score at all.
    assert report.scores["sla"] is None
    assert report.failing("info") == [follow]  # still listed, and still a finding
    data = {r["id"]: r for r in report.to_dict()["rules"]}
    assert data["people.follow_up_attempts"]["governed"] is False
    md = report.to_markdown()
    assert "revgov default: sla.follow_up_attempts" in md and "ungoverned" in md


def test_the_companys_own_definition_is_scored_at_its_severity() -> None:
    config = config_from_dict({"sla": {"speed_to_lead_hours": {"default": 4}}})
    report, follow = _audit(config)
    stl = report.result("people.speed_to_lead_breach")
    assert (stl.governed, stl.severity, stl.definition) == (
        True,
        "error",
        "revgov.toml: sla.speed_to_lead_hours",
    )
    # The follow-up default is still not the company's: the SLA score is the SLA rule's.
    assert not follow.governed
    assert report.scores["sla"] == pytest.approx(1.0)
    config = config_from_dict({"sla": {"follow_up_attempts": 3}})
    report, follow = _audit(config)
    assert (follow.governed, follow.severity) == (True, "warn")
    assert report.scores["sla"] == pytest.approx(0.0)


def test_an_override_adopts_a_default_and_calendar_keys_do_not() -> None:
    config = config_from_dict(
        {
            "sla": {"timezone": "Europe/Paris"},
            "rules": {"people.follow_up_attempts": {"severity": "error"}},
        }
    )
    by_id = {r.id: r for r in builtin_rules(config)}
    follow, stl = by_id["people.follow_up_attempts"], by_id["people.speed_to_lead_breach"]
    assert (follow.governed, follow.severity) == (True, "error")
    assert follow.definition == 'revgov.toml: rules."people.follow_up_attempts"'
    assert not stl.governed  # setting the time zone does not adopt the 4-hour limit
    # Built-in checks need no company definition.
    assert by_id["people.email_format"].governed
    assert by_id["people.email_format"].definition.startswith("revgov built-in check")


def test_key_is_set_reads_what_the_file_wrote() -> None:
    config = config_from_dict(
        {
            "pipelines": [
                {
                    "name": "nb",
                    "stale_days": {"A": 5},
                    "stages": [
                        {"name": "A", "order": 1, "probability": 0.1},
                        {
                            "name": "W",
                            "order": 2,
                            "probability": 1,
                            "is_closed": True,
                            "is_won": True,
                        },
                    ],
                }
            ]
        }
    )
    assert key_is_set(config, "pipelines.stale_days")
    assert key_is_set(config, "pipelines.stages")
    assert not key_is_set(config, "sla.stale_days_default")
    assert not key_is_set(Config(), "pipelines")


def test_the_terminal_lists_rules_on_defaults_by_the_keys_to_set_within_80_columns() -> None:
    report, _ = _audit(Config())
    console = Console(width=80, record=True, force_terminal=False)
    console.print(report_renderable(report))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    flat = " ".join(" ".join(lines).split())
    assert "On revgov defaults only (severity info, not scored): set the keys" in flat
    # Grouped under the keys that would make the rule the company's own.
    assert (
        "revgov default: sla.follow_up_attempts, sla.follow_up_within_days (not set in "
        "revgov.toml): people.follow_up_attempts" in flat
    )
