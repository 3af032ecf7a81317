"""People records: contact data, lifecycle stage, conversion and account links."""

from __future__ import annotations

import narwhals as nw

from revgov.config import Config
from revgov.definitions.lifecycle import LifecycleStages
from revgov.rules import kinds
from revgov.rules._expr import join_words
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import MOPS, OPS, builtin

__all__ = ["people_records"]


def _lifecycle_stage_unknown(config: Config) -> Rule:
    stages = LifecycleStages.of(config)
    return Rule(
        id="people.lifecycle_stage_unknown",
        entity="people",
        dimension="conformity",
        kind="allowed_values",
        description="lifecycle_stage, when present, names a stage of [lifecycle].stages (in "
        "any case, or through [lifecycle.map]).",
        checks=(
            Check(
                violation=~stages.known(nw.col("lifecycle_stage")),
                field="lifecycle_stage",
                message="lifecycle_stage is not an allowed value (allowed: "
                f"{join_words(stages.stages)})",
            ),
        ),
        present="lifecycle_stage",
        columns=("lifecycle_stage",),
        remediation="Map the vendor value in [lifecycle.map] or correct the record.",
        owner=OPS,
        settings=("lifecycle.stages", "lifecycle.map"),
        **builtin(),
    )


def people_records(config: Config) -> list[Rule]:
    """Email, phone and country formats, duplicates, the lifecycle stage and links."""
    return [*_contact_data(config), *_lifecycle_and_links(config)]


def _contact_data(config: Config) -> list[Rule]:
    return [
        kinds.required(
            "people.email_missing",
            "people",
            ["email"],
            description="Every person has an email address.",
            remediation="Enrich or ask for the email; block lead forms and imports that "
            "create people without one.",
            owner=MOPS,
            **builtin(),
        ),
        kinds.formatted(
            "people.email_format",
            "people",
            "email",
            "email",
            regex=config.rules.formats.email,
            remediation="Correct the address (typos such as 'at' for '@'); add email "
            "validation to forms and imports.",
            owner=MOPS,
            **builtin(),
        ),
        kinds.unique(
            "people.duplicate_email",
            "people",
            "email",
            normalize="email",
            description="No two people share an email address (compared trimmed, lowercase).",
            remediation="Merge the duplicates, keeping the oldest record and its activity; "
            "turn on duplicate matching by email at import.",
            owner=OPS,
            severity="warn",
            **builtin(),
        ),
        kinds.formatted(
            "people.phone_format",
            "people",
            "phone",
            "e164",
            regex=config.rules.formats.e164,
            severity="warn",
            remediation="Store phone numbers in E.164 (+ country code, digits only); "
            "normalize at entry.",
            owner=OPS,
            **builtin(),
        ),
        kinds.formatted(
            "people.country_format",
            "people",
            "country",
            "iso_country",
            severity="warn",
            remediation="Use a country picklist of ISO codes; map typed names to codes.",
            owner=OPS,
            **builtin(),
        ),
    ]


def _lifecycle_and_links(config: Config) -> list[Rule]:
    return [
        _lifecycle_stage_unknown(config),
        Rule(
            id="people.converted_without_account",
            entity="people",
            dimension="integrity",
            kind="lifecycle",
            description="A converted lead is linked to an account.",
            checks=(
                Check(
                    violation=nw.col("account_id").is_null(),
                    field="account_id",
                    message="converted lead has no account",
                ),
            ),
            scope=(nw.col("is_converted") == True).fill_null(False),  # noqa: E712
            columns=("is_converted", "account_id"),
            remediation="Re-run the conversion against the right account, or link the "
            "contact to its account.",
            owner=OPS,
            **builtin(),
        ),
        kinds.references(
            "people.account_missing",
            "people",
            "account_id",
            "accounts",
            remediation="Relink the person to an existing account or restore the account.",
            owner=OPS,
            **builtin(),
        ),
    ]
