"""CLI: ``revgov snapshot info|history|quarantine|verify|compact|vacuum|migrate``.

Every command takes a snapshot directory or an ``s3://``, ``gs://`` or ``az://`` URI.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import polars as pl
import typer
from rich import box
from rich.table import Table

from revgov import display
from revgov._typing import SummaryFormat, TableFormat
from revgov.cli._console import TerminalConsole
from revgov.cli._context import AtOpt, VersionOpt, open_snapshot, stamp_line
from revgov.errors import RevgovError, SnapshotCorruptError
from revgov.model.frames import ENTITIES, model_for
from revgov.store import DEFAULT_RETENTION_HOURS, SnapshotStore, verify_snapshot

__all__ = ["snapshot_app", "snapshot_summary"]

console = TerminalConsole()
snapshot_app = typer.Typer(help="Inspect and maintain snapshots.", no_args_is_help=True)

SnapshotArg = Annotated[str, typer.Argument(help="The snapshot directory or URI.")]


FormatOpt = Annotated[SummaryFormat, typer.Option("--format", help="Table or JSON.")]


def snapshot_summary(store: SnapshotStore) -> dict[str, Any]:
    """What ``snapshot info`` reports, as plain data."""
    store.check()
    infos = {i.entity: i for i in store.info()}
    quarantined = store.quarantine_counts()
    names = [e for e in ENTITIES if e in infos or e in quarantined]
    notes = store.notes()
    return {
        "snapshot": store.uri,
        "version": store.stamp(),
        "config_hash": store.config_hash,
        "updated_at": store.updated_at,
        "entities": [
            {
                "entity": e,
                "rows": infos[e].rows if e in infos else 0,
                "parts": infos[e].parts if e in infos else 0,
                "quarantined": quarantined.get(e, 0),
                "custom_fields": store.extras(e),
            }
            for e in names
        ],
        "cursors": store.cursors(),
        "quarantined": sum(quarantined.values()),
        "notes": [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in n.items()}
            for n in notes.to_dicts()
        ],
    }


def _short_cursor(cursor: str | None) -> str:
    """A cursor for a terminal: JSON cursors as ``key=value`` pairs, long hashes cut."""
    if cursor is None:
        return "-"
    try:
        data = json.loads(cursor)
    except ValueError:
        return cursor
    if not isinstance(data, dict):
        return cursor
    parts = []
    for key, value in data.items():
        text = str(value)
        parts.append(f"{key}={text[:12] + '…' if len(text) > 16 else text}")
    return " ".join(parts)


@snapshot_app.command("info")
def info(
    directory: SnapshotArg,
    fmt: FormatOpt = "text",
    version: VersionOpt = None,
    at: AtOpt = None,
) -> None:
    """Print a snapshot's entities, row counts, cursors, quarantine counts and config hash."""
    summary = snapshot_summary(open_snapshot(directory, version, at))
    if fmt == "json":
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(stamp_line(summary["version"]), highlight=False)
    console.print(
        f"config hash [bold]{summary['config_hash'] or '-'}[/]  "
        f"updated {summary['updated_at'] or 'never'}",
        highlight=False,
    )
    table = Table(title="entities", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("entity", no_wrap=True, min_width=15)
    table.add_column("rows", justify="right")
    table.add_column("files", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_column("custom fields")
    for e in summary["entities"]:
        q = e["quarantined"]
        table.add_row(
            e["entity"],
            display.count(e["rows"]),
            display.count(e["parts"]),
            f"[yellow]{display.count(q)}[/]" if q else "0",
            ", ".join(f"{k} ({v})" for k, v in e["custom_fields"].items()) or "-",
        )
    console.print(table)
    cursors = Table(title="cursors", title_justify="left", box=box.SIMPLE_HEAD)
    cursors.add_column("source", no_wrap=True)
    cursors.add_column("entity", no_wrap=True, min_width=15)
    cursors.add_column("cursor", overflow="fold")
    for source, per_entity in summary["cursors"].items():
        for entity, cursor in per_entity.items():
            cursors.add_row(source, entity, _short_cursor(cursor))
    console.print(cursors)
    for n in summary["notes"]:
        where = f"{n['entity']}.{n['field']}" if n["field"] else n["entity"]
        console.print(
            f"[yellow]{n['severity']}[/] {n['source']} · {where}: {n['message']}",
            highlight=False,
        )


#: The columns ``snapshot quarantine`` lists, most useful first (the raw record stays in JSON
#: and CSV: it is wide, and the field, value and reason say what is wrong with it).
_QUARANTINE_COLUMNS = ("entity", "source_id", "field", "raw_value", "reason")


@snapshot_app.command("quarantine")
def quarantine_cmd(
    directory: SnapshotArg,
    entity: Annotated[
        str | None, typer.Option("--entity", "-e", help="Only the rows of this entity.")
    ] = None,
    fmt: Annotated[
        TableFormat, typer.Option("--format", "-f", help="Table, JSON or CSV (every column).")
    ] = "table",
    version: VersionOpt = None,
    at: AtOpt = None,
) -> None:
    """List the rows a pull could not type: entity, source id, field, raw value and reason."""
    if entity is not None:
        try:
            model_for(entity)
        except RevgovError as exc:
            raise typer.BadParameter(exc.message, param_hint="--entity") from None
    store = open_snapshot(directory, version, at)
    rows = store.scan_quarantine()
    if entity is not None:
        rows = rows.filter(pl.col("entity") == entity)
    frame = rows.collect().sort("entity", "source_system", "source_id", nulls_last=True)
    if fmt == "json":
        typer.echo(json.dumps(frame.to_dicts(), indent=2, default=str))
        return
    if fmt == "csv":
        typer.echo(frame.write_csv(), nl=False)
        return
    rows_word = "row" if frame.height == 1 else "rows"
    what = f"{entity} {rows_word}" if entity else rows_word
    if frame.height == 0:
        console.print(f"no {entity + ' ' if entity else ''}rows in quarantine", highlight=False)
        return
    table = Table(
        title=f"{frame.height:,} {what} in quarantine", title_justify="left", box=box.SIMPLE_HEAD
    )
    # The ids and fields are kept whole; a long raw value or reason wraps.
    for name in _QUARANTINE_COLUMNS:
        wraps = name in ("raw_value", "reason")
        table.add_column(name, no_wrap=not wraps, overflow="fold", ratio=2 if wraps else None)
    for row in frame.select(_QUARANTINE_COLUMNS).iter_rows():
        table.add_row(*("-" if v is None else str(v) for v in row))
    console.print(table)
    console.print("every column (source, detail, raw record): --format json or csv", style="dim")


def _count(value: int | None) -> str:
    return display.count(value)


@snapshot_app.command("history")
def history_cmd(directory: SnapshotArg, fmt: FormatOpt = "text") -> None:
    """List the snapshot's versions: time, source, entity, rows added/updated/deleted, cursor
    and config hash. Read one with `revgov audit|metrics --version N` (or `--at TIME`)."""
    versions = SnapshotStore(directory).history()
    if fmt == "json":
        typer.echo(json.dumps([v.to_dict() for v in versions], indent=2))
        return
    table = Table(title=f"versions of {directory}", title_justify="left", box=box.SIMPLE_HEAD)
    headers = ("version", "time (UTC)", "source", "entity", "added", "updated", "deleted")
    for h in headers:
        table.add_column(
            h,
            justify="right" if h in ("version", "added", "updated", "deleted") else "left",
            no_wrap=True,
        )
    table.add_column("cursor", overflow="fold")
    table.add_column("config", no_wrap=True)
    for v in versions:
        table.add_row(
            str(v.version),
            v.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            v.source or f"({v.operation.lower()})",
            v.entity,
            _count(v.rows_added),
            _count(v.rows_updated),
            _count(v.rows_deleted),
            _short_cursor(v.cursor),
            v.config_hash or "-",
        )
    console.print(table)


@snapshot_app.command("verify")
def verify_cmd(directory: SnapshotArg, fmt: FormatOpt = "text") -> None:
    """Check every table (log, data files, row counts) and name what is broken (exit 3)."""
    checks = verify_snapshot(directory)
    problems = [str(p) for c in checks for p in c.problems]
    if fmt == "json":
        typer.echo(
            json.dumps(
                [
                    {
                        "table": c.table,
                        "version": c.version,
                        "files": c.files,
                        "rows": c.rows,
                        "problems": [str(p) for p in c.problems],
                    }
                    for c in checks
                ],
                indent=2,
            )
        )
    else:
        for c in checks:
            state = "[red]broken[/]" if c.problems else "[green]ok[/]"
            console.print(
                f"{state} {c.table}: version {c.version if c.version is not None else '-'}, "
                f"{c.files:,} file(s), {c.rows:,} row(s)",
                highlight=False,
            )
            for p in c.problems:
                console.print(f"  [red]{p}[/]", highlight=False)
    if problems:
        raise SnapshotCorruptError(
            f"{len(problems)} problem(s) in {directory}: " + "; ".join(problems[:5]),
            hint="`revgov pull --full-refresh --entity ENTITY` rebuilds an entity from its "
            "sources; restore other tables from a backup",
        )


@snapshot_app.command("compact")
def compact_cmd(directory: SnapshotArg) -> None:
    """Rewrite small files into larger ones (same rows; earlier versions stay readable until
    vacuumed)."""
    removed = SnapshotStore(directory).compact()
    for table, n in removed.items():
        if n:
            console.print(f"{table}: {n} small file(s) compacted", highlight=False)
    console.print(f"compacted {directory}", highlight=False)


@snapshot_app.command("vacuum")
def vacuum(
    directory: SnapshotArg,
    retention_hours: Annotated[
        int,
        typer.Option(
            "--retention-hours",
            min=0,
            help="Keep files that versions of the last N hours need (and files of pulls that "
            "may still be running). Older versions can no longer be read.",
        ),
    ] = DEFAULT_RETENTION_HOURS,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List, do not delete.")] = False,
) -> None:
    """Delete data files that no version within the retention needs (replaced files,
    leftovers of killed writers)."""
    removed = SnapshotStore(directory).vacuum(retention_hours=retention_hours, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    console.print(f"{verb} {len(removed)} file(s) from {directory}", highlight=False)


@snapshot_app.command("migrate")
def migrate(
    old: Annotated[str, typer.Argument(help="A snapshot of the earlier format (_snapshot.json).")],
    new: Annotated[str, typer.Argument(help="Where to write the new snapshot.")],
) -> None:
    """Convert a snapshot written before snapshots were Delta tables (rows, quarantine,
    custom fields, cursors and config hash)."""
    store = SnapshotStore.migrate(old, new)
    rows = sum(i.rows for i in store.info())
    console.print(
        f"migrated {old} to {store.uri}: {rows:,} row(s), "
        f"{sum(store.quarantine_counts().values()):,} quarantined, version {store.version}",
        highlight=False,
    )
