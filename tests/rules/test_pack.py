"""The built-in pack, kind by kind, on small hand-made frames with a small config."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from revgov.config import Config, config_from_dict
from revgov.rules import builtin_rules

from .conftest import AS_OF, flagged, run

CONFIG: dict[str, Any] = {
    "lifecycle": {
        "stages": ["lead", "mql", "sql", "customer"],
        "required_stages": ["mql"],
        "map": {"MarketingQualifiedLead": "mql"},
    },
    "pipelines": [
        {
            "name": "nb",
            "stale_days": {"Proposal": 10},
            "stages": [
                {"name": "Prospecting", "order": 1, "probability": 0.1},
                {"name": "Qualification", "order": 2, "probability": 0.2},
                {"name": "Proposal", "order": 3, "probability": 0.5},
                {"name": "Won", "order": 4, "probability": 1, "is_closed": True, "is_won": True},
                {"name": "Lost", "order": 5, "probability": 0, "is_closed": True},
            ],
        }
    ],
    "segments": [
        {"name": "smb", "employees_max": 199},
        {"name": "enterprise", "employees_min": 200},
    ],
    "utm": {
        "required": ["utm_source", "utm_medium"],
        "required_by_channel": {"cpc": ["utm_campaign"]},
        "vocabulary": {"utm_source": ["google", "linkedin"], "utm_medium": ["cpc", "email"]},
    },
    "campaign_naming": {
        "template": "{year}_{region}",
        "tokens": {"year": r"\d{4}", "region": ["na", "emea"]},
    },
    "routing": {
        "round_robin_tolerance": 0.25,
        "pools": {"smb": ["u2", "u3"]},
        "rules": [
            {"name": "us-ent", "countries": ["US"], "segments": ["enterprise"], "owner": "u1"},
            {"name": "us-smb", "countries": ["US"], "employees_max": 199, "pool": "smb"},
        ],
    },
    "sla": {
        "timezone": "UTC",
        "speed_to_lead_hours": {"default": 4, "enterprise": 1},
        "follow_up_attempts": 2,
        "follow_up_within_days": 3,
        "stale_days_default": 30,
    },
    "rules": {"skipped_stage": {"required": ["Qualification"]}},
}
CFG: Config = config_from_dict(CONFIG)

USERS = [
    {"user_id": "u1", "is_active": True, "team": "East"},
    {"user_id": "u2", "is_active": True, "team": "East"},
    {"user_id": "u3", "is_active": True, "team": "West"},
    {"user_id": "u9", "is_active": False, "team": "West"},
]


def audit_ids(rule_ids: list[str], frames: dict[str, Any]) -> Any:
    return run(builtin_rules(CFG), frames, config=CFG, only=rule_ids)


def test_pack_size_and_kinds() -> None:
    rules = builtin_rules(CFG)
    assert len(rules) >= 30
    kinds = {r.kind for r in rules}
    assert {
        "required",
        "allowed_values",
        "format",
        "range",
        "utm",
        "naming",
        "routing",
        "sla",
        "lifecycle",
        "reference",
        "duplicate",
    } <= kinds
    assert len({r.id for r in rules}) == len(rules)
    assert all(r.description and r.remediation and r.owner for r in rules)


@pytest.mark.parametrize(
    ("entity", "key"), [("people", "person_id"), ("campaign_touches", "touch_id")]
)
def test_utm_case_drift_vocabulary_and_required_tags(entity: str, key: str) -> None:
    rows = [
        {key: "ok", "utm_source": "google", "utm_medium": "email"},
        {key: "drift", "utm_source": "LinkedIn", "utm_medium": "email"},
        {key: "drift_med", "utm_source": "google", "utm_medium": "CPC", "utm_campaign": "c"},
        {key: "vocab", "utm_source": "linked-in", "utm_medium": "email"},
        {key: "both", "utm_source": "Linked-In", "utm_medium": "email"},
        {key: "paid", "utm_source": "google", "utm_medium": "cpc"},
        {key: "half", "utm_source": "google"},
        {key: "untagged"},
    ]
    other = "campaign_touches" if entity == "people" else "people"
    # Touches, when the people are audited: clean ones. People, when touches are: none.
    clean = [{"touch_id": "t", "utm_source": "google", "utm_medium": "email", "utm_campaign": "c"}]
    ids = ["utm_case_drift", "utm_vocabulary", "utm_required_by_channel", "utm_incomplete"]
    report = audit_ids(
        [f"{e}.{i}" for e in ("people", "campaign_touches") for i in ids],
        {entity: rows, other: clean if other == "campaign_touches" else []},
    )
    assert flagged(report, f"{entity}.utm_case_drift") == {"drift", "drift_med"}
    assert flagged(report, f"{entity}.utm_vocabulary") == {"vocab", "both"}
    assert flagged(report, f"{entity}.utm_required_by_channel") == {"paid"}
    assert flagged(report, f"{entity}.utm_incomplete") == {"half"}
    assert set(report.findings_df["entity"]) == {entity}
    msg = report.findings_df.filter(pl.col("record_id") == "drift")["message"].item()
    assert msg == "utm_source 'LinkedIn' is not lowercase; use 'linkedin'"
    fam = report.utm_families.filter(pl.col("tag") == "utm_source", pl.col("family") == "linkedin")
    assert set(fam["entity"]) == {entity}
    assert dict(fam.select("value", "count").iter_rows()) == {
        "LinkedIn": 1,
        "linked-in": 1,
        "Linked-In": 1,
    }
    # The same rules on the other entity: nothing (or nothing at all) to check, no findings.
    for i in ids:
        result = report.result(f"{other}.{i}")
        assert result.violating == 0 and result.status in ("pass", "not_applicable")
    if other == "people":
        assert report.result("people.utm_case_drift").status == "not_applicable"


def test_campaign_naming_finding_names_the_token() -> None:
    campaigns = [
        {"campaign_id": "c1", "name": "2026_na"},
        {"campaign_id": "c2", "name": "2026_apac"},
        {"campaign_id": "c3", "name": None},
    ]
    report = audit_ids(["campaigns.naming"], {"campaigns": campaigns})
    assert flagged(report, "campaigns.naming") == {"c2"}
    row = report.findings_df.row(0, named=True)
    assert row["value"] == "2026_apac"
    assert row["message"] == "token region='apac' is not an allowed value; allowed: na, emea"
    assert report.result("campaigns.naming").checked == 2


def test_routing_owner_pool_inactive_and_unassigned() -> None:
    people = [
        {"person_id": "ent_ok", "country": "US", "segment": "enterprise", "owner_id": "u1"},
        {"person_id": "ent_bad", "country": "US", "segment": "enterprise", "owner_id": "u2"},
        {"person_id": "smb_ok", "country": "US", "employees": 50, "owner_id": "u3"},
        {"person_id": "smb_bad", "country": "US", "employees": 50, "owner_id": "u1"},
        {"person_id": "inactive", "country": "US", "employees": 50, "owner_id": "u9"},
        {"person_id": "none", "country": "US", "employees": 50, "owner_id": None},
        {"person_id": "unrouted", "country": "FR", "employees": 50, "owner_id": "u1"},
        {"person_id": "ghost", "country": "US", "employees": 50, "owner_id": "u404"},
    ]
    report = audit_ids(
        [
            "people.misrouted",
            "people.owner_inactive",
            "people.owner_missing",
            "people.owner_unknown",
        ],
        {"people": people, "users": USERS},
    )
    # Every routing outcome counts as misrouted by default ([routing.outcomes]).
    assert flagged(report, "people.misrouted") == {"ent_bad", "smb_bad", "inactive", "none"}
    assert flagged(report, "people.owner_inactive") == {"inactive"}
    assert flagged(report, "people.owner_missing") == {"none"}
    assert flagged(report, "people.owner_unknown") == {"ghost"}
    messages = dict(
        report.findings_df.filter(pl.col("rule_id") == "people.misrouted")
        .select("record_id", "message")
        .iter_rows()
    )
    assert messages["ent_bad"] == (
        "owner u2 is not the routing table's owner u1 (wrong_owner; rule 'us-ent' routes to "
        "owner u1)"
    )
    assert messages["smb_bad"] == (
        "owner u1 is in no routing pool (no_pool; rule 'us-smb' routes to pool 'smb')"
    )
    assert messages["inactive"] == (
        "owner u9 is an inactive user (owner_inactive; rule 'us-smb' routes to pool 'smb')"
    )
    assert messages["none"] == "no owner (unassigned; rule 'us-smb' routes to pool 'smb')"
    # Misrouting is judged on routed records whose owner is known or missing (an unknown
    # owner is owner_unknown's).
    assert report.result("people.misrouted").checked == 6


def test_round_robin_imbalance() -> None:
    people = [
        {
            "person_id": f"p{i}",
            "country": "US",
            "employees": 10,
            "owner_id": "u2" if i < 8 else "u3",
        }
        for i in range(10)
    ]
    report = audit_ids(["users.round_robin_imbalance"], {"people": people, "users": USERS})
    # Even share is 5: u2 owns 8 (+60%), u3 owns 2 (-60%), both beyond 25%.
    assert flagged(report, "users.round_robin_imbalance") == {"u2", "u3"}
    msgs = set(report.findings_df["message"])
    assert "pool 'smb': owns 8 routed records; even share 5.0 (tolerance 25%)" in msgs
    balanced = [{**p, "owner_id": "u2" if i % 2 else "u3"} for i, p in enumerate(people)]
    report = audit_ids(["users.round_robin_imbalance"], {"people": balanced, "users": USERS})
    assert flagged(report, "users.round_robin_imbalance") == set()
    assert report.result("users.round_robin_imbalance").checked == 2


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_speed_to_lead_and_follow_up() -> None:
    mql = _utc(2026, 6, 1, 10)  # a Monday; SLA calendar in UTC, 9-17 Mon-Fri
    people = [
        {"person_id": "fast", "mql_at": mql, "segment": "smb"},
        {"person_id": "slow", "mql_at": mql, "segment": "smb"},
        {"person_id": "ent_slow", "mql_at": mql, "segment": "enterprise"},
        {"person_id": "never", "mql_at": mql, "segment": "smb"},
        {"person_id": "fresh", "mql_at": _utc(2026, 6, 30, 15), "segment": "smb"},
        {"person_id": "lead", "mql_at": None},
    ]
    acts = [
        {
            "activity_id": "a1",
            "person_id": "fast",
            "type": "call",
            "occurred_at": mql + timedelta(hours=1),
        },
        {
            "activity_id": "a2",
            "person_id": "fast",
            "type": "Email",
            "occurred_at": mql + timedelta(days=1),
        },
        {
            "activity_id": "a3",
            "person_id": "slow",
            "type": "call",
            "occurred_at": mql + timedelta(hours=5),
        },
        # A task is not a qualifying activity, and an activity before the MQL does not count.
        {
            "activity_id": "a4",
            "person_id": "slow",
            "type": "task",
            "occurred_at": mql + timedelta(hours=1),
        },
        {
            "activity_id": "a5",
            "person_id": "ent_slow",
            "type": "call",
            "occurred_at": mql - timedelta(hours=1),
        },
        {
            "activity_id": "a6",
            "person_id": "ent_slow",
            "type": "call",
            "occurred_at": mql + timedelta(hours=2),
        },
    ]
    report = audit_ids(
        ["people.speed_to_lead_breach", "people.follow_up_attempts"],
        {"people": people, "activities": acts},
    )
    assert flagged(report, "people.speed_to_lead_breach") == {"slow", "ent_slow", "never"}
    stl = dict(
        report.findings_df.filter(pl.col("rule_id") == "people.speed_to_lead_breach")
        .select("record_id", "message")
        .iter_rows()
    )
    assert stl["slow"] == "first qualifying activity 5.00 business hours after MQL (limit 4.00h)"
    assert (
        stl["ent_slow"] == "first qualifying activity 2.00 business hours after MQL (limit 1.00h)"
    )
    assert stl["never"].startswith("no qualifying activity yet")
    # fresh: MQL'd at 15:00 the day before as_of, 2 business hours ago: not yet a breach.
    assert report.result("people.speed_to_lead_breach").checked == 5
    # Follow-up: only touched MQLs whose window has passed; 'fast' has 2 attempts, others 1.
    assert flagged(report, "people.follow_up_attempts") == {"slow", "ent_slow"}


def test_speed_to_lead_limit_uses_the_derived_segment() -> None:
    # No segment column value: the segment comes from [[segments]] by employees, the same
    # derivation when_segment and routing use. enterprise (>= 200 employees) has a 1 h limit.
    mql = _utc(2026, 6, 1, 10)
    people = [
        {"person_id": "big", "mql_at": mql, "employees": 5000},
        {"person_id": "small", "mql_at": mql, "employees": 10},
        {"person_id": "tagged", "mql_at": mql, "employees": 5000, "segment": "smb"},
    ]
    acts = [
        {
            "activity_id": f"a{i}",
            "person_id": p,
            "type": "call",
            "occurred_at": mql + timedelta(hours=2),
        }
        for i, p in enumerate(["big", "small", "tagged"])
    ]
    cfg = config_from_dict(
        {
            **CONFIG,
            "required_fields": [
                {"entity": "people", "fields": ["title"], "when_segment": ["enterprise"]}
            ],
        }
    )
    report = run(
        builtin_rules(cfg),
        {"people": people, "activities": acts},
        config=cfg,
        only=["people.speed_to_lead_breach", "people.title_missing"],
    )
    # 2 business hours: a breach for the enterprise MQL only; a segment column wins.
    assert flagged(report, "people.speed_to_lead_breach") == {"big"}
    assert report.findings_df.filter(pl.col("record_id") == "big")["message"].to_list() == [
        "first qualifying activity 2.00 business hours after MQL (limit 1.00h)",
        "title is empty while segment is enterprise",
    ]
    assert flagged(report, "people.title_missing") == {"big"}


def test_speed_to_lead_from_creation() -> None:
    # The SLA clock's start is governed in [sla], for the audit and the KPIs alike.
    cfg = config_from_dict(
        {**CONFIG, "sla": {**CONFIG["sla"], "speed_to_lead_start": "created_at"}}
    )
    created = _utc(2026, 6, 1, 10)
    people = [
        {"person_id": "slow", "created_at": created, "segment": "smb"},
        {"person_id": "fast", "created_at": created, "segment": "smb", "mql_at": None},
    ]
    acts = [
        {
            "activity_id": "a",
            "person_id": "slow",
            "type": "call",
            "occurred_at": created + timedelta(hours=6),
        },
        {
            "activity_id": "b",
            "person_id": "fast",
            "type": "call",
            "occurred_at": created + timedelta(hours=1),
        },
    ]
    report = run(
        builtin_rules(cfg),
        {"people": people, "activities": acts},
        config=cfg,
        only=["people.speed_to_lead_breach"],
    )
    assert flagged(report, "people.speed_to_lead_breach") == {"slow"}
    assert report.findings_df["message"].item() == (
        "first qualifying activity 6.00 business hours after creation (limit 4.00h)"
    )


def test_stale_past_close_and_amount_rules() -> None:
    opps = [
        {
            "opportunity_id": "fresh",
            "pipeline": "nb",
            "stage": "Proposal",
            "is_closed": False,
            "stage_entered_at": AS_OF - timedelta(days=5),
            "close_date": date(2026, 8, 1),
            "amount": 5.0,
        },
        {
            "opportunity_id": "stale",
            "pipeline": "nb",
            "stage": "Proposal",
            "is_closed": False,
            "stage_entered_at": AS_OF - timedelta(days=11),
            "close_date": date(2026, 8, 1),
            "amount": 5.0,
        },
        {
            "opportunity_id": "stale_default",
            "pipeline": None,
            "stage": "Prospecting",
            "is_closed": False,
            "stage_entered_at": AS_OF - timedelta(days=31),
            "close_date": date(2026, 8, 1),
            "amount": 5.0,
        },
        {
            "opportunity_id": "overdue",
            "pipeline": "nb",
            "stage": "Prospecting",
            "is_closed": False,
            "stage_entered_at": AS_OF - timedelta(days=1),
            "close_date": date(2026, 6, 30),
            "amount": 5.0,
        },
        {
            "opportunity_id": "closed_old",
            "pipeline": "nb",
            "stage": "Won",
            "is_closed": True,
            "is_won": True,
            "stage_entered_at": AS_OF - timedelta(days=300),
            "close_date": date(2025, 1, 1),
            "amount": 0.0,
        },
        {
            "opportunity_id": "odd_stage",
            "pipeline": "nb",
            "stage": "Closed-Won",
            "is_closed": False,
            "close_date": date(2026, 8, 1),
            "amount": -3.0,
        },
        {
            "opportunity_id": "flags",
            "pipeline": "nb",
            "stage": "Lost",
            "is_closed": False,
            "close_date": date(2026, 8, 1),
            "created_at": _utc(2026, 9, 1),
        },
        {"opportunity_id": "other_pipe", "pipeline": "renewals", "stage": "Anything"},
    ]
    ids = [
        "opportunities.stale_in_stage",
        "opportunities.past_close_date",
        "opportunities.closed_won_without_amount",
        "opportunities.stage_unknown",
        "opportunities.pipeline_unknown",
        "opportunities.amount_negative",
        "opportunities.won_flags_mismatch",
        "opportunities.close_before_created",
        "opportunities.close_date_missing",
    ]
    report = audit_ids(ids, {"opportunities": opps})
    assert flagged(report, "opportunities.stale_in_stage") == {"stale", "stale_default"}
    assert flagged(report, "opportunities.past_close_date") == {"overdue"}
    assert flagged(report, "opportunities.closed_won_without_amount") == {"closed_old"}
    assert flagged(report, "opportunities.stage_unknown") == {"odd_stage"}
    assert flagged(report, "opportunities.pipeline_unknown") == {"other_pipe"}
    assert flagged(report, "opportunities.amount_negative") == {"odd_stage"}
    assert flagged(report, "opportunities.won_flags_mismatch") == {"flags"}
    assert flagged(report, "opportunities.close_before_created") == {"flags"}
    assert flagged(report, "opportunities.close_date_missing") == set()
    stale_msg = report.findings_df.filter(pl.col("record_id") == "stale")["message"].item()
    assert stale_msg == "in 'Proposal' since 2026-06-20; stale after 10 days"


def _events(record: str, entity: str, field: str, path: list[str | None]) -> list[dict[str, Any]]:
    t0 = _utc(2026, 1, 1)
    return [
        {
            "event_id": f"{record}-{i}",
            "record_entity": entity,
            "record_id": record,
            "field": field,
            "from_value": a,
            "to_value": b,
            "changed_at": t0 + timedelta(days=i),
        }
        for i, (a, b) in enumerate(itertools.pairwise(path))
    ]


def test_stage_history_regressions_and_skips() -> None:
    opps = [
        {"opportunity_id": o, "pipeline": "nb"}
        for o in ("clean", "back", "skip", "lost_early", "won_direct")
    ]
    events = (
        _events(
            "clean",
            "opportunities",
            "stage",
            [None, "Prospecting", "Qualification", "Proposal", "Won"],
        )
        + _events(
            "back",
            "opportunities",
            "stage",
            [None, "Prospecting", "Qualification", "Proposal", "Qualification"],
        )
        + _events("skip", "opportunities", "stage", [None, "Prospecting", "Proposal"])
        + _events("lost_early", "opportunities", "stage", [None, "Prospecting", "Lost"])
        + _events("won_direct", "opportunity", "stage", [None, "Prospecting", "Won"])
    )
    report = audit_ids(
        ["opportunities.stage_regression", "opportunities.skipped_stage"],
        {"opportunities": opps, "stage_events": events},
    )
    assert flagged(report, "opportunities.stage_regression") == {"back"}
    assert flagged(report, "opportunities.skipped_stage") == {"skip", "won_direct"}
    row = report.findings_df.filter(pl.col("rule_id") == "opportunities.stage_regression").row(
        0, named=True
    )
    assert row["value"] == "Proposal -> Qualification at 2026-01-04 00:00:00"


def test_lifecycle_history_uses_the_map() -> None:
    people = [{"person_id": p} for p in ("up", "down", "skipped")]
    events = (
        _events("up", "people", "lifecycle_stage", [None, "lead", "MarketingQualifiedLead", "sql"])
        + _events("down", "people", "lifecycle_stage", [None, "lead", "mql", "sql", "mql"])
        + _events("skipped", "people", "lifecycle_stage", [None, "lead", "sql"])
    )
    report = audit_ids(
        ["people.lifecycle_regression", "people.skipped_lifecycle_stage"],
        {"people": people, "stage_events": events},
    )
    assert flagged(report, "people.lifecycle_regression") == {"down"}
    assert flagged(report, "people.skipped_lifecycle_stage") == {"skipped"}


def test_links_and_conversions() -> None:
    people = [
        {"person_id": "p1", "is_converted": True, "account_id": None},
        {"person_id": "p2", "is_converted": True, "account_id": "a1"},
        {"person_id": "p3", "is_converted": False, "account_id": None},
    ]
    acts = [
        {"activity_id": "x1", "person_id": "p1"},
        {"activity_id": "x2", "person_id": "gone"},
        {"activity_id": "x3", "person_id": None},
    ]
    events = _events("p404", "people", "lifecycle_stage", [None, "lead"]) + _events(
        "p1", "people", "lifecycle_stage", [None, "lead"]
    )
    ids = [
        "people.converted_without_account",
        "activities.person_missing",
        "stage_events.record_missing",
    ]
    frames = {
        "people": people,
        "accounts": [{"account_id": "a1"}],
        "activities": acts,
        "stage_events": events,
    }
    report = audit_ids(ids, frames)
    assert flagged(report, "people.converted_without_account") == {"p1"}
    assert flagged(report, "activities.person_missing") == {"x2"}
    # Without an opportunities frame the event check cannot run: not applicable, and why.
    assert report.result("stage_events.record_missing").reason == (
        "no opportunities records were pulled: map the opportunities entity in "
        "[sources.entities.opportunities] of revgov.toml"
    )
    assert audit_ids(ids, {**frames, "opportunities": []}).result(
        "stage_events.record_missing"
    ).reason == (
        "no opportunities rows to check against: pull opportunities "
        "([sources.entities.opportunities] of revgov.toml)"
    )
    report = audit_ids(ids, {**frames, "opportunities": [{"opportunity_id": "o1"}]})
    assert flagged(report, "stage_events.record_missing") == {"p404-0"}


@pytest.mark.parametrize("entity", ["accounts", "opportunities"])
def test_misrouted_joins_the_pack_for_routed_entities(entity: str) -> None:
    cfg = dict(CONFIG)
    cfg["routing"] = {
        "rules": [{"name": "all", "entity": entity, "owner": "u1"}],
    }
    ids = [r.id for r in builtin_rules(config_from_dict(cfg))]
    assert f"{entity}.misrouted" in ids
    assert f"{entity}.misrouted" not in [r.id for r in builtin_rules(CFG)]
