"""CLI: `revgov demo` (owned by its issue; filled in by that work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
