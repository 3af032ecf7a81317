"""Pull every configured source into a snapshot: fetch pages, map, type, commit.

For each source and entity, :func:`pull` asks the connector for pages from the cursor the
snapshot holds, applies the governed definitions (:func:`~revgov.connectors.mapping.apply_definitions`),
types the page in bulk with quarantine (:func:`~revgov.model.type_records`) and commits it
with its new cursor in one atomic step (:meth:`~revgov.store.SnapshotStore.commit_page`). A pull
that dies resumes from its last committed page. The config hash is stamped on the snapshot.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column

from revgov.config import Config, SourceConfig
from revgov.connectors.base import Connector, ConnectorContext, Page
from revgov.connectors.mapping import apply_definitions, pipeline_stage_records
from revgov.connectors.registry import create_connector
from revgov.errors import ConfigValidationError, ConnectorError
from revgov.model.frames import model_for, raw_frame, type_records
from revgov.store import SnapshotStore

__all__ = ["CONFIG_SOURCE", "EntityPull", "PullResult", "default_snapshot_dir", "pull"]

#: The pseudo-source under which the configured pipelines are stored as ``pipeline_stages``.
CONFIG_SOURCE = "revgov.toml"


@dataclass(frozen=True)
class EntityPull:
    """What one pull did for one source and entity."""

    source: str
    entity: str
    pages: int
    rows_typed: int
    rows_quarantined: int
    #: The pull replaced the entity's earlier rows from this source (a full refresh).
    refreshed: bool

    @property
    def rows_in(self) -> int:
        return self.rows_typed + self.rows_quarantined

    @property
    def status(self) -> str:
        if self.pages == 0:
            return "unchanged"
        return "refreshed" if self.refreshed else "appended"


@dataclass(frozen=True)
class PullResult:
    """The outcome of :func:`pull`: per source and entity counts, and the snapshot's stamp."""

    snapshot: Path
    config_hash: str
    #: The hash the snapshot carried before this pull (None for a new snapshot).
    previous_config_hash: str | None
    entities: tuple[EntityPull, ...]

    @property
    def rows_typed(self) -> int:
        return sum(e.rows_typed for e in self.entities)

    @property
    def rows_quarantined(self) -> int:
        return sum(e.rows_quarantined for e in self.entities)

    @property
    def definitions_changed(self) -> bool:
        """The snapshot was last pulled under other definitions."""
        return self.previous_config_hash not in (None, self.config_hash)

    def for_entity(self, entity: str) -> tuple[int, int]:
        """(rows typed, rows quarantined) of ``entity`` in this pull, over every source."""
        rows = [e for e in self.entities if e.entity == entity]
        return sum(e.rows_typed for e in rows), sum(e.rows_quarantined for e in rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": str(self.snapshot),
            "config_hash": self.config_hash,
            "previous_config_hash": self.previous_config_hash,
            "rows_typed": self.rows_typed,
            "rows_quarantined": self.rows_quarantined,
            "entities": [
                asdict(e) | {"rows_in": e.rows_in, "status": e.status} for e in self.entities
            ],
        }


def default_snapshot_dir(config: Config) -> Path:
    """``revgov-snapshot/`` beside the config file (or in the working directory)."""
    base = config.path.parent if config.path is not None else Path.cwd()
    return base / "revgov-snapshot"


def _select_sources(config: Config, names: Sequence[str] | None) -> list[SourceConfig]:
    if not config.sources:
        where = f" {str(config.path)!r}" if config.path else ""
        raise ConfigValidationError(
            f"the config{where} has no [[sources]] to pull",
            hint='add a [[sources]] table with name, connector = "files" and its entities',
        )
    if not names:
        return list(config.sources)
    known = [s.name for s in config.sources]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise ConfigValidationError(
                f"no source named {name!r} in the config",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"configured sources: {', '.join(known)}",
            )
    return [s for s in config.sources if s.name in names]


def _status_text(page: Page) -> str:
    """A connector's vendor status (API calls, rate budget left...) as one short line."""
    return " · ".join(
        f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in page.status.items()
    )


@contextmanager
def _progress_bar(enabled: bool, console: Console | None) -> Iterator[Progress]:
    console = console or Console(stderr=True)
    whole = Column(no_wrap=True)  # names and counts are never cut short
    columns: list[ProgressColumn] = [
        SpinnerColumn(),
        TextColumn("[bold]{task.description}", table_column=whole),
        BarColumn(),
        MofNCompleteColumn(table_column=Column(no_wrap=True)),
        TextColumn("rows"),
        TimeElapsedColumn(),
    ]
    if console.width >= 110:
        columns.append(TextColumn("{task.fields[rate]}", table_column=Column(no_wrap=True)))
    # A connector's status (API calls, rate budget left) takes what room is left.
    room = Column(no_wrap=True, overflow="ellipsis", max_width=max(12, console.width - 62))
    columns.append(TextColumn("[dim]{task.fields[status]}", table_column=room))
    bar = Progress(*columns, console=console, disable=not enabled)
    with bar:
        yield bar


def _records_frame(page: Page) -> pl.DataFrame:
    return page.records if isinstance(page.records, pl.DataFrame) else raw_frame(page.records)


def _pull_entity(
    store: SnapshotStore,
    connector: Connector,
    source: SourceConfig,
    entity: str,
    config: Config,
    *,
    full_refresh: bool,
    pulled_at: datetime,
    bar: Progress,
) -> EntityPull:
    model_for(entity)  # an unknown entity name fails before any page is read
    cursor = None if full_refresh else store.cursor(source.name, entity)
    task = bar.add_task(f"{source.name} · {entity}", total=None, rate="", status="")
    pages = typed_rows = quarantined = 0
    refreshed = False
    total: int | None = None
    for page in connector.fetch(entity, cursor):
        if page.entity != entity:
            raise ConnectorError(
                f"connector {connector.name!r} returned a {page.entity!r} page when asked for "
                f"{entity!r}",
                hint="this is a bug in the connector; report it to its authors",
            )
        replace = page.replace or (full_refresh and pages == 0)
        raw = apply_definitions(entity, _records_frame(page), config)
        typed = type_records(
            entity, raw, source_system=connector.name, pulled_at=pulled_at, extras=page.extras
        )
        store.commit_page(
            typed,
            source=source.name,
            cursor=page.cursor,
            extras=dict(page.extras),
            replace=replace,
        )
        pages += 1
        refreshed = refreshed or replace
        typed_rows += typed.frame.height
        quarantined += typed.quarantine.height
        total = page.total if page.total is not None else total
        bar.update(task, total=total, advance=typed.rows_in, status=_status_text(page))
        speed = next((t.speed for t in bar.tasks if t.id == task), None)
        bar.update(task, rate=f"{speed:,.0f} rows/s" if speed else "")
    done = typed_rows + quarantined
    bar.update(task, total=total or done, completed=total or done)
    return EntityPull(source.name, entity, pages, typed_rows, quarantined, refreshed)


def _pull_config_stages(
    store: SnapshotStore, config: Config, pulled_at: datetime, *, force: bool
) -> EntityPull:
    """Store the configured pipelines as ``pipeline_stages`` (only when they changed)."""
    records = pipeline_stage_records(config)
    digest = hashlib.sha256(
        json.dumps([p.model_dump(mode="json") for p in config.pipelines], sort_keys=True).encode()
    ).hexdigest()[:16]
    if not force and store.cursor(CONFIG_SOURCE, "pipeline_stages") == digest:
        return EntityPull(CONFIG_SOURCE, "pipeline_stages", 0, 0, 0, refreshed=False)
    typed = type_records("pipeline_stages", records, source_system="config", pulled_at=pulled_at)
    store.commit_page(typed, source=CONFIG_SOURCE, cursor=digest, replace=True)
    return EntityPull(
        CONFIG_SOURCE,
        "pipeline_stages",
        1,
        typed.frame.height,
        typed.quarantine.height,
        refreshed=True,
    )


def pull(
    config: Config,
    snapshot_dir: str | Path,
    *,
    sources: Sequence[str] | None = None,
    progress: bool = True,
    full_refresh: bool = False,
    console: Console | None = None,
) -> PullResult:
    """Pull ``sources`` (default: every configured source) into the snapshot at ``snapshot_dir``.

    Each page is typed (bad rows to quarantine) and committed atomically with its cursor, so
    an interrupted pull resumes where it stopped. With ``full_refresh``, stored cursors are
    ignored and each entity's earlier rows from the source are replaced. When no source
    provides ``pipeline_stages``, the configured pipelines are stored as that entity (source
    ``revgov.toml``). A rich progress bar goes to stderr unless ``progress`` is off.
    """
    selected = _select_sources(config, sources)
    store = SnapshotStore.open_or_create(snapshot_dir, config_hash=config.config_hash)
    previous_hash = store.config_hash if store.updated_at is not None else None
    context = ConnectorContext(config.path.parent if config.path is not None else Path.cwd())
    pulled_at = datetime.now(UTC)
    results: list[EntityPull] = []
    provided: set[str] = {e for s in config.sources for e in s.entities}
    with _progress_bar(progress, console) as bar:
        for source in selected:
            connector = create_connector(source, context)
            provided.update(connector.entities())
            for entity in connector.entities():
                results.append(
                    _pull_entity(
                        store,
                        connector,
                        source,
                        entity,
                        config,
                        full_refresh=full_refresh,
                        pulled_at=pulled_at,
                        bar=bar,
                    )
                )
    if config.pipelines and "pipeline_stages" not in provided:
        results.append(_pull_config_stages(store, config, pulled_at, force=full_refresh))
    store.commit(config_hash=config.config_hash)
    return PullResult(
        snapshot=store.root,
        config_hash=config.config_hash,
        previous_config_hash=previous_hash,
        entities=tuple(results),
    )
