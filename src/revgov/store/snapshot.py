"""The snapshot store: one Delta Lake table per entity, plus quarantine, notes and pull runs.

See docs/snapshot.md for the layout, the versions, and what concurrent writers can rely on.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from revgov.errors import (
    ConcurrentWriteError,
    SchemaMismatchError,
    SnapshotCorruptError,
    SnapshotNotFoundError,
    SnapshotVersionError,
    SnapshotWriteError,
)
from revgov.model._types import DTYPES
from revgov.model.frames import (
    ENTITIES,
    QUARANTINE_SCHEMA,
    FieldType,
    TypedPage,
    field_types,
    model_for,
    polars_schema,
)
from revgov.store import _legacy, _publish
from revgov.store._legacy import LegacySnapshot
from revgov.store._location import Location
from revgov.store._names import logical, physical_schema
from revgov.store._reads import OpenRead, PageRow, reads_dir, source_slug
from revgov.store._tables import (
    SOURCE_COLUMN,
    committed,
    create_table,
    delta_errors,
    file_list,
    history,
    load_table,
)
from revgov.store._verify import TableCheck, verify
from revgov.store._versions import Version, pick, table_versions, timeline

__all__ = ["DEFAULT_SHRINK_SHARE", "EntityInfo", "SnapshotStore", "verify_snapshot"]

RUNS_DIR = "_revgov/runs"
NOTES_DIR = "_revgov/notes"
#: The definitions each pull used, one JSON file per config hash, so that a snapshot can be
#: read with the definitions it was pulled with when no config is given.
CONFIGS_DIR = "_revgov/configs"
LEGACY_MANIFEST = "_snapshot.json"
#: A full refresh may remove at most this share of a source's rows without --allow-shrink.
DEFAULT_SHRINK_SHARE = 0.5
#: Delta's default: data files of replaced versions stay this long (readers, time travel).
DEFAULT_RETENTION_HOURS = 168

RUN_SCHEMA = pl.Schema(
    {
        "at": pl.Datetime("us", "UTC"),
        "kind": pl.String(),
        "config_hash": pl.String(),
        "sources": pl.String(),
    }
)
NOTES_SCHEMA = pl.Schema(
    {
        "source": pl.String(),
        "entity": pl.String(),
        "kind": pl.String(),
        "severity": pl.String(),
        "field": pl.String(),
        "message": pl.String(),
        "noted_at": pl.Datetime("us", "UTC"),
    }
)
_FIELD_TYPES: dict[pl.DataType, FieldType] = {v: k for k, v in DTYPES.items()}  # type: ignore[misc]


@dataclass(frozen=True)
class EntityInfo:
    entity: str
    rows: int
    #: Data files of the entity's table.
    parts: int


def _field_type(dtype: pl.DataType) -> FieldType:
    for known, name in _FIELD_TYPES.items():
        if dtype == known:
            return name
    if dtype == pl.Datetime:
        return "datetime"
    return "string"


def _writable_dir(path: Path) -> None:
    """Create ``path`` if needed and prove that files can be written in it, before a writer
    starts: a read-only snapshot, or a path that is a file, is refused with the fix rather
    than failing half-way through a pull as an unreadable table."""
    try:
        if path.exists() and not path.is_dir():
            raise SnapshotWriteError(
                f"the snapshot path {str(path)!r} is a file, not a directory",
                hint="pass --snapshot DIR naming a directory (it is created if missing)",
            )
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".revgov-write-check-", dir=path)
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SnapshotWriteError(
            f"cannot write the snapshot at {str(path)!r}: {reason}",
            hint="make the directory writable by this user, or pass --snapshot DIR naming a "
            "writable directory",
        ) from None


class SnapshotStore:
    """A snapshot: a directory or an object-storage URI (``s3://``, ``gs://``, ``az://``).

    ``SnapshotStore(root)`` opens the latest version; ``version=N`` or ``at=TIME`` opens an
    earlier one, read-only. Create one with :meth:`create` (or :meth:`open_or_create`).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        version: int | None = None,
        at: datetime | None = None,
    ) -> None:
        self.location = Location.of(root)
        self.uri = self.location.uri
        #: The snapshot's directory (for a URI, ``uri`` is the name to use).
        self.root = Path(self.uri)
        self._runs = self._open_runs()
        self._tables: dict[str, DeltaTable | None] = {}
        self._timeline: list[Version] | None = None
        self._pinned = version is not None or at is not None
        self._version: int | None = None
        if self._pinned:
            self._version = pick(self.history(), version=version, at=at)
        #: The config hash that commits by this writer are stamped with.
        self.writer_config_hash: str | None = None

    def _open_runs(self) -> DeltaTable:
        runs = load_table(self.location, RUNS_DIR)
        if runs is not None:
            return runs
        if self.location.exists(LEGACY_MANIFEST):
            raise SnapshotNotFoundError(
                f"{self.uri!r} holds a snapshot of the earlier format ({LEGACY_MANIFEST})",
                hint=f"convert it: `revgov snapshot migrate {self.uri} NEW_DIR`",
            )
        if self.location.is_local and Path(self.uri).is_file():
            raise SnapshotNotFoundError(
                f"{self.uri!r} is a file, not a snapshot directory",
                hint="pass --snapshot DIR naming the directory `revgov pull` or `revgov demo` "
                "wrote",
            )
        raise SnapshotNotFoundError(
            f"no snapshot at {self.uri!r} (missing {RUNS_DIR}/)",
            hint="run `revgov pull --config revgov.toml` or `revgov demo` to make one",
        )

    @classmethod
    def create(
        cls, root: str | os.PathLike[str], *, config_hash: str | None = None
    ) -> SnapshotStore:
        loc = Location.of(root)
        if load_table(loc, RUNS_DIR) is not None or loc.exists(LEGACY_MANIFEST):
            raise SnapshotCorruptError(
                f"a snapshot already exists at {loc.uri!r}",
                hint="open it with SnapshotStore(path), or choose another directory",
            )
        if loc.is_local:
            _writable_dir(Path(loc.uri))
        create_table(loc, RUNS_DIR, RUN_SCHEMA)
        store = cls(loc.uri)
        store._record_run("create", config_hash, [])
        return store

    @classmethod
    def open_or_create(
        cls, root: str | os.PathLike[str], *, config_hash: str | None = None
    ) -> SnapshotStore:
        loc = Location.of(root)
        if load_table(loc, RUNS_DIR) is not None:
            if loc.is_local:
                _writable_dir(Path(loc.uri))
            return cls(loc.uri)
        try:
            return cls.create(loc.uri, config_hash=config_hash)
        except SnapshotCorruptError:
            return cls(loc.uri)  # another writer created it meanwhile

    # -- runs and stamps -----------------------------------------------------------------

    def _runs_frame(self) -> pl.DataFrame:
        with delta_errors(f"the pull runs of {self.uri!r}"):
            self._runs.update_incremental()
            uris = [self.location.join(RUNS_DIR, p) for p in file_list(self._runs)["path"]]
            if not uris:
                return pl.DataFrame(schema=RUN_SCHEMA)
            frame = pl.read_parquet(uris, storage_options=self.location.polars_options())
            return frame.sort("at")

    def _record_run(self, kind: str, config_hash: str | None, sources: Sequence[str]) -> None:
        row = pl.DataFrame(
            [
                {
                    "at": datetime.now(UTC),
                    "kind": kind,
                    "config_hash": config_hash,
                    "sources": json.dumps(list(sources)),
                }
            ],
            schema=RUN_SCHEMA,
        )
        with delta_errors(f"the pull runs of {self.uri!r}"):
            write_deltalake(self._runs, row, mode="append")

    def record_pull(self, config_hash: str, sources: Sequence[str]) -> None:
        """Stamp the snapshot with the definitions a pull used (shown by every report)."""
        self._record_run("pull", config_hash, sources)

    def save_config(self, config_hash: str, definitions: Mapping[str, Any]) -> None:
        """Keep the validated definitions stamped as ``config_hash`` (written once per hash)."""
        relative = f"{CONFIGS_DIR}/{config_hash}.json"
        if not self.location.exists(relative):
            text = json.dumps(definitions, indent=2, sort_keys=True, default=str)
            self.location.put(relative, text.encode("utf-8"))

    def stored_config(self, config_hash: str | None = None) -> dict[str, Any] | None:
        """The definitions saved for ``config_hash`` (default: the hash this view is
        stamped with); None when the pull that stamped it kept none (older snapshots)."""
        wanted = config_hash or self.config_hash
        if wanted is None:
            return None
        relative = f"{CONFIGS_DIR}/{wanted}.json"
        if not self.location.exists(relative):
            return None
        try:
            data = json.loads(self.location.read(relative).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise SnapshotCorruptError(
                f"the definitions saved in {self.uri!r} ({relative}) are not valid JSON",
                hint="pass --config PATH, or pull again to save them anew",
            ) from exc
        return data if isinstance(data, dict) else None

    def config_file(self, config_hash: str) -> str:
        """Where :meth:`save_config` keeps ``config_hash`` (a path or URI)."""
        return self.location.join(CONFIGS_DIR, f"{config_hash}.json")

    @property
    def config_hash(self) -> str | None:
        """The config hash of the latest pull (or of the version this view reads)."""
        if self._pinned and self._version:
            return self.history()[self._version - 1].config_hash
        hashes = self._runs_frame()["config_hash"].drop_nulls()
        return str(hashes[-1]) if hashes.len() else None

    @property
    def updated_at(self) -> str | None:
        """ISO timestamp of the last pull or commit (None before the first)."""
        runs = self._runs_frame().filter(pl.col("kind") != "create")
        return runs["at"][-1].isoformat() if runs.height else None

    # -- versions ------------------------------------------------------------------------

    def _entity_table(self, entity: str) -> DeltaTable | None:
        if entity not in self._tables:
            version = None
            if self._pinned:
                pinned = self.table_versions()
                if entity not in pinned:
                    self._tables[entity] = None
                    return None
                version = pinned[entity]
            self._tables[entity] = self._load(entity, version)
        return self._tables[entity]

    def _load(self, entity: str, version: int | None = None) -> DeltaTable | None:
        try:
            return load_table(self.location, entity, version=version)
        except SnapshotCorruptError as exc:
            if version is None:
                raise
            raise SnapshotVersionError(
                f"version {self._version} of {entity} cannot be read: {exc.message}",
                hint="its files may have been removed by `revgov snapshot vacuum`",
            ) from exc

    def history(self) -> list[Version]:
        """Every version of the snapshot, oldest first (see :mod:`revgov.store._versions`)."""
        if self._timeline is None:
            histories = {}
            for entity in ENTITIES:
                table = load_table(self.location, entity)
                if table is not None:
                    histories[entity] = history(table)
            self._timeline = timeline(histories)
        return self._timeline

    @property
    def version(self) -> int:
        """The snapshot version this view reads (0 before any data was committed)."""
        return self._version if self._version is not None else len(self.history())

    def table_versions(self) -> dict[str, int]:
        """Each entity table's Delta version in the version this view reads."""
        versions = self.history()
        latest = {}
        for entity in {v.entity for v in versions}:
            table = load_table(self.location, entity)
            latest[entity] = table.version() if table is not None else 0
        return table_versions(versions, self.version, latest)

    def stamp(self) -> dict[str, Any]:
        """What a report prints to say which data it read: version, tables, time, config."""
        versions = self.history()
        current = versions[self.version - 1] if self.version else None
        return {
            "snapshot": self.uri,
            "version": self.version,
            "latest_version": len(versions),
            "written_at": current.timestamp.isoformat() if current else None,
            "tables": self.table_versions(),
            "config_hash": self.config_hash,
        }

    # -- reading -------------------------------------------------------------------------

    def entities(self) -> list[str]:
        """Entities with at least one stored row, in model order."""
        return [e for e in ENTITIES if self._files(e).height]

    def _files(self, entity: str) -> pl.DataFrame:
        table = self._entity_table(entity)
        empty = pl.DataFrame(
            schema={"path": pl.String, "size": pl.Int64, "rows": pl.Int64, SOURCE_COLUMN: pl.String}
        )
        if table is None:
            return empty
        with delta_errors(f"the {entity} table of {self.uri!r}"):
            return file_list(table) if table.version() >= 0 else empty

    def extras(self, entity: str) -> dict[str, str]:
        """Custom fields stored for ``entity`` (name to field type)."""
        table = self._entity_table(entity)
        if table is None:
            return {}
        canonical = set(field_types(entity)) | {SOURCE_COLUMN}
        stored = pl.DataFrame(pl.from_arrow(pa.schema(table.schema().to_arrow()).empty_table()))
        return {logical(c): _field_type(t) for c, t in stored.schema.items() if c not in canonical}

    def _schema(self, entity: str) -> pl.Schema:
        return polars_schema(entity, self.extras(entity))  # type: ignore[arg-type]

    def check_files(self, entity: str) -> None:
        """Refuse to read an entity whose table names a missing or damaged file."""
        files = self._files(entity)
        for path, size in files.select("path", "size").iter_rows():
            problem = self._file_problem(f"{entity}/{path}", int(size))
            if problem and self._pinned and self.version < len(self.history()):
                raise SnapshotVersionError(
                    f"version {self.version} of {entity} cannot be read: {problem}",
                    hint="the files of versions older than the vacuum retention are removed by "
                    "`revgov snapshot vacuum`; read a later version",
                )
            if problem:
                raise SnapshotCorruptError(
                    f"the {entity} table of {self.uri!r}: {problem}",
                    hint=f"run `revgov snapshot verify {self.uri}`; "
                    f"`revgov pull --full-refresh --entity {entity}` rebuilds it",
                )

    def check(self) -> None:
        """Refuse a snapshot whose tables name a missing or damaged file (entities and
        quarantine; ``verify`` checks more, and deeper)."""
        for entity in ENTITIES:
            self.check_files(entity)
        self.scan_quarantine()

    def _file_problem(self, rel: str, size: int) -> str | None:
        actual = self.location.size(rel)
        if actual is None:
            return f"the data file {rel!r} is missing"
        if actual != size:
            return f"the data file {rel!r} has {actual:,} bytes, its commit says {size:,}"
        if self.location.is_local:
            with Path(self.location.join(rel)).open("rb") as fh:
                fh.seek(max(0, size - 4))
                if fh.read(4) != b"PAR1":
                    return f"the data file {rel!r} is not a complete Parquet file"
        return None

    def scan(self, entity: str) -> pl.LazyFrame:
        """A lazy frame of ``entity`` (one row per primary key), canonical schema plus custom
        fields. An entity with no data gives an empty frame with the canonical schema."""
        model_for(entity)
        schema = self._schema(entity)
        files = self._files(entity)
        if files.height == 0:
            return pl.LazyFrame(schema=schema)
        self.check_files(entity)
        uris = [self.location.join(entity, p) for p in files["path"]]
        stored = physical_schema(entity, schema)
        return pl.scan_parquet(
            uris,
            schema=stored,
            missing_columns="insert",
            extra_columns="ignore",
            storage_options=self.location.polars_options(),
        ).rename(dict(zip(stored.names(), schema.names(), strict=True)))

    def frames(self) -> dict[str, pl.LazyFrame]:
        """Every entity of the model as a lazy frame (empty where nothing was pulled)."""
        return {e: self.scan(e) for e in ENTITIES}

    def row_count(self, entity: str) -> int:
        rows = self._files(entity)["rows"]
        if rows.null_count() == 0:
            return int(rows.sum())
        return int(self.scan(entity).select(pl.len()).collect().item())

    def info(self) -> list[EntityInfo]:
        return [EntityInfo(e, self.row_count(e), self._files(e).height) for e in self.entities()]

    def _quarantine_table(self) -> DeltaTable | None:
        table = load_table(self.location, _publish.QUARANTINE_DIR)
        if table is None or not self._pinned:
            return table
        return self._as_of(table, _publish.QUARANTINE_DIR)

    def _as_of(self, table: DeltaTable, rel: str) -> DeltaTable | None:
        """``table`` as it was when the version this view reads was written."""
        if not self.version:
            return None
        moment = self.history()[self.version - 1].timestamp
        older = [h for h in history(table) if int(h["timestamp"]) <= moment.timestamp() * 1000]
        if not older:
            return None
        return load_table(self.location, rel, version=int(older[-1]["version"]))

    def scan_quarantine(self) -> pl.LazyFrame:
        """Rows that could not be stored, with the field, raw value and reason."""
        table = self._quarantine_table()
        if table is None:
            return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
        files = file_list(table)
        if files.height == 0:
            return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
        for path, size in files.select("path", "size").iter_rows():
            problem = self._file_problem(f"{_publish.QUARANTINE_DIR}/{path}", int(size))
            if problem:
                raise SnapshotCorruptError(
                    f"the quarantine of {self.uri!r}: {problem}",
                    hint=f"run `revgov snapshot verify {self.uri}`",
                )
        body = pl.Schema({k: v for k, v in QUARANTINE_SCHEMA.items() if k != "entity"})
        scans = [
            pl.scan_parquet(
                self.location.join(_publish.QUARANTINE_DIR, path),
                schema=body,
                storage_options=self.location.polars_options(),
            ).with_columns(pl.lit(entity, pl.String).alias("entity"))
            for path, entity in files.select("path", "entity").iter_rows()
        ]
        return pl.concat(scans).select(QUARANTINE_SCHEMA.names())

    def quarantine_counts(self) -> dict[str, int]:
        table = self._quarantine_table()
        if table is None:
            return {}
        counts = file_list(table).group_by("entity").agg(pl.col("rows").sum())
        return {str(e): int(n) for e, n in counts.iter_rows() if n}

    def pulled(self) -> pl.DataFrame:
        """Per entity pulled: rows stored and rows quarantined (the input of the audit's
        ``pulled.rows_quarantined`` rule and of the counts audit and metrics print)."""
        quarantined = self.quarantine_counts()
        names = [e for e in ENTITIES if e in quarantined or self._files(e).height]
        return pl.DataFrame(
            {
                "entity": names,
                "rows_stored": [self.row_count(e) if self._files(e).height else 0 for e in names],
                "rows_quarantined": [quarantined.get(e, 0) for e in names],
            },
            schema={"entity": pl.String, "rows_stored": pl.Int64, "rows_quarantined": pl.Int64},
        )

    def notes(self) -> pl.DataFrame:
        """What connectors noticed about their sources (latest pull of each source and
        entity): source, entity, kind, severity, field, message, noted_at."""
        table = load_table(self.location, NOTES_DIR)
        if table is not None and self._pinned:
            table = self._as_of(table, NOTES_DIR)
        if table is None:
            return pl.DataFrame(schema=NOTES_SCHEMA)
        with delta_errors(f"the notes of {self.uri!r}"):
            frame = pl.DataFrame(pl.from_arrow(table.to_pyarrow_table()))
        return frame.select(NOTES_SCHEMA.names()).sort("source", "entity", "kind")

    # -- cursors -------------------------------------------------------------------------

    def _published_cursor(self, source: str, entity: str) -> str | None:
        for v in reversed(self.history()[: self.version]):
            if v.entity == entity and v.source == source:
                return v.cursor
        return None

    def cursor(self, source: str, entity: str) -> str | None:
        """Where the next pull of ``entity`` from ``source`` resumes (None: from the start)."""
        if self._pinned:
            return self._published_cursor(source, entity)
        read, resumed = OpenRead.resume_or_start(
            self.location, source, entity, self._published_cursor(source, entity)
        )
        if resumed and self._is_published(read):
            return self._published_cursor(source, entity)
        return read.cursor

    def cursors(self) -> dict[str, dict[str, str | None]]:
        """Every source's cursor per entity (published reads, then reads in progress)."""
        out: dict[str, dict[str, str | None]] = {}
        for v in self.history()[: self.version]:
            if v.source is not None:
                out.setdefault(v.source, {})[v.entity] = v.cursor
        if not self._pinned:
            for read in self.open_reads():
                out.setdefault(read.source, {})[read.entity] = read.cursor
        return out

    def open_reads(self) -> list[OpenRead]:
        """Reads that committed pages but are not published yet (a pull running or killed)."""
        found = []
        for entity in self.location.list_dirs("_revgov/reads"):
            if entity not in ENTITIES:
                continue
            for slug in self.location.list_dirs(f"_revgov/reads/{entity}"):
                table = load_table(self.location, f"_revgov/reads/{entity}/{slug}")
                if table is None:
                    continue
                with delta_errors(f"the page log {entity}/{slug}"):
                    rows = pl.DataFrame(pl.from_arrow(table.to_pyarrow_table()))
                if rows.height == 0:
                    continue
                source = str(rows["source"][0])
                read, resumed = OpenRead.resume_or_start(self.location, source, entity, None)
                if resumed and not self._is_published(read):
                    found.append(read)
        return found

    def _is_published(self, read: OpenRead) -> bool:
        table = load_table(self.location, read.entity)
        return table is not None and committed(table, f"revgov.read.{read.read_id}")

    # -- writing -------------------------------------------------------------------------

    def _writable(self) -> None:
        if self._pinned:
            raise SnapshotVersionError(
                f"this view of {self.uri!r} reads version {self._version}: it cannot be written",
                hint="open the snapshot without version= or at= to write to it",
            )

    def begin_read(self, source: str, entity: str, *, full_refresh: bool = False) -> OpenRead:
        """The read a pull of ``entity`` from ``source`` extends: the one in progress (a pull
        that died), or a new one from the published cursor (from the start with
        ``full_refresh``). Its ``cursor`` is where the connector resumes."""
        self._writable()
        model_for(entity)
        published = self._published_cursor(source, entity)
        read, resumed = OpenRead.resume_or_start(self.location, source, entity, published)
        if resumed and self._is_published(read):
            read.clear()  # a pull died between publishing the read and emptying its log
            read, _ = OpenRead.resume_or_start(self.location, source, entity, published)
        if full_refresh:
            read.restart(refresh=True)
            read.cursor = None
        return read

    def stage_page(
        self,
        read: OpenRead,
        page: TypedPage,
        *,
        cursor: str | None,
        extras: Mapping[str, str] | None = None,
        replace: bool = False,
        deletions: Sequence[Any] = (),
        notes: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Write one page of ``read`` and commit it with its cursor (atomic). With ``replace``
        the page starts a full refresh of the entity from the read's source."""
        self._writable()
        if page.entity != read.entity:
            raise SchemaMismatchError(
                f"a {page.entity} page cannot be staged in a read of {read.entity}",
                hint="begin one read per entity",
            )
        if replace:
            if read.pages:
                read.restart(refresh=True)
            read.refresh = True
        seq = len(read.pages) + 1
        merged = self._read_extras(read) | dict(extras or {})
        schema = polars_schema(read.entity, merged)  # type: ignore[arg-type]
        tag = f"{read.read_id}-{seq:06d}"
        data = None
        if page.frame.height:
            frame = _conform(page.frame, schema, read.entity)
            frame.columns = physical_schema(read.entity, schema).names()
            data = _publish.write_parquet(
                self.location,
                read.entity,
                f"{SOURCE_COLUMN}={source_slug(read.source)}",
                frame,
                tag,
            )
        quarantine = None
        if page.quarantine.height:
            quarantine = _publish.quarantine_file(
                self.location, read.source, read.entity, page.quarantine, tag
            )
        read.append(
            PageRow(
                seq=seq,
                cursor=cursor,
                data_path=data.path if data else None,
                data_rows=data.rows if data else 0,
                data_size=data.size if data else 0,
                quarantine_path=quarantine.path if quarantine else None,
                quarantine_rows=quarantine.rows if quarantine else 0,
                quarantine_size=quarantine.size if quarantine else 0,
                deletions=[list(k) if isinstance(k, list | tuple) else [k] for k in deletions],
                extras=merged,
                notes=[dict(n) for n in notes],
            )
        )

    def _read_extras(self, read: OpenRead) -> dict[str, str]:
        extras: dict[str, str] = {}
        for p in read.pages:
            extras |= p.extras
        # Types already stored win: a Delta column keeps its type.
        return extras | self.extras(read.entity)

    def publish(
        self,
        read: OpenRead,
        *,
        allow_shrink: bool = False,
        shrink_share: float = DEFAULT_SHRINK_SHARE,
        pulled_at: datetime | None = None,
    ) -> _publish.Published | None:
        """Make a finished read visible: one commit to the entity table (see
        :mod:`revgov.store._publish`). None when the read has no pages."""
        self._writable()
        if not read.pages:
            return None
        entity = read.entity
        schema = physical_schema(entity, polars_schema(entity, self._read_extras(read)))  # type: ignore[arg-type]
        live = load_table(self.location, entity) or create_table(
            self.location, entity, schema, [SOURCE_COLUMN]
        )
        if committed(live, f"revgov.read.{read.read_id}"):
            read.clear()
            return None
        result: _publish.Published | None = None
        # Another writer's commit to the same table (another source of the entity) can make
        # delta-rs give up rebasing ours: publishing is idempotent, so it is simply redone
        # on the new state of the tables, analysis included.
        for attempt in Retrying(
            retry=retry_if_exception_type(ConcurrentWriteError),
            stop=stop_after_attempt(8),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            reraise=True,
        ):
            with attempt:
                result = self._publish_once(read, schema, allow_shrink, shrink_share, pulled_at)
        read.clear()
        self._tables.pop(entity, None)
        self._timeline = None
        return result

    def _publish_once(
        self,
        read: OpenRead,
        schema: pl.Schema,
        allow_shrink: bool,
        shrink_share: float,
        pulled_at: datetime | None,
    ) -> _publish.Published | None:
        live = load_table(self.location, read.entity)
        if live is None or committed(live, f"revgov.read.{read.read_id}"):
            return None
        skip = self._damaged_but_replaced(read, live)
        quarantine = load_table(self.location, _publish.QUARANTINE_DIR) or create_table(
            self.location,
            _publish.QUARANTINE_DIR,
            QUARANTINE_SCHEMA,
            _publish.QUARANTINE_PARTITIONS,
        )
        return _publish.publish(
            self.location,
            read,
            live,
            quarantine,
            self._write_notes,
            schema=schema,
            config_hash=self.writer_config_hash,
            allow_shrink=allow_shrink,
            shrink_share=shrink_share,
            pulled_at=pulled_at or datetime.now(UTC),
            skip=skip,
        )

    def _damaged_but_replaced(self, read: OpenRead, live: DeltaTable) -> set[str]:
        """Damaged files of the entity: a full refresh replaces those of its own source
        (that is how ``pull --full-refresh --entity`` repairs); any other is refused, named."""
        files = file_list(live)
        skip = set()
        for path, size, source in files.select("path", "size", SOURCE_COLUMN).iter_rows():
            problem = self._file_problem(f"{read.entity}/{path}", int(size))
            if problem is None:
                continue
            if read.refresh and source == read.source:
                skip.add(str(path))
                continue
            raise SnapshotCorruptError(
                f"the {read.entity} table of {self.uri!r}: {problem}",
                hint=f"`revgov pull --full-refresh --entity {read.entity}` rebuilds it from "
                f"its sources; `revgov snapshot verify {self.uri}` lists every problem",
            )
        return skip

    def discard(self, read: OpenRead) -> None:
        """Forget a read's pages (after a refused publish): the snapshot stays as it was."""
        read.clear()

    def _write_notes(
        self, source: str, entity: str, notes: Sequence[Mapping[str, Any]], at: datetime
    ) -> None:
        table = load_table(self.location, NOTES_DIR)
        if table is None and not notes:
            return
        if table is None:
            table = create_table(self.location, NOTES_DIR, NOTES_SCHEMA)
        unique = {json.dumps(n, sort_keys=True): n for n in notes}.values()
        frame = pl.DataFrame(
            [
                {
                    "source": source,
                    "entity": str(n.get("entity") or entity),
                    "kind": str(n.get("kind")),
                    "severity": str(n.get("severity", "warn")),
                    "field": n.get("field"),
                    "message": str(n.get("message")),
                    "noted_at": at,
                }
                for n in unique
            ],
            schema=NOTES_SCHEMA,
        )
        pred = f"source = {_publish.sql_string(source)} AND entity = {_publish.sql_string(entity)}"
        with delta_errors(f"the notes of {self.uri!r}"):
            if not notes:
                earlier = pl.DataFrame(pl.from_arrow(table.to_pyarrow_table()))
                if earlier.filter(source=source, entity=entity).height == 0:
                    return
            write_deltalake(table, frame, mode="overwrite", predicate=pred)

    def commit_page(
        self,
        page: TypedPage,
        *,
        source: str | None = None,
        cursor: str | None = None,
        extras: Mapping[str, str] | None = None,
        replace: bool = False,
        deletions: Sequence[Any] = (),
        allow_shrink: bool = False,
        shrink_share: float = DEFAULT_SHRINK_SHARE,
    ) -> _publish.Published | None:
        """Commit one typed page as a whole read (staged and published at once)."""
        read = self.begin_read(source or DIRECT_SOURCE, page.entity)
        self.stage_page(
            read, page, cursor=cursor, extras=extras, replace=replace, deletions=deletions
        )
        try:
            return self.publish(read, allow_shrink=allow_shrink, shrink_share=shrink_share)
        except Exception:
            self.discard(read)
            raise

    def commit(
        self,
        pages: Mapping[str, pl.DataFrame] | None = None,
        *,
        quarantine: pl.DataFrame | None = None,
        cursors: Mapping[tuple[str, str], str | None] | None = None,
        replace: bool = False,
        extras: Mapping[str, Mapping[str, str]] | None = None,
        config_hash: str | None = None,
        source: str | None = None,
        deletions: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        """Commit typed frames per entity (each a read of its own), and stamp ``config_hash``.

        The source of an entity's rows is ``source``, else the one its cursor names, else
        ``revgov``. ``replace`` makes each a full refresh of that source's rows.
        """
        for entity, frame in (pages or {}).items():
            named = [s for (s, e) in (cursors or {}) if e == entity]
            src = source or (named[0] if named else DIRECT_SOURCE)
            q = (
                quarantine.filter(pl.col("entity") == entity)
                if quarantine is not None
                else pl.DataFrame(schema=QUARANTINE_SCHEMA)
            )
            self.commit_page(
                TypedPage(entity, frame, q),
                source=src,
                cursor=(cursors or {}).get((src, entity)),
                extras=(extras or {}).get(entity),
                replace=replace,
                deletions=(deletions or {}).get(entity, ()),
                allow_shrink=True,
            )
        if config_hash is not None or pages:
            self._record_run("commit", config_hash, sorted({source or DIRECT_SOURCE}))

    # -- maintenance ---------------------------------------------------------------------

    def _tables_for_maintenance(self) -> list[tuple[str, DeltaTable]]:
        rels = [*ENTITIES, _publish.QUARANTINE_DIR, NOTES_DIR, RUNS_DIR]
        for entity in self.location.list_dirs("_revgov/reads"):
            rels += [
                f"_revgov/reads/{entity}/{s}"
                for s in self.location.list_dirs(f"_revgov/reads/{entity}")
            ]
        out = []
        for rel in rels:
            table = load_table(self.location, rel)
            if table is not None:
                out.append((rel, table))
        return out

    def compact(self) -> dict[str, int]:
        """Rewrite small files into larger ones (a new table version, same rows); returns
        files removed per table."""
        self._writable()
        out = {}
        for rel, table in self._tables_for_maintenance():
            with delta_errors(f"the table {rel!r} of {self.uri!r}"):
                metrics = table.optimize.compact()
                table.create_checkpoint()
            out[rel] = int(metrics.get("numFilesRemoved", 0))
        self._timeline = None
        return out

    def vacuum(
        self, *, retention_hours: int = DEFAULT_RETENTION_HOURS, dry_run: bool = False
    ) -> list[str]:
        """Delete data files no version within ``retention_hours`` needs, and files of killed
        writers older than that. Versions older than the retention can no longer be read."""
        self._writable()
        cutoff = datetime.now(UTC) - timedelta(hours=retention_hours)
        for read in self.open_reads():
            staged = _staged_at(read)
            if staged is not None and staged < cutoff:
                raise SnapshotCorruptError(
                    f"a pull of {read.entity} from source {read.source!r} is in progress or "
                    f"was interrupted (pages staged since {staged.isoformat()}); vacuum would "
                    "delete its pages",
                    hint="finish it with `revgov pull` first, or vacuum with a longer "
                    "--retention-hours",
                )
        removed: list[str] = []
        for rel, table in self._tables_for_maintenance():
            with delta_errors(f"the table {rel!r} of {self.uri!r}"):
                names = table.vacuum(
                    retention_hours=retention_hours,
                    dry_run=dry_run,
                    enforce_retention_duration=False,
                )
            removed += [f"{rel}/{n}" for n in names]
        return removed

    def verify(self) -> list[TableCheck]:
        """Check every table (log, files, row counts); see :func:`verify_snapshot`."""
        return verify_snapshot(self.uri)

    @classmethod
    def migrate(cls, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> SnapshotStore:
        """Convert a snapshot of the earlier format (``_snapshot.json``) into a new one:
        each source's rows of each entity as one read, with its quarantine, custom fields and
        cursor."""
        legacy = LegacySnapshot(old)
        store = cls.create(new, config_hash=legacy.config_hash)
        store.writer_config_hash = legacy.config_hash
        sources = set()
        for m in legacy.reads():
            read = store.begin_read(m.source, m.entity)
            for i, page in enumerate(m.pages):
                store.stage_page(read, page, cursor=m.cursor, extras=m.extras, replace=i == 0)
            store.publish(read, allow_shrink=True)
            sources.add(m.source)
        store._record_run("migrate", legacy.config_hash, sorted(sources))
        return store


DIRECT_SOURCE = _legacy.UNOWNED
META_TABLES = (RUNS_DIR, _publish.QUARANTINE_DIR, NOTES_DIR)


def verify_snapshot(root: str | os.PathLike[str]) -> list[TableCheck]:
    """Check every table of the snapshot at ``root`` without opening it as a store (so that
    a damaged run log is reported too)."""
    loc = Location.of(root)
    if not any(loc.exists(f"{m}/_delta_log") for m in META_TABLES):
        raise SnapshotNotFoundError(
            f"no snapshot at {loc.uri!r}",
            hint="give the directory that `revgov pull` or `revgov demo` wrote",
        )
    return verify(loc, META_TABLES)


def _staged_at(read: OpenRead) -> datetime | None:
    table = load_table(read.loc, reads_dir(read.entity, read.source))
    if table is None:
        return None
    rows = pl.DataFrame(pl.from_arrow(table.to_pyarrow_table()))
    return rows["staged_at"].min() if rows.height else None  # type: ignore[return-value]


def _conform(frame: pl.DataFrame, schema: pl.Schema, entity: str) -> pl.DataFrame:
    """The frame with exactly the stored columns and dtypes (missing ones null)."""
    try:
        return frame.select(
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in schema.items()
        )
    except pl.exceptions.PolarsError as exc:
        raise SchemaMismatchError(
            f"{entity}: a column cannot be stored with its canonical type: {exc}",
            hint="type pages with revgov.model.type_records before committing them",
        ) from exc
