"""The snapshot store: one Parquet dataset per entity, cursors and quarantine, committed atomically.

Layout of a snapshot directory::

    _snapshot.json              the manifest: parts per entity, quarantine parts, cursors
    entities/<entity>/part-*.parquet
    quarantine/part-*.parquet

A commit writes new Parquet parts first (fsynced), then replaces ``_snapshot.json`` with
``os.replace``. A writer killed at any instant leaves either the old manifest or the new one,
and readers only ever open parts a manifest names, so the last good state stays readable.
Parts no manifest names (left by a killed writer) are removed by :meth:`SnapshotStore.vacuum`.

Each part remembers the source that wrote it, so a full refresh of one source (``replace``)
drops only that source's earlier rows and quarantined rows of the entity, never another's.

Pages are appended; reads de-duplicate by primary key, keeping the latest row, so an
incremental pull that re-reads the boundary timestamp (cursor ``>=``) does not double count.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from revgov.errors import SchemaMismatchError, SnapshotCorruptError, SnapshotNotFoundError
from revgov.model.frames import (
    ENTITIES,
    QUARANTINE_SCHEMA,
    FieldType,
    TypedPage,
    model_for,
    polars_schema,
)

__all__ = ["EntityInfo", "SnapshotStore"]

MANIFEST = "_snapshot.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class EntityInfo:
    entity: str
    rows: int
    parts: int


@dataclass
class _Manifest:
    version: int = FORMAT_VERSION
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    updated_at: str | None = None
    config_hash: str | None = None
    parts: dict[str, list[str]] = field(default_factory=dict)
    quarantine: list[str] = field(default_factory=list)
    cursors: dict[str, dict[str, str | None]] = field(default_factory=dict)
    extras: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Part file name (entity or quarantine part) to the source that wrote it.
    owners: dict[str, str] = field(default_factory=dict)
    #: Quarantine part file name to the entity its rows belong to.
    quarantine_entities: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> _Manifest:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet_durably(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)


def _conform(frame: pl.DataFrame, schema: pl.Schema, entity: str) -> pl.DataFrame:
    """Cast the frame's canonical columns to the stored dtypes, so every part reads alike."""
    casts = [
        pl.col(c).cast(schema[c])
        for c in frame.columns
        if c in schema and frame.schema[c] != schema[c]
    ]
    if not casts:
        return frame
    try:
        return frame.with_columns(casts)
    except pl.exceptions.PolarsError as exc:
        raise SchemaMismatchError(
            f"{entity}: a column cannot be stored with its canonical type: {exc}",
            hint="type pages with revgov.model.type_records before committing them",
        ) from exc


class SnapshotStore:
    """A snapshot directory. Open an existing one with ``SnapshotStore(path)``, create with
    ``SnapshotStore.create(path)`` (or ``open_or_create``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        manifest = self.root / MANIFEST
        if not manifest.is_file():
            raise SnapshotNotFoundError(
                f"no snapshot at {str(self.root)!r} (missing {MANIFEST})",
                hint="run `revgov pull --config revgov.toml` or `revgov demo` to make one",
            )
        try:
            self._manifest = _Manifest.from_json(manifest.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, TypeError) as exc:
            raise SnapshotCorruptError(
                f"the snapshot manifest {str(manifest)!r} cannot be read: {exc}",
                hint="restore the directory from a backup or pull again into a new one",
            ) from exc

    @classmethod
    def create(cls, root: str | Path, *, config_hash: str | None = None) -> SnapshotStore:
        path = Path(root)
        if (path / MANIFEST).exists():
            raise SnapshotCorruptError(
                f"a snapshot already exists at {str(path)!r}",
                hint="open it with SnapshotStore(path), or choose another directory",
            )
        path.mkdir(parents=True, exist_ok=True)
        cls._write_manifest(path, _Manifest(config_hash=config_hash))
        return cls(path)

    @classmethod
    def open_or_create(cls, root: str | Path, *, config_hash: str | None = None) -> SnapshotStore:
        path = Path(root)
        if (path / MANIFEST).is_file():
            return cls(path)
        return cls.create(path, config_hash=config_hash)

    # -- reading -------------------------------------------------------------------------

    @property
    def config_hash(self) -> str | None:
        return self._manifest.config_hash

    @property
    def updated_at(self) -> str | None:
        """ISO timestamp of the last commit (None before the first)."""
        return self._manifest.updated_at

    def entities(self) -> list[str]:
        """Entities with at least one committed part, in model order."""
        return [e for e in ENTITIES if self._manifest.parts.get(e)]

    def extras(self, entity: str) -> dict[str, str]:
        """Custom fields stored for ``entity`` (name to field type)."""
        return dict(self._manifest.extras.get(entity, {}))

    def scan(self, entity: str, *, deduplicate: bool = True) -> pl.LazyFrame:
        """A lazy frame of ``entity``: all committed parts, latest row per primary key.

        An entity with no data gives an empty frame with the canonical schema.
        """
        model = model_for(entity)
        parts = self._manifest.parts.get(entity, [])
        schema = self._schema(entity)
        if not parts:
            return pl.LazyFrame(schema=schema)
        files = [str(self.root / "entities" / entity / p) for p in parts]
        # The full schema is given so that a custom field absent from the first part but present
        # in later ones is read (polars would otherwise take the first file's columns).
        lf = pl.scan_parquet(files, schema=schema, missing_columns="insert", extra_columns="ignore")
        if deduplicate and len(parts) > 1:
            lf = lf.unique(subset=list(model.primary_key), keep="last", maintain_order=True)
        return lf

    def frames(self) -> dict[str, pl.LazyFrame]:
        """Every entity of the model as a lazy frame (empty where nothing was pulled)."""
        return {e: self.scan(e) for e in ENTITIES}

    def _schema(self, entity: str) -> pl.Schema:
        extras: dict[str, FieldType] = self._manifest.extras.get(entity, {})  # type: ignore[assignment]
        return polars_schema(entity, extras)

    def scan_quarantine(self) -> pl.LazyFrame:
        if not self._manifest.quarantine:
            return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
        files = [str(self.root / "quarantine" / p) for p in self._manifest.quarantine]
        return pl.scan_parquet(files, schema=QUARANTINE_SCHEMA)

    def row_count(self, entity: str) -> int:
        return int(self.scan(entity).select(pl.len()).collect().item())

    def info(self) -> list[EntityInfo]:
        return [
            EntityInfo(e, self.row_count(e), len(self._manifest.parts.get(e, [])))
            for e in self.entities()
        ]

    def quarantine_counts(self) -> dict[str, int]:
        q = self.scan_quarantine().group_by("entity").len().collect()
        return {str(r["entity"]): int(r["len"]) for r in q.iter_rows(named=True)}

    def cursor(self, source: str, entity: str) -> str | None:
        return self._manifest.cursors.get(source, {}).get(entity)

    def cursors(self) -> dict[str, dict[str, str | None]]:
        return {s: dict(c) for s, c in self._manifest.cursors.items()}

    # -- writing -------------------------------------------------------------------------

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
    ) -> None:
        """Atomically add frames (per entity), quarantined rows and new cursors.

        With ``replace``, the given entities' earlier parts (and their quarantined rows) are
        dropped from the manifest in the same commit (a full refresh); with a ``source``, only
        the parts that source wrote. Nothing is visible to readers until the manifest is
        swapped, so a crash at any point leaves the previous commit intact.
        """
        new = _Manifest.from_json(self._manifest.to_json())
        for entity, fields in (extras or {}).items():
            new.extras[entity] = {**new.extras.get(entity, {}), **fields}
        for entity, frame in (pages or {}).items():
            model_for(entity)
            if not (frame.height or replace):
                continue
            if replace:
                self._drop_parts(new, entity, source)
            name = f"part-{uuid.uuid4().hex}.parquet"
            extras_e: dict[str, FieldType] = new.extras.get(entity, {})  # type: ignore[assignment]
            stored = _conform(frame, polars_schema(entity, extras_e), entity)
            _write_parquet_durably(stored, self.root / "entities" / entity / name)
            new.parts[entity] = [*new.parts.get(entity, []), name]
            if source is not None:
                new.owners[name] = source
        if quarantine is not None and quarantine.height:
            # One part per entity, so that a full refresh can drop exactly its own rows.
            for (q_entity,), rows in quarantine.partition_by(
                "entity", as_dict=True, maintain_order=True
            ).items():
                name = f"part-{uuid.uuid4().hex}.parquet"
                _write_parquet_durably(
                    rows.cast(QUARANTINE_SCHEMA), self.root / "quarantine" / name
                )
                new.quarantine.append(name)
                if q_entity is not None:
                    new.quarantine_entities[name] = str(q_entity)
                if source is not None:
                    new.owners[name] = source
        for (source, entity), cur in (cursors or {}).items():
            new.cursors.setdefault(source, {})[entity] = cur
        if config_hash is not None:
            new.config_hash = config_hash
        new.updated_at = datetime.now(UTC).isoformat()
        for entity in pages or {}:
            entity_dir = self.root / "entities" / entity
            if entity_dir.exists():
                _fsync_dir(entity_dir)
        if (self.root / "quarantine").exists():
            _fsync_dir(self.root / "quarantine")
        self._write_manifest(self.root, new)
        self._manifest = new

    @staticmethod
    def _drop_parts(manifest: _Manifest, entity: str, source: str | None) -> None:
        """Forget ``entity``'s parts and quarantine parts (only ``source``'s, if given)."""

        def dropped(part: str) -> bool:
            return source is None or manifest.owners.get(part) == source

        manifest.parts[entity] = [p for p in manifest.parts.get(entity, []) if not dropped(p)]
        manifest.quarantine = [
            q
            for q in manifest.quarantine
            if not (manifest.quarantine_entities.get(q) == entity and dropped(q))
        ]
        live = {p for parts in manifest.parts.values() for p in parts} | set(manifest.quarantine)
        manifest.owners = {p: s for p, s in manifest.owners.items() if p in live}
        manifest.quarantine_entities = {
            q: e for q, e in manifest.quarantine_entities.items() if q in live
        }

    def commit_page(
        self,
        page: TypedPage,
        *,
        source: str | None = None,
        cursor: str | None = None,
        extras: Mapping[str, str] | None = None,
        replace: bool = False,
    ) -> None:
        """Commit one typed page with its quarantine and the source's new cursor, atomically.

        With ``replace`` the page starts a full refresh of its entity from ``source``.
        """
        self.commit(
            {page.entity: page.frame},
            quarantine=page.quarantine,
            cursors={(source, page.entity): cursor} if source is not None else None,
            extras={page.entity: extras} if extras else None,
            replace=replace,
            source=source,
        )

    def vacuum(self) -> list[Path]:
        """Delete files no manifest names: parts and temporary files left by killed writers,
        and parts that a full refresh replaced."""
        named = {
            self.root / "entities" / e / p
            for e, parts in self._manifest.parts.items()
            for p in parts
        } | {self.root / "quarantine" / p for p in self._manifest.quarantine}
        removed = []
        for path in self._all_part_files():
            if path not in named:
                path.unlink()
                removed.append(path)
        for tmp in self.root.glob(f"{MANIFEST}.*.tmp"):
            tmp.unlink()
            removed.append(tmp)
        return removed

    def _all_part_files(self) -> Iterator[Path]:
        for sub in ("entities", "quarantine"):
            base = self.root / sub
            if base.exists():
                yield from base.rglob("part-*.parquet*")

    @staticmethod
    def _write_manifest(root: Path, manifest: _Manifest) -> None:
        tmp = root / f"{MANIFEST}.{uuid.uuid4().hex}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(manifest.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(root / MANIFEST)
        _fsync_dir(root)
