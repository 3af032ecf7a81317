"""CLI: ``revgov pull --config revgov.toml [--snapshot DIR|URI] [--source NAME] [--entity E]
[--full-refresh] [--allow-shrink]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from revgov._typing import SummaryFormat
from revgov.cli._console import TerminalConsole
from revgov.config import load_config
from revgov.display import first_fitting
from revgov.pull import PullResult, default_snapshot_dir, pull
from revgov.store import DEFAULT_SHRINK_SHARE

__all__ = ["pull_cmd"]

console = TerminalConsole()
err_console = TerminalConsole(stderr=True)
_NOTE_STYLES = {"warn": "yellow", "error": "red"}


def _print_text(result: PullResult) -> None:
    rows = [
        (
            e.source,
            e.entity,
            e.status,
            f"{e.rows_in:,}",
            f"{e.rows_typed:,}",
            f"[yellow]{e.rows_quarantined:,}[/]" if e.rows_quarantined else "0",
        )
        for e in result.entities
    ]
    headers = ("source", "entity", "status", "rows in", "typed", "quarantined")

    def summary(compact: bool) -> Table:
        table = Table(
            title=f"pulled into {result.snapshot}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=not compact,
            collapse_padding=compact,
        )
        for i, col in enumerate(headers):
            # Names are never cut short; on a narrow terminal the numbers' headers give way.
            width = max([len(r[i]) for r in rows if i < 3] + [len(col) if i < 3 else 1])
            table.add_column(
                col, justify="left" if i < 3 else "right", no_wrap=True, min_width=width
            )
        for row in rows:
            table.add_row(*row)
        return table

    # Tighter padding before any header gives way (80 columns fit every header whole).
    console.print(first_fitting((summary(compact) for compact in (False, True)), console))
    console.print(f"config hash [bold]{result.config_hash}[/]", highlight=False)
    if result.rows_quarantined:
        console.print(
            f"[yellow]{result.rows_quarantined:,} row(s) quarantined[/]: see "
            f"`revgov snapshot info {result.snapshot}`",
            highlight=False,
        )
    for e in result.entities:
        if e.rows_deleted:
            console.print(
                f"{e.rows_deleted:,} stored {e.entity} row(s) of {e.source} removed "
                "(deleted at the source or not delivered again)",
                highlight=False,
            )
    _print_notes(result)
    if result.definitions_changed:
        console.print(
            f"note: the snapshot was last pulled under config {result.previous_config_hash}; "
            "unchanged sources keep values derived then (pull with --full-refresh to redo them)",
            highlight=False,
        )


def _print_notes(result: PullResult) -> None:
    """What the connectors noticed (a hidden field, a formula field), once each, on stderr:
    warnings, not the summary's data. Connector messages name the object and field."""
    for e in result.entities:
        for note in e.notes:
            style = _NOTE_STYLES.get(note.severity, "dim")
            line = Text.assemble((note.severity, style), f" {e.source} · {note.entity}: ")
            line.append(note.message)
            err_console.print(line, highlight=False)


def pull_cmd(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The revgov.toml naming the sources.")
    ] = Path("revgov.toml"),
    snapshot: Annotated[
        str | None,
        typer.Option(
            "--snapshot",
            "-s",
            help="Snapshot directory or s3://, gs://, az:// URI (default: revgov-snapshot/ "
            "beside the config).",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Pull only this source (repeatable)."),
    ] = None,
    entity: Annotated[
        list[str] | None,
        typer.Option("--entity", help="Pull only this entity (repeatable)."),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Ignore stored cursors; re-read everything (with --entity: rebuild it).",
        ),
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            help="Apply a full refresh even if it removes more than --shrink-limit of a "
            "source's rows.",
        ),
    ] = False,
    shrink_limit: Annotated[
        float,
        typer.Option(
            "--shrink-limit",
            min=0.0,
            max=1.0,
            help="Share of a source's rows a full refresh may remove without --allow-shrink.",
        ),
    ] = DEFAULT_SHRINK_SHARE,
    refresh_formulas: Annotated[
        bool,
        typer.Option(
            "--refresh-formulas",
            help="Re-read formula fields of every record (they change without moving the cursor).",
        ),
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", help="Summary as a table or as JSON.")
    ] = "text",
) -> None:
    """Pull every configured source into the snapshot (atomic per page, resumable)."""
    cfg = load_config(config)
    result = pull(
        cfg,
        snapshot if snapshot is not None else default_snapshot_dir(cfg),
        sources=source,
        entities=entity,
        progress=progress and fmt == "text",
        full_refresh=full_refresh,
        allow_shrink=allow_shrink,
        shrink_share=shrink_limit,
        refresh_formulas=refresh_formulas,
    )
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_text(result)
