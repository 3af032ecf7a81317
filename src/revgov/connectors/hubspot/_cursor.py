"""Where a HubSpot pull of one entity stands: one state per object type read for it.

The cursor is compact JSON text, stored with each committed page::

    {"v": 1, "streams": {"contacts": {"phase": "search", "lo": ..., "hi": ..., ...}}}

Each object type (a *stream*) moves through these phases:

``list``      the first (full) pull: ``GET /crm/v3/objects/{type}`` page by page, ``after``
              the next page; ``started`` is when the listing began.
``search``    an incremental pull: the time window ``[lo, hi)`` on the modified property is
              read in id order (``last_id`` the highest id read), in slices that stay under
              the search API's 10,000-result cap; windows follow one another up to ``end``
              (the hold-back horizon of this run). ``start`` is the run's first ``lo``.
``archived``  the archived listing of an incremental pull (search never returns archived
              records): records archived at or after ``since`` become deletions.
``idle``      caught up: the next pull searches from ``since`` minus the look-back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from revgov.connectors.base import Cursor

__all__ = ["EntityCursor", "StreamState", "iso", "parse_iso"]

Phase = Literal["list", "search", "archived", "idle"]


def iso(moment: datetime) -> str:
    """A UTC timestamp as ISO text with milliseconds (HubSpot's own precision)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class StreamState:
    """The state of one object type (see the module docstring for the phases)."""

    phase: Phase = "list"
    after: str | None = None
    started: str | None = None
    lo: str | None = None
    hi: str | None = None
    end: str | None = None
    start: str | None = None
    last_id: int | None = None
    since: str | None = None

    def to(self, phase: Phase, **values: str | int | None) -> StreamState:
        """A fresh state of ``phase`` with only ``values`` set."""
        return replace(StreamState(phase=phase), **values)  # type: ignore[arg-type]

    def with_(self, **values: str | int | None) -> StreamState:
        return replace(self, **values)  # type: ignore[arg-type]

    def dump(self) -> dict[str, str | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class EntityCursor:
    """Every stream's state for one entity."""

    streams: dict[str, StreamState] = field(default_factory=dict)

    def state(self, stream: str) -> StreamState | None:
        return self.streams.get(stream)

    def with_state(self, stream: str, state: StreamState) -> EntityCursor:
        return EntityCursor({**self.streams, stream: state})

    def dump(self) -> str:
        payload = {"v": 1, "streams": {k: s.dump() for k, s in self.streams.items()}}
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, text: Cursor) -> EntityCursor:
        """The cursor in ``text``; an empty one (a full pull) if absent or unreadable."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != 1:
                return cls()
            return cls({k: StreamState(**v) for k, v in data["streams"].items()})
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
