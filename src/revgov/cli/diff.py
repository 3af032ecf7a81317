"""CLI: ``revgov diff RUN_A RUN_B``: the findings that are new, resolved and persisting between
two recorded audit runs, per owner, per rule and per record.

Runs are named by id, a unique prefix of one, ``latest``, ``previous`` or ``-N`` (see
``revgov history``). Exit codes (see :mod:`revgov.cli`): 0, or 3 for a revgov error (an
unknown run, no snapshot).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import polars as pl
import typer
from rich import box
from rich.table import Table

from revgov.cli._console import TerminalConsole
from revgov.cli._context import ConfigOpt, SnapshotOpt
from revgov.cli.history import history_of, print_wide
from revgov.reports import RunDiff, json_value

__all__ = ["diff_cmd"]

console = TerminalConsole()


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


def _rich_table(frame: pl.DataFrame, title: str) -> Table:
    table = Table(*frame.columns, box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _markdown(diff: RunDiff, records: int) -> str:
    c = diff.counts()
    out = [
        f"# Findings of {diff.after} against {diff.before}",
        "",
        f"- new: {c['new']}",
        f"- resolved: {c['resolved']}",
        f"- persisting: {c['persisting']}",
        "",
    ]
    for title, frame in (("Per owner", diff.by_owner()), ("Per rule", diff.by_rule())):
        out += [f"## {title}", "", "| " + " | ".join(frame.columns) + " |"]
        out.append("|" + "---|" * frame.width)
        out += [
            "| " + " | ".join("" if v is None else str(v) for v in row) + " |"
            for row in frame.iter_rows()
        ]
        out.append("")
    for change in ("new", "resolved"):
        rows = diff.of(change).select("rule_id", "entity", "record_id", "field", "owner_id")
        out += [f"## {change.capitalize()} ({rows.height})", ""]
        out += [
            f"- `{r[0]}` {r[1]} `{r[2]}`"
            + (f" ({r[3]})" if r[3] else "")
            + (f", owner {r[4]}" if r[4] else "")
            for r in rows.head(records).iter_rows()
        ]
        out.append("")
    return "\n".join(out)


def diff_cmd(
    run_a: Annotated[str, typer.Argument(help="The earlier run (id, prefix, previous, -N).")],
    run_b: Annotated[str, typer.Argument(help="The later run (id, prefix, latest, -N).")],
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    records: Annotated[
        int, typer.Option("--records", min=0, help="Records listed per change.")
    ] = 20,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Table, JSON or Markdown.")
    ] = DiffFormat.table,
) -> None:
    """List the findings new, resolved and persisting between two recorded runs."""
    diff = history_of(snapshot, config).diff(run_a, run_b)
    if fmt is DiffFormat.json:
        payload = diff.to_dict(records=records)
        payload["records"] = {
            k: [{c: json_value(v) for c, v in r.items()} for r in rows]
            for k, rows in payload["records"].items()
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    if fmt is DiffFormat.md:
        typer.echo(_markdown(diff, records))
        return
    c = diff.counts()
    console.print(
        f"[bold]{diff.after}[/] against [bold]{diff.before}[/]: [red]{c['new']:,} new[/], "
        f"[green]{c['resolved']:,} resolved[/], {c['persisting']:,} persisting",
        highlight=False,
    )
    owners = diff.by_owner().filter((pl.col("new") > 0) | (pl.col("resolved") > 0))
    print_wide(_rich_table(owners, "per owner (owners with a change)"))
    print_wide(_rich_table(diff.by_rule(), "per rule"))
    for change in ("new", "resolved", "persisting"):
        rows = diff.of(change).select(
            "rule_id", "entity", "record_id", "field", "owner_id", "value"
        )
        if rows.height:
            shown = rows.head(records)
            title = f"{change} ({shown.height:,} of {rows.height:,})"
            print_wide(_rich_table(shown, title))
