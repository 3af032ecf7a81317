"""CLI: ``revgov config check FILE`` and ``revgov config diff OLD NEW``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from revgov.cli._console import TerminalConsole
from revgov.config import diff_configs, load_config
from revgov.config.check import check_config
from revgov.errors import ConfigValidationError

config_app = typer.Typer(help="Check and compare governed definitions (revgov.toml).")
console = TerminalConsole()


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The revgov.toml to validate.")],
) -> None:
    """Validate a config as a pull and an audit would; print a summary and its hash, or
    every problem with its file, line, key and fix."""
    cfg = load_config(file)
    problems = check_config(cfg, config_dir=file.resolve().parent)
    if problems:
        raise ConfigValidationError(
            f"{file}: {len(problems)} problem(s) a pull would meet (or an audit):\n  "
            + "\n  ".join(str(p) for p in problems),
            hint="fix each problem above, then check again",
        )
    stages = sum(len(p.stages) for p in cfg.pipelines)
    console.print(f"[green]ok[/] {file}  hash [bold]{cfg.config_hash}[/]")
    console.print(
        f"  {len(cfg.pipelines)} pipeline(s), {stages} stage(s), "
        f"{len(cfg.lifecycle.stages)} lifecycle stage(s), {len(cfg.segments)} segment(s), "
        f"{len(cfg.required_fields)} required-field rule(s), {len(cfg.rules.custom)} custom "
        f"rule(s), {len(cfg.routing.rules)} routing rule(s), {len(cfg.sources)} source(s)",
        highlight=False,
    )


@config_app.command("diff")
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier revgov.toml.")],
    new: Annotated[Path, typer.Argument(help="The later revgov.toml.")],
) -> None:
    """Say in words which definitions changed between two configs (exit 0 either way)."""
    before, after = load_config(old), load_config(new)
    changes = diff_configs(before, after)
    console.print(f"{old} ({before.config_hash}) -> {new} ({after.config_hash})", highlight=False)
    if not changes:
        console.print("no definition changed")
        return
    console.print(f"{len(changes)} definition change(s):")
    for line in changes:
        console.print(f"  - {line}", highlight=False, markup=False)
