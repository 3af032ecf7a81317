"""Rules declared in revgov.toml: required fields, [rules] settings, overrides, custom rules,
and the errors that bad declarations give (never a traceback from deep inside)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from revgov.config import config_from_dict, load_config
from revgov.errors import RuleDefinitionError
from revgov.rules import builtin_rules

from .conftest import flagged, run


def _ids(cfg: dict[str, Any]) -> list[str]:
    return [r.id for r in builtin_rules(config_from_dict(cfg))]


def test_required_fields_ids_and_conditions() -> None:
    cfg = config_from_dict(
        {
            "required_fields": [
                {"entity": "accounts", "fields": ["industry", "country"]},
                {
                    "id": "amount_missing_late_stage",
                    "entity": "opportunities",
                    "fields": ["amount", "close_date"],
                    "when_stage": ["Proposal"],
                    "severity": "warn",
                },
                {"entity": "people", "fields": ["title"], "when_type": ["contact"]},
                {
                    "entity": "accounts",
                    "fields": ["annual_revenue"],
                    "when_segment": ["enterprise"],
                },
            ],
            "segments": [{"name": "enterprise", "employees_min": 1000}],
        }
    )
    rules = {r.id: r for r in builtin_rules(cfg)}
    for rid in (
        "accounts.industry_missing",
        "accounts.country_missing",
        "opportunities.amount_missing_late_stage",
        "people.title_missing",
        "accounts.annual_revenue_missing",
    ):
        assert rules[rid].origin == "config"
    late = rules["opportunities.amount_missing_late_stage"]
    assert late.severity == "warn"
    assert [c.field for c in late.checks] == ["amount", "close_date"]
    report = run(
        list(rules.values()),
        {
            "opportunities": [
                {"opportunity_id": "o1", "stage": "Proposal", "amount": None, "close_date": None},
                {"opportunity_id": "o2", "stage": "Prospecting", "amount": None},
            ],
            "people": [
                {"person_id": "p1", "kind": "contact", "title": None},
                {"person_id": "p2", "kind": "lead", "title": None},
            ],
            "accounts": [
                {
                    "account_id": "a1",
                    "employees": 5000,
                    "annual_revenue": None,
                    "industry": "x",
                    "country": "US",
                },
                {
                    "account_id": "a2",
                    "employees": 10,
                    "annual_revenue": None,
                    "industry": "x",
                    "country": "US",
                },
            ],
        },
        config=cfg,
        only=[
            "opportunities.amount_missing_late_stage",
            "people.title_missing",
            "accounts.annual_revenue_missing",
        ],
    )
    assert flagged(report, "opportunities.amount_missing_late_stage") == {"o1"}
    assert report.result("opportunities.amount_missing_late_stage").findings == 2
    assert flagged(report, "people.title_missing") == {"p1"}
    assert flagged(report, "accounts.annual_revenue_missing") == {"a1"}
    msg = report.findings_df.filter(report.findings_df["record_id"] == "o1")["message"].to_list()
    assert "amount is empty while stage is Proposal" in msg


def test_required_field_id_must_match_entity() -> None:
    with pytest.raises(RuleDefinitionError, match="does not start with the entity 'accounts'"):
        builtin_rules(
            config_from_dict(
                {
                    "required_fields": [
                        {"id": "people.x", "entity": "accounts", "fields": ["industry"]}
                    ]
                }
            )
        )


def test_declared_rule_replaces_a_pack_rule() -> None:
    rules = builtin_rules(
        config_from_dict(
            {"required_fields": [{"entity": "people", "fields": ["email"], "severity": "info"}]}
        )
    )
    email = [r for r in rules if r.id == "people.email_missing"]
    assert len(email) == 1 and email[0].severity == "info" and email[0].origin == "config"


def test_overrides_disable_and_severity() -> None:
    ids = _ids(
        {
            "rules": {
                "disabled": ["people.phone_format"],
                "people.email_missing": {"severity": "warn", "threshold": 0.05, "owner": "me"},
                "people.country_format": {"enabled": False},
            }
        }
    )
    assert "people.phone_format" not in ids and "people.country_format" not in ids
    rules = {
        r.id: r
        for r in builtin_rules(
            config_from_dict(
                {
                    "rules": {
                        "people.email_missing": {
                            "severity": "warn",
                            "threshold": 0.05,
                            "owner": "me",
                        }
                    }
                }
            )
        )
    }
    r = rules["people.email_missing"]
    assert (r.severity, r.threshold, r.owner) == ("warn", 0.05, "me")


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"skiped_stage": {}}, "unknown key 'skiped_stage' in [rules]"),
        ({"skiped_stage": {}}, "did you mean 'skipped_stage'?"),
        ({"disabled": ["people.phone_fromat"]}, "no rule has the id 'people.phone_fromat'"),
        ({"disabled": ["people.phone_fromat"]}, "did you mean 'people.phone_format'?"),
        ({"people.email_missing": {"severity": "fatal"}}, 'rules."people.email_missing".severity'),
        ({"people.email_missing": {"treshold": 0.1}}, "did you mean 'threshold'?"),
        ({"people.email_missng": {"severity": "warn"}}, "did you mean 'people.email_missing'?"),
        ({"skipped_stage": {"required": "Qualification"}}, "rules.skipped_stage.required"),
        (
            {"custom": [{"id": "people.x", "kind": "pattern", "field": "title", "pattern": "(a"}]},
            "rules.custom.0: rule people.x: invalid regular expression at position 0",
        ),
        ({"custom": [{"id": "people.x", "kind": "allowed", "field": "title"}]}, "needs `values`"),
        (
            {"custom": [{"id": "x", "kind": "required", "fields": ["a"]}]},
            "not of the form <entity>.<name>",
        ),
        ({"custom": [{"id": "people.x", "kind": "regex"}]}, "rules.custom.0.kind"),
        (
            {"custom": [{"id": "people.x", "kind": "format", "field": "t", "format": "ssn"}]},
            "unknown format 'ssn'",
        ),
        ({"packs": ["baseline", "nope"]}, "unknown rule pack 'nope'"),
    ],
)
def test_bad_rule_settings_are_definition_errors(rules: dict[str, Any], fragment: str) -> None:
    with pytest.raises(RuleDefinitionError) as err:
        builtin_rules(config_from_dict({"rules": rules}))
    assert fragment in str(err.value)


def test_bad_campaign_template_in_config() -> None:
    with pytest.raises(RuleDefinitionError, match=r"unbalanced brace at position 6"):
        builtin_rules(config_from_dict({"campaign_naming": {"template": "{year}}-{region}"}}))


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(
        '[company]\nname = "x"\n\n[rules]\ndisabled = []\n\n[rules.skiped_stage]\nrequired = []\n',
        encoding="utf-8",
    )
    with pytest.raises(RuleDefinitionError) as err:
        builtin_rules(load_config(path))
    assert str(err.value).startswith("revgov.toml:7: rules.skiped_stage: unknown key")


def test_custom_rules_of_every_kind() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    cfg = config_from_dict(
        {
            "rules": {
                "custom": [
                    {
                        "id": "opportunities.next_step",
                        "kind": "required",
                        "fields": ["product"],
                        "when": {"stage": ["Proposal"]},
                        "severity": "warn",
                        "threshold": 0.5,
                    },
                    {
                        "id": "opportunities.type_ok",
                        "kind": "allowed",
                        "field": "type",
                        "values": ["renewal"],
                        "ignore_case": True,
                    },
                    {
                        "id": "accounts.domain_ok",
                        "kind": "format",
                        "field": "domain",
                        "format": "domain",
                    },
                    {
                        "id": "people.title_caps",
                        "kind": "pattern",
                        "field": "title",
                        "pattern": "^[A-Z]",
                    },
                    {
                        "id": "accounts.size",
                        "kind": "range",
                        "field": "employees",
                        "min": 1,
                        "max": 1000,
                    },
                    {
                        "id": "accounts.unique_name",
                        "kind": "unique",
                        "field": "name",
                        "normalize": "lower",
                        "dimension": "integrity",
                    },
                    {
                        "id": "opportunities.campaign_known",
                        "kind": "reference",
                        "field": "primary_campaign_id",
                        "references": "campaigns",
                    },
                    {
                        "id": "opportunities.proposal_without_amount",
                        "kind": "required_on_entry",
                        "fields": ["amount"],
                        "stages": ["Proposal"],
                    },
                ]
            }
        }
    )
    rules = [r for r in builtin_rules(cfg) if r.origin == "config"]
    assert len(rules) == 8
    events = [
        {
            "event_id": "e1",
            "record_entity": "opportunities",
            "record_id": "o1",
            "field": "stage",
            "from_value": "Prospecting",
            "to_value": "Proposal",
            "changed_at": t0 + timedelta(days=2),
        },
        {
            "event_id": "e2",
            "record_entity": "opportunities",
            "record_id": "o1",
            "field": "amount",
            "from_value": None,
            "to_value": "100",
            "changed_at": t0 + timedelta(days=5),
        },
        {
            "event_id": "e3",
            "record_entity": "opportunities",
            "record_id": "o2",
            "field": "stage",
            "from_value": "Prospecting",
            "to_value": "Proposal",
            "changed_at": t0 + timedelta(days=2),
        },
        {
            "event_id": "e4",
            "record_entity": "opportunities",
            "record_id": "o2",
            "field": "amount",
            "from_value": None,
            "to_value": "50",
            "changed_at": t0 + timedelta(days=1),
        },
        {
            "event_id": "e5",
            "record_entity": "opportunities",
            "record_id": "o3",
            "field": "stage",
            "from_value": "Prospecting",
            "to_value": "Proposal",
            "changed_at": t0 + timedelta(days=2),
        },
    ]
    report = run(
        rules,
        {
            "opportunities": [
                {
                    "opportunity_id": "o1",
                    "stage": "Proposal",
                    "product": None,
                    "type": "RENEWAL",
                    "amount": 100.0,
                    "primary_campaign_id": "c1",
                },
                {
                    "opportunity_id": "o2",
                    "stage": "Proposal",
                    "product": "x",
                    "type": "new",
                    "amount": 50.0,
                    "primary_campaign_id": "c404",
                },
                {
                    "opportunity_id": "o3",
                    "stage": "Proposal",
                    "product": "x",
                    "type": None,
                    "amount": None,
                },
            ],
            "accounts": [
                {"account_id": "a1", "domain": "acme", "employees": 0, "name": "Acme"},
                {"account_id": "a2", "domain": "acme.com", "employees": 10, "name": "ACME "},
            ],
            "people": [{"person_id": "p1", "title": "ceo"}],
            "campaigns": [{"campaign_id": "c1"}],
            "stage_events": events,
        },
        config=cfg,
    )
    assert flagged(report, "opportunities.next_step") == {"o1"}
    assert report.result("opportunities.next_step").status == "within_threshold"
    assert flagged(report, "opportunities.type_ok") == {"o2"}
    assert flagged(report, "accounts.domain_ok") == {"a1"}
    assert flagged(report, "people.title_caps") == {"p1"}
    assert flagged(report, "accounts.size") == {"a1"}
    assert flagged(report, "accounts.unique_name") == {"a1", "a2"}  # trimmed, lowercased
    assert flagged(report, "opportunities.campaign_known") == {"o2"}
    # o1 entered Proposal before its amount was first set; o2 had it; o3 has no amount history
    # and no amount now.
    assert flagged(report, "opportunities.proposal_without_amount") == {"o1", "o3"}
