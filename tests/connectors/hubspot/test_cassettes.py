"""Recorded HubSpot exchanges in HubSpot's wire format, replayed through the connector.

The cassettes under ``tests/cassettes/hubspot/`` are replayed by default (no network: a
request the cassette does not hold fails the test). They were recorded from the emulator,
with the host rewritten to ``https://api.hubapi.com`` and every credential filtered::

    python -m pytest tests/connectors/hubspot/test_cassettes.py --record-mode=rewrite

(in record mode each test starts the emulator itself and points the connector at it).
:func:`test_no_cassette_holds_a_credential` fails if a token ever slips through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import polars as pl
import pytest
from tests.connectors.hubspot._support import NOW, frame, pages
from tests.emulator.hubspot import HubSpotEmulator, hubspot
from tests.emulator.server import Emulator, Fault

from revgov.config import config_from_dict
from revgov.connectors.hubspot import HubSpotConnector

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "hubspot"
HUBSPOT = "https://api.hubapi.com"
# Built at run time, so that this file itself holds nothing token-like.
RECORD_TOKEN = "pat-na1-" + "-".join(["1" * 8, "2" * 4, "3" * 4, "4" * 4, "5" * 12])
OAUTH = {
    "client_id": "cassette-app",
    "client_secret": "cassette-client-secret-0f9e8d",
    "refresh_token": "na1-rt-cassette-7c6b5a49",
}
#: What the project greps for (the before-stop hook), plus a bearer header of any length.
TOKEN_PATTERNS = [
    r"Bearer [A-Za-z0-9._-]{8,}",
    r"pat-(na|eu)[0-9]-[0-9a-f-]{20,}",
    r"00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}",
    r'access_token"?: ?"[A-Za-z0-9._!-]{20,}',
    r'refresh_token"?: ?"(?!REDACTED)[^"]+',
    r"client_secret=(?!REDACTED)",
]


def _scrub_text(text: str) -> str:
    for key in ("access_token", "refresh_token"):
        text = re.sub(rf'("{key}"\s*:\s*")[^"]*(")', r"\1REDACTED\2", text)
    return text


def _to_hubspot(request: Any) -> Any:
    split = urlsplit(request.uri)
    request.uri = f"{HUBSPOT}{split.path}" + (f"?{split.query}" if split.query else "")
    if request.body and request.path.endswith("/oauth/v1/token"):
        form = dict(
            parse_qsl(request.body.decode() if isinstance(request.body, bytes) else request.body)
        )
        for key in ("client_secret", "refresh_token"):
            if key in form:
                form[key] = "REDACTED"
        request.body = urlencode(form)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        response["body"]["string"] = _scrub_text(body.decode("utf-8")).encode("utf-8")
    for name in ("Date", "Server"):
        response["headers"].pop(name, None)
    return response


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [("authorization", "REDACTED"), ("user-agent", None)],
        "before_record_request": _to_hubspot,
        "before_record_response": _scrub_response,
        "match_on": ["method", "scheme", "host", "port", "path", "query"],
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def recording(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--record-mode", "none") not in ("none", None)


@pytest.fixture
def target(
    recording: bool, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str | None, HubSpotEmulator | None]]:
    """(base url, CA bundle, emulator): the emulator when recording, HubSpot's address when
    replaying (nothing listens there: the cassette answers)."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", RECORD_TOKEN)
    if not recording:
        yield HUBSPOT, None, None
        return
    with Emulator() as emulator:
        hs = hubspot(
            emulator,
            contacts=110,
            companies=20,
            deals=12,
            engagements=3,
            partners=0,
            private_token=RECORD_TOKEN,
            burst=100,
            interval_ms=10_000,
            daily=250_000,
            **OAUTH,
        )
        yield emulator.url, str(emulator.ca_pem), hs


def _conn(
    target: tuple[str, str | None, HubSpotEmulator | None], entities: dict[str, Any]
) -> HubSpotConnector:
    """The connector at the emulator (recording) or HubSpot's address (replaying); one
    request at a time, so that a recording replays in its order."""
    url, ca, _ = target
    options = {"base_url": url, "concurrency": 1, **({"ca_bundle": ca} if ca else {})}
    config = config_from_dict(
        {
            "sources": [
                {"name": "hs", "connector": "hubspot", "options": options, "entities": entities}
            ]
        }
    )
    built = HubSpotConnector(config.sources[0])
    built.clock = lambda: NOW
    built.sleep = lambda seconds: None
    return built


@pytest.mark.vcr
def test_full_pull_of_contacts_deals_owners_and_pipelines(target: Any) -> None:
    conn = _conn(
        target,
        {
            "people": {"columns": {"utm_source": "utm_source_c"}},
            "opportunities": {},
            "users": {},
            "pipeline_stages": {},
        },
    )
    people = pages(conn, "people")
    assert frame(people).height == 110
    assert len(people) == 2  # pages of 100; the last one has no paging.next
    assert json.loads(people[-1].cursor)["streams"]["contacts"]["phase"] == "idle"
    assert frame(people)["utm_source"].null_count() < 110
    deals = frame(pages(conn, "opportunities"))
    assert deals.height == 12
    big = deals.filter(pl.col("opportunity_id") == "3000001")
    assert len(big["contact_ids"][0].split(";")) == 110  # the association page past 100
    assert deals["stage_entered_at"].null_count() == 0
    users = frame(pages(conn, "users"))
    assert users.height == 11 and users.filter(pl.col("is_active") == "false").height == 3
    stages = frame(pages(conn, "pipeline_stages"))
    assert stages.filter(pl.col("is_won") == "true").height == 2


@pytest.mark.vcr
def test_incremental_pull_through_search_batch_read_and_the_archived_listing(target: Any) -> None:
    hs = target[2]
    since = "2024-06-03T11:00:00.000Z"
    cursor = json.dumps({"v": 1, "streams": {"contacts": {"phase": "idle", "since": since}}})
    if hs is not None:  # recording: make the changes the cassette will hold
        from datetime import timedelta

        hs.portal.clock = lambda: NOW + timedelta(hours=2)
        for k in (3, 5, 8):
            hs.portal.touch(
                "contacts", 2_000_000 + k, at=NOW + timedelta(minutes=k), lifecyclestage="customer"
            )
        hs.portal.archive("contacts", 2_000_011, at=NOW + timedelta(minutes=9))
    conn = _conn(target, {"people": {}})
    conn.clock = lambda: NOW + __import__("datetime").timedelta(hours=2)
    found = pages(conn, "people", cursor)
    got = frame(found)
    assert sorted(got["person_id"]) == ["2000003", "2000005", "2000008"]
    assert set(got["lifecycle_stage"]) == {"customer"}
    assert [d for p in found for d in p.deletions] == ["2000011"]


@pytest.mark.vcr
def test_a_rate_limited_response_is_waited_out_and_shown(target: Any) -> None:
    hs = target[2]
    if hs is not None:
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "3f9a2c1e-0000-4000-8000-000000000001",
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": "publicapi:private-app-api-ten-secondly:12345",
        }
        headers = {
            "Retry-After": "1",
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": "0",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        hs.emulator.inject(
            Fault(status=429, body=body, headers=headers, path=r"^/crm/v3/owners/?$")
        )
    conn = _conn(target, {"users": {}})
    slept: list[float] = []
    conn.sleep = slept.append
    found = pages(conn, "users")
    assert slept == [1.0]
    assert found[-1].status["429s"] == "TEN_SECONDLY_ROLLING x1"
    assert found[-1].status["burst left"].endswith("/100 per 10s")
    assert frame(found).height == 11


@pytest.mark.vcr
def test_oauth_refresh(target: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    for key, value in OAUTH.items():
        monkeypatch.setenv(f"HUBSPOT_{key.upper()}", value)
    conn = _conn(target, {"pipeline_stages": {}})
    assert frame(pages(conn, "pipeline_stages")).height == 11
    assert conn.api.tokens.refreshes == 1


def test_no_cassette_holds_a_credential() -> None:
    cassettes = sorted(CASSETTES.glob("*.yaml"))
    assert len(cassettes) == 4
    secrets = [RECORD_TOKEN, OAUTH["client_secret"], OAUTH["refresh_token"]]
    for path in cassettes:
        text = path.read_text(encoding="utf-8")
        assert "127.0.0.1" not in text, path.name
        for pattern in TOKEN_PATTERNS:
            assert re.search(pattern, text) is None, (path.name, pattern)
        for secret in secrets:
            assert secret not in text, path.name


def test_the_credential_scan_would_catch_a_leak(tmp_path: Path) -> None:
    leaked = "headers:\n  Authorization:\n  - Bearer " + RECORD_TOKEN + "\n"
    assert any(re.search(p, leaked) for p in TOKEN_PATTERNS)
    body = json.dumps({"access_token": "CJSP5qf1KhICAQEYs" + "x" * 40})
    assert any(re.search(p, body) for p in TOKEN_PATTERNS)
    assert not any(re.search(p, _scrub_text(body)) for p in TOKEN_PATTERNS)
