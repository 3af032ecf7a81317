"""CLI: ``revgov history``: the audit runs recorded with a snapshot and the trend of their scores.

Exit codes (see :mod:`revgov.cli`): 0, or 3 for a revgov error (no snapshot, unreadable
history). A snapshot with no recorded run prints a note and exits 0.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from revgov.cli._console import TerminalConsole
from revgov.cli._context import ConfigOpt, SnapshotOpt, find_config
from revgov.display import table_width
from revgov.reports import RunHistory, display, json_value

__all__ = ["history_cmd", "history_of", "print_wide"]

console = TerminalConsole()
err_console = TerminalConsole(stderr=True)


class HistoryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def history_of(snapshot: Path | None, config: Path | None) -> RunHistory:
    """The run history of ``snapshot`` (default: the config's snapshot directory)."""
    if snapshot is None:
        from revgov.pull import default_snapshot_dir

        snapshot = default_snapshot_dir(find_config(config, None))
    from revgov.store import SnapshotStore

    SnapshotStore(snapshot)  # a missing snapshot is an error, not an empty history
    return RunHistory.of_snapshot(snapshot)


_SHOWN = {
    "run_id": "run",
    "recorded_at": "recorded (UTC)",
    "command": "by",
    "snapshot_version": "version",
    "config_hash": "config",
    "score": "score",
    "score_change": "change",
    "maturity_stage": "stage",
    "rules_fail": "failing rules",
    "findings": "findings",
}


def _sparkline(values: list[float | None]) -> str:
    """The scores as a line of block characters, oldest first (a gap for none). The scale
    spans at least 5 points, so a change in the last decimals reads as flat."""
    bars = "▁▂▃▄▅▆▇█"
    known = [v for v in values if v is not None]
    if not known:
        return ""
    lo, hi = min(known), max(known)
    span = max(hi - lo, 0.05)
    return "".join(" " if v is None else bars[min(7, int((v - lo) / span * 7))] for v in values)


#: The runs table's columns a narrow terminal drops first, least important first.
_DROP_FIRST = ("snapshot_version", "command", "config_hash", "score_change", "maturity_stage")


def _width_asked() -> bool:
    """The output has a width to keep: a terminal's, or one COLUMNS sets."""
    return console.is_terminal or os.environ.get("COLUMNS", "").strip().isdigit()


def print_wide(table: Table) -> None:
    """Within the width asked for (rich wraps what still does not fit); a pipe or file
    without one gets whole lines (for grep)."""
    if _width_asked():
        console.print(table)
        return
    wide = table_width(table, console)
    Console(width=max(console.width, wide)).print(table)


def _runs_table(trend: pl.DataFrame) -> Table:
    """The runs, every cell whole: the least important columns are dropped until the table
    fits the width asked for."""
    shown = list(_SHOWN)
    drop = list(_DROP_FIRST)
    while True:
        table = Table(
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
            title="recorded runs (oldest first)",
            title_justify="left",
        )
        for c in shown:
            table.add_column(_SHOWN[c], no_wrap=True)
        for row in trend.iter_rows(named=True):
            table.add_row(*(_cell(c, row[c]) for c in shown))
        if not _width_asked() or not drop or table_width(table, console) <= console.width:
            return table
        shown.remove(drop.pop(0))


def _cell(col: str, v: object) -> str:
    if v is None:
        return ""
    if col == "recorded_at" and isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")[:19]
    if col == "score_change" and isinstance(v, float):
        style = "" if v == 0 else ("green" if v > 0 else "red")
        text = f"{v * 100:+.1f} pts"
        return f"[{style}]{text}[/]" if style else text
    if col.startswith("score"):
        return display(v, "score")
    if col in ("findings", "rules_fail") and isinstance(v, int):
        return display(v, "count")
    return str(v)


def _print(trend: pl.DataFrame) -> None:
    print_wide(_runs_table(trend))
    dims = [c for c in trend.columns if c.startswith("score_") and c != "score_change"]
    scores = Table(
        "run",
        *(d.removeprefix("score_") for d in dims),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        title="score by dimension",
        title_justify="left",
    )
    for row in trend.iter_rows(named=True):
        scores.add_row(row["run_id"], *(_cell(d, row[d]) for d in dims))
    print_wide(scores)
    values = trend["score"].to_list()
    console.print(
        f"score trend {_sparkline(values)}  {display(values[0], 'score')} → "
        f"{display(values[-1], 'score')} over {len(values)} run(s)",
        highlight=False,
    )


def history_cmd(
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the last N runs.")] = None,
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
