"""Faults of every class, and a `revgov pull` killed with SIGKILL: the snapshot ends exactly
as an undisturbed pull leaves it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from tests.connectors.hubspot._support import TOKEN, source_config, staged_rows
from tests.emulator.hubspot import HubSpotEmulator
from tests.emulator.process import REPO_ROOT, spawn
from tests.emulator.server import Fault

from revgov.connectors.hubspot import DEFAULT_ENTITIES
from revgov.errors import StoreError
from revgov.pull import pull
from revgov.store import SnapshotStore

ENTITIES = DEFAULT_ENTITIES


def _snapshot(root: Path) -> dict[str, pl.DataFrame]:
    store = SnapshotStore(root)
    out = {}
    for entity in ENTITIES:
        frame = store.scan(entity).collect().drop("pulled_at")
        out[entity] = frame.sort(frame.columns)
    out["quarantine"] = (
        store.scan_quarantine().collect().drop("pulled_at").sort("entity", "source_id", "field")
    )
    return out


def _assert_same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    for entity in a:
        assert a[entity].height > 0 or entity == "quarantine", entity
        assert a[entity].equals(b[entity]), entity


ALL_ENTITIES = {e: {} for e in ENTITIES} | {"people": {"columns": {"employees": "company_size_c"}}}
OAUTH = {"client_id": "app-1", "client_secret": "s3cret", "refresh_token": "rt-1"}


def _rate_limited() -> dict[str, str]:
    return {
        "status": "error",
        "errorType": "RATE_LIMIT",
        "policyName": "TEN_SECONDLY_ROLLING",
        "message": "You have reached your ten_secondly_rolling limit.",
        "correlationId": "c-1",
    }


def test_every_fault_class_is_survived_with_the_same_snapshot(
    portal_factory: Callable[..., HubSpotEmulator],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # OAuth, so that an expired token is one of the faults survived (renewed once).
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN")
    for key, value in OAUTH.items():
        monkeypatch.setenv(f"HUBSPOT_{key.upper()}", value)
    clean = portal_factory(private_token=None, **OAUTH)
    pull(source_config(clean, ALL_ENTITIES), tmp_path / "clean", progress=False)

    faulty = portal_factory(private_token=None, **OAUTH)
    expired = {"status": "error", "category": "EXPIRED_AUTHENTICATION", "correlationId": "c-2"}
    faulty.emulator.inject(
        Fault(
            status=429,
            body=_rate_limited(),
            headers={"Retry-After": "0"},
            path=r"^/crm/v3/objects/contacts$",
            after=1,
        ),
        Fault(status=401, body=expired, path=r"^/crm/v3/objects/deals$", after=1),
        Fault(status=500, body="", path=r"^/crm/v3/objects/deals$", after=2),
        Fault(status=503, body="<html>unavailable</html>", path=r"^/crm/v3/owners/?$"),
        Fault(kind="drop", path=r"^/crm/v3/objects/calls$"),
        Fault(kind="truncate", path=r"^/crm/v3/objects/companies$"),
        Fault(
            kind="truncate",
            method="POST",
            path=r"/crm/v4/associations/deals/contacts/batch/read$",
            after=1,
        ),
        Fault(status=502, method="POST", path=r"/crm/v4/associations/", after=3, times=2),
        Fault(kind="drop", path=r"^/crm/v3/pipelines/deals$"),
    )
    pull(source_config(faulty, ALL_ENTITIES), tmp_path / "faulty", progress=False)
    assert faulty.emulator.faults_fired() == 10
    assert faulty.gate.refreshes == 2  # the expired token was renewed once
    _assert_same(_snapshot(tmp_path / "clean"), _snapshot(tmp_path / "faulty"))


def _config_file(tmp_path: Path, url: str, ca: str) -> Path:
    path = tmp_path / "revgov.toml"
    path.write_text(
        "\n".join(
            [
                "[[sources]]",
                'name = "hs"',
                'connector = "hubspot"',
                "[sources.options]",
                f"base_url = {json.dumps(url)}",
                f"ca_bundle = {json.dumps(ca)}",
                "concurrency = 2",
                "rate_limit = 60",
                "rate_interval = 1.0",
                "[sources.entities.people.columns]",
                'employees = "company_size_c"',
                'utm_source = "utm_source_c"',
                "[sources.entities.pipeline_stages]",
                "[sources.entities.users]",
                "[sources.entities.accounts]",
                "[sources.entities.opportunities]",
                "[sources.entities.activities]",
                "[sources.entities.stage_events]",
            ]
        ),
        encoding="utf-8",
    )
    return path


def _pull(config: Path, snapshot: Path) -> subprocess.Popen[bytes]:
    """``revgov pull`` in a process of its own; its stderr goes to ``<snapshot>.log``."""
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    code = "import sys; from revgov.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["pull", "--config", str(config), "--snapshot", str(snapshot), "--no-progress"]
    with snapshot.with_suffix(".log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def _finish(proc: subprocess.Popen[bytes], snapshot: Path) -> None:
    code = proc.wait(timeout=300)
    assert code == 0, snapshot.with_suffix(".log").read_text(errors="replace")[-3000:]


@pytest.mark.slow
def test_a_pull_killed_mid_way_resumes_to_the_same_snapshot(tmp_path: Path) -> None:
    options = {"contacts": 1500, "burst": 60, "interval_ms": 1000, "daily": 1_000_000}
    with spawn("tests.emulator.hubspot:hubspot", tmp_path / "emu", options) as running:
        assert running.ca is not None
        config = _config_file(tmp_path, running.url, running.ca)
        _finish(_pull(config, tmp_path / "whole"), tmp_path / "whole")

        killed = _pull(config, tmp_path / "killed")
        deadline = time.monotonic() + 120
        while True:  # kill it once some contacts, not all, are committed
            assert killed.poll() is None, "the pull ended before it could be killed"
            assert time.monotonic() < deadline
            try:
                cursor = SnapshotStore(tmp_path / "killed").cursor("hs", "people")
            except StoreError:  # not created yet
                cursor = None
            if cursor and json.loads(cursor)["streams"]["contacts"]["phase"] == "list":
                break
            time.sleep(0.02)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        # Committed page by page, published only when the read is whole.
        assert SnapshotStore(tmp_path / "killed").row_count("people") == 0
        assert 0 < staged_rows(tmp_path / "killed", "people") < 1500

        _finish(_pull(config, tmp_path / "killed"), tmp_path / "killed")
    _assert_same(_snapshot(tmp_path / "whole"), _snapshot(tmp_path / "killed"))
