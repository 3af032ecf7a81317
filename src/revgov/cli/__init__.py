"""The ``revgov`` command line.

Exit codes, stable for scheduled jobs:
  0  success
  1  the audit found violations at or above ``--fail-on``
  2  usage error (unknown option, bad argument)
  3  a revgov error (bad config, missing snapshot, unreadable source): ``[RGnnn] message``
  4  an unexpected internal error (a bug: please report it with ``--debug`` output)

Each command lives in its own module, imported only when the command runs: ``revgov --help``
and ``revgov --version`` load typer and nothing of polars, pydantic or the engines.
:data:`COMMANDS` names each command's module and its one-line help (a test checks that the
line is the command's own).
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from revgov import __version__

__all__ = [
    "COMMANDS",
    "EXIT_FINDINGS",
    "EXIT_INTERNAL",
    "EXIT_REVGOV_ERROR",
    "EXIT_USAGE",
    "app",
    "load_command",
    "main",
    "run",
]

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_REVGOV_ERROR = 3
EXIT_INTERNAL = 4

#: Command name -> ("module:attribute", one-line help), in the order ``--help`` lists them.
#: The attribute is a command function or, for a command group, a ``typer.Typer``.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "revgov.cli.demo:demo_cmd",
        "Generate a seeded synthetic CRM with planted defects, and write its snapshot, "
        "definitions (revgov.toml) and ground truth.",
    ),
    "init": (
        "revgov.cli.init:init_cmd",
        "Write a starting revgov.toml: mappings, stages and marked places for your definitions.",
    ),
    "pull": (
        "revgov.cli.pull:pull_cmd",
        "Pull every configured source into the snapshot (atomic per page, resumable).",
    ),
    "audit": (
        "revgov.cli.audit:audit_cmd",
        "Audit a snapshot against the governed definitions; exit 1 on failing rules.",
    ),
    "metrics": (
        "revgov.cli.metrics:metrics_cmd",
        "Compute the KPI spine on a snapshot: headline values, or one KPI's table.",
    ),
    "forecast": (
        "revgov.cli.metrics:forecast_cmd",
        "Refit the funnel model and forecast bookings forward and plan backward.",
    ),
    "report": (
        "revgov.cli.report:report_cmd",
        "Write the report of a snapshot: scorecard, funnel, speed to lead, pipeline, "
        "scenarios, findings, trend and changes since the last run.",
    ),
    "history": (
        "revgov.cli.history:history_cmd",
        "Show the audit runs recorded with a snapshot and the trend of their scores.",
    ),
    "play": (
        "revgov.cli.play:play_cmd",
        "Measure a play's lift against its control and say whether to scale, keep running or stop.",
    ),
    "diff": (
        "revgov.cli.diff:diff_cmd",
        "List the findings new, resolved and persisting between two recorded runs.",
    ),
    "config": (
        "revgov.cli.config_cmd:config_app",
        "Check and compare governed definitions (revgov.toml).",
    ),
    "snapshot": ("revgov.cli.snapshot:snapshot_app", "Inspect and maintain snapshots."),
}


def load_command(name: str) -> Any:
    """The click command of ``name`` (its module imported now)."""
    module, _, attr = COMMANDS[name][0].partition(":")
    target = getattr(importlib.import_module(module), attr)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return _plain_flags(command)


def _plain_flags(command: Any) -> Any:
    """``command`` (and its sub-commands) with flags shown as flags in ``--help``: typer labels
    every option with its type, and ``--debug <bool>`` reads as if it took a value."""
    import click

    params = list(command.params)
    help_option = command.get_help_option(click.Context(command))
    for param in [*params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub)
    return command


class _LazyCommand(TyperCommand):
    """A command known by its name and help line; its module loads when it is invoked."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        # The real command parses the arguments (and prints its own --help).
        assert self.name is not None
        return load_command(self.name).make_context(info_name, args, parent=parent, **extra)


class _Root(TyperGroup):
    """The ``revgov`` group: every command of :data:`COMMANDS`, loaded on use."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, (_, line) in COMMANDS.items():
            self.add_command(_LazyCommand(name, help=line))
        _plain_flags(self)


app = typer.Typer(
    name="revgov",
    help="Revenue governance: audit your CRM against governed definitions, compute the KPI spine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Root,
)


class _State:
    debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"revgov {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    _State.debug = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; RevgovErrors print as ``[code] message`` without a traceback."""
    from revgov.errors import RevgovError

    _State.debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Typer handles usage errors itself (exit 2); revgov errors arrive here.
        app(args=argv, prog_name="revgov")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RevgovError as exc:
        err_console, escape = _stderr()
        if _State.debug:
            err_console.print_exception()
        err_console.print(
            f"[bold red]error[/] {escape(exc.render())}", highlight=False, soft_wrap=True
        )
        return EXIT_REVGOV_ERROR
    except KeyboardInterrupt:
        _stderr()[0].print("aborted")
        return 130
    except Exception as exc:
        if _State.debug:
            raise
        err_console, escape = _stderr()
        err_console.print(
            f"[bold red]internal error[/] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
            "run again with --debug for the traceback, and report it",
            highlight=False,
        )
        return EXIT_INTERNAL
    return 0


def _stderr() -> tuple[Any, Any]:
    """A rich console on stderr and rich's markup escape (loaded only when there is an error)."""
    from rich.console import Console
    from rich.markup import escape

    return Console(stderr=True), escape


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
