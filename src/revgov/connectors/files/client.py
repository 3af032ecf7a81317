"""The files connector: CSV and Parquet exports of any CRM, mapped by the config.

Each entity of a ``connector = "files"`` source names one export file. The file is streamed in
pages of ``page_size`` records, so memory stays flat however large the export. Before a page is
read, the file is checked (:mod:`._sniff`: empty, binary, another format, a byte-order mark
against the declared encoding) and a CSV's header too (:mod:`._csv`: duplicate names, a wrong
separator); an export in another encoding is transcoded to UTF-8 on the way. CSV columns are
read as text, records with the wrong number of fields are rejected with their line, and numbers
in the export's declared format are decoded; typing and quarantine are
:func:`revgov.model.type_records`'s job.

The cursor of an entity is the export's fingerprint (size, modification time, SHA-256, and a
hash of its mapping) plus the rows committed so far. Pulling an unchanged, fully read export
again yields nothing; a pull that died mid-file resumes after its last committed page; a
changed export (or mapping) is read again from the start as a full refresh.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from revgov.config import SourceConfig
from revgov.connectors.base import ConnectorContext, Cursor, Page, SourceNote
from revgov.connectors.files._csv import count_records, csv_pages, read_header
from revgov.connectors.files._history import derive_timestamps, history_events
from revgov.connectors.files._sniff import check_bytes, check_parquet, utf8_copy
from revgov.connectors.files.settings import (
    ExportFormat,
    FileEntitySettings,
    FilesSettings,
    export_format,
)
from revgov.connectors.mapping import MappedExport, map_columns
from revgov.errors import (
    ConnectorError,
    ExportFormatError,
    RevgovError,
    SourceNotFoundError,
    UnknownEntityError,
)
from revgov.model import (
    REJECT_COLUMN,
    NumberFormat,
    decode_frame,
    field_types,
    with_rejections,
)

__all__ = ["FileCursor", "FilesConnector"]

#: The entity an entity's ``history`` table is pulled as.
HISTORY_ENTITY = "stage_events"
_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": ","}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileCursor:
    """Where a pull of one export file stands; stored as compact JSON text."""

    sha256: str
    size: int
    mtime_ns: int
    mapping: str
    rows: int = 0
    done: bool = False

    def dump(self) -> str:
        return json.dumps({"v": 1, **asdict(self)}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, text: Cursor) -> FileCursor | None:
        """The cursor in ``text``; None (read from the start) if absent or not a file cursor."""
        if not text:
            return None
        try:
            data = json.loads(text)
            data.pop("v")
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def same_export(self, other: FileCursor) -> bool:
        return (self.sha256, self.size, self.mapping) == (other.sha256, other.size, other.mapping)


_ENV_REF = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def expand_env(text: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in a path, so a config can be shared by
    machines that keep the exports in different places."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name) or default
        if value is None:
            raise SourceNotFoundError(
                f"the path {text!r} uses ${{{name}}}, which is not set",
                hint=f"export {name}=... or write ${{{name}:-default}} in the path",
            )
        return value

    return _ENV_REF.sub(sub, text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: Path, mapping: str, previous: FileCursor | None = None) -> FileCursor:
    """The export's identity; the file is hashed unless its size and mtime match ``previous``."""
    stat = path.stat()
    if previous is not None and (previous.size, previous.mtime_ns) == (
        stat.st_size,
        stat.st_mtime_ns,
    ):
        sha = previous.sha256
    else:
        sha = _sha256(path)
    return FileCursor(sha256=sha, size=stat.st_size, mtime_ns=stat.st_mtime_ns, mapping=mapping)


@dataclass(frozen=True)
class _Opened:
    """An export ready to page: its columns, record count and pages from a record offset."""

    columns: list[str]
    total: int | None
    pages: Callable[[int], Iterator[pl.DataFrame]]


class FilesConnector:
    """Reads a source's CSV and Parquet exports (one file per canonical entity)."""

    name = "files"
    settings_model = FilesSettings
    entity_settings_model = FileEntitySettings

    def __init__(self, source: SourceConfig, context: ConnectorContext | None = None) -> None:
        self.source = source
        self.settings: FilesSettings = source.settings
        root = (context or ConnectorContext()).config_dir
        base = self.settings.base_dir
        self.base_dir = (root / base.expanduser()) if base is not None else root

    @classmethod
    def starting_config(cls, folder: Path | None, context: ConnectorContext) -> str:
        """``revgov init DIR``: a revgov.toml for a folder of Salesforce, HubSpot or other
        CSV exports (see :mod:`._starting`)."""
        from revgov.connectors.files._starting import starting_config

        return starting_config(folder, context)

    def entities(self) -> Sequence[str]:
        """The source's entities, and ``stage_events`` when an entity names its history."""
        names: list[str] = list(self.source.entities)
        if self.history_entities() and HISTORY_ENTITY not in names:
            names.append(HISTORY_ENTITY)
        return names

    def history_entities(self) -> list[str]:
        """The entities whose ``history`` this source reads (their events are its
        ``stage_events``)."""
        found: list[str] = [e for e in self.source.entities if self.spec(e).history is not None]
        if found and HISTORY_ENTITY in self.source.entities:
            raise ConnectorError(
                f"source {self.source.name!r} has a stage_events file and the history of "
                f"{', '.join(found)}: its stage_events would come from two places",
                hint="keep one: an entity's history table, or a stage_events file of "
                "canonical events (put the other in a second source)",
            )
        return found

    def _derived_history(self, entity: str) -> bool:
        return entity == HISTORY_ENTITY and bool(self.history_entities())

    def spec(self, entity: str) -> FileEntitySettings:
        if entity not in self.source.entities:
            raise UnknownEntityError(
                f"source {self.source.name!r} has no file for entity {entity!r}",
                hint=f"its entities are: {', '.join(self.source.entities) or 'none'}",
            )
        spec: FileEntitySettings = self.source.entity_settings(entity)
        return spec

    def check(self) -> list[str]:
        """Problems a pull would meet: missing export files, unset variables, and files that
        are empty, binary or another format, or whose header is not usable (read cheaply:
        the first bytes and the header only)."""
        problems = []
        for entity in self.source.entities:
            try:
                self._check_file(entity)
                if self.spec(entity).history is not None:
                    self._check_history(entity)
            except RevgovError as exc:
                problems.append(exc.render())
        return problems

    def _check_history(self, entity: str) -> None:
        spec = self.spec(entity)
        path = self.history_path(entity)
        if not path.is_file():
            raise self._not_found(f"{entity} history", path)
        with self._open_path(path, spec, f"{self._where(entity)} history") as opened:
            empty = pl.LazyFrame(schema=dict.fromkeys(opened.columns, pl.String()))
            history_events(empty, entity, spec).collect()

    def _check_file(self, entity: str) -> None:
        spec, path, where = self.spec(entity), self.path(entity), self._where(entity)
        if not path.is_file():
            raise self._not_found(entity, path)
        if self._format(path, spec) == "parquet":
            check_parquet(path, where=where)
            return
        fmt = self.export_format(entity)
        check_bytes(path, fmt, where=where)
        if fmt.encoding == "utf8":
            self._map(entity, list(read_header(path, path, fmt, where=where).header))

    def path(self, entity: str) -> Path:
        """The export file of ``entity`` (relative paths resolve against ``base_dir``)."""
        return (self.base_dir / Path(expand_env(self.spec(entity).path)).expanduser()).resolve()

    def history_path(self, entity: str) -> Path:
        """The history file of ``entity`` (its own export for a ``date_columns`` history)."""
        history = self.spec(entity).history
        if history is None or history.path is None:
            return self.path(entity)
        return (self.base_dir / Path(expand_env(history.path)).expanduser()).resolve()

    def export_format(self, entity: str) -> ExportFormat:
        """How ``entity``'s export is written: its own keys, else the source's options."""
        suffix = self.path(entity).suffix.lower()
        return export_format(self.spec(entity), self.settings, suffix=suffix)

    def _where(self, entity: str) -> str:
        return f"source {self.source.name!r}, {entity}"

    def _format(self, path: Path, spec: FileEntitySettings) -> Literal["csv", "parquet"]:
        if spec.format != "auto":
            return spec.format
        suffix = path.suffix.lower()
        if suffix in _CSV_SUFFIXES:
            return "csv"
        if suffix in _PARQUET_SUFFIXES:
            return "parquet"
        raise ConnectorError(
            f"source {self.source.name!r}: cannot tell the format of {str(path)!r}",
            hint='set format = "csv" or format = "parquet" for that entity',
        )

    @contextmanager
    def _open(self, entity: str) -> Iterator[_Opened]:
        """The checked export of ``entity`` (a UTF-8 copy of a CSV in another encoding lives
        as long as the context)."""
        with self._open_path(self.path(entity), self.spec(entity), self._where(entity)) as opened:
            yield opened

    @contextmanager
    def _open_path(self, path: Path, spec: FileEntitySettings, where: str) -> Iterator[_Opened]:
        """The checked file at ``path``, written as ``spec`` (and the source) say."""
        page_size = self.settings.page_size
        if self._format(path, spec) == "parquet":
            check_parquet(path, where=where)
            try:
                scan = pl.scan_parquet(path)
                columns = scan.collect_schema().names()
                total = int(scan.select(pl.len()).collect().item())
            except pl.exceptions.PolarsError as exc:
                raise self._unreadable(path, exc) from exc

            def parquet_pages(offset: int) -> Iterator[pl.DataFrame]:
                try:
                    yield from scan.slice(offset).collect_batches(chunk_size=page_size, lazy=True)
                except pl.exceptions.PolarsError as exc:
                    raise self._unreadable(path, exc) from exc

            yield _Opened(columns, total, parquet_pages)
            return
        fmt = export_format(spec, self.settings, suffix=path.suffix.lower())
        check_bytes(path, fmt, where=where)
        with utf8_copy(path, fmt, where=where) as readable:
            export = read_header(readable, path, fmt, where=where)
            yield _Opened(
                list(export.header),
                count_records(export),
                lambda offset: csv_pages(export, offset, page_size),
            )

    def _map(self, entity: str, columns: list[str]) -> MappedExport:
        """The mapping of ``entity`` checked against the export's ``columns``."""
        empty = pl.LazyFrame(schema=dict.fromkeys(columns, pl.String()))
        return self._map_frame(entity, empty)

    def _map_frame(self, entity: str, raw: pl.LazyFrame) -> MappedExport:
        where = f"source {self.source.name!r}, {entity} file {str(self.path(entity))!r}"
        return map_columns(
            raw, entity, self.spec(entity), where=where, auto_map=self.settings.auto_map
        )

    def _mapped_page(
        self, entity: str, raw: pl.DataFrame, export: MappedExport, numbers: NumberFormat
    ) -> pl.DataFrame:
        """One page of export columns as canonical columns, numbers in the export's format
        decoded, and the rejections of the reader and the decoding kept."""
        rejected = raw.get_column(REJECT_COLUMN) if REJECT_COLUMN in raw.columns else None
        if rejected is not None:
            raw = raw.drop(REJECT_COLUMN)
        frame = self._map_frame(entity, raw.lazy()).frame.collect()
        if rejected is not None:
            frame = frame.with_columns(rejected)
        if not numbers.is_default:
            ftypes = field_types(entity) | export.extras
            numeric = {c: t for c, t in ftypes.items() if t in ("int", "float")}
            frame, failures = decode_frame(frame, numeric, numbers)
            frame = with_rejections(frame, failures)
        return frame

    def _mapping_hash(self, entity: str) -> str:
        spec = self.spec(entity).model_dump_json()
        fmt = repr(self.export_format(entity))
        # A changed history changes the timestamps it gives the records: read them again.
        history = _sha256(self.history_path(entity)) if self.spec(entity).history else ""
        text = f"{spec}|{self.settings.auto_map}|{fmt}|{history}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _history_rows(self, entity: str) -> tuple[pl.DataFrame, int]:
        """Every readable row of ``entity``'s history file (text), and how many were not
        readable. The whole file is read: a row's "from" may be any other row of its record."""
        spec, path = self.spec(entity), self.history_path(entity)
        if not path.is_file():
            raise self._not_found(f"{entity} history", path)
        with self._open_path(path, spec, f"{self._where(entity)} history") as opened:
            pages = list(opened.pages(0))
            frame = (
                pl.concat(pages, how="diagonal_relaxed")
                if pages
                else pl.DataFrame(schema=dict.fromkeys(opened.columns, pl.String()))
            )
        if REJECT_COLUMN not in frame.columns:
            return frame, 0
        bad = int(frame.get_column(REJECT_COLUMN).is_not_null().sum())
        return frame.filter(pl.col(REJECT_COLUMN).is_null()).drop(REJECT_COLUMN), bad

    def history(self, entity: str) -> pl.DataFrame:
        """``entity``'s history as canonical stage_events (text columns)."""
        rows, _ = self._history_rows(entity)
        return history_events(rows.lazy(), entity, self.spec(entity)).collect()

    def _fetch_history(self, cursor: Cursor) -> Iterator[Page]:
        """The events of every entity's history, in pages; the cursor is the history files'
        combined fingerprint plus the events committed (derivation is deterministic, so a
        pull that died resumes after its last page)."""
        owners = self.history_entities()
        prints = [fingerprint(self.history_path(e), self._mapping_hash(e)) for e in owners]
        combined = "|".join(f"{p.sha256}:{p.mapping}" for p in prints)
        current = FileCursor(
            sha256=hashlib.sha256(combined.encode()).hexdigest(),
            size=sum(p.size for p in prints),
            mtime_ns=max(p.mtime_ns for p in prints),
            mapping=hashlib.sha256(combined.encode()).hexdigest()[:16],
        )
        previous = FileCursor.parse(cursor)
        offset, replace = 0, True
        if previous is not None and previous.same_export(current):
            if previous.done:
                return
            offset, replace = previous.rows, False
        parts, notes = [], []
        for entity in owners:
            rows, bad = self._history_rows(entity)
            parts.append(history_events(rows.lazy(), entity, self.spec(entity)).collect())
            if bad:
                notes.append(
                    SourceNote(
                        "history_rows_unreadable",
                        HISTORY_ENTITY,
                        f"{bad} rows of the {entity} history {str(self.history_path(entity))!r} "
                        "could not be read as CSV records and are not in its events",
                    )
                )
        events = pl.concat(parts, how="vertical")
        total, size = events.height, self.settings.page_size
        starts = range(offset, total, size) if offset < total else range(0)
        for start in starts or [total]:
            page = events.slice(start, size)
            end = min(start + size, total)
            done = end >= total
            yield Page(
                entity=HISTORY_ENTITY,
                records=page,
                cursor=FileCursor(
                    current.sha256, current.size, current.mtime_ns, current.mapping, end, done
                ).dump(),
                total=total,
                replace=replace,
                notes=notes if start == offset else (),
            )
            replace = False

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        """Pages of the export; see the module docstring for what the cursor does."""
        if self._derived_history(entity):
            yield from self._fetch_history(cursor)
            return
        path = self.path(entity)
        if not path.is_file():
            raise self._not_found(entity, path)
        previous = FileCursor.parse(cursor)
        current = fingerprint(path, self._mapping_hash(entity), previous)
        if previous is not None and previous.same_export(current):
            if previous.done:
                return  # unchanged and read to the end: not even opened
            offset, replace = previous.rows, False
        else:
            offset, replace = 0, True  # a new or changed export replaces what it wrote
        numbers = self.export_format(entity).numbers
        spec = self.spec(entity)
        events = self.history(entity) if spec.history is not None else None
        with self._open(entity) as opened:
            export = self._map(entity, opened.columns)
            if opened.total == 0 and not self.spec(entity).allow_empty:
                raise ExportFormatError(
                    f"{self._where(entity)}: the export {str(path)!r} has a header but no rows",
                    hint="check that the export finished; if the entity really has no records, "
                    "set allow_empty = true for it",
                )
            # One page of look-ahead, so that the last page can say the file is done.
            ahead: pl.DataFrame | None = None
            for batch in opened.pages(offset):
                if ahead is not None:
                    offset += ahead.height
                    yield self._page(entity, ahead, current, offset, export, opened, replace)
                    replace = False
                ahead = self._mapped_page(entity, batch, export, numbers)
                if events is not None:
                    ahead = derive_timestamps(ahead, events, entity, spec)
            last = ahead if ahead is not None else export.frame.collect()
            offset += last.height
            yield self._page(entity, last, current, offset, export, opened, replace, done=True)

    @staticmethod
    def _page(
        entity: str,
        records: pl.DataFrame,
        fp: FileCursor,
        rows: int,
        export: MappedExport,
        opened: _Opened,
        replace: bool,
        *,
        done: bool = False,
    ) -> Page:
        cursor = FileCursor(fp.sha256, fp.size, fp.mtime_ns, fp.mapping, rows=rows, done=done)
        return Page(
            entity=entity,
            records=records,
            cursor=cursor.dump(),
            extras=export.extras,
            total=opened.total,
            replace=replace,
        )

    def _not_found(self, entity: str, path: Path) -> SourceNotFoundError:
        hint = (
            f"check the `path` of {entity} (relative paths resolve against {str(self.base_dir)!r})"
        )
        if path.parent.is_dir():
            siblings = [p.name for p in path.parent.iterdir() if p.is_file()]
            close = difflib.get_close_matches(path.name, siblings, n=1)
            if close:
                hint = f"did you mean {close[0]!r}? " + hint
        return SourceNotFoundError(
            f"source {self.source.name!r}: the {entity} export {str(path)!r} does not exist",
            hint=hint,
        )

    def _unreadable(self, path: Path, exc: Exception) -> ExportFormatError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ExportFormatError(
            f"source {self.source.name!r}: cannot read {str(path)!r} as Parquet: {first}",
            hint="re-export the file; a Parquet file that was cut off or is still being "
            "written cannot be read",
        )
