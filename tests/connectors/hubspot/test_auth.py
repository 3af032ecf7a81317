"""Credentials: a private app token or OAuth (refreshed before it expires, renewed once on a
401), read from the environment, and never shown anywhere."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from tests.connectors.hubspot._support import connector, frame, pages
from tests.emulator.hubspot import HubSpotEmulator

from revgov.connectors.hubspot import HubSpotCredentials, HubSpotSettings
from revgov.errors import AuthenticationError

CLIENT = {
    "client_id": "app-1",
    "client_secret": "s3cret-oauth-client",
    "refresh_token": "rt-9f8e7d6c5b4a",
}


@pytest.fixture
def oauth_portal(
    portal_factory: Callable[..., HubSpotEmulator], monkeypatch: pytest.MonkeyPatch
) -> HubSpotEmulator:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    monkeypatch.setenv("HUBSPOT_CLIENT_ID", CLIENT["client_id"])
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", CLIENT["client_secret"])
    monkeypatch.setenv("HUBSPOT_REFRESH_TOKEN", CLIENT["refresh_token"])
    return portal_factory(
        private_token=None, token_ttl=60, burst=200, interval_ms=1000, daily=1000, **CLIENT
    )


def _statuses(portal: HubSpotEmulator, status: int) -> int:
    return sum(1 for _, _, s in portal.emulator.log if s == status)


def test_oauth_tokens_are_refreshed_before_they_expire(oauth_portal: HubSpotEmulator) -> None:
    conn = connector(oauth_portal)
    now = [1000.0]
    conn.api.tokens.clock = lambda: now[0]
    assert frame(pages(conn, "users")).height == 11
    now[0] += 44.0  # the token lives 60 s: still 16 s to go, outside the 15 s margin
    assert frame(pages(conn, "users")).height == 11
    assert conn.api.tokens.refreshes == 1
    now[0] += 2.0  # 14 s to go: inside the margin, renewed before HubSpot would refuse it
    assert frame(pages(conn, "users")).height == 11
    assert oauth_portal.gate.refreshes == 2 and conn.api.tokens.refreshes == 2
    assert _statuses(oauth_portal, 401) == 0  # renewed in time, never refused
    # OAuth calls carry no daily headers: the budget is unknown, not zero.
    assert "daily left" not in pages(conn, "users")[-1].status


def test_a_token_hubspot_refuses_is_renewed_once(oauth_portal: HubSpotEmulator) -> None:
    conn = connector(oauth_portal)
    pages(conn, "users")
    oauth_portal.gate.expire_tokens()  # revoked early, as HubSpot may
    assert frame(pages(conn, "users")).height == 11
    assert _statuses(oauth_portal, 401) == 1 and conn.api.tokens.refreshes == 2


def test_a_bad_refresh_token_is_an_authentication_error_without_secrets(
    oauth_portal: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_REFRESH_TOKEN", "rt-revoked-0000")
    conn = connector(oauth_portal)
    with pytest.raises(AuthenticationError) as err:
        pages(conn, "users")
    text = f"{err.value} {err.value.hint}"
    assert "refused the OAuth refresh" in text and "HTTP 400" in text
    for secret in ("rt-revoked-0000", CLIENT["client_secret"]):
        assert secret not in text


def test_a_refused_private_app_token_fails_at_once(
    portal: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-rotated-long-ago")
    conn = connector(portal)
    with pytest.raises(AuthenticationError, match="refused the access token") as err:
        pages(conn, "users")
    assert "pat-na1-rotated" not in str(err.value)
    assert _statuses(portal, 401) == 1  # not retried


def test_no_credentials_is_a_check_problem_and_a_clear_error(
    portal: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    conn = connector(portal)
    assert conn.check() == [
        "no HubSpot credentials: set $HUBSPOT_ACCESS_TOKEN (a private app token), or "
        "$HUBSPOT_CLIENT_ID, $HUBSPOT_CLIENT_SECRET and $HUBSPOT_REFRESH_TOKEN (OAuth)"
    ]
    with pytest.raises(AuthenticationError, match="no HubSpot credentials"):
        pages(conn, "users")


def test_credentials_come_from_the_variables_the_options_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORTAL_B_TOKEN", "pat-eu1-" + "ab" * 12)
    creds = HubSpotCredentials.from_environment(HubSpotSettings(token_env="PORTAL_B_TOKEN"))
    assert creds.access_token is not None
    assert creds.access_token.get_secret_value().startswith("pat-eu1-")
    assert "abab" not in repr(creds) and "abab" not in str(creds.model_dump())


def test_secrets_never_reach_logs_statuses_or_reprs(
    oauth_portal: HubSpotEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn = connector(oauth_portal)
    found = pages(conn, "people")
    issued = list(oauth_portal.gate.issued)
    shown = caplog.text + repr(conn.api) + repr(conn.api.tokens) + repr(found[-1].status)
    for secret in [*issued, CLIENT["client_secret"], CLIENT["refresh_token"]]:
        assert secret not in shown


def test_importing_the_connector_does_not_import_the_client_library() -> None:
    code = (
        "import sys, revgov.connectors.hubspot, revgov.config;"
        "from revgov.connectors.registry import get_connector_spec;"
        "get_connector_spec('hubspot');"
        "print('hubspot' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"
