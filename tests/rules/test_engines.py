"""The same pack on polars and DuckDB gives the same findings and counts."""

from __future__ import annotations

from datetime import datetime

import duckdb

from revgov.demo import DemoData
from revgov.rules import audit
from revgov.rules.findings import sort_findings


def test_polars_and_duckdb_agree_on_the_demo(demo_small: DemoData) -> None:
    as_of = datetime.fromisoformat(demo_small.manifest["as_of"])
    on_polars = audit(
        {e: f.lazy() for e, f in demo_small.frames.items()}, config=demo_small.config, as_of=as_of
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    on_duckdb = audit(
        {e: con.from_arrow(f.to_arrow()) for e, f in demo_small.frames.items()},
        config=demo_small.config,
        as_of=as_of,
    )
    assert on_duckdb.engine == "duckdb"
    assert isinstance(on_duckdb.findings, duckdb.DuckDBPyRelation)
    assert on_polars.findings_df.height > 500
    assert sort_findings(on_polars.findings_df).equals(sort_findings(on_duckdb.findings_df))
    counts = [(r.id, r.checked, r.violating, r.findings) for r in on_polars.results]
    assert counts == [(r.id, r.checked, r.violating, r.findings) for r in on_duckdb.results]
    # The relation is the findings, in the engine they came from.
    assert len(on_duckdb.findings.fetchall()) == on_polars.findings_df.height
