"""CLI: ``revgov history``: the audit runs recorded with a snapshot and the trend of their scores.

Exit codes (see :mod:`revgov.cli`): 0, or 3 for a revgov error (no snapshot, unreadable
history). A snapshot with no recorded run prints a note and exits 0.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from revgov.cli._context import find_config
from revgov.reports import RunHistory
from revgov.reports._format import display, json_value

__all__ = ["history_of", "register"]

console = Console()
err_console = Console(stderr=True)


class HistoryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


SnapshotOpt = Annotated[
    Path | None,
    typer.Option(
        "--snapshot", "-s", help="Snapshot directory (default: revgov-snapshot/ beside the config)."
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config whose default snapshot to read."),
]


def history_of(snapshot: Path | None, config: Path | None) -> RunHistory:
    """The run history of ``snapshot`` (default: the config's snapshot directory)."""
    if snapshot is None:
        from revgov.pull import default_snapshot_dir

        snapshot = default_snapshot_dir(find_config(config, None))
    from revgov.store import SnapshotStore

    SnapshotStore(snapshot)  # a missing snapshot is an error, not an empty history
    return RunHistory.of_snapshot(snapshot)


_SHOWN = (
    "run_id",
    "recorded_at",
    "command",
    "snapshot_version",
    "config_hash",
    "score",
    "score_change",
    "maturity_stage",
    "rules_fail",
    "findings",
)


def _sparkline(values: list[float | None]) -> str:
    """The scores as a line of block characters, oldest first (a gap for none)."""
    bars = "▁▂▃▄▅▆▇█"
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = hi - lo or 1.0
    return "".join(" " if v is None else bars[int((v - lo) / span * 7)] for v in values)


def _print(trend: pl.DataFrame) -> None:
    dims = [c for c in trend.columns if c.startswith("score_") and c != "score_change"]
    table = Table(
        *_SHOWN,
        *dims,
        box=box.SIMPLE_HEAD,
        title="recorded runs (oldest first)",
        title_justify="left",
    )
    for row in trend.iter_rows(named=True):
        cells = []
        for col in (*_SHOWN, *dims):
            v = row[col]
            if col == "recorded_at":
                cells.append(v.isoformat(sep=" ", timespec="seconds"))
            elif col == "score_change":
                style = "" if v is None or v == 0 else ("green" if v > 0 else "red")
                text = "" if v is None else f"{v * 100:+.1f} pts"
                cells.append(f"[{style}]{text}[/]" if style else text)
            elif col.startswith("score"):
                cells.append(display(v, "score"))
            else:
                cells.append("" if v is None else str(v))
        table.add_row(*cells)
    console.print(table)
    scores = trend["score"].to_list()
    console.print(
        f"score trend {_sparkline(scores)}  {display(scores[0], 'score')} → "
        f"{display(scores[-1], 'score')} over {len(scores)} run(s)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``revgov history`` to the app."""

    @app.command("history")
    def history_cmd(
        snapshot: SnapshotOpt = None,
        config: ConfigOpt = None,
        last: Annotated[
            int | None, typer.Option("--last", min=1, help="Only the last N runs.")
        ] = None,
        fmt: Annotated[
            HistoryFormat, typer.Option("--format", "-f", help="Table, JSON or CSV.")
        ] = HistoryFormat.table,
    ) -> None:
        """Show the audit runs recorded with a snapshot and the trend of their scores."""
        history = history_of(snapshot, config)
        trend = history.trend()
        if last is not None:
            trend = trend.tail(last)
        if trend.height == 0:
            err_console.print(
                f"no runs recorded in {history.location} yet: run `revgov audit` or "
                "`revgov report` on the snapshot",
                highlight=False,
            )
            return
        if fmt is HistoryFormat.json:
            rows = [{k: json_value(v) for k, v in r.items()} for r in trend.iter_rows(named=True)]
            typer.echo(json.dumps({"location": history.location, "runs": rows}, indent=2))
        elif fmt is HistoryFormat.csv:
            typer.echo(trend.write_csv(), nl=False)
        else:
            _print(trend)
