"""The snapshot on Delta Lake: commits, merges, deletions, versions, verify.

A snapshot is a directory or an object-storage URI holding one Delta table per entity (and
the quarantine, the connectors' notes and the pull runs). See docs/snapshot.md.
"""

from __future__ import annotations

from revgov.store._publish import Published
from revgov.store._reads import OpenRead
from revgov.store._verify import Problem, TableCheck
from revgov.store._versions import Version
from revgov.store.snapshot import (
    DEFAULT_RETENTION_HOURS,
    DEFAULT_SHRINK_SHARE,
    EntityInfo,
    SnapshotStore,
    verify_snapshot,
)

__all__ = [
    "DEFAULT_RETENTION_HOURS",
    "DEFAULT_SHRINK_SHARE",
    "EntityInfo",
    "OpenRead",
    "Problem",
    "Published",
    "SnapshotStore",
    "TableCheck",
    "Version",
    "verify_snapshot",
]
