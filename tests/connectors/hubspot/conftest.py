"""Fixtures for the HubSpot connector's tests: an emulated portal and its clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.connectors.hubspot._support import TOKEN, Clock
from tests.emulator.hubspot import HubSpotEmulator, hubspot
from tests.emulator.server import Emulator


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def portal_factory(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Iterator[Callable[..., HubSpotEmulator]]:
    """``make(**builder_options)``: a running emulated portal (stopped after the test)."""
    started: list[Emulator] = []
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    for name in ("HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    def make(**options: Any) -> HubSpotEmulator:
        emulator = Emulator().start()
        started.append(emulator)
        hs = hubspot(emulator, **options)
        hs.portal.clock = clock
        return hs

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def portal(portal_factory: Callable[..., HubSpotEmulator]) -> HubSpotEmulator:
    return portal_factory()
