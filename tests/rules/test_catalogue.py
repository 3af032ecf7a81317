"""docs/rules.md and docs/maturity.md are generated from the code and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov.config import Config
from revgov.rules._catalogue import main, maturity_page, rules_page
from revgov.rules.packs.baseline import baseline


@pytest.mark.parametrize(
    ("page", "generate", "command"),
    [
        ("rules.md", rules_page, "python -m revgov.rules._catalogue > docs/rules.md"),
        (
            "maturity.md",
            maturity_page,
            "python -m revgov.rules._catalogue maturity > docs/maturity.md",
        ),
    ],
)
def test_committed_page_is_current(
    repo_root: Path, page: str, generate: object, command: str
) -> None:
    committed = (repo_root / "docs" / page).read_text(encoding="utf-8")
    assert committed == generate() + "\n", f"docs/{page} is stale: run `{command}`"  # type: ignore[operator]


def test_catalogue_documents_every_rule() -> None:
    text = rules_page()
    for r in baseline(Config()):
        assert f"### `{r.id}`" in text
        assert r.description in text


def test_cli_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert main(["maturity"]) == 0
    assert "# Governance maturity" in capsys.readouterr().out
