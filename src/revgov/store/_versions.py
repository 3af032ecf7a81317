"""Snapshot versions: one timeline over the commits of every entity table.

Each entity table has its own Delta versions. The snapshot's version ``N`` is the state after
the ``N``-th data commit across all entity tables, in commit order (time, then entity, then the
table's version): for each entity, the last of its commits among the first ``N``. Maintenance
commits (table creation, new columns, compaction, vacuum) change no rows and are not numbered;
they stay readable as part of the version before them.

A version carries what ``revgov snapshot history`` shows: time, source, entity, rows added /
updated / deleted, the cursor after it and the config hash it was pulled under.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from revgov.errors import SnapshotVersionError

__all__ = ["Version", "pick", "table_versions", "timeline"]

#: Commits that change no rows: not numbered as snapshot versions.
_MAINTENANCE = {
    "CREATE TABLE",
    "ADD COLUMN",
    "OPTIMIZE",
    "VACUUM START",
    "VACUUM END",
    "SET TBLPROPERTIES",
    "UPDATE TABLE METADATA",
    "ADD CONSTRAINT",
}


@dataclass(frozen=True)
class Version:
    """One numbered version of a snapshot: a data commit to one entity table."""

    version: int
    entity: str
    table_version: int
    timestamp: datetime
    operation: str
    source: str | None
    cursor: str | None
    config_hash: str | None
    rows_added: int | None
    rows_updated: int | None
    rows_deleted: int | None
    rows_quarantined: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"timestamp": self.timestamp.isoformat()}


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _rows(commit: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    if "revgov.rows_added" in commit:
        return (
            _int(commit.get("revgov.rows_added")),
            _int(commit.get("revgov.rows_updated")),
            _int(commit.get("revgov.rows_deleted")),
        )
    metrics = commit.get("operationMetrics") or {}
    if commit.get("operation") == "MERGE":
        return (
            _int(metrics.get("num_target_rows_inserted")),
            _int(metrics.get("num_target_rows_updated")),
            _int(metrics.get("num_target_rows_deleted")),
        )
    return _int(metrics.get("num_added_rows")), None, _int(metrics.get("num_deleted_rows"))


def _cursor(commit: Mapping[str, Any]) -> str | None:
    raw = commit.get("revgov.cursor")
    if raw is None:
        return None
    value = json.loads(raw) if isinstance(raw, str) else raw
    return None if value is None else str(value)


def timeline(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Version]:
    """Number the data commits of every entity table (``histories``: entity to its commits)."""
    rows = []
    for entity, commits in histories.items():
        for c in commits:
            if c.get("operation") in _MAINTENANCE:
                continue
            rows.append((int(c["timestamp"]), entity, int(c["version"]), c))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    out = []
    for n, (ts, entity, tv, c) in enumerate(rows, start=1):
        added, updated, deleted = _rows(c)
        out.append(
            Version(
                version=n,
                entity=entity,
                table_version=tv,
                timestamp=datetime.fromtimestamp(ts / 1000, UTC),
                operation=str(c.get("operation")),
                source=c.get("revgov.source"),
                cursor=_cursor(c),
                config_hash=c.get("revgov.config_hash"),
                rows_added=added,
                rows_updated=updated,
                rows_deleted=deleted,
                rows_quarantined=_int(c.get("revgov.rows_quarantined")),
            )
        )
    return out


def pick(versions: Sequence[Version], *, version: int | None, at: datetime | None) -> int:
    """The snapshot version ``--version`` or ``--at`` names (the latest when neither)."""
    latest = len(versions)
    if version is not None:
        if not 1 <= version <= latest:
            raise SnapshotVersionError(
                f"the snapshot has no version {version} (its versions are 1 to {latest})"
                if latest
                else "the snapshot has no versions yet",
                hint="list them with `revgov snapshot history DIR`",
            )
        return version
    if at is not None:
        moment = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        before = [v.version for v in versions if v.timestamp <= moment]
        if not before:
            first = versions[0].timestamp.isoformat() if versions else "never"
            raise SnapshotVersionError(
                f"the snapshot has no version at or before {moment.isoformat()} "
                f"(its first was written {first})",
                hint="list the versions with `revgov snapshot history DIR`",
            )
        return before[-1]
    return latest


def table_versions(
    versions: Sequence[Version], upto: int, latest: Mapping[str, int]
) -> dict[str, int]:
    """Each entity's table version in snapshot version ``upto``: up to (not including) the
    entity's next data commit, so compaction that followed stays part of the version."""
    out: dict[str, int] = {}
    for v in versions[:upto]:
        out[v.entity] = latest[v.entity]
    for v in versions[upto:]:
        if v.entity in out and out[v.entity] >= v.table_version:
            out[v.entity] = v.table_version - 1
    return out
