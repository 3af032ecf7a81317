"""Words for messages: a list of values as ``a, b, c``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["join_words"]


def join_words(values: Iterable[Any], limit: int = 12) -> str:
    """``a, b, c`` (or ``a, b, ... (+n more)``) for messages and hints."""
    vals = [str(v) for v in values]
    if len(vals) > limit:
        return ", ".join(vals[:limit]) + f", ... (+{len(vals) - limit} more)"
    return ", ".join(vals)
