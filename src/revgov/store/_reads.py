"""The page log of a read in progress: one small Delta table per source and entity.

A *read* is one pass of a connector over an entity (``fetch`` from a cursor to its end). Each
page is written as Parquet files into the entity table's and the quarantine table's
directories (invisible to readers: no commit names them yet), then one row describing the page
(its files, deletions, notes, custom fields and the cursor after it) is committed to this log.
That commit is the page's atomic commit: a writer killed before it leaves only unnamed files;
after it, the page is part of the read and the next pull resumes after its cursor.

Commits to a page log never retry (``max_commit_retries=0``): the log is a compare-and-swap
register, so two pulls of the same source and entity cannot both extend one read. The one
that loses gets a :class:`~revgov.errors.ConcurrentWriteError` and nothing of it is kept.

When the read ends, :mod:`revgov.store._publish` moves it into the entity table in one commit
and the log is emptied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from revgov.errors import ConcurrentWriteError
from revgov.store._location import Location
from revgov.store._tables import create_table, delta_errors, file_list, load_table

__all__ = ["PAGE_SCHEMA", "OpenRead", "PageRow", "reads_dir", "source_slug"]

PAGE_SCHEMA = pl.Schema(
    {
        "read": pl.String(),
        "seq": pl.Int64(),
        "source": pl.String(),
        "entity": pl.String(),
        "refresh": pl.Boolean(),
        "cursor": pl.String(),  # JSON: the cursor after this page (null is JSON null)
        "data_path": pl.String(),
        "data_rows": pl.Int64(),
        "data_size": pl.Int64(),
        "quarantine_path": pl.String(),
        "quarantine_rows": pl.Int64(),
        "quarantine_size": pl.Int64(),
        "deletions": pl.String(),  # JSON list of primary keys (lists, one value per key column)
        "extras": pl.String(),  # JSON: custom field name to type
        "notes": pl.String(),  # JSON list of SourceNote fields
        "staged_at": pl.Datetime("us", "UTC"),
    }
)


def source_slug(source: str) -> str:
    """A path-safe, unique directory name for a source."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", source)[:40]
    if safe == source:
        return safe
    return f"{safe}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"


def reads_dir(entity: str, source: str) -> str:
    return f"_revgov/reads/{entity}/{source_slug(source)}"


@dataclass(frozen=True)
class PageRow:
    """One committed page of a read (a row of the page log)."""

    seq: int
    cursor: str | None
    data_path: str | None
    data_rows: int
    data_size: int
    quarantine_path: str | None
    quarantine_rows: int
    quarantine_size: int
    deletions: list[list[Any]]
    extras: dict[str, str]
    notes: list[dict[str, Any]]


@dataclass
class OpenRead:
    """The read of ``entity`` from ``source`` this writer extends (resumed or new)."""

    loc: Location
    source: str
    entity: str
    read_id: str
    refresh: bool
    #: The cursor the read resumes from (the last committed page's, or the published one).
    cursor: str | None
    #: The log's version this writer last saw: its next commit must be the one after it.
    log_version: int | None
    pages: list[PageRow] = field(default_factory=list)
    #: The page log as this writer last committed it (at ``log_version``): the next page is
    #: committed on it without opening the table again.
    _log: DeltaTable | None = field(default=None, repr=False, compare=False)

    @property
    def rel(self) -> str:
        return reads_dir(self.entity, self.source)

    @classmethod
    def resume_or_start(
        cls, loc: Location, source: str, entity: str, published_cursor: str | None
    ) -> tuple[OpenRead, bool]:
        """The read in progress for (source, entity), or a new one from ``published_cursor``.

        Returns the read and whether it was found in the log (resumed).
        """
        table = load_table(loc, reads_dir(entity, source))
        if table is None:
            return cls(loc, source, entity, _new_id(), False, published_cursor, None), False
        pages = _pages(loc, table, source, entity)
        if not pages:
            return (
                cls(loc, source, entity, _new_id(), False, published_cursor, table.version()),
                False,
            )
        read_id, refresh, rows = pages
        read = cls(loc, source, entity, read_id, refresh, rows[-1].cursor, table.version(), rows)
        return read, True

    def restart(self, *, refresh: bool) -> None:
        """Forget this read's pages (they are superseded) and start a new read."""
        self.read_id = _new_id()
        self.pages = []
        self.refresh = refresh

    def append(self, row: PageRow, staged_at: datetime | None = None) -> None:
        """Commit one page row: the page's atomic commit. The first page of a new read
        replaces whatever the log held (an abandoned read)."""
        frame = pl.DataFrame(
            [
                {
                    "read": self.read_id,
                    "seq": row.seq,
                    "source": self.source,
                    "entity": self.entity,
                    "refresh": self.refresh,
                    "cursor": json.dumps(row.cursor),
                    "data_path": row.data_path,
                    "data_rows": row.data_rows,
                    "data_size": row.data_size,
                    "quarantine_path": row.quarantine_path,
                    "quarantine_rows": row.quarantine_rows,
                    "quarantine_size": row.quarantine_size,
                    "deletions": json.dumps(row.deletions, default=str),
                    "extras": json.dumps(row.extras, sort_keys=True),
                    "notes": json.dumps(row.notes, sort_keys=True),
                    "staged_at": staged_at or datetime.now(UTC),
                }
            ],
            schema=PAGE_SCHEMA,
        )
        table = self._table()
        base = table.version()
        props = CommitProperties(
            custom_metadata={
                "revgov.read": self.read_id,
                "revgov.seq": row.seq,
                "revgov.cursor": json.dumps(row.cursor),
            },
            max_commit_retries=0,
        )
        what = f"the page log of {self.source} · {self.entity}"
        try:
            with delta_errors(what):
                write_deltalake(
                    table,
                    frame,
                    mode="overwrite" if row.seq == 1 else "append",
                    commit_properties=props,
                )
        except ConcurrentWriteError as exc:
            raise ConcurrentWriteError(
                f"another pull is writing {self.entity} from source {self.source!r} into this "
                "snapshot at the same time; this one stopped and the other carries on",
                hint="let the other pull finish, then run this one again (it resumes or "
                "finds nothing new)",
            ) from exc.__cause__
        self.pages.append(row)
        self.cursor = row.cursor
        self.log_version = base + 1
        self._log = table if table.version() == self.log_version else None

    def _table(self) -> DeltaTable:
        if self._log is not None:  # set only at log_version, by the last commit
            return self._log
        table = load_table(self.loc, self.rel, version=self.log_version)
        if table is None:
            if self.log_version is not None:
                raise ConcurrentWriteError(
                    f"the page log of {self.source} · {self.entity} disappeared while writing",
                    hint="run the pull again",
                )
            table = create_table(self.loc, self.rel, PAGE_SCHEMA)
        # This read found no log: one that now has commits past its creation is another
        # pull's, started meanwhile (committing on it would overwrite that pull's pages).
        if self.log_version is None and table.version() != 0:
            raise ConcurrentWriteError(
                f"another pull started reading {self.entity} from source {self.source!r} "
                "at the same time",
                hint="let the other pull finish, then run this one again",
            )
        return table

    def clear(self) -> None:
        """Empty the log after the read was published (idempotent, retried on conflicts)."""
        table = load_table(self.loc, self.rel)
        if table is None:
            return
        # Another writer may have replaced the log: this read's rows are gone either way.
        what = f"the page log of {self.source} · {self.entity}"
        with delta_errors(what), contextlib.suppress(CommitFailedError):
            table.delete(f"read = '{self.read_id}'")


def _new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:12]


def _pages(
    loc: Location, table: DeltaTable, source: str, entity: str
) -> tuple[str, bool, list[PageRow]] | None:
    with delta_errors(f"the page log of {source} · {entity}"):
        # Read with polars: delta-rs's pyarrow reader imports pyarrow.dataset first, which
        # costs more than a small incremental pull's own work.
        rel = reads_dir(entity, source)
        uris = [loc.join(rel, path) for path in file_list(table)["path"]]
        if not uris:
            return None
        rows = pl.read_parquet(uris, storage_options=loc.polars_options()).sort("seq")
    if rows.height == 0:
        return None
    # Only the newest read counts: an older one left by a crash was superseded when the
    # newer one committed its first page (that commit overwrote the log).
    read_id = str(rows["read"][-1])
    rows = rows.filter(pl.col("read") == read_id)
    pages = [
        PageRow(
            seq=int(r["seq"]),
            cursor=json.loads(r["cursor"]),
            data_path=r["data_path"],
            data_rows=int(r["data_rows"]),
            data_size=int(r["data_size"]),
            quarantine_path=r["quarantine_path"],
            quarantine_rows=int(r["quarantine_rows"]),
            quarantine_size=int(r["quarantine_size"]),
            deletions=json.loads(r["deletions"]),
            extras=json.loads(r["extras"]),
            notes=json.loads(r["notes"]),
        )
        for r in rows.iter_rows(named=True)
    ]
    return read_id, bool(rows["refresh"].any()), pages
