"""What a connector learns about the portal once per pull: deal pipelines and their stages,
property definitions, lifecycle values, and the owners (archived ones included)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revgov.connectors.hubspot._api import HubSpotApi

__all__ = ["Pipeline", "PortalInfo", "Stage", "list_owners"]


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    order: int
    probability: float | None
    is_closed: bool
    is_won: bool


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]


def _stage(raw: dict[str, Any], order: int) -> Stage:
    meta = raw.get("metadata") or {}
    # Metadata values are strings on the wire ("true", "0.2").
    try:
        probability: float | None = float(meta["probability"])
    except (KeyError, TypeError, ValueError):
        probability = None
    closed = str(meta.get("isClosed", "false")).lower() == "true"
    return Stage(
        id=str(raw["id"]),
        label=str(raw.get("label") or raw["id"]),
        order=order,
        probability=probability,
        is_closed=closed,
        is_won=closed and probability is not None and probability >= 1.0,
    )


def _pipeline(raw: dict[str, Any]) -> Pipeline:
    stages = sorted(raw.get("stages") or [], key=lambda s: s.get("displayOrder", 0))
    live = [s for s in stages if not s.get("archived")]
    return Pipeline(
        id=str(raw["id"]),
        label=str(raw.get("label") or raw["id"]),
        stages=tuple(_stage(s, i + 1) for i, s in enumerate(live)),
    )


def list_owners(api: HubSpotApi) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every owner, active then archived: (owner, archived)."""
    for archived in (False, True):
        after: str | None = None
        while True:
            data = api.owners_page(after=after, archived=archived)
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            for owner in data.get("results") or []:
                yield owner, archived
            if not after:
                break


class PortalInfo:
    """The portal's definitions, each read once (on first use) and shared by threads."""

    def __init__(self, api: HubSpotApi) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._pipelines: dict[str, list[Pipeline]] = {}
        self._properties: dict[str, dict[str, dict[str, Any]]] = {}
        self._users: dict[int, str] | None = None

    def pipelines(self, object_type: str = "deals") -> list[Pipeline]:
        with self._lock:
            if object_type not in self._pipelines:
                data = self.api.pipelines(object_type)
                self._pipelines[object_type] = [_pipeline(p) for p in data.get("results") or []]
            return self._pipelines[object_type]

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            if object_type not in self._properties:
                data = self.api.properties(object_type)
                self._properties[object_type] = {
                    str(p["name"]): p for p in data.get("results") or []
                }
            return self._properties[object_type]

    def option_labels(self, object_type: str, prop: str) -> dict[str, str]:
        definition = self.properties(object_type).get(prop) or {}
        return {
            str(o["value"]): str(o.get("label") or o["value"])
            for o in definition.get("options") or []
            if "value" in o
        }

    def stage_values(self, object_type: str) -> list[str]:
        """What a stage's date properties are named after: deal stage ids, lifecycle values."""
        if object_type == "deals":
            return [s.id for p in self.pipelines("deals") for s in p.stages]
        return list(self.option_labels(object_type, "lifecyclestage"))

    def users(self) -> dict[int, str]:
        """HubSpot user id to owner id (history names users; revgov's users are owners)."""
        with self._lock:
            if self._users is None:
                found: dict[int, str] = {}
                for owner, _ in list_owners(self.api):
                    for key in ("userId", "userIdIncludingInactive"):
                        if owner.get(key) is not None:
                            found.setdefault(int(owner[key]), str(owner["id"]))
                self._users = found
            return self._users
