"""Fixtures of the Salesforce connector's tests: an emulated org over TLS and a source for it.

``org`` runs :mod:`tests.emulator.salesforce` in a thread with a generated org; ``sf_env``
puts the integration user's (fake) credentials, the emulator's login URL and its CA bundle in
the environment, as a real deployment would; ``make_source`` builds a validated source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from tests.emulator.salesforce import CREDENTIALS, SalesforceEmulator, build, login_environment
from tests.emulator.server import Emulator

from revgov.config import Config, SourceConfig, config_from_dict
from revgov.connectors.base import ConnectorContext, Page
from revgov.connectors.salesforce import SalesforceConnector

#: Options that keep tests quick: no real waiting between retries or Bulk polls.
FAST = {"retry_max_wait": 0.001, "bulk_poll_seconds": 0.001, "rest_batch_size": 200}

PIPELINE = {
    "name": "sales",
    "stages": [
        {"name": "Prospecting", "order": 1, "probability": 0.1},
        {"name": "Qualification", "order": 2, "probability": 0.2},
        {"name": "Needs Analysis", "order": 3, "probability": 0.25},
        {"name": "Proposal/Price Quote", "order": 4, "probability": 0.75},
        {"name": "Negotiation/Review", "order": 5, "probability": 0.9},
        {"name": "Closed Won", "order": 6, "probability": 1.0, "is_closed": True, "is_won": True},
        {"name": "Closed Lost", "order": 7, "probability": 0.0, "is_closed": True},
    ],
}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def org(emulator: Emulator) -> SalesforceEmulator:
    return build(emulator)


CREDENTIAL_VARIABLES = (
    "SALESFORCE_USERNAME",
    "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN",
    "SALESFORCE_SESSION_ID",
    "SALESFORCE_INSTANCE_URL",
    "SALESFORCE_CONSUMER_KEY",
    "SALESFORCE_CONSUMER_SECRET",
    "SALESFORCE_PRIVATE_KEY",
    "SALESFORCE_PRIVATE_KEY_FILE",
    "SALESFORCE_LOGIN_URL",
    "SALESFORCE_CA_BUNDLE",
)


def credential_env(
    org: SalesforceEmulator, flow: str = "password", *, private_key: str | None = None
) -> dict[str, str]:
    """The environment a deployment would set for ``flow`` against the emulated org."""
    assert org.emulator.ca_pem is not None
    password = login_environment(org.url, str(org.emulator.ca_pem))
    env = {k: password[k] for k in ("SALESFORCE_LOGIN_URL", "SALESFORCE_CA_BUNDLE")}
    if flow == "password":
        env = password
    elif flow == "jwt":
        assert private_key is not None
        env |= {
            "SALESFORCE_USERNAME": CREDENTIALS["username"],
            "SALESFORCE_CONSUMER_KEY": CREDENTIALS["consumer_key"],
            "SALESFORCE_PRIVATE_KEY": private_key,
        }
    elif flow == "client_credentials":
        env |= {
            "SALESFORCE_CONSUMER_KEY": CREDENTIALS["consumer_key"],
            "SALESFORCE_CONSUMER_SECRET": CREDENTIALS["consumer_secret"],
        }
    elif flow == "session":
        env |= {"SALESFORCE_SESSION_ID": org.issue_session(), "SALESFORCE_INSTANCE_URL": org.url}
    return env


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Exactly ``env`` of the Salesforce variables (the machine's own are cleared)."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def sf_env(org: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = credential_env(org)
    set_env(monkeypatch, env)
    return env


def config(
    options: dict[str, Any] | None = None,
    entities: dict[str, Any] | None = None,
    *,
    fast: bool = True,
) -> Config:
    """A config with the emulated org's pipeline and one Salesforce source ``sf``."""
    source = {
        "name": "sf",
        "connector": "salesforce",
        "options": {**(FAST if fast else {}), **(options or {})},
        "entities": entities or {},
    }
    return config_from_dict({"pipelines": [PIPELINE], "sources": [source]})


@pytest.fixture
def make_source() -> Callable[..., SourceConfig]:
    def make(
        options: dict[str, Any] | None = None, entities: dict[str, Any] | None = None
    ) -> SourceConfig:
        return config(options, entities).sources[0]

    return make


def connector(
    source: SourceConfig, tmp: Path | None = None, *, refresh_formulas: bool = False
) -> SalesforceConnector:
    context = ConnectorContext(tmp or Path.cwd(), refresh_formulas=refresh_formulas)
    return SalesforceConnector(source, context)


def frame(pages: list[Page]) -> pl.DataFrame:
    """The records of ``pages`` as one frame (text columns)."""
    frames = [p.records for p in pages if isinstance(p.records, pl.DataFrame) and p.records.height]
    if not frames:
        return pl.DataFrame()
    return pl.concat([f.cast(pl.String) for f in frames], how="diagonal_relaxed")


def _soql_matcher(r1: Any, r2: Any) -> None:
    """Cassette requests match whatever the query window's timestamps (they move with the
    clock between recording and replay)."""
    stamp = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})"

    def key(request: Any) -> list[tuple[str, str]]:
        return sorted((k, re.sub(stamp, "T", v)) for k, v in request.query)

    assert key(r1) == key(r2)


def pytest_recording_configure(config: Any, vcr: Any) -> None:
    vcr.register_matcher("soql", _soql_matcher)
