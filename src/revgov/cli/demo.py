"""CLI: ``revgov demo``: generate the synthetic CRM, write it, and summarize what was planted.

After the summary, the command runs :data:`POST_STEPS` in order (an audit of the demo
snapshot, its headline KPIs, the report, then the verdicts of its planted plays): each gets the :class:`~revgov.demo.DemoOutput` and the
console.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from revgov.cli._console import TerminalConsole
from revgov.cli.audit import demo_audit
from revgov.cli.metrics import demo_metrics
from revgov.cli.play import demo_plays
from revgov.cli.report import demo_report
from revgov.demo import STEPS, DemoOutput, write_demo

__all__ = ["POST_STEPS", "PostStep", "demo_cmd", "run_demo", "summarize"]

console = TerminalConsole()


@dataclass(frozen=True)
class PostStep:
    """Something to run on the written demo after the summary (shown under ``name``)."""

    name: str
    run: Callable[[DemoOutput, Console], None]


#: Steps run after the summary, in order: the whole list, written here.
POST_STEPS: list[PostStep] = [
    PostStep("audit", demo_audit),
    PostStep("metrics", demo_metrics),
    PostStep("report", demo_report),
    PostStep("plays", demo_plays),
]


def run_demo(
    out: Path,
    *,
    scale: float,
    seed: int,
    force: bool,
    console: Console,
    post_steps: Sequence[PostStep] = (),
) -> DemoOutput:
    """Generate and write the demo with a progress display, then print the summary and run
    ``post_steps``."""
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(STEPS))

        def on_step(name: str) -> None:
            done = STEPS.index(name) if name in STEPS else 0
            progress.update(task, completed=done, description=name)

        output = write_demo(out, scale=scale, seed=seed, force=force, on_step=on_step)
        progress.update(task, completed=len(STEPS), description="done")
    summarize(output, console)
    for step in post_steps:
        console.rule(step.name)
        step.run(output, console)
    return output


def summarize(output: DemoOutput, console: Console) -> None:
    """Entities and row counts, planted defects by kind, and where the outputs are."""
    data = output.data
    m = data.manifest
    console.print(
        f"[bold]revgov demo[/]  seed {m['seed']}  scale {m['scale']}  as_of {m['as_of']}  "
        f"config {m['config_hash']}",
        highlight=False,
    )
    rows = Table("entity", "rows", box=box.SIMPLE, title="snapshot")
    rows.columns[1].justify = "right"
    for entity, count in m["row_counts"].items():
        rows.add_row(entity, f"{count:,}")
    defects = Table("defect kind (= rule id)", "records", "rate", box=box.SIMPLE, title="planted")
    for col in defects.columns[1:]:
        col.justify = "right"
    for kind, count in m["defect_counts"].items():
        rate = m["rates"][kind]["rate"]
        defects.add_row(kind, f"{count:,}", f"{rate:.1%}")
    defects.add_row("[bold]total[/]", f"[bold]{m['ground_truth_rows']:,}[/]", "")
    console.print(rows)
    console.print(defects)
    console.print("[bold]outputs[/]")
    for label, path in (
        ("snapshot", output.snapshot_dir),
        ("definitions", output.config_path),
        ("ground truth", output.ground_truth_path),
        ("", output.ground_truth_csv_path),
        ("manifest", output.manifest_path),
    ):
        console.print(f"  {label:<13} {path}", highlight=False)


def demo_cmd(
    scale: Annotated[
        float,
        typer.Option("--scale", min=0.001, help="Size multiplier: 1 is ~50,000 people."),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 7,
    out: Annotated[
        Path, typer.Option("--out", help="Output directory (must be empty or new).")
    ] = Path("revgov-demo"),
    force: Annotated[
        bool, typer.Option("--force", help="Replace the demo files in a non-empty --out.")
    ] = False,
) -> None:
    """Generate a seeded synthetic CRM with planted defects, and write its snapshot,
    definitions (revgov.toml) and ground truth."""
    run_demo(out, scale=scale, seed=seed, force=force, console=console, post_steps=POST_STEPS)
