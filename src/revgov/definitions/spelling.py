"""The one case rule for governed names: how two spellings of a stage are found equal.

Pipeline stages (names and aliases), lifecycle stages (names and ``lifecycle.map`` keys) and
the SLA's per-segment limits match a record's value when both agree after trimming spaces
and lowercasing: ``"Closed Won"``, ``"closed won"`` and ``" CLOSED WON "`` are one stage. The
mapping layer, the rules and the metrics all compare through this module, in Python
(:func:`spelling_key`) or as an expression (:func:`spelling_key_expr`), so they cannot
disagree about which stage a value names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import narwhals as nw

__all__ = ["spelling_key", "spelling_key_expr"]


def spelling_key(text: str) -> str:
    """``text`` trimmed and lowercased: equal keys name the same thing."""
    return text.strip().lower()


def spelling_key_expr(expr: nw.Expr) -> nw.Expr:
    """:func:`spelling_key` of a string expression (null stays null), on any engine."""
    return expr.str.strip_chars().str.to_lowercase()
