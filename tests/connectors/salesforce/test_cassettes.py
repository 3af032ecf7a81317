"""Recorded Salesforce conversations (pytest-recording cassettes) replayed through the connector.

The cassettes in ``tests/cassettes/salesforce/`` hold Salesforce's documented wire formats: REST
query pages with ``attributes`` and nested parent records and ``+0000`` datetimes, describe,
``Sforce-Limit-Info``, Bulk 2.0 job states and CSV result pages (``Z`` datetimes) with
``Sforce-Locator``, the ``INVALID_SESSION_ID`` error body, the SOAP login and the OAuth token
exchange. They were recorded against the emulator with ``--record-mode=rewrite`` (the host is
rewritten to ``revgov-test.my.salesforce.com``; credentials and tokens are filtered out) and
replay here with no network. Expected values are read from the cassettes themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from tests.connectors.salesforce.conftest import config, connector, credential_env, frame, set_env
from tests.emulator.salesforce import CREDENTIALS, SalesforceEmulator, build
from tests.emulator.server import Emulator

from revgov.connectors.base import Page

HOST = "https://revgov-test.my.salesforce.com"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "salesforce"
FILTERED = "FILTERED"
#: Token shapes the project refuses in test data (see the before-stop hook), plus any of the
#: emulator's credentials.
TOKEN_LIKE = re.compile(
    r"Bearer [A-Za-z0-9._-]{20,}|00D[A-Za-z0-9]{12}![A-Za-z0-9._]{20,}"
    r"|access_token\"?: ?\"[A-Za-z0-9._!-]{20,}|pat-(na|eu)[0-9]-[0-9a-f-]{20,}"
)
SMALL_ORG = {"leads": 250, "contacts": 60, "accounts": 12, "opportunities": 20, "seed": 3}
_recording_from: list[str] = []


def _rewrite(text: str) -> str:
    for url in _recording_from:
        text = text.replace(url, HOST)
    return text


def _scrub_request(request: Any) -> Any:
    request.uri = _rewrite(request.uri)
    body = request.body
    if body:
        text = body.decode() if isinstance(body, bytes) else str(body)
        text = re.sub(r"(<urn:password>)[^<]*(</urn:password>)", rf"\1{FILTERED}\2", text)
        text = re.sub(r"(assertion|client_secret|password)=[^&]*", rf"\1={FILTERED}", text)
        request.body = text.encode()
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response["body"]["string"]
    text = body.decode() if isinstance(body, bytes) else str(body)
    text = _rewrite(text)
    text = re.sub(r'("(?:access_token|signature)": ?")[^"]*(")', rf"\1{FILTERED}\2", text)
    text = re.sub(r"(<sessionId>)[^<]*(</sessionId>)", rf"\1{FILTERED}\2", text)
    response["body"]["string"] = text.encode()
    for name in list(response["headers"]):
        if name.lower() == "content-length":
            response["headers"][name] = [str(len(response["body"]["string"]))]
    return response


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": [("authorization", FILTERED), "host"],
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        "match_on": ["method", "scheme", "host", "port", "path", "soql"],
        "decode_compressed_response": True,
    }


@pytest.fixture
def replaying(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--record-mode") in (None, "none")


@pytest.fixture
def target(
    replaying: bool, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], SalesforceEmulator | None]]:
    """Set the environment for a login flow: the recorded host when replaying, a fresh
    emulator when recording; gives the emulator (None when replaying)."""
    emulators: list[Emulator] = []

    def start(flow: str) -> SalesforceEmulator | None:
        if replaying:
            env = {"SALESFORCE_LOGIN_URL": HOST}
            if flow == "session":
                env |= {
                    "SALESFORCE_SESSION_ID": "replayed-session",
                    "SALESFORCE_INSTANCE_URL": HOST,
                }
            elif flow == "client_credentials":
                env |= {
                    "SALESFORCE_CONSUMER_KEY": "replay-key",
                    "SALESFORCE_CONSUMER_SECRET": "replay",
                }
            else:
                env |= {
                    "SALESFORCE_USERNAME": "replay@x",
                    "SALESFORCE_PASSWORD": "r",
                    "SALESFORCE_SECURITY_TOKEN": "r",
                }
            set_env(monkeypatch, env)
            return None
        emu = Emulator().start()
        emulators.append(emu)
        org = build(emu, **SMALL_ORG)
        _recording_from[:] = [org.url]
        set_env(monkeypatch, credential_env(org, flow))
        return org

    yield start
    for emu in emulators:
        emu.stop()


def _interactions(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load((CASSETTES / name).read_text(encoding="utf-8"))["interactions"])


def _body(interaction: dict[str, Any]) -> str:
    return str(interaction["response"]["body"]["string"])


def _rest_records(name: str, sobject: str) -> list[dict[str, Any]]:
    out = []
    for item in _interactions(name):
        if "/query" in item["request"]["uri"] and item["response"]["status"]["code"] == 200:
            body = json.loads(_body(item))
            out += [r for r in body.get("records", []) if r["attributes"]["type"] == sobject]
    return out


def _pull(entity: str, options: dict[str, Any]) -> list[Page]:
    return list(connector(config({"retry_max_wait": 0.001, **options}).sources[0]).fetch(entity))


@pytest.mark.vcr
@pytest.mark.default_cassette("rest_people.yaml")
def test_rest_pages_replay_through_the_connector(target: Callable[[str], Any]) -> None:
    if target("session") is not None:
        _pull("people", {"bulk": False, "rest_batch_size": 200})
        return  # recording: the cassette is written when the test ends
    pages = _pull("people", {"bulk": False, "rest_batch_size": 200})
    people = frame(pages)
    leads = _rest_records("rest_people.yaml", "Lead")
    contacts = _rest_records("rest_people.yaml", "Contact")
    live = [r for r in leads + contacts if not r.get("IsDeleted")]
    assert people.height == len(live) and len(leads) > 200  # more than one REST page
    # The wire format: +0000 datetimes, nested parent records with attributes.
    text = (CASSETTES / "rest_people.yaml").read_text(encoding="utf-8")
    assert re.search(r"\d\.\d{3}\+0000", text) and '"nextRecordsUrl"' in text
    nested = next(c for c in contacts if c.get("Account"))
    assert nested["Account"]["attributes"]["type"] == "Account"
    got = people.filter(pl.col("person_id") == nested["Id"]).row(0, named=True)
    assert got["company"] == nested["Account"]["Name"]
    assert got["created_at"] == nested["CreatedDate"].replace("+0000", "Z")
    deleted = {r["Id"] for r in leads + contacts if r.get("IsDeleted")}
    assert {d for p in pages for d in p.deletions} == deleted


@pytest.mark.vcr
@pytest.mark.default_cassette("bulk_leads.yaml")
def test_bulk_job_states_and_csv_pages_replay(target: Callable[[str], Any]) -> None:
    recording = target("session") is not None
    options = {"bulk_threshold": 10, "page_size": 100, "bulk_poll_seconds": 0.001}
    entities = {"people": {"objects": {"Contact": {"enabled": False}}}}
    pages = list(connector(config(options, entities).sources[0]).fetch("people"))
    if recording:
        return
    interactions = _interactions("bulk_leads.yaml")
    results = [i for i in interactions if i["request"]["uri"].split("?")[0].endswith("/results")]
    states = [
        json.loads(_body(i))["state"]
        for i in interactions
        if re.search(r"/jobs/query/\w+$", i["request"]["uri"]) and i["request"]["method"] == "GET"
    ]
    assert states[-1] == "JobComplete"
    locators = [i["response"]["headers"]["Sforce-Locator"][0] for i in results]
    assert locators[-1] == "null" and len(locators) >= 3
    csv_rows = sum(int(i["response"]["headers"]["Sforce-NumberOfRecords"][0]) for i in results)
    assert re.search(r"\d\.\d{3}Z", _body(results[0]))
    deletions = {d for p in pages for d in p.deletions}
    assert frame(pages).height + len(deletions) == csv_rows
    assert {p.status["via"] for p in pages} == {"bulk"}


@pytest.mark.vcr
@pytest.mark.default_cassette("expired_session.yaml")
def test_an_expired_session_replays_as_a_new_login(target: Callable[[str], Any]) -> None:
    org = target("client_credentials")
    if org is not None:
        org.expire_on(r"/queryAll/?$", after=1)
    pages = _pull("accounts", {})
    if org is not None:
        return
    interactions = _interactions("expired_session.yaml")
    refused = [i for i in interactions if i["response"]["status"]["code"] == 401]
    assert [json.loads(_body(i))[0]["errorCode"] for i in refused] == ["INVALID_SESSION_ID"]
    tokens = [i for i in interactions if i["request"]["uri"].endswith("/services/oauth2/token")]
    assert len(tokens) == 2  # logged in, then once more after the expiry
    accounts = [r for r in _rest_records("expired_session.yaml", "Account") if not r["IsDeleted"]]
    assert frame(pages).height == len(accounts)


@pytest.mark.vcr
@pytest.mark.default_cassette("soap_login.yaml")
def test_the_soap_login_replays(target: Callable[[str], Any]) -> None:
    recording = target("password") is not None
    users = frame(_pull("users", {}))
    if recording:
        return
    soap = _interactions("soap_login.yaml")[0]
    assert "<sessionId>" + FILTERED in _body(soap)
    assert users.height == len(_rest_records("soap_login.yaml", "User"))


def test_no_cassette_holds_a_token_or_a_credential(org: SalesforceEmulator) -> None:
    # The check recognises what the emulator (and Salesforce) issue.
    assert TOKEN_LIKE.search(org.issue_session())
    assert TOKEN_LIKE.search(f"Authorization: Bearer {org.issue_session()}")
    files = sorted(CASSETTES.rglob("*.yaml"))
    assert len(files) >= 4
    secrets = [v for k, v in CREDENTIALS.items() if k != "username"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not TOKEN_LIKE.search(text), f"{path.name} holds a token-like string"
        for secret in secrets:
            assert secret not in text, f"{path.name} holds a credential"
        assert "127.0.0.1" not in text
