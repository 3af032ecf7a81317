"""One SLA definition for the audit and the KPIs: the clock's start (created, MQL or
assignment), the clock (business hours or wall clock) and the first qualifying touch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from revgov.config import config_from_dict
from revgov.metrics import sla_compliance_rate, speed_to_lead
from revgov.rules import builtin_rules

from .conftest import canonical, flagged, run

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
SAT_NOON = datetime(2026, 6, 6, 12, tzinfo=UTC)  # a Saturday
MON_5AM = datetime(2026, 6, 8, 5, tzinfo=UTC)
WED_10AM = datetime(2026, 6, 10, 10, tzinfo=UTC)


def _frames() -> dict[str, pl.DataFrame]:
    people = canonical(
        "people",
        [
            # MQL on Saturday noon, emailed Monday 05:00: 0 business hours, 41 wall hours.
            {
                "person_id": "weekend",
                "kind": "lead",
                "mql_at": SAT_NOON,
                "created_at": SAT_NOON - timedelta(days=3),
                "assigned_at": WED_10AM,
            },
            # MQL Wednesday 10:00, called 11:00: within the SLA on either clock.
            {
                "person_id": "quick",
                "kind": "lead",
                "mql_at": WED_10AM,
                "created_at": WED_10AM,
                "assigned_at": WED_10AM,
            },
        ],
    )
    acts = canonical(
        "activities",
        [
            {"activity_id": "a1", "type": "email", "person_id": "weekend", "occurred_at": MON_5AM},
            # A note is no qualifying touch.
            {
                "activity_id": "a0",
                "type": "note",
                "person_id": "weekend",
                "occurred_at": SAT_NOON + timedelta(minutes=5),
            },
            {
                "activity_id": "a2",
                "type": "call",
                "person_id": "quick",
                "occurred_at": WED_10AM + timedelta(hours=1),
            },
            {
                "activity_id": "a3",
                "type": "call",
                "person_id": "weekend",
                "occurred_at": WED_10AM + timedelta(hours=2),
            },
        ],
    )
    return {"people": people, "activities": acts}


def _both(sla: dict[str, object]) -> tuple[set[str], pl.DataFrame]:
    config = config_from_dict({"sla": {"speed_to_lead_hours": {"default": 4}, **sla}})
    frames = _frames()
    rules = [r for r in builtin_rules(config) if r.id == "people.speed_to_lead_breach"]
    report = run(rules, frames, config=config, as_of=AS_OF)
    kpi = sla_compliance_rate(frames["people"], frames["activities"], sla=config.sla, as_of=AS_OF)
    return flagged(report, "people.speed_to_lead_breach"), kpi


def test_business_hours_clock_saturday_lead_waited_no_business_hour() -> None:
    breached, kpi = _both({"speed_to_lead_clock": "business_hours"})
    assert breached == set()
    assert kpi.row(0, named=True)["breached"] == 0 and kpi["met"].item() == 2


def test_wall_clock_saturday_lead_waited_41_hours() -> None:
    breached, kpi = _both({"speed_to_lead_clock": "wall_clock"})
    assert breached == {"weekend"}
    assert (kpi["met"].item(), kpi["breached"].item()) == (1, 1)
    hours = speed_to_lead(
        _frames()["people"],
        _frames()["activities"],
        sla=config_from_dict({"sla": {"speed_to_lead_clock": "wall_clock"}}).sla,
        as_of=AS_OF,
    )
    assert hours["mean_hours"].item() == pytest.approx((41 + 1) / 2)


def test_the_clock_starts_where_the_config_says_for_rule_and_kpi() -> None:
    # From assignment (Wednesday 10:00), the weekend lead was touched at 12:00: met.
    breached, kpi = _both(
        {"speed_to_lead_clock": "wall_clock", "speed_to_lead_start": "assigned_at"}
    )
    assert breached == set()
    assert (kpi["met"].item(), kpi["breached"].item()) == (2, 0)
    # From creation (Wednesday before), the first touch came on Monday: breached.
    breached, kpi = _both({"speed_to_lead_start": "created_at"})
    assert breached == {"weekend"}
    assert kpi["breached"].item() == 1


def test_a_start_column_the_export_lacks_is_not_applicable_with_its_reason() -> None:
    config = config_from_dict({"sla": {"speed_to_lead_start": "assigned_at"}})
    frames = _frames()
    frames["people"] = frames["people"].drop("assigned_at")
    rules = [r for r in builtin_rules(config) if r.id == "people.speed_to_lead_breach"]
    res = run(rules, frames, config=config, as_of=AS_OF).result("people.speed_to_lead_breach")
    assert res.status == "not_applicable"
    assert res.reason == (
        "people has no column 'assigned_at': map a source field to it in "
        "[sources.entities.people] of revgov.toml"
    )


def test_the_kpi_reports_either_clock_on_demand() -> None:
    frames = _frames()
    sla = config_from_dict({}).sla  # business hours by default
    business = speed_to_lead(frames["people"], frames["activities"], sla=sla, as_of=AS_OF)
    wall = speed_to_lead(
        frames["people"], frames["activities"], sla=sla, as_of=AS_OF, clock="wall_clock"
    )
    assert business["mean_hours"].item() == pytest.approx((0 + 1) / 2)
    assert wall["mean_hours"].item() == pytest.approx((41 + 1) / 2)
