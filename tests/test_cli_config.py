"""`revgov config check|diff` through the CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, main

CFG = """\
[[pipelines]]
name = "p"
[[pipelines.stages]]
name = "Won"
order = 1
probability = 1.0
is_closed = true
is_won = true
"""


def test_check_ok_prints_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(CFG)
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "1 pipeline(s)" in out and "hash" in out


def test_check_bad_config_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(CFG.replace("order = 1", "ordr = 1"))
    assert main(["config", "check", str(path)]) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG102]" in err and "did you mean 'order'?" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "config", "check", str(tmp_path / "missing.toml")]) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG103]" in err and "Traceback" in err


def test_diff_lists_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.toml").write_text(CFG)
    (tmp_path / "b.toml").write_text(CFG + '\n[kpis]\nwin_rate_basis = "amount"\n')
    assert main(["config", "diff", str(tmp_path / "a.toml"), str(tmp_path / "b.toml")]) == 0
    out = capsys.readouterr().out
    assert "kpis.win_rate_basis changed from 'count' to 'amount'" in out


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "nope"]) == 2


def test_check_reports_a_missing_export_file_before_any_pull(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deals.csv").write_text("id\n1\n")
    path = tmp_path / "revgov.toml"
    path.write_text(
        CFG + '[[sources]]\nname = "crm"\nconnector = "files"\n'
        '[sources.entities.opportunities]\npath = "deal.csv"\n'
        'columns = { opportunity_id = "id" }\n'
    )
    assert main(["config", "check", str(path)]) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "problem(s) a pull would meet" in err and "deal.csv" in err
    assert "did you mean 'deals.csv'?" in err
    (tmp_path / "deals.csv").rename(tmp_path / "deal.csv")
    assert main(["config", "check", str(path)]) == 0
