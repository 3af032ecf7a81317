"""Prepared frames computed once without holding them in memory.

Many KPIs read the same prepared frames (the as-of cut joins the stage history, the
enrichments join users and accounts), so computing them once per run pays. Collected in
memory they cost as much as the snapshot: on 5M deals with 50M stage events, 9 GB. Streamed
to Parquet in a temporary directory instead, and read back lazily, they cost a scan: each KPI
then reads only the columns and rows it needs, with polars' streaming engine, and memory
stays bounded by the largest KPI's own working set, not by the snapshot
(benchmarks/bench_memory.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["spilled_frames"]


@contextmanager
def spilled_frames(frames: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """``frames`` with every polars LazyFrame computed once to a temporary Parquet file and
    scanned back; other frames (eager, DuckDB, Spark) are passed through. Inside the block,
    polars collects with the streaming engine; the files are removed when it ends.

    >>> with spilled_frames(prepare_frames(store.frames(), config)) as ready:  # doctest: +SKIP
    ...     compute("win_rate_by_count", ready, config, prepared=True).collect()
    """
    # Streaming throughout, also for what a sink collects on the way (the as-of look-up).
    with (
        tempfile.TemporaryDirectory(prefix="revgov-frames-") as tmp,
        pl.Config(engine_affinity="streaming"),
    ):
        out: dict[str, Any] = {}
        for i, (name, frame) in enumerate(frames.items()):
            if isinstance(frame, pl.LazyFrame):
                # Numbered: an entity name need not be a safe file name.
                path = Path(tmp) / f"{i}.parquet"
                frame.sink_parquet(path)
                out[name] = pl.scan_parquet(path)
            else:
                out[name] = frame
        yield out
