"""revgov: revenue governance for CRM data.

Pull CRM records into one typed canonical model, audit them against governed definitions,
and compute the revenue KPI spine as plain functions::

    import revgov

    config = revgov.load_config("revgov.toml")
    revgov.pull(config, "revgov-snapshot")
    frames = revgov.SnapshotStore("revgov-snapshot").frames()
    report = revgov.audit(frames, config=config)

    from revgov import metrics
    metrics.win_rate_by_count(frames["opportunities"], by="segment")

The heavier parts (rules, metrics, pull, demo) are imported on first use, so ``import revgov``
stays cheap for code that only needs the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from revgov.config import Config, diff_configs, load_config
from revgov.errors import RevgovError
from revgov.model import ENTITIES, TypedPage, polars_schema, type_records
from revgov.store import SnapshotStore

if TYPE_CHECKING:
    from revgov.demo import generate as generate_demo
    from revgov.pull import pull
    from revgov.rules import Report, audit

__version__ = "0.1.0"

__all__ = [
    "ENTITIES",
    "Config",
    "Report",
    "RevgovError",
    "SnapshotStore",
    "TypedPage",
    "__version__",
    "audit",
    "diff_configs",
    "generate_demo",
    "load_config",
    "polars_schema",
    "pull",
    "type_records",
]

_LAZY = {
    "audit": ("revgov.rules", "audit"),
    "Report": ("revgov.rules", "Report"),
    "pull": ("revgov.pull", "pull"),
    "generate_demo": ("revgov.demo", "generate"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'revgov' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), attr)
