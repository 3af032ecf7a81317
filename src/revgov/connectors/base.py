"""The connector contract: fetch pages of raw records for an entity from a cursor.

A connector knows one CRM (or export format). It yields :class:`Page` objects of raw records
whose keys are already canonical column names (mapping applied) and reports, with each page,
the cursor to resume after it. Everything downstream (the governed definitions, typing,
quarantine, the store) is the same for every connector.

What a ``revgov.connectors`` entry point names is a :class:`ConnectorSpec`: usually the
connector class itself, carrying the two settings models it owns (see
:mod:`revgov.connectors.settings`) and built as ``spec(source, context)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import polars as pl
from pydantic import BaseModel

from revgov.model.frames import FieldType

if TYPE_CHECKING:
    from revgov.config import SourceConfig

__all__ = [
    "Connector",
    "ConnectorContext",
    "ConnectorSpec",
    "Cursor",
    "Page",
    "SourceNote",
]

#: An opaque resume point: a timestamp, an offset or a vendor token, as text. None = from start.
Cursor = str | None


@dataclass(frozen=True)
class SourceNote:
    """Something a connector noticed about its source that people must hear about.

    Notes are shown at pull time and kept in the snapshot, so that the audit reports them
    too. ``kind`` is a short stable word, e.g. ``hidden_field`` (a mapped field the
    integration user cannot see: likely field-level security) or ``calculated_field`` (a
    formula: it changes without moving the cursor).
    """

    kind: str
    entity: str
    message: str
    field: str | None = None
    severity: Literal["info", "warn", "error"] = "warn"


@dataclass(frozen=True)
class Page:
    """One page of an entity from a source: upserts, deletions and the cursor after them."""

    entity: str
    #: Records created or changed at the source (canonical column names, values as text or
    #: native values). The store upserts them by the entity's primary key.
    records: pl.DataFrame | Sequence[Mapping[str, Any]]
    cursor: Cursor = None
    #: Custom fields kept from the source, canonical name to type.
    extras: Mapping[str, FieldType] = field(default_factory=dict)
    #: How many records the source says exist in all (for progress bars), if known.
    total: int | None = None
    #: The page starts a full refresh: the entity's earlier rows from this source that this
    #: refresh does not deliver again are removed (e.g. a changed export file).
    replace: bool = False
    #: Primary-key values of records deleted or archived at the source since the cursor. The
    #: store removes them (entities with a one-column key only).
    deletions: Sequence[str] = ()
    #: What the connector noticed (hidden fields, formula fields...), shown and kept.
    notes: Sequence[SourceNote] = ()
    #: Vendor status to show beside the progress bar, e.g. ``{"api calls": 12}``.
    status: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectorContext:
    """What revgov hands a connector besides its source's settings."""

    #: The directory of revgov.toml (or the working directory): relative paths resolve here.
    config_dir: Path = field(default_factory=Path.cwd)
    #: Re-read formula (calculated) fields of every record, not only of changed ones: they
    #: change without moving the cursor (``revgov pull --refresh-formulas``).
    refresh_formulas: bool = False


@runtime_checkable
class Connector(Protocol):
    """What every connector implements."""

    name: str

    def entities(self) -> Sequence[str]:
        """The canonical entities this source provides."""
        ...

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        """Pages of ``entity`` changed at or after ``cursor`` (``>=``: ties are re-read)."""
        ...


class ConnectorSpec(Protocol):
    """What a ``revgov.connectors`` entry point names: a connector class, or any object with
    the same three members.

    ``settings_model`` validates the source's ``options`` and ``entity_settings_model`` each
    entity table, when revgov.toml is loaded. A connector may also define ``check() ->
    list[str]``: problems of the environment (a missing export file, an unset credential
    variable) that ``revgov config check`` reports before any pull.
    """

    settings_model: type[BaseModel]
    entity_settings_model: type[BaseModel]

    def __call__(self, source: SourceConfig, context: ConnectorContext) -> Connector: ...
