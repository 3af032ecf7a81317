"""Service levels on leads: speed to lead and follow-up attempts.

What the SLA means (its start, its clock, limits, first touch and status) is
:mod:`revgov.definitions.sla` and :mod:`revgov.definitions.touches`, which the
``speed_to_lead`` and ``sla_compliance_rate`` KPIs read too.
"""

from __future__ import annotations

import narwhals as nw

from revgov.config import Config
from revgov.definitions.sla import hours_label
from revgov.rules._derive import first_touch, speed_to_lead
from revgov.rules._expr import fmt_number, not_null, text
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import SOPS, TimeParam, builtin

__all__ = ["sla_rules"]


def _breach(config: Config, start: str, since: str) -> Rule:
    unit = hours_label(config.sla.speed_to_lead_clock)
    hours = nw.col("__stl_seconds") / 3600
    shown = fmt_number(hours)
    limit = fmt_number(nw.col("__stl_limit"))
    never = text("no qualifying activity yet, ", shown, f" {unit} after {since} (limit ")
    late = text("first qualifying activity ", shown, f" {unit} after {since} (limit ")
    opening = nw.when(nw.col("__first_touch_at").is_null()).then(never).otherwise(late)
    return Rule(
        id="people.speed_to_lead_breach",
        entity="people",
        dimension="sla",
        kind="sla",
        description="Leads get a first qualifying activity (sla.qualifying_activity_types) "
        "within sla.speed_to_lead_hours of the SLA clock's start (sla.speed_to_lead_start: "
        "becoming MQL, creation, or assignment), by segment or lead kind (keys `default`, a "
        "segment, `lead`/`contact`, or `segment:kind`); the clock runs in business hours "
        "(time zone, working days and holidays from [sla]) or on the wall clock "
        "(sla.speed_to_lead_clock). A lead with no touch yet is a breach once the limit has "
        "passed. The same leads are the breaches of the sla_compliance_rate KPI.",
        checks=(
            Check(
                violation=nw.col("__stl_breached"),
                field=start,
                value=shown,
                message=text(opening, limit, "h)"),
            ),
        ),
        scope=nw.col("__stl_started"),
        columns=("person_id", start),
        derivations=(speed_to_lead(start=start),),
        needs=f"needs leads whose SLA clock started by as_of: people.{start} "
        "([sources.entities.people]), or another sla.speed_to_lead_start",
        remediation="Alert the owner on new MQLs and route them to someone working now; "
        "review the queue of untouched MQLs daily.",
        owner=SOPS,
        settings=(
            "sla.speed_to_lead_hours",
            "sla.speed_to_lead_start",
            "sla.speed_to_lead_clock",
            "sla.business_hours",
            "sla.holidays",
        ),
        **builtin(),
    )


def _follow_up(config: Config, start: str, since: str) -> Rule:
    sla = config.sla
    window_start = TimeParam(-sla.follow_up_within_days)
    attempts = nw.col("__attempts").cast(nw.String())
    return Rule(
        id="people.follow_up_attempts",
        entity="people",
        dimension="sla",
        kind="sla",
        description="Touched leads get at least sla.follow_up_attempts qualifying "
        "activities within sla.follow_up_within_days days of the SLA clock's start (checked "
        "once the window has passed; untouched leads are speed-to-lead breaches).",
        checks=(
            Check(
                violation=nw.col("__attempts") < sla.follow_up_attempts,
                field=start,
                value=attempts,
                message=text(
                    attempts,
                    f" attempts within {sla.follow_up_within_days} days of {since} "
                    f"(expected {sla.follow_up_attempts})",
                ),
            ),
        ),
        scope=(
            not_null("__first_touch_at")
            & (nw.col(start) <= nw.col(window_start.column))
            & nw.lit(sla.follow_up_attempts > 0)
        ).fill_null(False),
        columns=("person_id", start),
        derivations=(first_touch(start=start), window_start.derivation("people")),
        needs=f"needs touched leads whose follow-up window (people.{start} + "
        f"{sla.follow_up_within_days} days) ended by as_of",
        remediation="Put MQLs in a follow-up cadence (sequence) with the expected number "
        "of touches.",
        owner=SOPS,
        severity="warn",
        settings=("sla.follow_up_attempts", "sla.follow_up_within_days"),
        **builtin(),
    )


def sla_rules(config: Config) -> list[Rule]:
    """``people.speed_to_lead_breach`` and ``people.follow_up_attempts``."""
    start = config.sla.speed_to_lead_start
    since = {"mql_at": "MQL", "created_at": "creation", "assigned_at": "assignment"}[start]
    return [_breach(config, start, since), _follow_up(config, start, since)]
