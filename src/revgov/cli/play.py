"""CLI: ``revgov play NAME`` (a play's lift, interval and verdict) and ``revgov play plan NAME``
(the records and weeks it needs, from the segment's history).

The config and snapshot are found as ``revgov audit`` finds them; ``--as-of`` defaults to a
demo snapshot's ``as_of``, else now. Exit codes (see :mod:`revgov.cli`): 0 whatever the
verdict (a play that should stop is an answer, not a failure), 2 for a bad argument, 3 for a
revgov error (no such play, a column the play reads is missing).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from revgov._typing import ReportFormat
from revgov.cli._console import TerminalConsole
from revgov.cli._context import (
    ConfigOpt,
    SnapshotOpt,
    demo_as_of,
    find_config,
    open_snapshot,
    parse_as_of,
)
from revgov.demo import DemoOutput
from revgov.metrics import naive_utc
from revgov.plays import PlayLift, find_play, plan_play, play_lift
from revgov.plays.render import fmt_value, lift_markdown, lift_rows, plan_lines, verdict_line
from revgov.pull import default_snapshot_dir

__all__ = ["demo_plays", "play_cmd"]

console = TerminalConsole()


def play_cmd(
    name: Annotated[str, typer.Argument(help="The play (a [[plays]] name), or `plan`.")],
    plan_of: Annotated[
        str | None, typer.Argument(help="With `plan`: the play to plan.", show_default=False)
    ] = None,
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Read the play as of this date or time (ISO, UTC)."),
    ] = None,
    resamples: Annotated[
        int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")
    ] = 1000,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="A table, JSON or Markdown.")
    ] = "table",
) -> None:
    """Measure a play's lift against its control and say whether to scale, keep running or stop.

    `revgov play NAME` reads the play's primary KPI in the play and its control, the lift
    with its interval, the chance it is positive, the guardrails and the verdict.
    `revgov play plan NAME` says, from the segment's history, how many records and weeks the
    smallest lift worth scaling needs, and which other plays cover the same records.
    """
    cfg = find_config(config, snapshot)
    store = open_snapshot(snapshot if snapshot is not None else default_snapshot_dir(cfg))
    moment = naive_utc(parse_as_of(as_of) if as_of is not None else demo_as_of(store.root))
    frames = store.frames()
    if name == "plan" and plan_of is not None:
        plan = plan_play(find_play(plan_of, cfg), frames, config=cfg, as_of=moment)
        if fmt == "json":
            typer.echo(json.dumps(plan.to_dict(), indent=2, default=str))
        else:
            text = "\n".join(plan_lines(plan))
            typer.echo(f"```\n{text}\n```" if fmt == "md" else text)
        return
    if plan_of is not None:
        raise typer.BadParameter(
            f"unexpected {plan_of!r}: give one play name, or `plan NAME`", param_hint="NAME"
        )
    lift = play_lift(find_play(name, cfg), frames, config=cfg, as_of=moment, resamples=resamples)
    if fmt == "json":
        typer.echo(json.dumps(lift.to_dict(), indent=2, default=str))
    elif fmt == "md":
        typer.echo(lift_markdown(lift, heading="#"), nl=False)
    else:
        _print_table(lift)


def _print_table(lift: PlayLift) -> None:
    title = (
        f"play {lift.play} ({lift.owner}; {lift.control} control; {lift.confidence:.0%} "
        f"intervals; as of {lift.as_of.isoformat(sep=' ', timespec='minutes')})"
    )
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("KPI", overflow="fold")
    for header in ("play", "control", "lift", "interval", "P(lift>0)", "records"):
        table.add_column(header, no_wrap=True)
    for row in lift_rows(lift):
        table.add_row(*row)
    console.print(table)
    style = {"scale": "bold green", "stop": "bold red"}.get(lift.verdict, "bold yellow")
    console.print(verdict_line(lift), style=style, highlight=False)
    if lift.pre_trend is not None:
        console.print(lift.pre_trend.reason, highlight=False)
    for w in lift.warnings:
        if lift.pre_trend is None or w != lift.pre_trend.reason:
            console.print(f"warning: {w}", style="yellow", highlight=False)


def demo_plays(output: DemoOutput, console: Console) -> None:
    """``revgov demo``: each planted play's verdict beside its true lift (the manifest's)."""
    data = output.data
    truth = data.manifest.get("plays", {})
    for play in data.config.plays:
        lift = play_lift(play, data.frames, config=data.config, as_of=data.manifest["as_of"])
        p = lift.primary
        planted = truth.get(play.name, {}).get("true_lift")
        console.print(
            f"[bold]{play.name}[/] ({p.kpi}): lift {fmt_value(p.kpi, p.lift, signed=True)} "
            f"[{fmt_value(p.kpi, p.lower, signed=True)}, {fmt_value(p.kpi, p.upper, signed=True)}]"
            + (
                f", planted {fmt_value(p.kpi, planted, signed=True)}" if planted is not None else ""
            ),
            highlight=False,
        )
        console.print(f"  {verdict_line(lift)}", highlight=False)
    console.print(f"  details: revgov play NAME -s {output.snapshot_dir}", highlight=False)
