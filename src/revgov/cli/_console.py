"""The CLI's rich consoles, which follow the terminal's width at every print.

rich fixes ``COLUMNS`` when a :class:`~rich.console.Console` is built; the CLI's modules
build theirs once, at import, and one process may run many commands (tests, notebooks,
services calling :func:`revgov.cli.main`), each with its own width.
"""

from __future__ import annotations

from rich.console import Console


class TerminalConsole(Console):
    """A :class:`~rich.console.Console` whose width is read at each print, never frozen."""

    def __init__(self, *, stderr: bool = False) -> None:
        super().__init__(stderr=stderr)
        # rich's own attribute: None makes ``Console.size`` read COLUMNS (or the terminal)
        # each time instead of the value seen when the module was imported.
        self._width = None
