"""docs/outputs.md documents every column of every table a run writes, in order."""

from __future__ import annotations

import re
from pathlib import Path

from revgov.reports import SCHEMAS


def test_outputs_page_lists_every_column_in_order(repo_root: Path) -> None:
    text = (repo_root / "docs" / "outputs.md").read_text(encoding="utf-8")
    for table, schema in SCHEMAS.items():
        head = re.search(rf"### `{table}` \(`revgov_{table}`\).*?\n(\| column .*?)\n\n", text, re.S)
        assert head, f"docs/outputs.md has no section for {table}"
        documented = re.findall(r"^\| `(\w+)` \|", head.group(1), re.M)
        assert documented == list(schema), table
