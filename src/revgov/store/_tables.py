"""Delta tables as revgov uses them: open (errors named), create, commit files, list files.

Every call into delta-rs that can fail on a damaged or unreachable table goes through here,
so that a missing log, a torn commit or a missing data file becomes a
:class:`~revgov.errors.SnapshotCorruptError` naming the table or the file, never an internal
error.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction

from revgov.errors import (
    ConcurrentWriteError,
    SnapshotCorruptError,
    StoreError,
)
from revgov.store._location import Location

__all__ = [
    "LOG_CONFIG",
    "SOURCE_COLUMN",
    "StagedFile",
    "add_files",
    "arrow_schema",
    "create_table",
    "delta_errors",
    "file_list",
    "history",
    "load_table",
]

#: The column (a partition of every entity table) naming the configured source of a row.
SOURCE_COLUMN = "_source"

#: Every table keeps its whole commit log: cursors, the history and time travel read it.
#: Data files of old versions are removed by ``revgov snapshot vacuum`` (see docs/snapshot.md).
LOG_CONFIG: dict[str, str | None] = {
    "delta.logRetentionDuration": "interval 36500 days",
    "delta.enableExpiredLogCleanup": "false",
}


@contextmanager
def delta_errors(what: str) -> Iterator[None]:
    """Translate delta-rs and storage errors about ``what`` (a table or a file)."""
    try:
        yield
    except StoreError:
        raise
    except CommitFailedError as exc:
        raise ConcurrentWriteError(
            f"{what}: another writer committed first and the change could not be rebased",
            hint="run the command again; if two pulls of one source overlap, run them in turn",
        ) from exc
    except (DeltaError, OSError, pl.exceptions.PolarsError, pa.ArrowException) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise SnapshotCorruptError(
            f"{what} cannot be read: {first}",
            hint="run `revgov snapshot verify` to see what is broken; "
            "`revgov pull --full-refresh --entity ENTITY` rebuilds an entity",
        ) from exc


def arrow_schema(schema: pl.Schema, partitions: Sequence[str] = ()) -> pa.Schema:
    """The Arrow schema of a Delta table: ``schema`` plus string partition columns."""
    fields = list(pl.DataFrame(schema=schema).to_arrow().schema)
    fields += [pa.field(p, pa.large_string()) for p in partitions if p not in schema]
    return pa.schema(fields)


def load_table(loc: Location, rel: str, *, version: int | None = None) -> DeltaTable | None:
    """The table at ``rel`` (None if there is none), at ``version`` if given."""
    uri = loc.join(rel)
    try:
        if not DeltaTable.is_deltatable(uri, storage_options=loc.storage_options()):
            return None
    except (DeltaError, OSError):
        return None
    with delta_errors(f"the table {uri!r}"):
        try:
            return DeltaTable(uri, version=version, storage_options=loc.storage_options())
        except TableNotFoundError:
            return None


def create_table(
    loc: Location, rel: str, schema: pl.Schema, partitions: Sequence[str] = ()
) -> DeltaTable:
    """Create the table at ``rel`` unless another writer just did; return it."""
    uri = loc.join(rel)
    with delta_errors(f"the table {uri!r}"):
        # A concurrent writer may create it first: then theirs is used.
        with contextlib.suppress(CommitFailedError):
            DeltaTable.create(
                uri,
                arrow_schema(schema, partitions),
                mode="ignore",
                partition_by=list(partitions) or None,
                configuration=LOG_CONFIG,
                storage_options=loc.storage_options(),
            )
        return DeltaTable(uri, storage_options=loc.storage_options())


@dataclass(frozen=True)
class StagedFile:
    """A Parquet file written into a table's directory, not yet named by a commit."""

    path: str  # relative to the table root
    size: int
    rows: int
    partition: Mapping[str, str]

    def action(self) -> AddAction:
        return AddAction(
            self.path,
            self.size,
            dict(self.partition),
            int(time.time() * 1000),
            True,
            json.dumps({"numRecords": self.rows}),
        )


def add_files(
    table: DeltaTable,
    files: Sequence[StagedFile],
    *,
    schema: pa.Schema,
    partitions: Sequence[str],
    overwrite: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    txn: str | None = None,
    removes: Sequence[RemoveAction] = (),
    what: str,
) -> None:
    """One commit adding ``files``; with ``overwrite`` (partition values), the files of that
    partition are removed in the same commit, as are ``removes`` (files being replaced).
    ``txn`` makes the commit idempotent: it is the app id recorded with it (see
    :func:`committed`)."""
    props = CommitProperties(
        custom_metadata=dict(metadata or {}),
        app_transactions=[Transaction(txn, 1)] if txn else None,
    )
    filters = [(k, "=", v) for k, v in (overwrite or {}).items()]
    with delta_errors(what):
        table.create_write_transaction(
            [*removes, *(f.action() for f in files)],
            "overwrite" if overwrite is not None else "append",
            schema,
            partition_by=list(partitions) or None,
            partition_filters=filters or None,
            commit_properties=props,
        )


def committed(table: DeltaTable, txn: str) -> bool:
    """Whether a commit carrying app id ``txn`` is in the table (an idempotent re-run)."""
    return table.transaction_version(txn) is not None


def file_list(table: DeltaTable) -> pl.DataFrame:
    """The table's live files: path, size, rows (None without stats) and partition values."""
    actions = pl.DataFrame(pl.from_arrow(pa.table(table.get_add_actions(flatten=True))))
    if "path" not in actions.columns:
        actions = pl.DataFrame(schema={"path": pl.String, "size_bytes": pl.Int64})
    rows = (
        pl.col("num_records").cast(pl.Int64)
        if "num_records" in actions.columns
        else pl.lit(None, pl.Int64)
    )
    parts = [c for c in actions.columns if c.startswith("partition.")]
    return actions.select(
        pl.col("path"),
        pl.col("size_bytes").cast(pl.Int64).alias("size"),
        rows.alias("rows"),
        *[pl.col(c).cast(pl.String).alias(c.removeprefix("partition.")) for c in parts],
    )


def history(table: DeltaTable) -> list[dict[str, Any]]:
    """The table's commits, oldest first."""
    with delta_errors(f"the log of {table.table_uri!r}"):
        return sorted(table.history(), key=lambda h: int(h["version"]))
