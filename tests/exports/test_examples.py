"""examples/salesforce_export and examples/hubspot_export are what the generator writes, so
the docs' walkthrough and the planted-defect tests read the same layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.exports.generator import hubspot_export, salesforce_export

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("name", "write"),
    [
        (
            "salesforce_export",
            lambda d: salesforce_export(d, seed=11, leads=40, deals=24, accounts=8),
        ),
        (
            "hubspot_export",
            lambda d: hubspot_export(d, seed=11, contacts=30, deals=18, companies=6),
        ),
    ],
)
def test_example_exports_are_the_generators(tmp_path: Path, name: str, write: object) -> None:
    assert callable(write)
    write(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in (EXAMPLES / name).glob("*.csv"))
    assert written == committed
    for file in written:
        assert (tmp_path / file).read_bytes() == (EXAMPLES / name / file).read_bytes(), file
