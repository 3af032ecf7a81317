"""The default mapping, overrides field by field, custom objects, WhoId by key prefix, notes.

Expected values are recomputed here in plain polars from the emulated org's own frames.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from tests.connectors.salesforce.conftest import connector, frame
from tests.emulator.salesforce import SalesforceEmulator

from revgov.config import SourceConfig
from revgov.connectors.base import Page
from revgov.errors import MappingError

pytestmark = pytest.mark.usefixtures("sf_env")


def _live(org: SalesforceEmulator, sobject: str) -> pl.DataFrame:
    data = org.org.frame(sobject)
    return data.filter(~pl.col("IsDeleted")) if "IsDeleted" in data.columns else data


def _notes(pages: list[Page], kind: str) -> dict[str, str]:
    return {str(n.field): n.severity for p in pages for n in p.notes if n.kind == kind}


def test_leads_and_contacts_become_people(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    people = frame(list(connector(make_source()).fetch("people")))
    leads = _live(org, "Lead")
    contacts = _live(org, "Contact").join(
        org.org.frame("Account").select(
            pl.col("Id").alias("AccountId"), pl.col("Name").alias("Company")
        ),
        on="AccountId",
        how="left",
    )
    assert people.height == leads.height + contacts.height
    got = people.select("person_id", "kind", "email", "status", "country", "company").sort(
        "person_id"
    )
    want = pl.concat(
        [
            leads.select(
                pl.col("Id").alias("person_id"),
                pl.lit("lead").alias("kind"),
                pl.col("Email").alias("email"),
                pl.col("Status").alias("status"),
                pl.col("Country").alias("country"),
                pl.col("Company").alias("company"),
            ),
            contacts.select(
                pl.col("Id").alias("person_id"),
                pl.lit("contact").alias("kind"),
                pl.col("Email").alias("email"),
                pl.lit(None, pl.String).alias("status"),
                pl.col("MailingCountry").alias("country"),
                pl.col("Company").alias("company"),
            ),
        ]
    ).sort("person_id")
    assert got.equals(want)
    # Namibia's code is text, not a missing value, on every path.
    assert (
        (people["country"] == "NA").sum()
        == (leads["Country"] == "NA").sum() + (contacts["MailingCountry"] == "NA").sum()
        > 0
    )


def test_overrides_apply_field_by_field(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    entities = {
        "people": {
            "columns": {"utm_source": "Region__c"},  # every object of the entity
            "objects": {
                "Lead": {"columns": {"company": ""}, "custom_fields": {"Fit_Grade__c": "string"}},
            },
        }
    }
    pages = list(connector(make_source(entities=entities)).fetch("people"))
    people = frame(pages)
    leads = people.filter(pl.col("kind") == "lead").sort("person_id")
    truth = _live(org, "Lead").sort("Id")
    assert leads["utm_source"].to_list() == truth["Region__c"].to_list()
    assert leads["Fit_Grade__c"].to_list() == truth["Fit_Grade__c"].to_list()
    assert leads["company"].null_count() == leads.height  # unmapped by the source
    assert leads["email"].to_list() == truth["Email"].to_list()  # defaults kept
    assert pages[0].extras == {"Fit_Grade__c": "string"}
    # Contacts have no Region__c: said, not silently null.
    hidden = _notes(pages, "hidden_field")
    assert hidden == {"Contact.Region__c": "warn"}
    # Fit_Grade__c is a formula field: it is marked.
    assert _notes(pages, "calculated_field") == {"Lead.Fit_Grade__c": "info"}


def test_a_field_the_user_cannot_see_is_reported_and_never_queried(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    entities = {"people": {"objects": {"Lead": {"custom_fields": {"Lead_Score__c": "float"}}}}}
    pages = list(connector(make_source(entities=entities)).fetch("people"))
    note = next(n for p in pages for n in p.notes if n.kind == "hidden_field")
    assert note.field == "Lead.Lead_Score__c" and note.entity == "people"
    assert "field-level security" in note.message
    assert frame(pages)["Lead_Score__c"].null_count() == frame(pages).height
    assert not any("Lead_Score__c" in q for q in org.queries)


def test_a_custom_object_is_mapped_into_an_entity(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    deal = {
        "columns": {
            "opportunity_id": "Id",
            "name": "Name",
            "stage": "Stage__c",
            "amount": "Amount__c",
            "account_id": "Account__c",
        },
        "custom_fields": {"Account__r.Name": "string"},
    }
    entities = {"opportunities": {"objects": {"Deal__c": deal}}}
    opps = frame(list(connector(make_source(entities=entities)).fetch("opportunities")))
    deals = opps.filter(pl.col("opportunity_id").str.starts_with("a01")).sort("opportunity_id")
    truth = _live(org, "Deal__c").sort("Id")
    assert deals["amount"].cast(pl.Float64).to_list() == truth["Amount__c"].to_list()
    names = dict(org.org.frame("Account").select("Id", "Name").iter_rows())
    assert deals["Account__r.Name"].to_list() == [names[a] for a in truth["Account__c"]]
    assert (
        opps.filter(pl.col("opportunity_id").str.starts_with("006")).height
        == _live(org, "Opportunity").height
    )


def test_an_object_the_org_lacks_is_an_error_with_a_suggestion(
    make_source: Callable[..., SourceConfig],
) -> None:
    entities = {"opportunities": {"objects": {"Deals__c": {"columns": {"opportunity_id": "Id"}}}}}
    with pytest.raises(MappingError, match="did you mean 'Deal__c'"):
        list(connector(make_source(entities=entities)).fetch("opportunities"))


def test_a_default_object_the_org_lacks_is_noted_and_skipped(
    make_source: Callable[..., SourceConfig], org: SalesforceEmulator
) -> None:
    org.org.missing_objects.add("LeadHistory")
    pages = list(connector(make_source()).fetch("stage_events"))
    assert "LeadHistory" in _notes(pages, "missing_object")
    assert frame(pages).filter(pl.col("record_entity") == "people").height == 0


def test_activities_resolve_who_and_what_by_key_prefix(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    acts = frame(list(connector(make_source()).fetch("activities")))
    tasks = _live(org, "Task")
    events = _live(org, "Event")
    assert acts.height == tasks.height + events.height
    rows = pl.concat(
        [tasks.select("Id", "WhoId", "WhatId"), events.select("Id", "WhoId", "WhatId")]
    )
    truth = rows.select(
        pl.col("Id").alias("activity_id"),
        pl.when(pl.col("WhoId").str.slice(0, 3).is_in(["00Q", "003"]))
        .then(pl.col("WhoId"))
        .alias("person_id"),
        pl.when(pl.col("WhatId").str.starts_with("006"))
        .then(pl.col("WhatId"))
        .alias("opportunity_id"),
        pl.when(pl.col("WhatId").str.starts_with("001")).then(pl.col("WhatId")).alias("account_id"),
    ).sort("activity_id")
    got = acts.select(truth.columns).sort("activity_id")
    assert got.equals(truth)
    assert (
        got["person_id"].str.starts_with("00Q").sum() > 0
        and got["person_id"].str.starts_with("003").sum() > 0
    )
    kinds = dict(acts.group_by("type").len().iter_rows())
    assert set(kinds) <= {"call", "email", "task", "meeting", None}
    assert kinds["meeting"] == events.height


def test_opportunity_stages_become_the_pipeline(make_source: Callable[..., SourceConfig]) -> None:
    pages = list(connector(make_source()).fetch("pipeline_stages"))
    stages = frame(pages).sort("order", descending=False)
    assert pages[0].replace  # a full refresh each time: stages can be removed
    won = stages.filter(pl.col("stage") == "Closed Won").row(0, named=True)
    assert won["probability"] == "1.0" and won["is_won"] == "true" and won["pipeline"] == "sales"
    assert stages.filter(pl.col("stage") == "Needs Analysis")["probability"].item() == "0.25"


def test_compound_fields_are_read_as_their_components(
    org: SalesforceEmulator, make_source: Callable[..., SourceConfig]
) -> None:
    entities = {"people": {"objects": {"Lead": {"custom_fields": {"Address": "string"}}}}}
    source = make_source({"bulk_threshold": 10}, entities)
    pages = list(connector(source).fetch("people"))
    assert "Lead.Address" in _notes(pages, "compound_field")
    bulk_queries = [q for q in org.queries if "FROM Lead" in q and "COUNT()" not in q]
    assert bulk_queries and all(", Address" not in q for q in bulk_queries)
    assert all("City" in q for q in bulk_queries)
    addresses = frame(pages).filter(pl.col("kind") == "lead")["Address"]
    assert addresses.drop_nulls().str.contains('"City":"Windhoek"').any()
