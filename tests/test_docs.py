"""Generated reference pages match the code (regenerate with `python -m revgov.docgen all docs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov.docgen import PAGES, render_page
from revgov.docgen.__main__ import main
from revgov.docgen.reference import config_reference, model_reference
from revgov.model import ENTITIES


@pytest.mark.parametrize("name", sorted(PAGES))
def test_committed_page_is_current(repo_root: Path, name: str) -> None:
    filename = PAGES[name][0]
    committed = (repo_root / "docs" / filename).read_text(encoding="utf-8")
    assert committed == render_page(name), (
        f"docs/{filename} is stale: run `python -m revgov.docgen {name} > docs/{filename}`"
    )


def test_model_reference_lists_every_column() -> None:
    text = model_reference()
    for entity, model in ENTITIES.items():
        assert f"## `{entity}`" in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text


def test_config_reference_reaches_nested_tables() -> None:
    text = config_reference()
    for table in ("StageConfig", "RoutingRule", "BusinessHours", "`files` entity settings"):
        assert f"## {table}" in text
    assert "| `probability` | float | **required** |" in text


def test_cli_usage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["nope"]) == 2
    assert main(["model"]) == 0
    assert "# Canonical model reference" in capsys.readouterr().out
    assert main(["maturity"]) == 0
    assert "# Governance maturity" in capsys.readouterr().out
    assert main(["all", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f for f, _ in PAGES.values())
