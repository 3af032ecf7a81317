"""Helpers for the HubSpot connector's tests: sources pointing at an emulated portal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from tests.emulator.hubspot import HubSpotEmulator

from revgov.config import Config, config_from_dict
from revgov.connectors.base import Page
from revgov.connectors.hubspot import HubSpotConnector
from revgov.store import SnapshotStore

TOKEN = "pat-na1-emulator"

#: A moment after every generated record (the portal's records live in 2023).
NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand; shared by the emulator's portal and the connector."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def source_config(
    hs: HubSpotEmulator,
    tables: dict[str, Any] | None = None,
    *,
    name: str = "hs",
    **options: Any,
) -> Config:
    """A config with one HubSpot source reading ``hs``."""
    opts = {
        "base_url": hs.url,
        "ca_bundle": str(hs.emulator.ca_pem),
        "concurrency": 2,
        # Unless a test says otherwise, the limiter is not what it waits for.
        "rate_limit": 5000,
        "rate_interval": 1.0,
        "search_rate_limit": 1000,
        **options,
    }
    return config_from_dict(
        {
            "sources": [
                {"name": name, "connector": "hubspot", "options": opts, "entities": tables or {}}
            ]
        }
    )


def connector(
    hs: HubSpotEmulator,
    tables: dict[str, Any] | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    **options: Any,
) -> HubSpotConnector:
    built = HubSpotConnector(source_config(hs, tables, **options).sources[0])
    built.clock = clock or (lambda: NOW)
    built.sleep = lambda seconds: None  # retries wait for real only where a test says so
    return built


def pages(conn: HubSpotConnector, entity: str, cursor: str | None = None) -> list[Page]:
    return list(conn.fetch(entity, cursor))


def frame(found: list[Page]) -> pl.DataFrame:
    frames = [p.records for p in found if isinstance(p.records, pl.DataFrame) and p.records.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def last_cursor(found: list[Page]) -> str | None:
    return found[-1].cursor if found else None


def staged_rows(snapshot: Path, entity: str) -> int:
    """Rows of ``entity`` a stopped pull committed page by page but did not publish: they are
    kept for the next pull to resume from, and the entity's table shows a read only whole."""
    reads = SnapshotStore(snapshot).open_reads()
    return sum(p.data_rows for r in reads if r.entity == entity for p in r.pages)
