"""`revgov snapshot history|verify|compact|migrate`, `--version/--at` on audit and metrics, and
a damaged snapshot reported by every command with the file named (exit 3, never 4)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.model import type_records
from revgov.store import SnapshotStore

CONFIG = """\
[[pipelines]]
name = "sales"
[[pipelines.stages]]
name = "Open"
order = 1
probability = 0.3
[[pipelines.stages]]
name = "Won"
order = 2
probability = 1.0
is_closed = true
is_won = true

[[sources]]
name = "crm"
connector = "files"
[sources.entities.opportunities]
path = "deals.csv"
[sources.entities.opportunities.columns]
opportunity_id = "Id"
stage = "Stage"
amount = "Amount"
created_at = "Created"
[sources.entities.accounts]
path = "accounts.csv"
"""


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    (tmp_path / "revgov.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "accounts.csv").write_text("account_id,name\nacc1,Acme\n", encoding="utf-8")
    _deals(tmp_path, {"a": "Won", "b": "Open", "c": "Open"})
    assert _pull(tmp_path) == 0
    _deals(tmp_path, {"a": "Won", "b": "Won", "c": "Open", "d": "Won"})
    assert _pull(tmp_path) == 0
    capsys.readouterr()
    return tmp_path


def _deals(root: Path, stages: dict[str, str]) -> None:
    body = "".join(f"{k},{v},100,2024-01-0{i + 1}\n" for i, (k, v) in enumerate(stages.items()))
    (root / "deals.csv").write_text("Id,Stage,Amount,Created\n" + body, encoding="utf-8")


def _pull(root: Path, *extra: str) -> int:
    return main(
        [
            "pull",
            "--config",
            str(root / "revgov.toml"),
            "--snapshot",
            str(root / "snap"),
            "--no-progress",
            *extra,
        ]
    )


def test_history_lists_versions(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["snapshot", "history", str(project / "snap"), "--format", "json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["entity"], v["source"]) for v in versions] == [
        (1, "opportunities", "crm"),
        (2, "accounts", "crm"),
        (3, "pipeline_stages", "revgov.toml"),
        (4, "opportunities", "crm"),
    ]
    last = versions[-1]
    assert (last["rows_added"], last["rows_updated"], last["rows_deleted"]) == (1, 3, 0)
    assert json.loads(last["cursor"])["rows"] == 4 and last["config_hash"]
    assert main(["snapshot", "history", str(project / "snap")]) == 0
    out = capsys.readouterr().out
    assert "pipeline_stages" in out and "revgov.toml" in out


def test_audit_and_metrics_read_a_version_and_stamp_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = str(project / "snap")
    cfg = str(project / "revgov.toml")
    args = ["metrics", "--snapshot", snap, "--config", cfg, "--kpi", "bookings", "--format"]
    assert main([*args, "json", "--version", "3"]) == 0
    old = json.loads(capsys.readouterr().out)
    assert main([*args, "json"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert (old["snapshot_version"], new["snapshot_version"]) == (3, 4)
    # Version 3 has one won deal, the latest three.
    assert old["tables"]["bookings"][0]["won_deals"] == 1
    assert new["tables"]["bookings"][0]["won_deals"] == 3
    assert main([*args, "csv", "--version", "3"]) == 0
    assert "# snapshot_version=3" in capsys.readouterr().out

    at = SnapshotStore(snap).history()[2].timestamp.isoformat()
    audit = ["audit", "--snapshot", snap, "--config", cfg, "--fail-on", "never"]
    assert main([*audit, "--format", "json", "--at", at]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["snapshot"]["version"] == 3 and report["rows"]["opportunities"] == 3
    assert main([*audit, "--format", "md"]) == 0
    assert "version 4" in capsys.readouterr().out
    assert main([*audit]) == 0
    assert "version 4" in capsys.readouterr().out
    assert main([*audit, "--version", "9"]) == EXIT_REVGOV_ERROR
    assert "[RG306]" in capsys.readouterr().err
    assert main(["snapshot", "info", snap, "--version", "1", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [e["entity"] for e in info["entities"]] == ["opportunities"]


def _damage(project: Path, how: str) -> str:
    """Damage the newest opportunities data file; return its name."""
    store = SnapshotStore(project / "snap")
    path = store._files("opportunities")["path"][0]
    file = project / "snap" / "opportunities" / path
    if how == "missing":
        file.unlink()
    else:
        file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    return Path(path).name


@pytest.mark.parametrize("how", ["missing", "truncated"])
def test_a_damaged_file_is_named_by_every_command(
    project: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    name = _damage(project, how)
    snap, cfg = str(project / "snap"), str(project / "revgov.toml")
    commands = [
        ["snapshot", "info", snap],
        ["snapshot", "verify", snap],
        ["audit", "--snapshot", snap, "--config", cfg],
        ["metrics", "--snapshot", snap, "--config", cfg],
    ]
    for argv in commands:
        assert main(argv) == EXIT_REVGOV_ERROR, argv
        err = capsys.readouterr().err
        assert "[RG302]" in err and name in err.replace("\n", ""), (argv, err)
        assert "internal error" not in err
    # A pull that would read the damaged table says so too.
    _deals(project, {"a": "Won", "b": "Won", "c": "Won", "d": "Won", "e": "Open"})
    assert _pull(project) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG302]" in err and name in err.replace("\n", "")
    # Rebuilding the entity repairs it.
    assert _pull(project, "--full-refresh", "--entity", "opportunities") == 0
    assert main(["snapshot", "verify", snap]) == 0
    assert "broken" not in capsys.readouterr().out
    assert SnapshotStore(snap).row_count("opportunities") == 5


def test_verify_names_a_broken_log(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = project / "snap" / "accounts" / "_delta_log"
    last = sorted(log.glob("*.json"))[-1]
    last.write_text("{not json", encoding="utf-8")
    assert main(["snapshot", "verify", str(project / "snap")]) == EXIT_REVGOV_ERROR
    out = capsys.readouterr()
    assert "accounts" in out.out and "broken" in out.out and "[RG302]" in out.err


def test_compact_keeps_every_row(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(project / "snap")
    before = SnapshotStore(snap).scan("opportunities").collect().sort("opportunity_id")
    assert main(["snapshot", "compact", snap]) == 0
    capsys.readouterr()
    after = SnapshotStore(snap)
    assert_frame_equal(after.scan("opportunities").collect().sort("opportunity_id"), before)
    assert after.version == 4


# -- migration from the earlier format ----------------------------------------------------------


def _legacy_module(repo_root: Path) -> ModuleType:
    """The store as it was before Delta Lake (kept for the benchmark and this test)."""
    spec = importlib.util.spec_from_file_location(
        "revgov_legacy_store", repo_root / "benchmarks" / "_legacy_store.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_migrate_a_snapshot_written_by_the_earlier_store(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy = _legacy_module(repo_root).SnapshotStore
    old = legacy.create(tmp_path / "old", config_hash="cfg1")

    def page(entity: str, rows: list[dict[str, str]], extras: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return type_records(entity, rows, source_system="files", extras=extras)

    old.commit_page(
        page(
            "opportunities",
            [
                {"opportunity_id": "a", "amount": "1"},
                {"opportunity_id": "b", "amount": "x"},
                {"opportunity_id": "c", "amount": "3", "sdr": "s"},
            ],
            {"sdr": "string"},
        ),
        source="crm",
        cursor="p1",
        extras={"sdr": "string"},
        replace=True,
    )
    # An incremental page: a later row for a (the old store kept the latest on reading).
    old.commit_page(
        page("opportunities", [{"opportunity_id": "a", "amount": "10"}]),
        source="crm",
        cursor="p2",
    )
    old.commit_page(page("opportunities", [{"opportunity_id": "z"}]), source="other", cursor="o1")
    old.commit_page(page("accounts", [{"account_id": "acc"}]), source="crm", cursor="k1")
    old.commit(cursors={("crm", "people"): "never-had-rows"})

    assert main(["snapshot", "migrate", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    assert "migrated" in capsys.readouterr().out
    reread = legacy(tmp_path / "old")
    new = SnapshotStore(tmp_path / "new")
    for entity in ("opportunities", "accounts"):
        want = reread.scan(entity).collect().sort(pl.all())
        got = new.scan(entity).collect().sort(pl.all())
        assert_frame_equal(got, want)
    q_want = reread.scan_quarantine().collect().sort(pl.all())
    assert_frame_equal(new.scan_quarantine().collect().sort(pl.all()), q_want)
    assert new.cursors() == reread.cursors()
    assert new.config_hash == "cfg1" and new.extras("opportunities") == {"sdr": "string"}
    # The old directory is now recognised as such.
    assert main(["snapshot", "info", str(tmp_path / "old")]) == EXIT_REVGOV_ERROR
    assert "snapshot migrate" in capsys.readouterr().err
