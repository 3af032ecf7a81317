"""The CLI with a HubSpot source: `revgov init --hubspot` and `revgov pull --source NAME`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from tests.connectors.hubspot._support import source_config
from tests.emulator.hubspot import HubSpotEmulator

from revgov.cli import main
from revgov.config import load_config
from revgov.pull import pull
from revgov.store import SnapshotStore


def test_init_writes_a_config_from_the_portals_pipelines_and_properties(
    portal: HubSpotEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HUBSPOT_BASE_URL", portal.url)
    monkeypatch.setenv("HUBSPOT_CA_BUNDLE", str(portal.emulator.ca_pem))
    out = tmp_path / "revgov.toml"
    assert main(["init", "--hubspot", "--out", str(out)]) == 0
    assert "review the places marked TODO" in capsys.readouterr().out
    config = load_config(out)
    sales = config.pipeline("Sales Pipeline")
    won = [s for s in sales.stages if s.is_won]
    assert [(s.name, s.probability, s.aliases) for s in won] == [("Closed Won", 1.0, ["closedwon"])]
    assert [s.name for s in config.pipeline("Renewals").ordered()] == [
        "Renewal Due",
        "Renewal Negotiation",
        "Renewed",
        "Churned",
    ]
    assert config.lifecycle.map["marketingqualifiedlead"] == "mql"
    assert "evangelist" not in config.lifecycle.map  # left for the company to decide
    people = config.sources[0].entity_settings("people")
    assert people.columns["utm_source"] == "utm_source_c"
    text = out.read_text()
    assert "TODO" in text and "pat-" not in text

    # The config it wrote pulls (the emulator's address still from the environment).
    snapshot = tmp_path / "snap"
    code = main(
        [
            "pull",
            "--config",
            str(out),
            "--snapshot",
            str(snapshot),
            "--source",
            "hubspot",
            "--no-progress",
            "--format",
            "json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = json.loads(capsys.readouterr().out)
    by_entity = {e["entity"]: e for e in result["entities"]}
    assert by_entity["people"]["rows_in"] == 300
    assert SnapshotStore(snapshot).row_count("pipeline_stages") == 11


def test_pull_shows_the_rate_budget_beside_each_progress_bar(
    portal_factory: Callable[..., HubSpotEmulator], tmp_path: Path
) -> None:
    hs = portal_factory(burst=100, interval_ms=10_000, daily=250_000)
    console = Console(record=True, width=200, force_terminal=False)
    pull(source_config(hs, entities=["users"]), tmp_path / "snap", console=console)
    shown = console.export_text()
    assert "hs · users" in shown
    assert "api calls 2" in shown and "burst left" in shown and "/100 per 10s" in shown
    assert "daily left 249,998/250,000" in shown
