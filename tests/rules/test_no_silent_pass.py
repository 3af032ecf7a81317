"""No silent passes: a rule that cannot see its inputs is not_applicable with the reason
(which column of which entity, how to provide it), on vendor-shaped history with planted
defects (Salesforce's OpportunityHistory: one row per stage entered, no from-value)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from revgov.config import config_from_dict
from revgov.definitions.history import with_from_values
from revgov.rules import audit

from .conftest import AS_OF, canonical, flagged

CONFIG = config_from_dict(
    {
        "pipelines": [
            {
                "name": "nb",
                "stale_days": {"Proposal": 10},
                "stages": [
                    {"name": "Prospecting", "order": 1, "probability": 0.1},
                    {"name": "Qualification", "order": 2, "probability": 0.2},
                    {"name": "Proposal", "order": 3, "probability": 0.5},
                    {
                        "name": "Closed Won",
                        "order": 4,
                        "probability": 1,
                        "is_closed": True,
                        "is_won": True,
                    },
                    {"name": "Closed Lost", "order": 5, "probability": 0, "is_closed": True},
                ],
            }
        ],
        "sla": {"stale_days_default": 30},
    }
)

DAY = timedelta(days=1)


def _sf_history(deal: str, moves: list[tuple[str, datetime]]) -> list[dict[str, Any]]:
    """OpportunityHistory as the mapping layer gives it: StageName and CreatedDate per
    stage entered, no from-value (and the rows arrive newest first)."""
    rows = [
        {
            "event_id": f"{deal}-{i}",
            "record_entity": "Opportunity",
            "record_id": deal,
            "field": "stage",
            "to_value": stage,
            "changed_at": at,
        }
        for i, (stage, at) in enumerate(moves)
    ]
    return rows[::-1]


def _frames(with_history_times: bool = True) -> dict[str, pl.LazyFrame]:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    deals = [
        # o_back: Proposal -> Qualification (a regression only the order of the rows shows)
        {
            "opportunity_id": "o_back",
            "pipeline": "nb",
            "stage": "Qualification",
            "is_closed": False,
        },
        # o_fwd: straight ahead, entered Proposal 4 days before as_of (not stale)
        {"opportunity_id": "o_fwd", "pipeline": "nb", "stage": "Proposal", "is_closed": False},
        # o_stale: entered Proposal 40 days before as_of, with a later non-stage row (amount
        # change) that repeats the stage: still stale since the first entry
        {"opportunity_id": "o_stale", "pipeline": "nb", "stage": "Proposal", "is_closed": False},
        # o_new: one row only (created in Prospecting): no move to check
        {"opportunity_id": "o_new", "pipeline": "nb", "stage": "Prospecting", "is_closed": False},
    ]
    events = [
        *_sf_history(
            "o_back",
            [
                ("Prospecting", t0),
                ("Proposal", AS_OF - 5 * DAY),
                ("Qualification", AS_OF - 3 * DAY),
            ],
        ),
        *_sf_history(
            "o_fwd",
            [
                ("Prospecting", t0),
                ("Qualification", AS_OF - 9 * DAY),
                ("Proposal", AS_OF - 4 * DAY),
            ],
        ),
        *_sf_history(
            "o_stale",
            [("Prospecting", t0), ("Proposal", AS_OF - 40 * DAY), ("Proposal", AS_OF - 2 * DAY)],
        ),
        *_sf_history("o_new", [("Prospecting", AS_OF - DAY)]),
    ]
    ev = canonical("stage_events", events).drop("from_value")
    if not with_history_times:
        ev = ev.with_columns(pl.lit(None, ev.schema["changed_at"]).alias("changed_at"))
    opps = canonical("opportunities", deals).drop("stage_entered_at")
    return {"opportunities": opps.lazy(), "stage_events": ev.lazy()}


RULES = ["opportunities.stage_regression", "opportunities.stale_in_stage"]


def test_from_value_is_derived_from_the_order_of_the_rows() -> None:
    ev = _frames()["stage_events"]
    import narwhals as nw

    out = with_from_values(nw.from_native(ev)).to_native().collect()
    back = out.filter(pl.col("record_id") == "o_back").sort("changed_at")
    assert back["from_value"].to_list() == [None, "Prospecting", "Proposal"]


def test_regression_and_staleness_found_from_salesforce_shaped_history() -> None:
    report = audit(_frames(), config=CONFIG, as_of=AS_OF, only=RULES)
    assert flagged(report, "opportunities.stage_regression") == {"o_back"}
    assert flagged(report, "opportunities.stale_in_stage") == {"o_stale"}
    regression = report.result("opportunities.stage_regression")
    # Only deals with a move are checked: o_new has one row, nothing to compare.
    assert (regression.checked, regression.violating, regression.status) == (3, 1, "fail")
    msg = report.findings_df.filter(pl.col("rule_id") == "opportunities.stale_in_stage")
    assert msg["message"].item() == (
        "in 'Proposal' since 2026-05-22 (per stage history); stale after 10 days"
    )
    stale = report.result("opportunities.stale_in_stage")
    assert stale.checked == 4 and stale.reason is None


def test_history_without_order_or_from_value_is_not_applicable_never_a_pass() -> None:
    report = audit(_frames(with_history_times=False), config=CONFIG, as_of=AS_OF, only=RULES)
    for rid in RULES:
        res = report.result(rid)
        assert (res.status, res.checked, res.violating) == ("not_applicable", 0, 0), rid
    reason = report.result("opportunities.stage_regression").reason or ""
    assert reason.startswith("none of the 4 opportunities rows is in the rule's scope: needs")
    assert "stage_events rows of field 'stage'" in reason
    assert "changed_at" in reason and "[sources.entities.stage_events]" in reason
    stale = report.result("opportunities.stale_in_stage").reason or ""
    assert "opportunities.stage_entered_at" in stale and "[sources.entities.stage_events]" in stale
    assert report.score is None
    md = report.to_markdown()
    assert "## Not applicable" in md and "stage_entered_at" in md
    js = report.to_dict()
    by_id = {r["id"]: r for r in js["rules"]}
    assert by_id["opportunities.stage_regression"]["status"] == "not_applicable"
    assert by_id["opportunities.stage_regression"]["reason"] == reason


def test_a_column_blank_everywhere_is_named() -> None:
    frames = _frames()
    people = canonical("people", [{"person_id": "p1"}, {"person_id": "p2"}])
    report = audit(
        {**frames, "people": people.lazy()},
        config=CONFIG,
        as_of=AS_OF,
        only=["people.email_format"],
    )
    res = report.result("people.email_format")
    assert res.status == "not_applicable"
    assert res.reason == (
        "people.email is blank in all 2 rows: map a source field to it in "
        "[sources.entities.people] of revgov.toml, or fill it in the CRM"
    )


def test_an_empty_audit_says_nothing_was_audited() -> None:
    report = audit({}, config=CONFIG, as_of=AS_OF)
    assert report.nothing_audited
    assert all(r.status == "not_applicable" and r.reason for r in report.results)
    assert report.summary()["pass"] == 0
    assert report.to_dict()["nothing_audited"] is True
    assert "**Nothing was audited**" in report.to_markdown()
