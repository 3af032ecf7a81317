"""Which connector a source names: the built-ins, plus third-party plugins from entry points.

A plugin package declares, in its own pyproject::

    [project.entry-points."revgov.connectors"]
    mycrm = "mycrm_revgov:MyCRMConnector"

The object an entry point names is a factory ``(SourceConfig) -> Connector`` (a connector class
is one). A factory may also accept a keyword ``config_dir`` (the directory of ``revgov.toml``),
to resolve relative paths. A plugin that fails to import is skipped with a
:class:`~revgov.errors.PluginWarning`: one broken package never stops revgov.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import warnings
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, cast

from revgov.config import SourceConfig
from revgov.connectors.base import Connector, ConnectorFactory
from revgov.errors import ConnectorError, PluginWarning, UnknownConnectorError

__all__ = [
    "BUILTIN_CONNECTORS",
    "ENTRY_POINT_GROUP",
    "available_connectors",
    "create_connector",
    "get_connector_factory",
]

ENTRY_POINT_GROUP = "revgov.connectors"

#: Connectors shipped with revgov: name to ``module:attribute``, imported on first use.
BUILTIN_CONNECTORS: dict[str, str] = {
    "files": "revgov.connectors.files:FilesConnector",
}


def _plugin_entry_points() -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        # revgov's own distribution declares its built-ins too; the table above wins.
        if BUILTIN_CONNECTORS.get(ep.name) == ep.value:
            continue
        found.setdefault(ep.name, []).append(ep)
    return found


def _load_builtin(name: str) -> ConnectorFactory:
    module_name, _, attr = BUILTIN_CONNECTORS[name].partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return cast(ConnectorFactory, factory)


def _load_plugin(ep: EntryPoint) -> ConnectorFactory:
    """Import an entry point's factory; any failure becomes a ConnectorError naming it."""
    where = f"{ep.name} = {ep.value!r}"
    if ep.dist is not None:
        where += f" (from {ep.dist.name} {ep.dist.version})"
    try:
        obj: Any = ep.load()
    except Exception as exc:  # a plugin may fail in any way while importing
        raise ConnectorError(
            f"connector plugin {where} failed to load: {type(exc).__name__}: {exc}",
            hint="reinstall or upgrade that package, or remove it",
        ) from exc
    if not callable(obj):
        raise ConnectorError(
            f"connector plugin {where} is not callable (a {type(obj).__name__})",
            hint="the entry point must name a factory `(SourceConfig) -> Connector`",
        )
    return cast(ConnectorFactory, obj)


def available_connectors() -> dict[str, ConnectorFactory]:
    """Every usable connector by name: the built-ins, then each plugin that loads.

    A plugin that cannot be loaded, or that reuses a built-in's name, is skipped with a
    :class:`~revgov.errors.PluginWarning`.
    """
    out = {name: _load_builtin(name) for name in BUILTIN_CONNECTORS}
    for name, eps in _plugin_entry_points().items():
        for ep in eps:
            if name in out:
                warnings.warn(
                    f"connector plugin {name} = {ep.value!r} is skipped: the name {name!r} "
                    "is already taken",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            try:
                out[name] = _load_plugin(ep)
            except ConnectorError as exc:
                warnings.warn(f"{exc.message}; skipped", PluginWarning, stacklevel=2)
    return out


def get_connector_factory(name: str) -> ConnectorFactory:
    """The factory registered as ``name``; only that plugin is imported.

    Raises :class:`~revgov.errors.UnknownConnectorError` (with the closest name) if none is
    registered, or :class:`~revgov.errors.ConnectorError` if that plugin fails to load.
    """
    if name in BUILTIN_CONNECTORS:
        return _load_builtin(name)
    plugins = _plugin_entry_points()
    if name in plugins:
        return _load_plugin(plugins[name][0])
    known = sorted({*BUILTIN_CONNECTORS, *plugins})
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += f"known connectors: {', '.join(known)}; plugins register under the entry-point "
    hint += f"group {ENTRY_POINT_GROUP!r}"
    raise UnknownConnectorError(f"unknown connector {name!r}", hint=hint)


def create_connector(source: SourceConfig, *, config_dir: Path | None = None) -> Connector:
    """Build the connector ``source.connector`` names, for that source.

    ``config_dir`` is passed on to factories that accept it (to resolve relative paths).
    """
    factory = get_connector_factory(source.connector)
    if config_dir is not None and _accepts_config_dir(factory):
        connector: object = cast(Any, factory)(source, config_dir=config_dir)
    else:
        connector = factory(source)
    if not isinstance(connector, Connector):
        raise ConnectorError(
            f"connector {source.connector!r} built a {type(connector).__name__}, which lacks "
            "`name`, `entities()` or `fetch()`",
            hint="a connector factory must return an object implementing revgov's Connector",
        )
    return connector


def _accepts_config_dir(factory: object) -> bool:
    try:
        params = inspect.signature(factory).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):  # builtins and C callables have no signature
        return False
    return "config_dir" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
