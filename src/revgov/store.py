"""The snapshot store: one Parquet dataset per entity, cursors and quarantine, committed atomically.

Layout of a snapshot directory::

    _snapshot.json              the manifest: parts per entity, quarantine parts, cursors
    entities/<entity>/part-*.parquet
    quarantine/part-*.parquet

A commit writes new Parquet parts first (fsynced), then replaces ``_snapshot.json`` with
``os.replace``. A writer killed at any instant leaves either the old manifest or the new one,
and readers only ever open parts a manifest names, so the last good state stays readable.
Parts no manifest names (left by a killed writer) are removed by :meth:`SnapshotStore.vacuum`.

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

from revgov.errors import SnapshotCorruptError, SnapshotNotFoundError
from revgov.model.frames import QUARANTINE_SCHEMA, TypedPage, model_for, polars_schema

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

    def entities(self) -> list[str]:
        """Entities with at least one committed part, in model order."""
        return [e for e, parts in self._manifest.parts.items() if parts]

    def extras(self, entity: str) -> dict[str, str]:
        """Custom fields stored for ``entity`` (name to field type)."""
        return dict(self._manifest.extras.get(entity, {}))

    def scan(self, entity: str, *, deduplicate: bool = True) -> pl.LazyFrame:
        """A lazy frame of ``entity``: all committed parts, latest row per primary key.

        An entity with no data gives an empty frame with the canonical schema.
        """
        model = model_for(entity)
        parts = self._manifest.parts.get(entity, [])
        schema = polars_schema(entity, self._manifest.extras.get(entity))  # type: ignore[arg-type]
        if not parts:
            return pl.LazyFrame(schema=schema)
        files = [str(self.root / "entities" / entity / p) for p in parts]
        lf = pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")
        lf = lf.select([pl.col(c).cast(schema[c]) for c in schema.names()])
        if deduplicate and len(parts) > 1:
            lf = lf.unique(subset=list(model.primary_key), keep="last", maintain_order=True)
        return lf

    def frames(self) -> dict[str, pl.LazyFrame]:
        """Every entity of the model as a lazy frame (empty where nothing was pulled)."""
        from revgov.model.frames import ENTITIES

        return {e: self.scan(e) for e in ENTITIES}

    def scan_quarantine(self) -> pl.LazyFrame:
        if not self._manifest.quarantine:
            return pl.LazyFrame(schema=QUARANTINE_SCHEMA)
        files = [str(self.root / "quarantine" / p) for p in self._manifest.quarantine]
        return pl.scan_parquet(files)

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
    ) -> None:
        """Atomically add frames (per entity), quarantined rows and new cursors.

        With ``replace``, the given entities' earlier parts are dropped from the manifest in
        the same commit (a full refresh). Nothing is visible to readers until the manifest is
        swapped, so a crash at any point leaves the previous commit intact.
        """
        new = _Manifest.from_json(self._manifest.to_json())
        for entity, frame in (pages or {}).items():
            model_for(entity)
            name = f"part-{uuid.uuid4().hex}.parquet"
            if frame.height or replace:
                _write_parquet_durably(frame, self.root / "entities" / entity / name)
                kept = [] if replace else new.parts.get(entity, [])
                new.parts[entity] = [*kept, name]
        for entity, fields in (extras or {}).items():
            new.extras[entity] = {**new.extras.get(entity, {}), **fields}
        if quarantine is not None and quarantine.height:
            name = f"part-{uuid.uuid4().hex}.parquet"
            _write_parquet_durably(
                quarantine.cast(QUARANTINE_SCHEMA), self.root / "quarantine" / name
            )
            new.quarantine.append(name)
        for (source, entity), cur in (cursors or {}).items():
            new.cursors.setdefault(source, {})[entity] = cur
        if config_hash is not None:
            new.config_hash = config_hash
        new.updated_at = datetime.now(UTC).isoformat()
        for entity in pages or {}:
            entity_dir = self.root / "entities" / entity
            if entity_dir.exists():
                _fsync_dir(entity_dir)
        self._write_manifest(self.root, new)
        self._manifest = new

    def commit_page(
        self,
        page: TypedPage,
        *,
        source: str | None = None,
        cursor: str | None = None,
        extras: Mapping[str, str] | None = None,
    ) -> None:
        """Commit one typed page with its quarantine and the source's new cursor, atomically."""
        self.commit(
            {page.entity: page.frame},
            quarantine=page.quarantine,
            cursors={(source, page.entity): cursor} if source is not None else None,
            extras={page.entity: extras} if extras else None,
        )

    def vacuum(self) -> list[Path]:
        """Delete Parquet parts that no manifest names (left by interrupted writers)."""
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
