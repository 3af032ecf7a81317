"""Reading the snapshot format before Delta Lake (a ``_snapshot.json`` manifest over Parquet
parts), for ``revgov snapshot migrate`` only.

The old format appended parts and kept, on reading, the latest row per primary key (parts in
commit order); each part remembered the source that wrote it. Migration reads each entity that
way and writes each source's rows as one read of the new store, with its quarantined rows,
custom fields and cursor, so rows, quarantine and cursors are equal after.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from revgov.errors import SnapshotCorruptError, SnapshotNotFoundError
from revgov.model.frames import ENTITIES, QUARANTINE_SCHEMA, TypedPage, model_for, polars_schema

__all__ = ["LegacySnapshot", "MigratedRead"]

MANIFEST = "_snapshot.json"
#: The source recorded for parts written without one (``commit`` without ``source``).
UNOWNED = "revgov"
_PAGE_ROWS = 100_000


@dataclass(frozen=True)
class MigratedRead:
    """One source's rows of one entity, to be written as one read."""

    source: str
    entity: str
    pages: list[TypedPage]
    cursor: str | None
    extras: dict[str, str]


class LegacySnapshot:
    """An old-format snapshot directory, read-only."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        path = self.root / MANIFEST
        if not path.is_file():
            raise SnapshotNotFoundError(
                f"no snapshot of the earlier format at {str(self.root)!r} (missing {MANIFEST})",
                hint="`revgov snapshot migrate` converts a snapshot written before revgov "
                "stored snapshots as Delta tables",
            )
        try:
            self.manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SnapshotCorruptError(
                f"the manifest {str(path)!r} cannot be read: {exc}",
                hint="restore the directory from a backup",
            ) from exc

    @property
    def config_hash(self) -> str | None:
        value = self.manifest.get("config_hash")
        return str(value) if value else None

    def cursors(self) -> dict[tuple[str, str], str | None]:
        return {
            (source, entity): cursor
            for source, per_entity in self.manifest.get("cursors", {}).items()
            for entity, cursor in per_entity.items()
        }

    def _owner(self, part: str) -> str:
        return str(self.manifest.get("owners", {}).get(part, UNOWNED))

    def entity_rows(self, entity: str) -> pl.DataFrame:
        """The entity as the old store read it (latest row per key), with ``_owner``."""
        extras = self.manifest.get("extras", {}).get(entity, {})
        schema = polars_schema(entity, extras)
        parts = self.manifest.get("parts", {}).get(entity, [])
        if not parts:
            return pl.DataFrame(schema=schema | {"_owner": pl.String()})
        scans = [
            pl.scan_parquet(
                self.root / "entities" / entity / p,
                schema=schema,
                missing_columns="insert",
                extra_columns="ignore",
            ).with_columns(pl.lit(self._owner(p)).alias("_owner"))
            for p in parts
        ]
        keys = list(model_for(entity).primary_key)
        return pl.concat(scans).unique(subset=keys, keep="last", maintain_order=True).collect()

    def quarantine_rows(self) -> pl.DataFrame:
        parts = self.manifest.get("quarantine", [])
        if not parts:
            return pl.DataFrame(schema=QUARANTINE_SCHEMA | {"_owner": pl.String()})
        return pl.concat(
            [
                pl.read_parquet(
                    self.root / "quarantine" / p, schema=QUARANTINE_SCHEMA
                ).with_columns(pl.lit(self._owner(p)).alias("_owner"))
                for p in parts
            ]
        )

    def reads(self) -> Iterator[MigratedRead]:
        """One read per (source, entity) that has rows, quarantined rows or a cursor."""
        quarantine = self.quarantine_rows()
        cursors = self.cursors()
        for entity in ENTITIES:
            rows = self.entity_rows(entity)
            q = quarantine.filter(pl.col("entity") == entity)
            owners = set(rows["_owner"]) | set(q["_owner"])
            owners |= {s for (s, e) in cursors if e == entity}
            extras = dict(self.manifest.get("extras", {}).get(entity, {}))
            for source in sorted(owners):
                mine = rows.filter(pl.col("_owner") == source).drop("_owner")
                mine_q = q.filter(pl.col("_owner") == source).drop("_owner")
                pages = [
                    TypedPage(
                        entity, mine.slice(i, _PAGE_ROWS), pl.DataFrame(schema=QUARANTINE_SCHEMA)
                    )
                    for i in range(0, mine.height, _PAGE_ROWS)
                ] or [TypedPage(entity, mine, pl.DataFrame(schema=QUARANTINE_SCHEMA))]
                first = pages[0]
                pages[0] = TypedPage(entity, first.frame, mine_q.cast(QUARANTINE_SCHEMA))
                yield MigratedRead(source, entity, pages, cursors.get((source, entity)), extras)
