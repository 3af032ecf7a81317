"""The Salesforce connector through the command line: ``revgov pull --source`` with progress,
quarantine, ``--refresh-formulas``, ``revgov init --salesforce`` and ``revgov config check``."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import tomlkit
from tests.connectors.salesforce.conftest import PIPELINE
from tests.emulator.salesforce import SalesforceEmulator
from tests.emulator.server import Fault

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import load_config
from revgov.store import SnapshotStore

pytestmark = pytest.mark.usefixtures("sf_env")


def _write(
    tmp: Path, options: dict[str, object] | None = None, entities: dict[str, object] | None = None
) -> Path:
    doc = {
        "pipelines": [PIPELINE],
        "sources": [
            {
                "name": "sf",
                "connector": "salesforce",
                "options": {"retry_max_wait": 0.001, "bulk_poll_seconds": 0.001, **(options or {})},
                "entities": entities or {},
            }
        ],
    }
    path = tmp / "revgov.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def _pull(path: Path, *extra: str) -> int:
    return main(
        [
            "pull",
            "--config",
            str(path),
            "--snapshot",
            str(path.parent / "snap"),
            "--source",
            "sf",
            *extra,
        ]
    )


def test_pull_shows_progress_per_object_with_api_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    entities = {"people": {"objects": {"Lead": {"custom_fields": {"Lead_Score__c": "float"}}}}}
    assert _pull(_write(tmp_path, entities=entities)) == 0
    captured = capsys.readouterr()
    assert "people" in captured.out and "stage_events" in captured.out
    err = " ".join(captured.err.split())
    assert "api calls" in err and "org usage" in err and "rows/s" in err
    # The hidden field is a warning at pull time, naming object and field.
    assert "warn sf · people: Lead.Lead_Score__c is mapped" in err


def test_untypable_values_go_to_quarantine_with_their_text(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entities = {"people": {"objects": {"Lead": {"columns": {"employees": "Employee_Band__c"}}}}}
    assert _pull(_write(tmp_path, entities=entities), "--no-progress") == 0
    leads = org.org.frame("Lead").filter(~pl.col("IsDeleted"))
    bad = leads.filter(pl.col("Employee_Band__c").cast(pl.Int64, strict=False).is_null())
    store = SnapshotStore(tmp_path / "snap")
    quarantine = store.scan_quarantine().filter(pl.col("entity") == "people").collect()
    assert quarantine.height == bad.height > 0
    assert set(quarantine["raw_value"]) == {"NA", "about 40"}
    assert set(quarantine["source_id"]) == set(bad["Id"])
    assert f"{bad.height:,} row(s) quarantined" in capsys.readouterr().out


def test_refresh_formulas_rereads_formula_fields(org: SalesforceEmulator, tmp_path: Path) -> None:
    entities = {"people": {"objects": {"Lead": {"custom_fields": {"Fit_Grade__c": "string"}}}}}
    path = _write(tmp_path, entities=entities)
    assert _pull(path, "--no-progress") == 0
    lead = str(org.org.frame("Lead").filter(~pl.col("IsDeleted"))["Id"][0])
    org.org.update("Lead", [lead], {"Fit_Grade__c": "Z"}, stamp=None)  # no SystemModstamp move

    def grade() -> str:
        people = SnapshotStore(tmp_path / "snap").scan("people")
        return str(people.filter(pl.col("person_id") == lead).collect()["Fit_Grade__c"].item())

    assert _pull(path, "--no-progress") == 0
    assert grade() != "Z"  # an incremental pull cannot see it
    assert _pull(path, "--no-progress", "--refresh-formulas") == 0
    assert grade() == "Z"


def test_init_writes_a_config_from_the_org(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "revgov.toml"
    assert main(["init", "--salesforce", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    cfg = load_config(out)
    stages = cfg.pipelines[0].ordered()
    assert [s.name for s in stages] == [s["name"] for s in PIPELINE["stages"]]
    won = next(s for s in stages if s.name == "Closed Won")
    assert won.is_won and won.is_closed and won.probability == 1.0
    assert "Proposal" in next(s for s in stages if s.name == "Proposal/Price Quote").aliases
    assert cfg.sources[0].connector == "salesforce"
    assert "TODO" in text and '# "Working - Contacted" = "lead"' in text
    assert "# Fit_Grade__c" in text and "# Region__c" in text  # custom fields offered
    assert "Lead.Lead_Score__c" not in text  # not mapped by default: nothing to warn about
    assert "REVGOV" not in text and "password" not in text.lower()


def test_config_check_names_the_missing_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SALESFORCE_PASSWORD")
    path = _write(tmp_path, {"auth": "password"})
    assert main(["config", "check", str(path)]) == EXIT_REVGOV_ERROR
    assert "SALESFORCE_PASSWORD" in capsys.readouterr().err


def test_the_daily_limit_stops_the_pull_cleanly_and_it_resumes(
    org: SalesforceEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    org.emulator.inject(Fault(status=403, path=r"/queryAll/", body=body, after=8))
    path = _write(tmp_path, {"page_size": 200})
    assert _pull(path, "--no-progress") == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG413]" in err and "REQUEST_LIMIT_EXCEEDED" in err and "resumes" in err
    saved = SnapshotStore(tmp_path / "snap").cursors()["sf"]
    assert saved  # what was pulled before the stop is committed
    assert _pull(path, "--no-progress") == 0
    people = SnapshotStore(tmp_path / "snap").scan("people").collect()
    live = (
        org.org.frame("Lead").filter(~pl.col("IsDeleted")).height
        + org.org.frame("Contact").filter(~pl.col("IsDeleted")).height
    )
    assert people.height == live
