"""docs/notebooks.md is an executed example: its code blocks run in order in a real Jupyter
kernel (nbclient), each prints exactly the text shown under it, and the report, findings and
KPI objects display as HTML and charts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```\n)?", re.S)


def blocks(text: str) -> list[tuple[str, str | None]]:
    """The page's code blocks, each with the output block right under it (if any)."""
    return [(code, out) for code, out in BLOCK.findall(text)]


def execute(text: str, cwd: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code, _ in blocks(text)]
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return list(nb.cells)


def stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def _rewrite(page: Path, text: str, cells: list[nbformat.NotebookNode]) -> None:
    outputs = iter(stdout(c) for c in cells)

    def fill(match: re.Match[str]) -> str:
        printed = next(outputs)
        if match.group(2) is None:
            return match.group(0)
        return f"```python\n{match.group(1)}```\n\n```text\n{printed}```\n"

    page.write_text(BLOCK.sub(fill, text), encoding="utf-8")


def test_the_notebook_page_runs_and_prints_what_it_shows(repo_root: Path, tmp_path: Path) -> None:
    text = (repo_root / "docs" / "notebooks.md").read_text(encoding="utf-8")
    expected = blocks(text)
    assert len(expected) >= 8
    cells = execute(text, tmp_path)
    if os.environ.get("REVGOV_UPDATE_DOCS") == "1":  # rewrite the shown outputs, then review
        _rewrite(repo_root / "docs" / "notebooks.md", text, cells)
        text = (repo_root / "docs" / "notebooks.md").read_text(encoding="utf-8")
        expected = blocks(text)
    for i, (cell, (code, out)) in enumerate(zip(cells, expected, strict=True)):
        assert not [o for o in cell.outputs if o.output_type == "error"], code
        if out is not None:
            assert stdout(cell) == out, f"block {i + 1} printed something else:\n{stdout(cell)}"
    displayed = [
        o.get("data", {})
        for c in cells
        for o in c.outputs
        if o.output_type in ("execute_result", "display_data")
    ]
    html = [d["text/html"] for d in displayed if "text/html" in d]
    assert any('class="revgov-report"' in h and "Weekly scoreboard" in h for h in html)
    charts = [
        d
        for d in displayed
        if any("vegalite" in k or "vega" in k for k in d) or "vega" in d.get("text/html", "")
    ]
    assert len(charts) >= 3  # the speed-to-lead, findings and KPI charts
