"""The run history: every audit run recorded as Delta tables that live with the snapshot.

Layout (under the snapshot's directory or URI, so the history follows the snapshot to object
storage)::

    <snapshot>/_runs/runs/               one row per run (time, snapshot version, config hash,
                                          score, maturity, rule counts)
    <snapshot>/_runs/rule_results/        one row per rule and run
    <snapshot>/_runs/dimension_scores/    one row per dimension and run
    <snapshot>/_runs/findings/            one row per finding and run

Each table is appended to, never rewritten (schemas in :mod:`revgov.reports.runs`). A run is
written table by table with ``runs`` last: a run exists once its ``runs`` row does, so a
writer killed half-way leaves no half-run visible (its orphan rows are ignored). Appends to
Delta tables do not conflict, so two audits may record at the same time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from revgov.errors import OutputError, RunNotFoundError
from revgov.reports.diff import RunDiff, diff_findings
from revgov.reports.runs import (
    FINDINGS_SCHEMA,
    RUNS_SCHEMA,
    SCHEMAS,
    SCORES_SCHEMA,
    RunTables,
    frame_batches,
)

__all__ = ["HISTORY_DIR", "HISTORY_TABLES", "RunHistory"]

HISTORY_DIR = "_runs"
#: The tables the history keeps (KPI values go to databases only: they are recomputable).
HISTORY_TABLES = ("findings", "rule_results", "dimension_scores", "runs")


def _join(location: str, name: str) -> str:
    return f"{location.rstrip('/')}/{name}"


class RunHistory:
    """The recorded runs at ``location`` (a directory or an object-store URI), read and
    written with ``storage_options`` (credentials for object storage, from the environment).

    ``RunHistory.of_snapshot(path)`` is the history beside a snapshot.
    """

    def __init__(
        self, location: str | Path, *, storage_options: Mapping[str, str] | None = None
    ) -> None:
        self.location = str(location)
        self.storage_options = dict(storage_options or {})

    @classmethod
    def of_snapshot(
        cls, snapshot: str | Path, *, storage_options: Mapping[str, str] | None = None
    ) -> RunHistory:
        return cls(_join(str(snapshot), HISTORY_DIR), storage_options=storage_options)

    def __repr__(self) -> str:  # storage options may hold credentials: never shown
        return f"RunHistory({self.location!r})"

    # -- writing ---------------------------------------------------------------------------

    def record(self, run: RunTables) -> str:
        """Append one run; returns its id."""
        tables = run.tables()
        for name in HISTORY_TABLES:
            uri = _join(self.location, name)
            try:
                self._append(uri, tables[name])
            except Exception as exc:  # deltalake raises several unrelated types
                raise OutputError(
                    f"cannot record the run in {self.location!r} ({name}): {type(exc).__name__}",
                    hint="check that the snapshot location is writable, or pass --no-record",
                ) from exc
        return run.run_id

    def _append(self, uri: str, frame: pl.DataFrame | pl.LazyFrame) -> None:
        """Append ``frame`` to the Delta table at ``uri`` in one commit (nothing when it has
        no rows); a lazy frame streams, one batch in memory at a time."""
        local = not uri.startswith(("s3:", "gs:", "az:", "abfs", "memory:", "file:"))
        if isinstance(frame, pl.DataFrame):
            if frame.height == 0:
                return
            if local:
                Path(uri).mkdir(parents=True, exist_ok=True)
            frame.write_delta(
                uri,
                mode="append",
                storage_options=self.storage_options or None,
                delta_write_options={"schema_mode": "merge"},
            )
            return
        import pyarrow as pa
        from deltalake import write_deltalake

        batches = frame_batches(frame)
        first = next(batches, None)
        if first is None:
            return
        schema = first.to_arrow().schema

        def arrow_batches() -> Iterator[pa.RecordBatch]:
            for batch in itertools.chain([first], batches):
                yield from batch.to_arrow().to_batches()

        if local:
            Path(uri).mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(Path(uri).absolute()) if local else uri,
            pa.RecordBatchReader.from_batches(schema, arrow_batches()),
            mode="append",
            schema_mode="merge",
            storage_options=self.storage_options or None,
        )

    # -- reading ---------------------------------------------------------------------------

    def _read(self, name: str, schema: pl.Schema, run_id: str | None = None) -> pl.DataFrame:
        from deltalake import DeltaTable

        uri = _join(self.location, name)
        if not DeltaTable.is_deltatable(uri, storage_options=self.storage_options or None):
            return pl.DataFrame(schema=schema)
        try:
            lf = pl.scan_delta(uri, storage_options=self.storage_options or None)
            if run_id is not None:
                lf = lf.filter(pl.col("run_id") == run_id)
            frame = lf.collect()
        except Exception as exc:
            raise OutputError(
                f"cannot read the run history table {name!r} in {self.location!r}: "
                f"{type(exc).__name__}",
                hint="run `revgov snapshot verify` on the snapshot, or move _runs/ aside",
            ) from exc
        missing = [pl.lit(None, t).alias(c) for c, t in schema.items() if c not in frame.columns]
        return frame.with_columns(missing).select(list(schema)).cast(schema)

    def runs(self) -> pl.DataFrame:
        """Every recorded run, oldest first (columns of ``RUNS_SCHEMA``)."""
        return self._read("runs", RUNS_SCHEMA).sort(["recorded_at", "run_id"])

    def __len__(self) -> int:
        return self.runs().height

    def ids(self) -> list[str]:
        return self.runs()["run_id"].to_list()

    def latest(self) -> str | None:
        ids = self.ids()
        return ids[-1] if ids else None

    def previous(self, run_id: str) -> str | None:
        """The run recorded just before ``run_id`` (None for the first)."""
        ids = self.ids()
        if run_id not in ids:
            raise RunNotFoundError(f"no run {run_id!r} in {self.location!r}")
        i = ids.index(run_id)
        return ids[i - 1] if i > 0 else None

    def resolve(self, ref: str) -> str:
        """A run id from ``ref``: an id, a unique prefix of one, ``latest``, ``previous``
        (the one before the latest) or a negative index (``-1`` is the latest)."""
        ids = self.ids()
        if not ids:
            raise RunNotFoundError(
                f"no runs are recorded in {self.location!r}",
                hint="run `revgov audit` (or `revgov report`) on the snapshot first",
            )
        aliases = {"latest": -1, "previous": -2}
        index: int | None = aliases.get(ref)
        if index is None and ref.startswith("-") and ref[1:].isdigit():
            index = int(ref)
        if index is not None:
            if -index > len(ids):
                raise RunNotFoundError(
                    f"run {ref!r} does not exist: {len(ids)} run(s) are recorded",
                    hint="see `revgov history` for the run ids",
                )
            return ids[index]
        matches = [i for i in ids if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        what = "matches several runs" if matches else "is not a recorded run"
        raise RunNotFoundError(
            f"{ref!r} {what} in {self.location!r}",
            hint="see `revgov history` for the run ids (a unique prefix is enough; "
            "`latest`, `previous` and -N also work)",
        )

    def findings(self, run_id: str) -> pl.DataFrame:
        return self._read("findings", FINDINGS_SCHEMA, run_id)

    def rule_results(self, run_id: str | None = None) -> pl.DataFrame:
        return self._read("rule_results", SCHEMAS["rule_results"], run_id)

    def trend(self) -> pl.DataFrame:
        """One row per run: time, versions, score, maturity, findings, and one column per
        dimension score (``score_<dimension>``), oldest first."""
        runs = self.runs()
        scores = self._read("dimension_scores", SCORES_SCHEMA)
        if scores.height:
            wide = scores.pivot(on="dimension", index="run_id", values="score")
            wide = wide.rename({c: f"score_{c}" for c in wide.columns if c != "run_id"})
            runs = runs.join(wide, on="run_id", how="left")
        return runs.with_columns((pl.col("score") - pl.col("score").shift(1)).alias("score_change"))

    def diff(self, before: str, after: str) -> RunDiff:
        """Findings of run ``after`` against run ``before`` (ids or refs as :meth:`resolve`
        takes them)."""
        a, b = self.resolve(before), self.resolve(after)
        return diff_findings(self.findings(a), self.findings(b), before_id=a, after_id=b)

    def summary(self) -> dict[str, Any]:
        return {"location": self.location, "runs": len(self)}
