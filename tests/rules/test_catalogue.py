"""docs/rules.md and docs/maturity.md are generated from the code and must be current."""

from __future__ import annotations

from revgov.config import Config
from revgov.docgen.rules_page import rules_page
from revgov.rules.packs.baseline import baseline


def test_catalogue_documents_every_rule() -> None:
    text = rules_page()
    for r in baseline(Config()):
        assert f"### `{r.id}`" in text
        assert r.description in text
