"""Pull every configured source into a snapshot: fetch pages, map, type, commit.

For each source and entity, :func:`pull` asks the connector for pages from the cursor the
snapshot holds, applies the governed definitions (:func:`~revgov.connectors.mapping.apply_definitions`),
types the page in bulk with quarantine (:func:`~revgov.model.type_records`) and commits it
with its new cursor in one atomic step (:meth:`~revgov.store.SnapshotStore.stage_page`). When
the connector has no more pages, the read is published into the entity's Delta table in one
commit (:meth:`~revgov.store.SnapshotStore.publish`): upserts and deletions by primary key,
keys repeated within the read quarantined, and a full refresh that would remove too much of a
source refused. A pull that dies resumes from its last committed page. The config hash is
stamped on the snapshot.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
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
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column
from rich.text import Text

from revgov.config import Config, SourceConfig
from revgov.connectors.base import Connector, ConnectorContext, Page, SourceNote
from revgov.connectors.mapping import apply_definitions, pipeline_stage_records
from revgov.connectors.registry import create_connector
from revgov.errors import ConfigValidationError, ConnectorError, ShrinkRefusedError
from revgov.model.frames import model_for, raw_frame, type_records
from revgov.store import DEFAULT_SHRINK_SHARE, OpenRead, Published, SnapshotStore

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
    #: Stored rows removed: deleted at the source, or not delivered again by a full refresh.
    rows_deleted: int = 0
    #: What the connector noticed about the source (kept in the snapshot, see
    #: :meth:`~revgov.store.SnapshotStore.notes`).
    notes: tuple[SourceNote, ...] = field(default=(), repr=False)

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

    #: The snapshot's directory or URI.
    snapshot: str
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
    def notes(self) -> list[SourceNote]:
        return [n for e in self.entities for n in e.notes]

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
                {k: v for k, v in asdict(e).items() if k != "notes"}
                | {"rows_in": e.rows_in, "status": e.status}
                for e in self.entities
            ],
            "notes": [asdict(n) for n in self.notes],
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


class _RateColumn(ProgressColumn):
    """Rows per second of a task since it started (rich's speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed
        if not elapsed or not task.completed:
            return Text("")
        return Text(f"{task.completed / elapsed:,.0f} rows/s", style="progress.data.speed")


def _status_text(status: Mapping[str, str | int | float]) -> str:
    """A connector's ``Page.status`` as one line (e.g. ``api calls 12 · org usage 1,204/15,000``)."""
    return " · ".join(
        f"{k} {v:,}" if isinstance(v, int) and not isinstance(v, bool) else f"{k} {v}"
        for k, v in status.items()
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
        columns.append(_RateColumn(table_column=Column(no_wrap=True)))
    # A connector's status (API calls, rate budget left) takes what room is left.
    room = Column(no_wrap=True, overflow="ellipsis", max_width=max(12, console.width - 62))
    columns.append(TextColumn("[dim]{task.fields[status]}", table_column=room))
    bar = Progress(*columns, console=console, disable=not enabled)
    with bar:
        yield bar


def _records_frame(page: Page) -> pl.DataFrame:
    return page.records if isinstance(page.records, pl.DataFrame) else raw_frame(page.records)


@dataclass(frozen=True)
class _Options:
    """How a pull writes: what the user asked for on the command line."""

    full_refresh: bool
    allow_shrink: bool
    shrink_share: float
    pulled_at: datetime


def _pull_entity(
    store: SnapshotStore,
    connector: Connector,
    source: SourceConfig,
    entity: str,
    config: Config,
    opts: _Options,
    bar: Progress,
) -> EntityPull:
    model_for(entity)  # an unknown entity name fails before any page is read
    if not opts.full_refresh:
        # A damaged table is named now, not only when a changed export happens to touch it;
        # a full refresh is how it is rebuilt.
        store.check_files(entity)
    read = store.begin_read(source.name, entity, full_refresh=opts.full_refresh)
    task = bar.add_task(f"{source.name} · {entity}", total=None, status="")
    pages = typed_rows = quarantined = 0
    total: int | None = None
    notes: list[SourceNote] = []
    for page in connector.fetch(entity, read.cursor):
        if page.entity != entity:
            raise ConnectorError(
                f"connector {connector.name!r} returned a {page.entity!r} page when asked for "
                f"{entity!r}",
                hint="this is a bug in the connector; report it to its authors",
            )
        replace = page.replace or (opts.full_refresh and pages == 0)
        raw = apply_definitions(entity, _records_frame(page), config)
        typed = type_records(
            entity, raw, source_system=connector.name, pulled_at=opts.pulled_at, extras=page.extras
        )
        store.stage_page(
            read,
            typed,
            cursor=page.cursor,
            extras=dict(page.extras),
            replace=replace,
            deletions=page.deletions,
            notes=[asdict(n) for n in page.notes],
        )
        # A connector may repeat a note on several pages: it is said once.
        notes += [n for n in page.notes if n not in notes]
        pages += 1
        typed_rows += typed.frame.height
        quarantined += typed.quarantine.height
        total = page.total if page.total is not None else total
        bar.update(task, total=total, advance=typed.rows_in, status=_status_text(page.status))
    done = typed_rows + quarantined
    bar.update(task, total=total or done, completed=total or done)
    refreshed = read.refresh and bool(read.pages)
    published = _publish(store, read, opts)
    deleted = published.rows_deleted if published is not None else 0
    if published is not None:
        # Keys repeated across pages are found when the read is published.
        typed_rows -= published.duplicates
        quarantined += published.duplicates
    return EntityPull(
        source.name, entity, pages, typed_rows, quarantined, refreshed, deleted, tuple(notes)
    )


def _publish(store: SnapshotStore, read: OpenRead, opts: _Options) -> Published | None:
    try:
        return store.publish(
            read,
            allow_shrink=opts.allow_shrink,
            shrink_share=opts.shrink_share,
            pulled_at=opts.pulled_at,
        )
    except ShrinkRefusedError:
        store.discard(read)  # the snapshot stays as it was; the next pull reads again
        raise


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
    # The configured pipelines are the truth: fewer stages than before is not a shrinking export.
    published = store.commit_page(
        typed, source=CONFIG_SOURCE, cursor=digest, replace=True, allow_shrink=True
    )
    return EntityPull(
        CONFIG_SOURCE,
        "pipeline_stages",
        1,
        typed.frame.height,
        typed.quarantine.height,
        refreshed=True,
        rows_deleted=published.rows_deleted if published is not None else 0,
    )


def pull(
    config: Config,
    snapshot_dir: str | Path,
    *,
    sources: Sequence[str] | None = None,
    entities: Sequence[str] | None = None,
    progress: bool = True,
    full_refresh: bool = False,
    allow_shrink: bool = False,
    shrink_share: float = DEFAULT_SHRINK_SHARE,
    refresh_formulas: bool = False,
    console: Console | None = None,
) -> PullResult:
    """Pull ``sources`` (default: every configured source) into the snapshot at ``snapshot_dir``
    (a directory, or an ``s3://``, ``gs://`` or ``az://`` URI).

    Each page is typed (bad rows to quarantine) and committed atomically with its cursor, so
    an interrupted pull resumes where it stopped; each entity's read is published in one
    commit when it ends. With ``full_refresh``, stored cursors are ignored and each entity's
    earlier rows from the source are replaced; ``entities`` limits the pull to those entities
    (``--full-refresh --entity E`` rebuilds one entity). A full refresh that would remove more
    than ``shrink_share`` of a source's rows is refused (:class:`~revgov.errors.ShrinkRefusedError`,
    the entity left as it was) unless ``allow_shrink``. When no source provides
    ``pipeline_stages``, the configured pipelines are stored as that entity (source
    ``revgov.toml``). ``refresh_formulas`` has connectors re-read formula fields of every
    record (they change without moving cursors). A rich progress bar goes to stderr unless
    ``progress`` is off.
    """
    selected = _select_sources(config, sources)
    wanted = _select_entities(selected, entities)
    store = SnapshotStore.open_or_create(snapshot_dir, config_hash=config.config_hash)
    store.writer_config_hash = config.config_hash
    store.save_config(config.config_hash, config.model_dump(mode="json"))
    previous_hash = store.config_hash if store.updated_at is not None else None
    context = ConnectorContext(
        config.path.parent if config.path is not None else Path.cwd(),
        refresh_formulas=refresh_formulas,
    )
    opts = _Options(full_refresh, allow_shrink, shrink_share, datetime.now(UTC))
    results: list[EntityPull] = []
    provided: set[str] = {e for s in config.sources for e in s.entities}
    with _progress_bar(progress, console) as bar:
        for source in selected:
            connector = create_connector(source, context)
            provided.update(connector.entities())
            for entity in connector.entities():
                if wanted is None or entity in wanted:
                    results.append(
                        _pull_entity(store, connector, source, entity, config, opts, bar)
                    )
    stages_wanted = wanted is None or "pipeline_stages" in wanted
    if config.pipelines and "pipeline_stages" not in provided and stages_wanted:
        results.append(_pull_config_stages(store, config, opts.pulled_at, force=full_refresh))
    store.record_pull(config.config_hash, [s.name for s in selected])
    return PullResult(
        snapshot=store.uri,
        config_hash=config.config_hash,
        previous_config_hash=previous_hash,
        entities=tuple(results),
    )


def _select_entities(
    selected: Sequence[SourceConfig], entities: Sequence[str] | None
) -> set[str] | None:
    if not entities:
        return None
    for entity in entities:
        model_for(entity)  # an unknown name suggests the closest
    return set(entities)
