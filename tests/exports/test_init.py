"""``revgov init DIR`` on real export layouts: recognises the vendor, maps files and columns,
reads history in the export's shape, lists the stages in the order deals went through them,
and marks what the company must review."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tomlkit
from tests.exports.generator import hubspot_export, salesforce_export

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import load_config
from revgov.connectors.files._starting import detect_layout

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart"


def _init(folder: Path, out: Path) -> tomlkit.TOMLDocument:
    assert main(["init", str(folder), "--out", str(out)]) == 0
    load_config(out)  # what init writes loads as it is
    return tomlkit.parse(out.read_text(encoding="utf-8"))


def test_a_salesforce_export_is_mapped_with_its_history(tmp_path: Path) -> None:
    salesforce_export(tmp_path / "export", seed=3)
    assert detect_layout(tmp_path / "export") == "salesforce"
    doc = _init(tmp_path / "export", tmp_path / "revgov.toml")
    entities = doc["sources"][0]["entities"]  # type: ignore[index]
    assert set(entities) == {  # type: ignore[arg-type]
        "users",
        "accounts",
        "people",
        "opportunities",
        "activities",
        "campaigns",
    }
    deals = entities["opportunities"]  # type: ignore[index]
    assert deals["path"] == "export/Opportunity.csv"  # type: ignore[index]
    assert deals["columns"]["stage"] == "StageName"  # type: ignore[index]
    assert deals["history"]["shape"] == "stage_entered"  # type: ignore[index]
    assert deals["history"]["columns"]["record_id"] == "OpportunityId"  # type: ignore[index]
    people = entities["people"]  # type: ignore[index]
    assert people["columns"]["utm_source"] == "utm_source__c"  # type: ignore[index]
    assert people["constants"]["kind"] == "lead"  # type: ignore[index]
    assert people["history"]["shape"] == "field_changes"  # type: ignore[index]
    assert people["history"]["timestamps"] == {"mql_at": "MQL"}  # type: ignore[index]
    assert entities["activities"]["values"]["type"]["Call"] == "call"  # type: ignore[index]

    stages = doc["pipelines"][0]["stages"]  # type: ignore[index]
    names = [s["name"] for s in stages]  # type: ignore[index,union-attr]
    # In the order deals entered them; a stage no history shows comes after the others and
    # is flagged; closed stages last, from IsClosed/IsWon.
    assert names == [
        "Prospecting",
        "Qualification",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Verbal Commit",
        "Closed Won",
        "Closed Lost",
    ]
    flagged = [s["name"] for s in stages if "TODO" in s["name"].trivia.comment]  # type: ignore[index,union-attr]
    assert flagged == ["Verbal Commit"]
    by_name = {s["name"]: s for s in stages}  # type: ignore[index,union-attr]
    assert by_name["Negotiation/Review"]["probability"] == 0.75  # the export's Probability
    assert by_name["Closed Won"]["is_won"] is True
    assert "is_won" not in by_name["Closed Lost"]
    lifecycle = doc["lifecycle"]["map"]  # type: ignore[index]
    assert lifecycle["Working - Contacted"] == "lead"  # type: ignore[index]
    text = (tmp_path / "revgov.toml").read_text(encoding="utf-8")
    assert "TODO: days a deal may sit in each open stage" in text
    assert "[routing]" in text and "TODO" in text.split("[routing]")[0][-2000:]


def test_a_hubspot_export_reads_date_entered_columns(tmp_path: Path) -> None:
    hubspot_export(tmp_path / "export", seed=3)
    assert detect_layout(tmp_path / "export") == "hubspot"
    doc = _init(tmp_path / "export", tmp_path / "revgov.toml")
    entities = doc["sources"][0]["entities"]  # type: ignore[index]
    deals = entities["opportunities"]  # type: ignore[index]
    assert deals["columns"]["opportunity_id"] == "Record ID"  # type: ignore[index]
    history = deals["history"]  # type: ignore[index]
    assert history["shape"] == "date_columns"  # type: ignore[index]
    assert history["dates"]['Date entered "Contract Sent (Sales Pipeline)"'] == "Contract Sent"  # type: ignore[index]
    pipeline = doc["pipelines"][0]  # type: ignore[index]
    assert pipeline["name"] == "Sales Pipeline"  # type: ignore[index]
    assert [s["name"] for s in pipeline["stages"]][:4] == [  # type: ignore[index,union-attr]
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Contract Sent",
    ]
    assert doc["lifecycle"]["map"] == {  # type: ignore[index]
        "Marketing Qualified Lead": "mql",
        "Sales Qualified Lead": "sql",
    }
    assert entities["people"]["columns"]["utm_medium"] == "UTM Medium"  # type: ignore[index]
    assert entities["accounts"]["columns"]["domain"] == "Company Domain Name"  # type: ignore[index]


def test_a_generic_export_is_mapped_by_column_names_and_pulls(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("deals.csv", "accounts.csv"):
        shutil.copy(QUICKSTART / name, folder / name)
    assert detect_layout(folder) == "generic"
    config = tmp_path / "revgov.toml"
    doc = _init(folder, config)
    deals = doc["sources"][0]["entities"]["opportunities"]  # type: ignore[index]
    assert deals["columns"]["opportunity_id"] == "Deal ID"  # type: ignore[index]
    assert deals["columns"]["stage"] == "Deal Stage"  # type: ignore[index]
    assert main(["pull", "--config", str(config), "--no-progress"]) == 0


def test_a_folder_without_exports_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path), "--out", str(tmp_path / "r.toml")]) == EXIT_REVGOV_ERROR
    assert "holds no CSV files" in capsys.readouterr().err
