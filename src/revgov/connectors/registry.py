"""Which connector a source names: the built-ins, plus third-party plugins from entry points.

A plugin package declares, in its own pyproject::

    [project.entry-points."revgov.connectors"]
    mycrm = "mycrm_revgov:MyCRMConnector"

The object an entry point names is a :class:`~revgov.connectors.base.ConnectorSpec`: a
connector class with ``settings_model`` and ``entity_settings_model``, built as
``spec(source, context)``. A plugin that fails to import is skipped with a
:class:`~revgov.errors.PluginWarning`: one broken package never stops revgov.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

from revgov.errors import ConnectorError, PluginWarning, UnknownConnectorError

if TYPE_CHECKING:
    from revgov.config import SourceConfig
    from revgov.connectors.base import Connector, ConnectorContext, ConnectorSpec

__all__ = [
    "BUILTIN_CONNECTORS",
    "ENTRY_POINT_GROUP",
    "available_connectors",
    "check_source",
    "create_connector",
    "get_connector_spec",
    "known_connector_names",
]

ENTRY_POINT_GROUP = "revgov.connectors"

#: Connectors shipped with revgov: name to ``module:attribute``, imported on first use. Each
#: module imports its vendor's client library only when a connector is built.
BUILTIN_CONNECTORS: dict[str, str] = {
    "files": "revgov.connectors.files:FilesConnector",
    "salesforce": "revgov.connectors.salesforce:SalesforceConnector",
    "hubspot": "revgov.connectors.hubspot:HubSpotConnector",
}


def _plugin_entry_points() -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        # revgov's own distribution declares its built-ins too; the table above wins.
        if BUILTIN_CONNECTORS.get(ep.name) == ep.value:
            continue
        found.setdefault(ep.name, []).append(ep)
    return found


def _check_spec(obj: Any, where: str) -> ConnectorSpec:
    if not callable(obj):
        raise ConnectorError(
            f"connector plugin {where} is not callable (a {type(obj).__name__})",
            hint="the entry point must name a connector class (see docs/connectors.md)",
        )
    for attr in ("settings_model", "entity_settings_model"):
        model = getattr(obj, attr, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConnectorError(
                f"connector plugin {where} has no `{attr}` (a pydantic model)",
                hint="derive the connector's settings from revgov.connectors.settings."
                "ConnectorSettings and EntityMapping and name them on the class",
            )
    return cast("ConnectorSpec", obj)


def _load_builtin(name: str) -> ConnectorSpec:
    module_name, _, attr = BUILTIN_CONNECTORS[name].partition(":")
    return _check_spec(getattr(importlib.import_module(module_name), attr), name)


def _load_plugin(ep: EntryPoint) -> ConnectorSpec:
    """Import an entry point's spec; any failure becomes a ConnectorError naming it."""
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
    return _check_spec(obj, where)


def available_connectors() -> dict[str, ConnectorSpec]:
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


def known_connector_names() -> list[str]:
    """Names of the built-ins and of every declared plugin (without importing any)."""
    return sorted({*BUILTIN_CONNECTORS, *_plugin_entry_points()})


def get_connector_spec(name: str) -> ConnectorSpec:
    """The connector registered as ``name``; only that plugin is imported.

    Raises :class:`~revgov.errors.UnknownConnectorError` (with the closest name) if none is
    registered, or :class:`~revgov.errors.ConnectorError` if that plugin fails to load.
    """
    if name in BUILTIN_CONNECTORS:
        return _load_builtin(name)
    plugins = _plugin_entry_points()
    if name in plugins:
        return _load_plugin(plugins[name][0])
    known = known_connector_names()
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += f"known connectors: {', '.join(known)}; plugins register under the entry-point "
    hint += f"group {ENTRY_POINT_GROUP!r}"
    raise UnknownConnectorError(f"unknown connector {name!r}", hint=hint)


def create_connector(source: SourceConfig, context: ConnectorContext | None = None) -> Connector:
    """Build the connector ``source.connector`` names, for that source."""
    from revgov.connectors.base import Connector, ConnectorContext

    spec = get_connector_spec(source.connector)
    connector: object = spec(source, context or ConnectorContext())
    if not isinstance(connector, Connector):
        raise ConnectorError(
            f"connector {source.connector!r} built a {type(connector).__name__}, which lacks "
            "`name`, `entities()` or `fetch()`",
            hint="a connector class must implement revgov's Connector protocol",
        )
    return connector


def check_source(source: SourceConfig, context: ConnectorContext | None = None) -> list[str]:
    """What would stop a pull of ``source`` before it starts (a missing export file, an unset
    credential variable), from the connector's optional ``check()``; no network."""
    connector = create_connector(source, context)
    check = getattr(connector, "check", None)
    return list(check()) if callable(check) else []
