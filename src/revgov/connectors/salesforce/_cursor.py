"""Where a pull of one entity stands, per Salesforce object; stored as compact JSON text.

Each object keeps its ``mark`` (the newest cursor-field timestamp committed) and, while a pull
of it is under way, the window being read: ``since`` (the mark minus the look-back), ``until``
(when that pull started), and how far into the window it got: the last Id committed (REST
reads in Id order) or the Bulk 2.0 job and result locator, plus the newest timestamp seen so
far. A pull killed at any point resumes inside the same window; the mark moves only when a
window is complete, and only to timestamps inside it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from revgov.connectors.base import Cursor

__all__ = ["EntityCursor", "ObjectCursor", "parse_time", "stamp"]


def stamp(moment: datetime) -> str:
    """A timestamp as cursor text (UTC, milliseconds, ``Z``)."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_time(text: str | None) -> datetime | None:
    """Cursor text (or any ISO 8601 timestamp, ``+0000`` included) as an aware datetime."""
    if not text:
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    elif len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ObjectCursor:
    """One object's state; see the module docstring."""

    mark: str | None = None
    since: str | None = None
    until: str | None = None
    #: The window is being read: ``rest`` (after ``after_id``) or ``bulk`` (``job``, ``locator``).
    mode: Literal["rest", "bulk"] | None = None
    after_id: str | None = None
    job: str | None = None
    locator: str | None = None
    seen: str | None = None
    #: Records of the window committed so far (progress only).
    done: int = 0

    @property
    def in_window(self) -> bool:
        return self.mode is not None

    def finished(self) -> ObjectCursor:
        """The window is complete: the mark moves to the newest timestamp seen (never back)."""
        marks = [m for m in (self.mark, self.seen) if m]
        if not marks:
            return ObjectCursor()
        newest = max(marks, key=lambda m: parse_time(m) or datetime.min.replace(tzinfo=UTC))
        return ObjectCursor(mark=newest)

    def advanced(self, **changes: Any) -> ObjectCursor:
        return replace(self, **changes)


@dataclass(frozen=True)
class EntityCursor:
    """Every object's state of one entity."""

    objects: dict[str, ObjectCursor] = field(default_factory=dict)

    def get(self, sobject: str) -> ObjectCursor:
        return self.objects.get(sobject, ObjectCursor())

    def with_object(self, sobject: str, state: ObjectCursor) -> EntityCursor:
        return EntityCursor({**self.objects, sobject: state})

    def dump(self) -> str:
        data = {
            name: {k: v for k, v in asdict(state).items() if v not in (None, 0)}
            for name, state in sorted(self.objects.items())
        }
        return json.dumps({"v": 1, "objects": data}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, text: Cursor) -> EntityCursor:
        """The cursor in ``text``; empty (a first pull) if absent or not a Salesforce cursor."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != 1:
                return cls()
            return cls({name: ObjectCursor(**state) for name, state in data["objects"].items()})
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
