"""The connector contract: fetch pages of raw records for an entity from a cursor.

A connector knows one CRM (or export format). It yields :class:`Page` objects of raw records
whose keys are already canonical column names (mapping applied) and reports, with each page,
the cursor to resume after it. Everything downstream (typing, quarantine, the store) is the
same for every connector.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import polars as pl

from revgov.config import SourceConfig
from revgov.model.frames import FieldType

__all__ = ["Connector", "ConnectorFactory", "Cursor", "Page"]

#: An opaque resume point: a timestamp, an offset or a vendor token, as text. None = from start.
Cursor = str | None


@dataclass(frozen=True)
class Page:
    """One page of raw records for one entity, with the cursor that follows it."""

    entity: str
    records: pl.DataFrame | Sequence[Mapping[str, Any]]
    cursor: Cursor = None
    #: Custom fields kept from the source, canonical name to type.
    extras: Mapping[str, FieldType] = field(default_factory=dict)
    #: How many records the source says exist in all (for progress bars), if known.
    total: int | None = None
    #: The page starts a full refresh: the entity's earlier rows from this source are dropped
    #: in the same atomic commit (e.g. a changed export file, or a pull from no cursor).
    replace: bool = False


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


class ConnectorFactory(Protocol):
    """The object a ``revgov.connectors`` entry point names: builds a connector from config."""

    def __call__(self, source: SourceConfig) -> Connector: ...
