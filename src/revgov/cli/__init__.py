"""The ``revgov`` command line.

Exit codes, stable for scheduled jobs:
  0  success
  1  the audit found violations at or above ``--fail-on``
  2  usage error (unknown option, bad argument)
  3  a revgov error (bad config, missing snapshot, unreadable source): ``[RGnnn] message``
  4  an unexpected internal error (a bug: please report it with ``--debug`` output)
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from revgov import __version__
from revgov.cli import audit, config_cmd, demo, diff, history, init, metrics, pull, report, snapshot
from revgov.errors import RevgovError

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_REVGOV_ERROR = 3
EXIT_INTERNAL = 4

app = typer.Typer(
    name="revgov",
    help="Revenue governance: audit your CRM against governed definitions, compute the KPI spine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


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


for _module in (demo, init, config_cmd, pull, snapshot, audit, metrics):
    _module.register(app)
report.register(app)
history.register(app)
diff.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; RevgovErrors print as ``[code] message`` without a traceback."""
    _State.debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Typer handles usage errors itself (exit 2); revgov errors arrive here.
        app(args=argv, prog_name="revgov")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except RevgovError as exc:
        if _State.debug:
            err_console.print_exception()
        err_console.print(
            f"[bold red]error[/] {escape(exc.render())}", highlight=False, soft_wrap=True
        )
        return EXIT_REVGOV_ERROR
    except KeyboardInterrupt:
        err_console.print("aborted")
        return 130
    except Exception as exc:
        if _State.debug:
            raise
        err_console.print(
            f"[bold red]internal error[/] {escape(type(exc).__name__)}: {escape(str(exc))}\n"
            "run again with --debug for the traceback, and report it",
            highlight=False,
        )
        return EXIT_INTERNAL
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
