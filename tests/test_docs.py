"""Generated reference pages match the code (regenerate with `python -m revgov._docs`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov._docs import config_reference, main, model_reference
from revgov.model import ENTITIES


@pytest.mark.parametrize(
    ("page", "generate"), [("model.md", model_reference), ("config.md", config_reference)]
)
def test_committed_reference_is_current(repo_root: Path, page: str, generate: object) -> None:
    committed = (repo_root / "docs" / page).read_text()
    assert committed == generate() + "\n", (  # type: ignore[operator]
        f"docs/{page} is stale: run `python -m revgov._docs {page[:-3]} > docs/{page}`"
    )


def test_model_reference_lists_every_column() -> None:
    text = model_reference()
    for entity, model in ENTITIES.items():
        assert f"## `{entity}`" in text
        for name in model.model_fields:
            assert f"| `{name}` |" in text


def test_config_reference_reaches_nested_tables() -> None:
    text = config_reference()
    for table in ("StageConfig", "RoutingRule", "BusinessHours", "FileEntity"):
        assert f"## {table}" in text
    assert "| `probability` | float | **required** |" in text


def test_cli_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert main(["model"]) == 0
    assert "# Canonical model reference" in capsys.readouterr().out
