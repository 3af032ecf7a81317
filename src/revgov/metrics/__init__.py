"""The revenue KPI spine: plain functions over canonical frames.

Every KPI takes canonical frames (polars, DuckDB or PySpark; see :mod:`revgov.model`) and
returns a tidy frame of the same kind, grouped by ``by=`` columns and ``every=`` periods
(``1d``, ``1w``, ``1mo``, ``1q``, ``1y``). Column names are keyword arguments with canonical
defaults; a zero denominator gives null. Each docstring states its formula, and
:data:`KPIS` holds every definition (docs/metrics.md is generated from it).

>>> from revgov.metrics import win_rate_by_count
>>> win_rate_by_count(store.scan("opportunities"), by="segment", every="1q")  # doctest: +SKIP

Each topic module lists its public names in its ``__all__``; this package re-exports them
all, so a KPI added to a topic module (see :func:`kpi`) needs no edit here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgov.metrics import (
    cadence,
    conversion,
    demand,
    efficiency,
    enrich,
    marketing,
    pipeline,
    responsiveness,
    scenarios,
    velocity,
)
from revgov.metrics._spill import spilled_frames
from revgov.metrics._time import naive, naive_utc, parse_every
from revgov.metrics.cadence import *  # noqa: F403
from revgov.metrics.conversion import *  # noqa: F403
from revgov.metrics.demand import *  # noqa: F403
from revgov.metrics.efficiency import *  # noqa: F403
from revgov.metrics.enrich import *  # noqa: F403
from revgov.metrics.marketing import *  # noqa: F403
from revgov.metrics.pipeline import *  # noqa: F403
from revgov.metrics.registry import (
    KPIDefinition,
    RunContext,
    by_closeness,
    check_options,
    compute,
    frame_columns,
    get_kpi,
    groupable_columns,
    kpi,
    kpi_notes,
    kpis,
    prepare_frames,
    row_count,
)
from revgov.metrics.responsiveness import *  # noqa: F403
from revgov.metrics.scenarios import *  # noqa: F403
from revgov.metrics.velocity import *  # noqa: F403

if TYPE_CHECKING:
    from revgov.metrics.registry import KPIS

__all__ = [
    "KPIS",
    "KPIDefinition",
    "RunContext",
    "by_closeness",
    "check_options",
    "compute",
    "frame_columns",
    "get_kpi",
    "groupable_columns",
    "kpi",
    "kpi_notes",
    "kpis",
    "naive",
    "naive_utc",
    "parse_every",
    "prepare_frames",
    "row_count",
    "spilled_frames",
]
__all__ += cadence.__all__
__all__ += conversion.__all__
__all__ += demand.__all__
__all__ += efficiency.__all__
__all__ += enrich.__all__
__all__ += marketing.__all__
__all__ += pipeline.__all__
__all__ += responsiveness.__all__
__all__ += scenarios.__all__
__all__ += velocity.__all__


def __getattr__(name: str) -> Any:
    # KPIS is built on first use (it also reads the installed KPI plugins).
    if name == "KPIS":
        return kpis()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
