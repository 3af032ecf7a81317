"""How a number is shown: one formatter for HTML, Markdown, the terminal and the tests.

The same value must read the same everywhere (a key number on the HTML page equals the JSON
report's, as the browser test checks), so every rendering formats through :func:`display`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any, Literal

__all__ = ["Unit", "as_utc", "display", "json_value"]

Unit = Literal[
    "share", "currency", "count", "hours", "days", "ratio", "score", "stage", "text", "number"
]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def display(value: Any, unit: Unit | str = "number", *, currency: str = "") -> str:
    """``value`` as shown to a reader: shares and scores as percentages with one decimal,
    currency and counts with thousands separators, hours and days with one decimal; a
    missing value as an em dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if unit == "text" or not _finite(value):
        return str(value)
    v = float(value)
    if unit in ("share", "score"):
        return f"{v * 100:.1f}%"
    if unit == "currency":
        return f"{currency} {v:,.0f}".strip()
    if unit == "count" or unit == "stage":
        return f"{v:,.0f}"
    if unit == "hours":
        return f"{v:,.1f} h"
    if unit == "days":
        return f"{v:,.1f} d"
    if unit == "ratio":
        return f"{v:,.2f}x"
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def json_value(value: Any) -> Any:
    """A cell as JSON gives it: dates in ISO form, NaN and infinities as null."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_utc(moment: datetime | None) -> datetime:
    """An aware UTC datetime (a naive one is taken as UTC; None is now)."""
    if moment is None:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
