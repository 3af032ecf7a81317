"""Prepared frames streamed to disk (bounded memory) give the KPIs they give in memory."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.config import Config
from revgov.metrics import compute, kpis, prepare_frames, spilled_frames
from revgov.metrics._examples import EXAMPLE_AS_OF

# The Maven CRM's deals run to the end of 2017.
MAVEN_AS_OF = datetime(2017, 12, 31)


def same_from_disk(cfg: Config, frames: dict[str, pl.LazyFrame], as_of: datetime) -> int:
    """Every KPI with its inputs, computed on the prepared frames in memory and streamed to
    disk: the same tables (sums may be added in another order: equal to the last bits)."""
    prepared = prepare_frames(frames, cfg, as_of=as_of)
    in_memory = {k: v.collect().lazy() for k, v in prepared.items()}
    compared = 0
    with spilled_frames(prepared) as ready:
        assert all(isinstance(v, pl.LazyFrame) for v in ready.values())
        assert set(ready) == set(prepared)
        for name, definition in kpis().items():
            if any(row_less(in_memory.get(e)) for e in definition.inputs):
                continue
            expected = compute(name, in_memory, cfg, as_of=as_of, prepared=True).collect()
            got = compute(name, ready, cfg, as_of=as_of, prepared=True).collect()
            assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12)
            compared += 1
    return compared


def test_the_maven_crm_kpis_are_the_same_from_disk(
    maven: tuple[Config, dict[str, pl.LazyFrame]],
) -> None:
    cfg, frames = maven
    assert same_from_disk(cfg, frames, MAVEN_AS_OF) >= 10


def test_every_kpi_of_the_example_crm_is_the_same_from_disk(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    frames = {k: v.lazy() for k, v in ex.items()}
    assert same_from_disk(ex_config, frames, EXAMPLE_AS_OF) == len(kpis())


def row_less(frame: pl.LazyFrame | None) -> bool:
    return frame is None or frame.select(pl.len()).collect().item() == 0


def test_files_are_removed_and_other_frames_pass_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    con = duckdb.connect()
    relation = con.sql("select 1 as x")
    eager = pl.DataFrame({"x": [1, 2]})
    lazy = pl.LazyFrame({"x": [3, 4]}).with_columns(y=pl.col("x") * 2)
    with spilled_frames({"a": relation, "b": eager, "c": lazy}) as ready:
        assert ready["a"] is relation and ready["b"] is eager
        assert len(list(tmp_path.glob("revgov-frames-*/*.parquet"))) == 1
        assert ready["c"].collect().to_dict(as_series=False) == {"x": [3, 4], "y": [6, 8]}
    assert list(tmp_path.iterdir()) == []
