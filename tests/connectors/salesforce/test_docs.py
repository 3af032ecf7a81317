"""docs/salesforce.md shows the default mapping the connector really uses."""

from __future__ import annotations

from pathlib import Path

from revgov.connectors.salesforce.defaults import mapping_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "salesforce.md"


def test_the_mapping_table_in_the_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- mapping-table:start -->\n") + len("<!-- mapping-table:start -->\n")
    end = text.index("\n<!-- mapping-table:end -->")
    assert text[start:end] == mapping_table(), (
        "regenerate the table in docs/salesforce.md from "
        "revgov.connectors.salesforce.defaults.mapping_table()"
    )
