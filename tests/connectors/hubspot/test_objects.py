"""A full pull of an emulated portal: every entity, checked against the portal's own records
(recomputed here in plain Python, not by the connector's code)."""

from __future__ import annotations

import polars as pl
import pytest
from tests.connectors.hubspot._support import connector, frame, pages
from tests.emulator._hubspot_data import BIG_DEAL_CONTACTS
from tests.emulator._hubspot_portal import CALL_DISPOSITIONS, FIRST_ID, PIPELINES, TYPE_IDS
from tests.emulator.hubspot import CUSTOM_OBJECT, HubSpotEmulator

from revgov.errors import ConfigValidationError, UnknownEntityError


def test_people_carry_the_configured_utm_properties_and_their_primary_company(
    portal: HubSpotEmulator,
) -> None:
    conn = connector(
        portal,
        {"people": {"columns": {"utm_source": "utm_source_c", "utm_campaign": "utm_campaign_c"}}},
    )
    people = frame(pages(conn, "people"))
    contacts = {str(r.id): r for r in portal.portal.tables["contacts"].live()}
    assert sorted(people["person_id"]) == sorted(contacts)
    for row in people.iter_rows(named=True):
        rec = contacts[row["person_id"]]
        assert row["utm_source"] == rec.properties["utm_source_c"]
        assert row["utm_campaign"] == rec.properties["utm_campaign_c"]
        assert row["lifecycle_stage"] == rec.properties["lifecyclestage"]
        assert row["kind"] == "contact"
        links = portal.portal.associations("contacts", "companies", rec.id)
        primary = [
            str(link.to_id)
            for link in links
            if TYPE_IDS[("contacts", "companies")][1] in link.type_ids
        ]
        assert row["account_id"] == primary[0]
        assert row["company_ids"] == ";".join(sorted(str(link.to_id) for link in links))
    # Some contacts have two companies: the second is kept, not lost.
    assert people.filter(pl.col("company_ids").str.contains(";")).height > 0


def test_deals_show_pipeline_and_stage_labels_and_keep_all_150_contacts(
    portal: HubSpotEmulator,
) -> None:
    deals = frame(pages(connector(portal), "opportunities"))
    labels = {pid: label for pid, label, _ in PIPELINES}
    stage_labels = {sid: slabel for _, _, stages in PIPELINES for sid, slabel, _, _ in stages}
    for row in deals.iter_rows(named=True):
        rec = portal.portal.tables["deals"].get(int(row["opportunity_id"]))
        assert rec is not None
        assert row["pipeline"] == labels[rec.properties["pipeline"]]
        assert row["stage"] == stage_labels[rec.properties["dealstage"]]
        assert row["is_closed"] == rec.properties["hs_is_closed"]
        assert row["amount"] == rec.properties["amount"]
    big = deals.filter(pl.col("opportunity_id") == str(FIRST_ID["deals"]))
    contact_ids = big["contact_ids"][0].split(";")
    assert len(contact_ids) == BIG_DEAL_CONTACTS  # past the 100 of the first association page
    assert big["primary_person_id"][0] == min(contact_ids, key=int)
    # Every deal's account is its primary company (association type 5).
    for row in deals.iter_rows(named=True):
        links = portal.portal.associations("deals", "companies", int(row["opportunity_id"]))
        assert row["account_id"] == next(str(lk.to_id) for lk in links if 5 in lk.type_ids)


def test_owners_include_archived_ones_and_pipelines_carry_probability_and_won(
    portal: HubSpotEmulator,
) -> None:
    conn = connector(portal)
    users = frame(pages(conn, "users"))
    assert users.height == len(portal.portal.owners)
    archived = {o["id"] for o in portal.portal.owners if o["archived"]}
    assert set(users.filter(pl.col("is_active") == "false")["user_id"]) == archived
    assert users.filter(pl.col("user_id") == "101")["name"][0] == "Ava Stone"
    assert users.filter(pl.col("user_id") == "101")["team"][0] == "SDR East"

    stages = frame(pages(conn, "pipeline_stages"))
    expected = {
        (label, slabel): (float(prob), closed, closed and prob == "1.0")
        for _, label, st in PIPELINES
        for _, slabel, prob, closed in st
    }
    got = {
        (r["pipeline"], r["stage"]): (
            float(r["probability"]),
            r["is_closed"] == "true",
            r["is_won"] == "true",
        )
        for r in stages.iter_rows(named=True)
    }
    assert got == expected
    renewals = stages.filter(pl.col("pipeline") == "Renewals").sort(pl.col("order").cast(int))
    assert list(renewals["stage"]) == ["Renewal Due", "Renewal Negotiation", "Renewed", "Churned"]


def test_engagements_become_activities_with_owner_time_and_outcome_labels(
    portal: HubSpotEmulator,
) -> None:
    activities = frame(pages(connector(portal), "activities"))
    assert sorted(set(activities["type"])) == ["call", "email", "meeting", "task"]
    assert activities.height == 4 * 40
    calls = activities.filter(pl.col("type") == "call")
    assert set(calls["outcome"]) <= set(CALL_DISPOSITIONS.values())
    for row in activities.iter_rows(named=True):
        kind = {"call": "calls", "email": "emails", "meeting": "meetings", "task": "tasks"}[
            row["type"]
        ]
        rec = portal.portal.tables[kind].get(int(row["activity_id"]))
        assert rec is not None
        assert row["occurred_at"] == rec.properties["hs_timestamp"]
        assert row["owner_id"] == rec.properties["hubspot_owner_id"]
        contacts = portal.portal.associations(kind, "contacts", rec.id)
        assert row["person_id"] == str(contacts[0].to_id)
        deals = portal.portal.associations(kind, "deals", rec.id)
        assert row["opportunity_id"] == (str(deals[0].to_id) if deals else None)


def test_custom_objects_and_properties_named_in_the_config_come_through(
    portal: HubSpotEmulator,
) -> None:
    conn = connector(
        portal,
        {
            "accounts": {
                "objects": [CUSTOM_OBJECT],
                "columns": {"name": "partner_name"},
                "custom_fields": {"partner_tier": "string"},
            }
        },
    )
    accounts = frame(pages(conn, "accounts"))
    assert accounts.height == 12
    assert accounts["name"][0] == "Partner 0"
    assert set(accounts["partner_tier"]) == {"gold", "silver", "bronze"}
    assert conn.objects("accounts") == [CUSTOM_OBJECT]


def test_which_entities_are_pulled(portal: HubSpotEmulator) -> None:
    defaults = [
        "pipeline_stages",
        "users",
        "accounts",
        "people",
        "opportunities",
        "activities",
        "stage_events",
    ]
    # An entity table configures its entity; it does not leave the others out.
    assert (
        connector(portal, {"people": {"columns": {"utm_source": "utm_source_c"}}}).entities()
        == defaults
    )
    # Another entity, from a custom object, comes after them.
    campaigns = {"campaigns": {"objects": [CUSTOM_OBJECT], "columns": {"name": "partner_name"}}}
    assert connector(portal, campaigns).entities() == [*defaults, "campaigns"]
    # The `entities` option chooses.
    assert connector(portal, entities=["users", "people"]).entities() == ["users", "people"]


def test_a_mapped_property_the_portal_lacks_is_a_hidden_field_note(portal: HubSpotEmulator) -> None:
    conn = connector(
        portal,
        {
            "accounts": {
                "columns": {"region": "sales_region_c"},
                "custom_fields": {"hs_analytics_source": "string"},
            }
        },
    )
    found = pages(conn, "accounts")
    notes = [n for p in found for n in p.notes]
    hidden = [n for n in notes if n.kind == "hidden_field"]
    assert [(n.entity, n.field) for n in hidden] == [("accounts", "region")]
    assert "sales_region_c" in hidden[0].message
    assert frame(found)["region"].null_count() == frame(found).height
    # Notes come once per pull, on the first page, not on every page.
    assert sum(1 for p in found if p.notes) == 1


def test_mapping_mistakes_fail_before_any_request(portal: HubSpotEmulator) -> None:
    before = sum(portal.emulator.hits.values())
    # A canonical column that does not exist is refused as the config is read, before the
    # connector exists (the same check `revgov config check` makes).
    with pytest.raises(ConfigValidationError, match="did you mean 'name'"):
        connector(portal, {"accounts": {"columns": {"nmae": "name"}}})
    assert sum(portal.emulator.hits.values()) == before
    with pytest.raises(UnknownEntityError, match="no default object for 'campaigns'"):
        connector(portal, {"campaigns": {}})
