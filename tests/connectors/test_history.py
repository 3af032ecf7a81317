"""History in every vendor shape becomes the same canonical stage_events."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from revgov.connectors.history import (
    STAGE_EVENT_COLUMNS,
    derive_entered_at,
    events_from_changes,
    events_from_date_columns,
    events_from_entered,
)

# The path every shape below describes: deal 006A went Prospecting -> Proposal -> Negotiation
# -> Proposal (a regression); deal 006B entered Prospecting only.
EXPECTED = [
    ("006A", None, "Prospecting", "2024-01-01T10:00:00Z"),
    ("006A", "Prospecting", "Proposal", "2024-01-05T10:00:00Z"),
    ("006A", "Proposal", "Negotiation", "2024-02-01T10:00:00Z"),
    ("006A", "Negotiation", "Proposal", "2024-02-10T10:00:00Z"),
    ("006B", None, "Prospecting", "2024-03-01T00:00:00Z"),
]


def path(events: pl.LazyFrame) -> list[tuple[str | None, ...]]:
    rows = events.collect().sort("record_id", "changed_at")
    assert rows.columns == list(STAGE_EVENT_COLUMNS)
    assert set(rows["record_entity"]) == {"opportunities"} and set(rows["field"]) == {"stage"}
    assert rows["event_id"].n_unique() == rows.height
    # Values stay text as the source spelled them; compare the instants they name.
    instants = rows["changed_at"].str.to_datetime(time_zone="UTC", strict=False)
    assert instants.null_count() == 0
    normal = instants.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return list(
        rows.with_columns(normal.alias("changed_at"))
        .select("record_id", "from_value", "to_value", "changed_at")
        .iter_rows()
    )


def test_rows_per_stage_entered_derive_the_from_value_salesforce_opportunity_history() -> None:
    # OpportunityHistory in arrival order (not sorted), REST '+0000' and Bulk 'Z' datetimes,
    # with a row written because only the amount changed (same StageName: not a transition).
    history = pl.DataFrame(
        {
            "OpportunityId": ["006A", "006B", "006A", "006A", "006A", "006A"],
            "StageName": [
                "Proposal",
                "Prospecting",
                "Prospecting",
                "Proposal",
                "Negotiation",
                "Proposal",
            ],
            "CreatedDate": [
                "2024-01-05T10:00:00.000+0000",
                "2024-03-01T00:00:00.000Z",
                "2024-01-01T10:00:00.000+0000",
                "2024-01-20T10:00:00.000+0000",
                "2024-02-01T10:00:00.000+0000",
                "2024-02-10T10:00:00.000+0000",
            ],
        }
    )
    events = events_from_entered(
        history,
        record_entity="opportunities",
        field="stage",
        record_id="OpportunityId",
        value="StageName",
        changed_at="CreatedDate",
    )
    assert path(events) == EXPECTED


def test_the_order_rows_arrive_in_does_not_matter_hubspot_newest_first() -> None:
    newest_first = pl.DataFrame(
        {
            "record_id": ["006A"] * 4 + ["006B"],
            "to_value": ["Proposal", "Negotiation", "Proposal", "Prospecting", "Prospecting"],
            "changed_at": [e[3] for e in reversed(EXPECTED[:4])] + [EXPECTED[4][3]],
        }
    )
    events = events_from_entered(newest_first, record_entity="opportunities", field="stage")
    assert path(events) == EXPECTED
    again = events_from_entered(
        newest_first.reverse(), record_entity="opportunities", field="stage"
    )
    assert_frame_equal(events.collect().sort("event_id"), again.collect().sort("event_id"))


def test_field_changes_keep_old_and_new_values_salesforce_field_history() -> None:
    rows = [
        ("006A", "created", None, None, "2024-01-01T10:00:00Z"),
        ("006A", "StageName", None, "Prospecting", "2024-01-01T10:00:00Z"),
        ("006A", "StageName", "Prospecting", "Proposal", "2024-01-05T10:00:00Z"),
        ("006A", "Amount", "100", "200", "2024-01-06T10:00:00Z"),
        ("006A", "StageName", "Proposal", "Negotiation", "2024-02-01T10:00:00Z"),
        ("006A", "StageName", "Negotiation", "Proposal", "2024-02-10T10:00:00Z"),
        ("006B", "StageName", None, "Prospecting", "2024-03-01T00:00:00Z"),
    ]
    history = pl.DataFrame(
        rows,
        schema=["OpportunityId", "Field", "OldValue", "NewValue", "CreatedDate"],
        orient="row",
    )
    events = events_from_changes(
        history,
        record_entity="opportunities",
        fields={"StageName": "stage"},
        record_id="OpportunityId",
        field="Field",
        old="OldValue",
        new="NewValue",
        changed_at="CreatedDate",
    )
    assert path(events) == EXPECTED


def test_date_entered_columns_become_the_path_hubspot() -> None:
    deals = pl.DataFrame(
        {
            "hs_object_id": ["006A", "006B"],
            "hs_v2_date_entered_prospecting": [EXPECTED[0][3], EXPECTED[4][3]],
            "hs_v2_date_entered_proposal": [EXPECTED[1][3], None],
            "hs_v2_date_entered_negotiation": [EXPECTED[2][3], None],
        }
    )
    columns = {
        "hs_v2_date_entered_prospecting": "Prospecting",
        "hs_v2_date_entered_proposal": "Proposal",
        "hs_v2_date_entered_negotiation": "Negotiation",
        "hs_v2_date_entered_closedwon": "Closed Won",  # not in this export: skipped
    }
    events = events_from_date_columns(
        deals,
        record_entity="opportunities",
        field="stage",
        columns=columns,
        record_id="hs_object_id",
    )
    # A date-entered column keeps only the latest entry: the regression back to Proposal is
    # all that survives of Proposal, which is why history is preferred where a CRM keeps it.
    assert path(events) == [EXPECTED[0], EXPECTED[1], EXPECTED[2], EXPECTED[4]]


def test_stage_entered_at_and_lifecycle_timestamps_come_from_events() -> None:
    events = events_from_entered(
        pl.DataFrame(
            {
                "record_id": ["006A"] * 4 + ["006B"],
                "to_value": [e[2] for e in EXPECTED],
                "changed_at": [e[3] for e in EXPECTED],
            }
        ),
        record_entity="opportunities",
        field="stage",
    )
    deals = pl.DataFrame(
        {
            "opportunity_id": ["006A", "006B", "006C"],
            "stage": ["Proposal", "Prospecting", "Proposal"],
            "stage_entered_at": [None, "2024-03-02T00:00:00Z", None],
        }
    )
    out = derive_entered_at(deals, events, key="opportunity_id").collect()
    # 006A re-entered Proposal on Feb 10 (the latest entry counts); 006B keeps its own value;
    # 006C has no history and stays unknown.
    assert out["stage_entered_at"].to_list() == [
        "2024-02-10T10:00:00Z",
        "2024-03-02T00:00:00Z",
        None,
    ]
    first = derive_entered_at(
        deals.drop("stage_entered_at"),
        events,
        key="opportunity_id",
        current=None,
        value="Proposal",
        target="proposal_at",
        which="first",
    ).collect()
    assert first["proposal_at"].to_list() == ["2024-01-05T10:00:00Z", None, None]
