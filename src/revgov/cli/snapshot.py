"""CLI: ``revgov snapshot info DIR``: entities, row counts, cursors, quarantine, config hash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from revgov._typing import SummaryFormat
from revgov.model.frames import ENTITIES
from revgov.store import SnapshotStore

__all__ = ["snapshot_app", "snapshot_summary"]

console = Console()
snapshot_app = typer.Typer(help="Inspect snapshot directories.", no_args_is_help=True)


def snapshot_summary(store: SnapshotStore) -> dict[str, Any]:
    """What ``snapshot info`` reports, as plain data."""
    infos = {i.entity: i for i in store.info()}
    quarantined = store.quarantine_counts()
    names = [e for e in ENTITIES if e in infos or e in quarantined]
    return {
        "snapshot": str(store.root),
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
    directory: Annotated[Path, typer.Argument(help="The snapshot directory.")],
    fmt: Annotated[SummaryFormat, typer.Option("--format", help="Table or JSON.")] = "text",
) -> None:
    """Print a snapshot's entities, row counts, cursors, quarantine counts and config hash."""
    summary = snapshot_summary(SnapshotStore(directory))
    if fmt == "json":
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"snapshot [bold]{summary['snapshot']}[/]", highlight=False)
    console.print(
        f"config hash [bold]{summary['config_hash'] or '-'}[/]  "
        f"updated {summary['updated_at'] or 'never'}",
        highlight=False,
    )
    table = Table(title="entities", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("entity", no_wrap=True, min_width=15)
    table.add_column("rows", justify="right")
    table.add_column("parts", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_column("custom fields")
    for e in summary["entities"]:
        q = e["quarantined"]
        table.add_row(
            e["entity"],
            f"{e['rows']:,}",
            str(e["parts"]),
            f"[yellow]{q:,}[/]" if q else "0",
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


@snapshot_app.command("vacuum")
def vacuum(directory: Annotated[Path, typer.Argument(help="The snapshot directory.")]) -> None:
    """Delete files no commit names (replaced parts, leftovers of killed writers).

    Run it when no pull is writing and no reader holds an older view of the snapshot.
    """
    removed = SnapshotStore(directory).vacuum()
    console.print(f"removed {len(removed)} file(s) from {directory}", highlight=False)
