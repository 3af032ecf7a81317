"""`revgov init`: the connector that describes its source writes a config that loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, EXIT_USAGE, main
from revgov.config import load_config
from revgov.connectors.files import FilesConnector


def test_init_writes_what_the_connector_describes_and_checks_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Path | None] = []

    def starting_config(folder: Path | None, context: object) -> str:
        seen.append(folder)
        return '[company]\nname = "Acme"  # TODO: your company\n'

    monkeypatch.setattr(FilesConnector, "starting_config", starting_config, raising=False)
    out = tmp_path / "revgov.toml"
    assert main(["init", str(tmp_path), "--out", str(out)]) == 0
    assert seen == [tmp_path]
    assert load_config(out).company.name == "Acme"
    assert "review the places marked TODO" in capsys.readouterr().out
    # An existing file is kept unless --force.
    assert main(["init", str(tmp_path), "--out", str(out)]) == EXIT_REVGOV_ERROR
    assert "exists already" in capsys.readouterr().err
    assert main(["init", str(tmp_path), "--out", str(out), "--force"]) == 0


def test_init_refuses_a_config_that_would_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        FilesConnector, "starting_config", lambda f, c: "[company]\nnmae = 1\n", raising=False
    )
    out = tmp_path / "revgov.toml"
    assert main(["init", str(tmp_path), "--out", str(out)]) == EXIT_REVGOV_ERROR
    assert "did you mean 'name'?" in capsys.readouterr().err
    assert not out.exists()


def test_init_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == EXIT_USAGE
    assert main(["init", "--salesforce", "--hubspot"]) == EXIT_USAGE
    assert main(["init", "--connector", "nope"]) == EXIT_REVGOV_ERROR
