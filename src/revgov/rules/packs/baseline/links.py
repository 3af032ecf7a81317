"""Links between records: activities and stage events name records that exist."""

from __future__ import annotations

import narwhals as nw

from revgov.definitions.history import record_entity_is
from revgov.rules import kinds
from revgov.rules._derive import lookup
from revgov.rules._expr import not_null, text
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import OPS, builtin

__all__ = ["link_rules"]


def link_rules() -> list[Rule]:
    """Activities and stage events point at records that exist."""
    opp_ref = lookup(
        "stage_events.ref.opportunities",
        key="record_id",
        target="opportunities",
        target_key="opportunity_id",
        values={},
        found="__ref_opp",
    )
    person_ref = lookup(
        "stage_events.ref.people",
        key="record_id",
        target="people",
        target_key="person_id",
        values={},
        found="__ref_person",
    )
    is_opp = record_entity_is("opportunities")
    is_person = record_entity_is("people")
    return [
        kinds.references(
            "activities.person_missing",
            "activities",
            "person_id",
            "people",
            description="An activity's person_id, when present, is an existing person.",
            remediation="Relink the activity or restore the person; check merge jobs that "
            "delete people without moving their activities.",
            owner=OPS,
            severity="warn",
            **builtin(),
        ),
        Rule(
            id="stage_events.record_missing",
            entity="stage_events",
            dimension="integrity",
            kind="reference",
            description="Every stage event belongs to an existing opportunity or person.",
            checks=(
                Check(
                    violation=(is_opp & ~nw.col("__ref_opp").fill_null(False))
                    | (is_person & ~nw.col("__ref_person").fill_null(False)),
                    field="record_id",
                    message=text(
                        "no ", nw.col("record_entity"), " record '", nw.col("record_id"), "'"
                    ),
                ),
            ),
            scope=(is_opp | is_person) & not_null("record_id"),
            columns=("record_entity", "record_id"),
            derivations=(opp_ref, person_ref),
            owner_column="changed_by",
            remediation="Purge history of deleted records, or restore the records.",
            owner=OPS,
            severity="info",
            **builtin(),
        ),
    ]
