"""Rules declared in revgov.toml: required fields, [rules] settings, overrides, custom rules,
and the errors that bad declarations give (never a traceback from deep inside)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from revgov.config import config_from_dict, load_config
from revgov.errors import ConfigValidationError, RuleDefinitionError
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
    # Checked when the config is loaded (tests/config/test_check.py has the file and line).
    with pytest.raises(ConfigValidationError, match="does not start with the entity 'accounts'"):
        config_from_dict(
            {"required_fields": [{"id": "people.x", "entity": "accounts", "fields": ["industry"]}]}
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
        ({"disabled": ["people.phone_fromat"]}, "no rule has the id 'people.phone_fromat'"),
        ({"disabled": ["people.phone_fromat"]}, "did you mean 'people.phone_format'?"),
        ({"people.email_missng": {"severity": "warn"}}, "did you mean 'people.email_missing'?"),
        ({"packs": ["baseline", "nope"]}, "unknown rule pack 'nope'"),
    ],
)
def test_rule_ids_and_packs_are_checked_when_the_rules_are_built(
    rules: dict[str, Any], fragment: str
) -> None:
    """Rule ids and packs need the packs (plugins too), so they are checked when the rules
    are built (and by `revgov config check`); every other [rules] problem is a load error,
    see tests/config/test_check.py."""
    with pytest.raises(RuleDefinitionError) as err:
        builtin_rules(config_from_dict({"rules": rules}))
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"skiped_stage": {}}, "unknown key 'skiped_stage' in [rules]"),
        ({"skiped_stage": {}}, "did you mean 'skipped_stage'?"),
        ({"people.email_missing": {"severity": "fatal"}}, 'rules."people.email_missing".severity'),
        ({"people.email_missing": {"treshold": 0.1}}, "did you mean 'threshold'?"),
        ({"skipped_stage": {"required": "Qualification"}}, "rules.skipped_stage.required"),
        (
            {"custom": [{"id": "people.x", "kind": "pattern", "field": "title", "pattern": "(a"}]},
            "rules.custom[0].pattern: invalid regular expression at position 0",
        ),
        (
            {"custom": [{"id": "people.x", "kind": "pattern", "field": "t", "pattern": "abc\\Z"}]},
            "rules.custom[0].pattern: invalid regular expression at position 3",
        ),
        (
            {"custom": [{"id": "people.x", "kind": "pattern", "field": "t", "pattern": "a{2"}]},
            "rules.custom[0].pattern: invalid regular expression at position 1",
        ),
        (
            {"formats": {"email": "[[:alpha:]]+@"}},
            "rules.formats.email: ambiguous regular expression at position 1",
        ),
        (
            {"custom": [{"id": "opportunity.x", "kind": "required", "fields": ["a"]}]},
            "rules.custom[0].id: rule opportunity.x: 'opportunity' is not an entity",
        ),
        (
            {"custom": [{"id": "opportunity.x", "kind": "required", "fields": ["a"]}]},
            "did you mean 'opportunities'?",
        ),
        (
            {"custom": [{"id": "x.y", "entity": "acounts", "kind": "required", "fields": ["a"]}]},
            "rules.custom[0].entity: Input should be 'accounts'",
        ),
        (
            {"custom": [{"id": "x.y", "entity": "acounts", "kind": "required", "fields": ["a"]}]},
            "did you mean 'accounts'?",
        ),
        (
            {
                "custom": [
                    {
                        "id": "opportunities.x",
                        "kind": "reference",
                        "field": "primary_campaign_id",
                        "references": "campaign",
                    }
                ]
            },
            "rules.custom[0].references",
        ),
        (
            {
                "custom": [
                    {
                        "id": "opportunities.x",
                        "kind": "reference",
                        "field": "primary_campaign_id",
                        "references": "campaign",
                    }
                ]
            },
            "did you mean 'campaigns'?",
        ),
        (
            {"custom": [{"id": "opportunities.x", "kind": "compare", "field": "close_date"}]},
            "rules.custom[0].op: Field required",
        ),
        (
            {"custom": [{"id": "opportunities.x", "kind": "compare", "field": "close_date"}]},
            "rules.custom[0].other: add `other = ...`",
        ),
        (
            {
                "custom": [
                    {
                        "id": "opportunities.x",
                        "kind": "compare",
                        "field": "close_date",
                        "op": "=>",
                        "other": "created_at",
                    }
                ]
            },
            "rules.custom[0].op",
        ),
        (
            {"custom": [{"id": "people.x", "kind": "allowed", "field": "title"}]},
            "rules.custom[0].values: add `values = ...`",
        ),
        (
            {"custom": [{"id": "x", "kind": "required", "fields": ["a"]}]},
            "not of the form <entity>.<name>",
        ),
        ({"custom": [{"id": "people.x", "kind": "regex"}]}, "rules.custom[0].kind"),
        ({"custom": [{"id": "people.x", "kind": "regex"}]}, "kinds: required, allowed"),
        (
            {"custom": [{"id": "people.x", "kind": "format", "field": "t", "format": "ssn"}]},
            "unknown format 'ssn'",
        ),
    ],
)
def test_bad_rule_settings_are_load_errors(rules: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigValidationError) as err:
        config_from_dict({"rules": rules})
    assert fragment in str(err.value)


def test_bad_campaign_template_in_config() -> None:
    with pytest.raises(ConfigValidationError, match=r"unbalanced brace at position 6"):
        config_from_dict({"campaign_naming": {"template": "{year}}-{region}"}})


def test_naming_errors_carry_file_line_and_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(
        "[campaign_naming]\n"
        'template = "{year}-{quarter}_{chanel}_{region}"\n'
        "\n"
        "[campaign_naming.tokens]\n"
        "year = '20\\d{2'\n"
        'channel = ["email", "search"]\n',
        encoding="utf-8",
    )
    # Both are load errors now: the template is compiled when the config is read.
    with pytest.raises(ConfigValidationError) as err:
        load_config(path)
    text = str(err.value)
    # The token regex is checked first: polars rejects it, Python's `re` does not.
    assert (
        "revgov.toml:5: campaign_naming.tokens.year: invalid regular expression at position 4"
        in text
    )
    path.write_text(path.read_text(encoding="utf-8").replace("{2'", "{2}'"), encoding="utf-8")
    with pytest.raises(ConfigValidationError) as err:
        load_config(path)
    text = str(err.value)
    assert (
        "revgov.toml:2: campaign_naming.template: token {chanel} at position 17 has no vocabulary"
        in text
    )
    assert "did you mean {channel}?" in text


def test_unknown_entity_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(
        '[rules]\n\n[[rules.custom]]\nid = "oportunities.next_step"\nkind = "required"\n'
        'fields = ["next_step"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigValidationError) as err:
        load_config(path)
    assert (
        "revgov.toml:4: rules.custom[0].id: rule oportunities.next_step: 'oportunities' is not "
        "an entity of the canonical model"
    ) in str(err.value)
    assert "did you mean 'opportunities'?" in str(err.value)


def test_range_bounds_print_as_written() -> None:
    cfg = config_from_dict(
        {
            "rules": {
                "custom": [
                    {"id": "accounts.size", "kind": "range", "field": "employees", "min": 1000},
                    {"id": "opportunities.big", "kind": "range", "field": "amount", "max": 2.5},
                ]
            }
        }
    )
    rules = [r for r in builtin_rules(cfg) if r.origin == "config"]
    assert [r.description for r in rules] == [
        "employees, when present, is >= 1000.",
        "amount, when present, is <= 2.5.",
    ]
    report = run(
        rules,
        {
            "accounts": [{"account_id": "a", "employees": 10}],
            "opportunities": [{"opportunity_id": "o", "amount": 3.0}],
        },
        config=cfg,
    )
    assert sorted(report.findings_df["message"]) == [
        "amount is above 2.5",
        "employees is below 1000",
    ]


def test_compare_two_columns_from_toml() -> None:
    cfg = config_from_dict(
        {
            "rules": {
                "custom": [
                    {
                        "id": "opportunities.close_after_created",
                        "kind": "compare",
                        "field": "close_date",
                        "op": ">=",
                        "other": "created_at",
                    },
                    {
                        "id": "accounts.revenue_vs_employees",
                        "kind": "compare",
                        "field": "annual_revenue",
                        "op": ">",
                        "other": "employees",
                        "severity": "warn",
                    },
                ]
            }
        }
    )
    rules = [r for r in builtin_rules(cfg) if r.origin == "config"]
    created = datetime(2026, 3, 10, 15, tzinfo=UTC)
    opps = [
        # Closing the day it was created is fine although midnight is before 15:00.
        {"opportunity_id": "same_day", "close_date": date(2026, 3, 10), "created_at": created},
        {"opportunity_id": "before", "close_date": date(2026, 3, 9), "created_at": created},
        {"opportunity_id": "after", "close_date": date(2026, 4, 1), "created_at": created},
        {"opportunity_id": "blank", "close_date": None, "created_at": created},
    ]
    accounts = [
        {"account_id": "a1", "annual_revenue": 10.0, "employees": 20},
        {"account_id": "a2", "annual_revenue": 30.0, "employees": 20},
        {"account_id": "a3", "annual_revenue": None, "employees": 20},
    ]
    report = run(rules, {"opportunities": opps, "accounts": accounts}, config=cfg)
    assert flagged(report, "opportunities.close_after_created") == {"before"}
    assert report.result("opportunities.close_after_created").checked == 3
    assert flagged(report, "accounts.revenue_vs_employees") == {"a1"}
    assert report.result("accounts.revenue_vs_employees").checked == 2
    row = report.findings_df.filter(pl.col("record_id") == "before").row(0, named=True)
    assert (row["field"], row["value"], row["message"]) == (
        "close_date",
        "2026-03-09",
        "close_date is not >= created_at",
    )


def test_compare_of_incomparable_columns_is_a_definition_error() -> None:
    cfg = config_from_dict(
        {
            "rules": {
                "custom": [
                    {
                        "id": "opportunities.odd",
                        "kind": "compare",
                        "field": "stage",
                        "op": "<",
                        "other": "created_at",
                    }
                ]
            }
        }
    )
    rules = [r for r in builtin_rules(cfg) if r.origin == "config"]
    with pytest.raises(
        RuleDefinitionError, match=r"cannot compare opportunities\.stage \(String\)"
    ):
        run(rules, {"opportunities": [{"opportunity_id": "o"}]}, config=cfg)


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(
        '[company]\nname = "x"\n\n[rules]\ndisabled = []\n\n[rules.skiped_stage]\nrequired = []\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigValidationError) as err:
        load_config(path)
    assert "revgov.toml:7: rules.skiped_stage: unknown key" in str(err.value)


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
                # Never entered Proposal: not checked by the entry rule.
                {"opportunity_id": "o4", "stage": "Prospecting", "product": "x", "amount": None},
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
    entry = report.result("opportunities.proposal_without_amount")
    assert (entry.checked, entry.violating) == (3, 2)
