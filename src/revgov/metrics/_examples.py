"""The small hand-made CRM behind every worked example in docs/metrics.md.

Acme Analytics sells to three segments with one five-stage pipeline. The data is small
enough to check each KPI by hand, and it goes through :func:`revgov.model.type_records`, so
it has exactly the canonical schema a pull produces.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from revgov.config import Config, config_from_dict
from revgov.model.frames import type_records

__all__ = ["EXAMPLE_AS_OF", "example_config", "example_frames", "shown_columns"]

#: The moment the examples are evaluated at.
EXAMPLE_AS_OF = datetime(2024, 4, 1, tzinfo=UTC)

_CONFIG: dict[str, Any] = {
    "company": {"name": "Acme Analytics", "currency": "USD"},
    "pipelines": [
        {
            "name": "new_business",
            "stages": [
                {"name": "Discovery", "order": 1, "probability": 0.1},
                {"name": "Demo", "order": 2, "probability": 0.3},
                {"name": "Proposal", "order": 3, "probability": 0.6},
                {"name": "Won", "order": 4, "probability": 1.0, "is_closed": True, "is_won": True},
                {"name": "Lost", "order": 5, "probability": 0.0, "is_closed": True},
            ],
        }
    ],
    "qualified": {"opportunity_min_stage": "Demo"},
    "icp": {"industries": ["software"], "employees_min": 50, "employees_max": 2000},
    "sla": {
        "timezone": "America/New_York",
        "holidays": ["2024-01-15"],
        "speed_to_lead_hours": {"default": 4.0, "enterprise": 2.0},
    },
}

# fmt: off
# id, account, segment, stage, amount, created, closed_at, close_date, owner, source,
# primary campaign, primary person
_OPPS = [
    ("o1", "a1", "mid", "Won", 12000, "2024-01-05", "2024-02-20", "2024-02-20", "u1", "paid_search", "c1", "p1"),
    ("o2", "a2", "enterprise", "Won", 30000, "2024-01-10", "2024-03-15", "2024-03-15", "u2", "outbound", None, "p3"),
    ("o3", "a3", "smb", "Lost", 5000, "2024-01-20", "2024-02-10", "2024-02-10", "u1", "webinar", "c2", "p5"),
    ("o4", "a4", "smb", "Proposal", 8000, "2024-02-01", None, "2024-04-20", "u1", "paid_search", "c1", "p6"),
    ("o5", "a1", "mid", "Demo", 15000, "2024-02-15", None, "2024-05-10", "u2", "referral", None, "p2"),
    ("o6", "a2", "enterprise", "Discovery", 40000, "2024-03-01", None, "2024-06-28", "u2", "outbound", None, "p4"),
    ("o7", "a3", "smb", "Won", 6000, "2024-02-05", "2024-03-25", "2024-03-25", "u1", "webinar", "c2", "p5"),
    ("o8", "a4", "smb", "Lost", 9000, "2024-03-05", "2024-03-28", "2024-03-28", "u2", "paid_search", "c1", "p7"),
]

# Stage history: record, to_value, changed_at (each deal"s first event is its creation).
_EVENTS = [
    ("o1", "Discovery", "2024-01-05 10:00"),
    ("o1", "Demo", "2024-01-15 10:00"),
    ("o1", "Proposal", "2024-02-01 10:00"),
    ("o1", "Won", "2024-02-20 10:00"),
    ("o2", "Discovery", "2024-01-10 10:00"),
    ("o2", "Demo", "2024-01-20 10:00"),
    ("o2", "Proposal", "2024-02-20 10:00"),
    ("o2", "Won", "2024-03-15 10:00"),
    ("o3", "Discovery", "2024-01-20 10:00"),
    ("o3", "Lost", "2024-02-10 10:00"),
    ("o4", "Discovery", "2024-02-01 10:00"),
    ("o4", "Demo", "2024-02-10 10:00"),
    ("o4", "Proposal", "2024-03-01 10:00"),
    ("o5", "Discovery", "2024-02-15 10:00"),
    ("o5", "Demo", "2024-03-10 10:00"),
    ("o6", "Discovery", "2024-03-01 10:00"),
    ("o7", "Discovery", "2024-02-05 10:00"),
    ("o7", "Proposal", "2024-02-25 10:00"),
    ("o7", "Won", "2024-03-25 10:00"),
    ("o8", "Discovery", "2024-03-05 10:00"),
    ("o8", "Demo", "2024-03-12 10:00"),
    ("o8", "Lost", "2024-03-28 10:00"),
]

# person, account, segment, created_at, mql_at, lifecycle, role, source, industry, employees, country
_PEOPLE = [
    ("p1", "a1", "mid", "2024-01-02 14:00", "2024-01-02 14:30", "customer", "champion", "paid_search", "software", 250, "US"),
    ("p2", "a1", "mid", "2024-01-20 16:30", "2024-01-20 17:00", "opportunity", "economic buyer", "email", "software", 250, "US"),
    ("p3", "a2", "enterprise", "2024-01-08 08:00", "2024-01-08 08:30", "customer", "champion", "outbound", "software", 1200, "US"),
    ("p4", "a2", "enterprise", "2024-02-20 11:00", "2024-02-20 11:30", "opportunity", "user", "outbound", "software", 1200, "US"),
    ("p5", "a3", "smb", "2024-01-12 22:00", "2024-01-12 22:30", "customer", "champion", "webinar", "retail", 40, "GB"),
    ("p6", "a4", "smb", "2024-01-25 10:00", "2024-01-25 10:30", "opportunity", "champion", "paid_search", "software", 90, "US"),
    ("p7", "a4", "smb", "2024-02-28 15:00", "2024-02-28 15:30", "sql", "user", "paid_search", "software", 90, "US"),
    ("p8", None, "smb", "2024-03-04 09:30", "2024-03-04 10:00", "mql", None, "social", "retail", 15, "FR"),
    ("p9", None, "mid", "2024-03-15 13:00", "2024-03-15 13:30", "mql", None, "paid_search", "software", 300, "US"),
    ("p10", None, "smb", "2024-03-29 17:45", None, "lead", None, "social", None, None, "US"),
]

# activity, type, person, opportunity, occurred_at
_ACTIVITIES = [
    ("t1", "call", "p1", None, "2024-01-02 16:00"),
    ("t2", "email", "p2", None, "2024-01-22 10:00"),
    ("t3", "call", "p3", None, "2024-01-08 09:15"),
    ("t4", "meeting", "p4", "o6", "2024-02-22 15:00"),
    ("t5", "email", "p5", None, "2024-01-16 15:00"),
    ("t6", "call", "p6", "o4", "2024-01-25 16:30"),
    ("t7", "email", "p7", None, "2024-02-29 14:00"),
    ("t8", "task", "p8", None, "2024-03-04 10:00"),
    ("t9", "call", "p9", None, "2024-03-18 09:30"),
    ("t10", "meeting", "p6", "o4", "2024-03-20 14:00"),
    ("t11", "meeting", "p2", "o5", "2024-03-12 16:00"),
    ("t12", "email", "p1", None, "2024-03-14 12:00"),
    ("t13", "call", "p3", "o6", "2024-03-25 10:00"),
]

_CAMPAIGNS = [
    ("c1", "2024-q1_paid-search_us_demo", "paid-search", 6000.0),
    ("c2", "2024-q1_webinar_uk_dataops", "webinar", 3000.0),
    ("c3", "2024-q1_email_us_newsletter", "email", 500.0),
]

# touch, person, campaign, touched_at
_TOUCHES = [
    ("x1", "p1", "c3", "2023-12-20 10:00"),
    ("x2", "p1", "c1", "2024-01-02 13:00"),
    ("x3", "p5", "c2", "2024-01-12 21:00"),
    ("x4", "p6", "c1", "2024-01-25 09:00"),
    ("x5", "p7", "c1", "2024-02-28 14:00"),
    ("x6", "p2", "c3", "2024-01-20 16:00"),
    ("x7", "p9", "c1", "2024-03-15 12:00"),
]

# spend line, month, channel, campaign, amount
_SPEND = [
    ("s1", "2024-01-01", "paid-search", "c1", 2000.0),
    ("s2", "2024-02-01", "paid-search", "c1", 2000.0),
    ("s3", "2024-03-01", "paid-search", "c1", 2000.0),
    ("s4", "2024-01-01", "webinar", "c2", 3000.0),
    ("s5", "2024-01-01", "email", "c3", 500.0),
]

# target, month, metric, segment, amount
_TARGETS = [
    ("g1", "2024-04-01", "bookings", "mid", 20000.0),
    ("g2", "2024-04-01", "bookings", "enterprise", 50000.0),
    ("g3", "2024-04-01", "bookings", "smb", 15000.0),
    ("g4", "2024-04-01", "step_conversion:Demo", None, 0.8),
    ("g5", "2024-04-01", "step_conversion:Won", None, 0.5),
]
# fmt: on


_PULLED = datetime(2024, 4, 1, tzinfo=UTC)


def _typed(entity: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return type_records(entity, rows, source_system="example", pulled_at=_PULLED).frame


def example_config() -> Config:
    """The examples' governed definitions."""
    return config_from_dict(_CONFIG)


def example_frames() -> dict[str, pl.DataFrame]:
    """Every entity of the example CRM as a typed polars frame."""
    cols: tuple[str, ...] = (
        "opportunity_id",
        "account_id",
        "segment",
        "stage",
        "amount",
        "created_at",
    )
    cols += ("closed_at", "close_date", "owner_id", "lead_source", "primary_campaign_id")
    cols += ("primary_person_id",)
    opps = [dict(zip(cols, row, strict=True)) for row in _OPPS]
    for o in opps:
        o["pipeline"] = "new_business"
        o["type"] = "new business"
        o["is_closed"] = o["stage"] in ("Won", "Lost")
        o["is_won"] = o["stage"] == "Won"
    events = [
        {
            "event_id": f"e{i + 1}",
            "record_entity": "opportunities",
            "record_id": rid,
            "field": "stage",
            "to_value": to,
            "changed_at": at,
        }
        for i, (rid, to, at) in enumerate(_EVENTS)
    ]
    pcols: tuple[str, ...] = (
        "person_id",
        "account_id",
        "segment",
        "created_at",
        "mql_at",
        "lifecycle_stage",
    )
    pcols += ("role", "lead_source", "industry", "employees", "country")
    people = [dict(zip(pcols, row, strict=True)) for row in _PEOPLE]
    acols = ("activity_id", "type", "person_id", "opportunity_id", "occurred_at")
    frames = {
        "opportunities": _typed("opportunities", opps),
        "stage_events": _typed("stage_events", events),
        "people": _typed("people", people),
        "activities": _typed("activities", [dict(zip(acols, r, strict=True)) for r in _ACTIVITIES]),
        "campaigns": _typed(
            "campaigns",
            [
                dict(zip(("campaign_id", "name", "channel", "cost"), r, strict=True))
                for r in _CAMPAIGNS
            ],
        ),
        "campaign_touches": _typed(
            "campaign_touches",
            [
                dict(zip(("touch_id", "person_id", "campaign_id", "touched_at"), r, strict=True))
                for r in _TOUCHES
            ],
        ),
        "spend": _typed(
            "spend",
            [
                dict(
                    zip(("spend_id", "period", "channel", "campaign_id", "amount"), r, strict=True)
                )
                for r in _SPEND
            ],
        ),
        "targets": _typed(
            "targets",
            [
                dict(zip(("target_id", "period", "metric", "segment", "amount"), r, strict=True))
                for r in _TARGETS
            ],
        ),
        "users": _typed(
            "users",
            [
                {"user_id": "u1", "name": "Ana", "team": "AE West", "region": "West"},
                {"user_id": "u2", "name": "Ben", "team": "AE East", "region": "East"},
            ],
        ),
        "accounts": _typed(
            "accounts",
            [
                {
                    "account_id": "a1",
                    "name": "Globex",
                    "industry": "software",
                    "employees": 250,
                    "country": "US",
                    "created_at": "2023-11-01",
                },
                {
                    "account_id": "a2",
                    "name": "Initech",
                    "industry": "software",
                    "employees": 1200,
                    "country": "US",
                    "created_at": "2023-12-01",
                },
                {
                    "account_id": "a3",
                    "name": "Umbrella",
                    "industry": "retail",
                    "employees": 40,
                    "country": "GB",
                    "created_at": "2024-01-12",
                },
                {
                    "account_id": "a4",
                    "name": "Hooli",
                    "industry": "software",
                    "employees": 90,
                    "country": "US",
                    "created_at": "2024-01-25",
                },
            ],
        ),
    }
    return frames


#: The columns docs/metrics.md shows of each example input (the rest are blank or lineage).
def shown_columns() -> dict[str, list[str]]:
    return {
        "opportunities": [
            "opportunity_id",
            "account_id",
            "segment",
            "stage",
            "amount",
            "created_at",
            "closed_at",
            "close_date",
            "owner_id",
            "lead_source",
            "primary_campaign_id",
            "primary_person_id",
        ],
        "stage_events": ["record_id", "to_value", "changed_at"],
        "people": [
            "person_id",
            "account_id",
            "segment",
            "created_at",
            "mql_at",
            "lifecycle_stage",
            "role",
            "lead_source",
            "industry",
            "employees",
            "country",
        ],
        "activities": ["activity_id", "type", "person_id", "opportunity_id", "occurred_at"],
        "campaigns": ["campaign_id", "name", "channel", "cost"],
        "campaign_touches": ["touch_id", "person_id", "campaign_id", "touched_at"],
        "spend": ["spend_id", "period", "channel", "campaign_id", "amount"],
        "targets": ["target_id", "period", "metric", "segment", "amount"],
        "users": ["user_id", "name", "team", "region"],
        "accounts": ["account_id", "name", "industry", "employees", "country", "created_at"],
    }
