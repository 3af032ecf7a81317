"""Campaign naming wherever names live ([campaign_naming].columns), configured once; a name
of the wrong shape (separator, number of tokens) is diagnosed as such before any token."""

from __future__ import annotations

import polars as pl

from revgov.config import config_from_dict
from revgov.rules import builtin_rules

from .conftest import canonical, flagged, run

NAMING = {
    "template": "{year}-{quarter}_{channel}_{region}_{offer}",
    "tokens": {
        "year": r"\d{4}",
        "quarter": "q[1-4]",
        "channel": ["paid-search", "email", "social"],
        "region": ["na", "emea"],
        "offer": ["demo", "webinar"],
    },
    "columns": [
        "campaigns.name",
        "people.utm_campaign",
        "campaign_touches.utm_campaign",
        "opportunities.primary_campaign_name",
    ],
}
TEMPLATE = "'{year}-{quarter}_{channel}_{region}_{offer}'"
# Planted: (name, the finding's message or None for a good name)
NAMES: list[tuple[str, str | None]] = [
    ("2026-q1_paid-search_emea_demo", None),
    ("2026_q1_email_na_demo", f"wrong separators: '____' where the template {TEMPLATE} has '-___'"),
    ("2026-q1-email-na-demo", f"wrong separators: '----' where the template {TEMPLATE} has '-___'"),
    ("2026-q1_email_na", f"wrong number of tokens: 4 where the template {TEMPLATE} has 5"),
    ("2026-q1_email_na_demo_x", f"wrong number of tokens: 6 where the template {TEMPLATE} has 5"),
    ("2026-q1_email_mars_demo", "token region='mars' is not an allowed value; allowed: na, emea"),
]
IDS = {
    "campaigns": "campaigns.naming",
    "people": "people.utm_campaign_naming",
    "campaign_touches": "campaign_touches.utm_campaign_naming",
    "opportunities": "opportunities.primary_campaign_name_naming",
}


def test_every_listed_column_is_checked_with_the_same_template() -> None:
    config = config_from_dict({"campaign_naming": NAMING})
    rules = [r for r in builtin_rules(config) if r.kind == "naming"]
    assert sorted(r.id for r in rules) == sorted(IDS.values())
    opps = canonical(
        "opportunities", [{"opportunity_id": f"r{i}"} for i in range(len(NAMES))]
    ).with_columns(pl.Series("primary_campaign_name", [n for n, _ in NAMES]))
    frames = {
        "campaigns": [{"campaign_id": f"r{i}", "name": n} for i, (n, _) in enumerate(NAMES)],
        "people": [{"person_id": f"r{i}", "utm_campaign": n} for i, (n, _) in enumerate(NAMES)],
        "campaign_touches": [
            {"touch_id": f"r{i}", "utm_campaign": n} for i, (n, _) in enumerate(NAMES)
        ],
        "opportunities": opps,
    }
    report = run(rules, frames, config=config)
    planted = {f"r{i}": msg for i, (_, msg) in enumerate(NAMES) if msg is not None}
    for entity, rid in IDS.items():
        assert flagged(report, rid) == set(planted), rid
        rows = report.findings_df.filter(pl.col("rule_id") == rid)
        assert dict(rows.select("record_id", "message").iter_rows()) == planted, rid
        assert set(rows["entity"]) == {entity}


def test_default_checks_campaign_names_only() -> None:
    ids = [r.id for r in builtin_rules(config_from_dict({})) if r.kind == "naming"]
    assert ids == ["campaigns.naming"]
