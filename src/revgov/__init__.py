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

Every name below is imported on first use, so ``import revgov`` (and ``revgov --version``)
costs next to nothing: polars, pydantic and the rules engine load when a name that needs
them is first touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revgov.config import Config, diff_configs, load_config
    from revgov.demo import generate as generate_demo
    from revgov.errors import RevgovError
    from revgov.model import ENTITIES, TypedPage, polars_schema, type_records
    from revgov.pull import pull
    from revgov.rules import Report, audit
    from revgov.store import SnapshotStore

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

#: Public name -> (module, attribute), imported when the name is first used.
_LAZY = {
    "ENTITIES": ("revgov.model", "ENTITIES"),
    "Config": ("revgov.config", "Config"),
    "Report": ("revgov.rules", "Report"),
    "RevgovError": ("revgov.errors", "RevgovError"),
    "SnapshotStore": ("revgov.store", "SnapshotStore"),
    "TypedPage": ("revgov.model", "TypedPage"),
    "audit": ("revgov.rules", "audit"),
    "diff_configs": ("revgov.config", "diff_configs"),
    "generate_demo": ("revgov.demo", "generate"),
    "load_config": ("revgov.config", "load_config"),
    "polars_schema": ("revgov.model", "polars_schema"),
    "pull": ("revgov.pull", "pull"),
    "type_records": ("revgov.model", "type_records"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'revgov' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
