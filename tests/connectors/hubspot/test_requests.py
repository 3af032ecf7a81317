"""How requests are shaped: long property lists chunked, pages read ahead in order, settings
checked, and the emulator's answers true to the client library's own models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hubspot import HubSpot
from tests.connectors.hubspot._support import TOKEN, connector, frame, pages
from tests.emulator.hubspot import HubSpotEmulator
from urllib3.util.retry import Retry

from revgov.config import config_from_dict
from revgov.connectors.hubspot._pipeline import ordered_map
from revgov.connectors.hubspot._streams import chunk_properties
from revgov.errors import ConfigValidationError, VendorRequestError


def test_property_lists_are_split_under_the_query_budget() -> None:
    names = [f"property_number_{i:03d}" for i in range(100)]
    chunks = chunk_properties([*names, names[0]], 500)
    assert [n for c in chunks for n in c] == names  # every name once, in order
    assert all(sum(len("&properties=") + len(n) for n in c) <= 500 for c in chunks)
    assert len(chunks) == 7  # 31 characters each: 16 per chunk
    assert chunk_properties([], 500) == [[]]


def test_long_property_lists_are_chunked_and_joined_by_record_id(
    portal_factory: Callable[..., HubSpotEmulator],
) -> None:
    portal = portal_factory(max_url=1500)  # deals ask for ~60 properties: too long for one URL
    with pytest.raises(VendorRequestError, match="HTTP 414") as err:
        pages(connector(portal), "opportunities")
    assert "max_query_chars" in (err.value.hint or "")

    chunked = frame(pages(connector(portal, max_query_chars=700), "opportunities"))
    roomy = portal_factory()
    whole = frame(pages(connector(roomy), "opportunities"))
    assert chunked.sort("opportunity_id").equals(whole.sort("opportunity_id"))
    assert chunked["stage_entered_at"].null_count() == 0  # date columns from later chunks


def test_pages_are_completed_concurrently_but_yielded_in_order() -> None:
    active, peak = 0, 0
    lock = threading.Lock()

    def slow(n: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02 * (5 - n % 5))  # later items finish first
        with lock:
            active -= 1
        return n * 10

    assert list(ordered_map(iter(range(20)), slow, workers=4, ahead=5)) == [
        n * 10 for n in range(20)
    ]
    assert peak > 1

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("page 3 could not be read")

    out = ordered_map(failing(), lambda n: n, workers=2, ahead=3)
    assert next(out) == 1 and next(out) == 2
    with pytest.raises(RuntimeError, match="page 3"):
        next(out)


def test_options_are_validated_when_the_config_loads() -> None:
    def load(**options: object) -> None:
        config_from_dict({"sources": [{"name": "hs", "connector": "hubspot", "options": options}]})

    with pytest.raises(ConfigValidationError, match="lookback_seconds must be at least"):
        load(lookback_seconds=60, holdback_seconds=600)
    with pytest.raises(ConfigValidationError, match="rate_limitt"):
        load(rate_limitt=10)
    with pytest.raises(ConfigValidationError, match="looks like a credential"):
        load(access_token="x")


def test_the_emulator_answers_in_shapes_the_client_library_accepts(portal: HubSpotEmulator) -> None:
    """hubspot-api-client refuses responses missing required fields: every shape the
    emulator sends must deserialize into the library's own models."""
    client = HubSpot(
        retry=Retry(total=False), host=portal.url, ssl_ca_cert=str(portal.emulator.ca_pem)
    )
    auth = {"in": "header", "key": "Authorization", "value": f"Bearer {TOKEN}", "type": "oauth2"}
    crm = client.crm
    listed = crm.objects.basic_api.get_page(
        "deals",
        limit=5,
        properties=["dealstage"],
        properties_with_history=["dealstage"],
        _request_auth=auth,
    )
    assert (
        listed.paging.next.after
        and listed.results[0].properties_with_history["dealstage"][0].timestamp
    )
    found = crm.objects.search_api.do_search(
        "contacts",
        {"limit": 2, "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]},
        _request_auth=auth,
    )
    assert found.total == 300
    read = crm.objects.batch_api.read(
        "contacts",
        {
            "inputs": [{"id": found.results[0].id}],
            "properties": [],
            "propertiesWithHistory": ["lifecyclestage"],
        },
        _request_auth=auth,
    )
    assert read.results[0].properties_with_history["lifecyclestage"]
    linked = crm.associations.v4.batch_api.get_page(
        "deals", "contacts", {"inputs": [{"id": "3000001"}]}, _request_auth=auth
    )
    assert len(linked.results[0].to) == 100 and linked.results[0].paging.next.after
    rest = crm.associations.v4.basic_api.get_page(
        "deals",
        "3000001",
        "contacts",
        after=linked.results[0].paging.next.after,
        _request_auth=auth,
    )
    assert len(rest.results) == 50 and rest.paging is None
    owners = crm.owners.owners_api.get_page(archived=True, _request_auth=auth)
    assert all(o.archived for o in owners.results)
    pipes = crm.pipelines.pipelines_api.get_all("deals", _request_auth=auth)
    assert pipes.results[0].stages[0].metadata["probability"] == "0.2"
    props = crm.properties.core_api.get_all("contacts", _request_auth=auth)
    assert any(p.name == "lifecyclestage" and p.options for p in props.results)
