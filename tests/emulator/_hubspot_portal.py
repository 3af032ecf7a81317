"""A generated HubSpot portal: companies, contacts, deals, engagements, owners, pipelines and
property definitions, with property history, associations and planted defects.

Records are built deterministically from their id (a seeded RNG per record), so a portal of
200,000 contacts can be served without holding them all: small object types are built once,
large ones on demand, and every change a test makes (an update, an archive, a new record) is
kept as an override. Everything is rendered in HubSpot's wire format: every property value a
string or null, datetimes ISO with a Z (with or without milliseconds), history newest first.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EPOCH = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)

#: Objects built once when at most this many (larger ones are built on demand).
MATERIALIZE_UP_TO = 50_000
#: Records of a large table kept after being built on demand.
RECENT = 5_000

LIFECYCLE = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
]
LIFECYCLE_LABELS = {
    "subscriber": "Subscriber",
    "lead": "Lead",
    "marketingqualifiedlead": "Marketing Qualified Lead",
    "salesqualifiedlead": "Sales Qualified Lead",
    "opportunity": "Opportunity",
    "customer": "Customer",
    "evangelist": "Evangelist",
    "other": "Other",
}

#: (pipeline id, label, [(stage id, label, probability, closed)]).
PIPELINES: list[tuple[str, str, list[tuple[str, str, str, bool]]]] = [
    (
        "default",
        "Sales Pipeline",
        [
            ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
            ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
            ("presentationscheduled", "Presentation Scheduled", "0.6", False),
            ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
            ("contractsent", "Contract Sent", "0.9", False),
            ("closedwon", "Closed Won", "1.0", True),
            ("closedlost", "Closed Lost", "0.0", True),
        ],
    ),
    (
        "7654321",
        "Renewals",
        [
            ("11111101", "Renewal Due", "0.5", False),
            ("11111102", "Renewal Negotiation", "0.7", False),
            ("11111103", "Renewed", "1.0", True),
            ("11111104", "Churned", "0.0", True),
        ],
    ),
]

#: HubSpot's default call dispositions (value is a GUID; the label is what people read).
CALL_DISPOSITIONS = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "Connected",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "No answer",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "Left voicemail",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "Busy",
}

#: Association type ids (HUBSPOT_DEFINED). Primary: deal→company 5, contact→company 1.
TYPE_IDS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("deals", "companies"): (341, 5),
    ("deals", "contacts"): (3, None),
    ("contacts", "companies"): (279, 1),
    ("calls", "contacts"): (194, None),
    ("calls", "deals"): (206, None),
    ("emails", "contacts"): (198, None),
    ("emails", "deals"): (210, None),
    ("meetings", "contacts"): (200, None),
    ("meetings", "deals"): (212, None),
    ("tasks", "contacts"): (204, None),
    ("tasks", "deals"): (216, None),
}

FIRST_ID = {
    "companies": 1_000_001,
    "contacts": 2_000_001,
    "deals": 3_000_001,
    "calls": 4_000_001,
    "emails": 5_000_001,
    "meetings": 6_000_001,
    "tasks": 7_000_001,
}
ENGAGEMENTS = ("calls", "emails", "meetings", "tasks")
UTM_PROPERTIES = ("utm_source_c", "utm_medium_c", "utm_campaign_c")

#: Date-entered properties exist on every record but the properties API does not list them.
BUILT_PROPERTY = re.compile(
    r"^hs_(v2_)?date_(entered|exited)_.+$|^hs_lifecyclestage_.+_date$|^hs_v2_latest_time_in_.+$"
)


def stamp(moment: datetime) -> str:
    """HubSpot's ISO form: milliseconds when there are any, ``Z`` always."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")  # ...SS.mmm+00:00
    return text[:19] + "Z" if moment.microsecond < 1000 else text[:23] + "Z"


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Rec:
    """One CRM record: properties (text or None), history newest first, its moments."""

    id: int
    properties: dict[str, str | None]
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    created: datetime = EPOCH
    updated: datetime = EPOCH
    archived_at: datetime | None = None
    #: The stage path the generator chose, for tests to check history against (never sent).
    truth: list[tuple[str, datetime]] = field(default_factory=list)

    def modified_ms(self, prop: str) -> int:
        value = self.properties.get(prop)
        return ms_of(value) if value else to_ms(self.updated)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@functools.lru_cache(maxsize=200_000)
def ms_of(text: str) -> int:
    return to_ms(parse(text))


@dataclass(frozen=True)
class Link:
    to_id: int
    type_ids: tuple[int, ...]


class ObjectTable:
    """The records of one object type: generated ones, plus every change a test made."""

    def __init__(
        self, object_type: str, first_id: int, count: int, make: Callable[[int], Rec]
    ) -> None:
        self.object_type = object_type
        self.first_id = first_id
        self.count = count
        self._make = make
        self._built: dict[int, Rec] | None = None
        if count <= MATERIALIZE_UP_TO:
            self._built = {i: make(i) for i in range(first_id, first_id + count)}
        # Large tables are built on demand; a page's batch reads and associations follow its
        # listing, so the records built last are kept a while.
        self._recent: OrderedDict[int, Rec] = OrderedDict()
        self.changed: dict[int, Rec] = {}
        self.archived: dict[int, Rec] = {}
        self.extra_ids: list[int] = []
        self.modified_property = (
            "lastmodifieddate" if object_type == "contacts" else ("hs_lastmodifieddate")
        )

    def _base(self, rid: int) -> Rec | None:
        if not self.first_id <= rid < self.first_id + self.count:
            return None
        if self._built is not None:
            return self._built[rid]
        rec = self._recent.get(rid)
        if rec is None:
            rec = self._recent[rid] = self._make(rid)
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return rec

    def get(self, rid: int) -> Rec | None:
        if rid in self.archived:
            return None
        return self.changed.get(rid) or self._base(rid)

    def get_archived(self, rid: int) -> Rec | None:
        return self.archived.get(rid)

    def ids_from(self, start: int) -> Iterator[int]:
        """Live ids >= start, ascending."""
        for rid in range(max(start, self.first_id), self.first_id + self.count):
            if rid not in self.archived:
                yield rid
        for rid in self.extra_ids:
            if rid >= start and rid not in self.archived:
                yield rid

    def live(self) -> Iterator[Rec]:
        for rid in self.ids_from(0):
            rec = self.get(rid)
            if rec is not None:
                yield rec

    def next_id(self) -> int:
        return max([self.first_id + self.count - 1, *self.extra_ids]) + 1


class Portal:
    """The whole generated portal, and the changes tests make to it."""

    def __init__(self) -> None:
        self.tables: dict[str, ObjectTable] = {}
        self.owners: list[dict[str, Any]] = []
        self.pipelines: dict[str, list[dict[str, Any]]] = {}
        self.properties: dict[str, list[dict[str, Any]]] = {}
        self.links: dict[tuple[str, str], Callable[[int], list[Link]]] = {}
        self.link_overrides: dict[tuple[str, str], dict[int, list[Link]]] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.lock = threading.RLock()
        self._name_cache: dict[str, tuple[int, frozenset[str]]] = {}

    def table(self, object_type: str) -> ObjectTable | None:
        return self.tables.get(object_type)

    def associations(self, from_type: str, to_type: str, rid: int) -> list[Link]:
        override = self.link_overrides.get((from_type, to_type), {})
        if rid in override:
            return override[rid]
        make = self.links.get((from_type, to_type))
        return make(rid) if make is not None else []

    def known_property(self, object_type: str, name: str) -> bool:
        return name in self._names(object_type) or bool(BUILT_PROPERTY.match(name))

    def _names(self, object_type: str) -> frozenset[str]:
        defs = self.properties.get(object_type, [])
        cached = self._name_cache.get(object_type)
        if cached is None or cached[0] != len(defs):
            cached = (len(defs), frozenset(p["name"] for p in defs))
            self._name_cache[object_type] = cached
        return cached[1]

    # -- changes a test makes -----------------------------------------------------------

    def touch(
        self, object_type: str, rid: int, at: datetime | None = None, **props: str | None
    ) -> Rec:
        """Change a record's properties (``at`` becomes its modified time)."""
        with self.lock:
            table = self.tables[object_type]
            rec = table.get(rid)
            assert rec is not None, f"{object_type} {rid} is not live"
            at = at or self.clock()
            new = Rec(
                rec.id,
                {**rec.properties, **props, table.modified_property: stamp(at)},
                {k: list(v) for k, v in rec.history.items()},
                rec.created,
                at,
                truth=list(rec.truth),
            )
            for name, value in props.items():
                if name in new.history:
                    new.history[name].insert(0, history_entry(value, at, "API", None))
                if name in STAGE_PROPERTIES and value is not None:
                    _entered(new, value, at)
            table.changed[rid] = new
            return new

    def archive(self, object_type: str, rid: int, at: datetime | None = None) -> None:
        with self.lock:
            table = self.tables[object_type]
            rec = table.get(rid)
            assert rec is not None
            at = at or self.clock()
            table.archived[rid] = Rec(
                rec.id, dict(rec.properties), rec.history, rec.created, at, archived_at=at
            )

    def create(self, object_type: str, at: datetime | None = None, **props: str | None) -> Rec:
        with self.lock:
            table = self.tables[object_type]
            at = at or self.clock()
            rid = table.next_id()
            created = {"createdate": stamp(at), table.modified_property: stamp(at), **props}
            rec = Rec(rid, {"hs_object_id": str(rid), **created}, {}, at, at)
            table.extra_ids.append(rid)
            table.changed[rid] = rec
            return rec


#: Properties whose changes move a record along its stages (and their date properties).
STAGE_PROPERTIES = ("dealstage", "lifecyclestage")


def _entered(rec: Rec, value: str, at: datetime) -> None:
    """Keep the date properties and the true path in step with a stage change."""
    if rec.truth:
        rec.properties[f"hs_v2_date_exited_{rec.truth[-1][0]}"] = stamp(at)
    rec.properties[f"hs_v2_date_entered_{value}"] = stamp(at)
    rec.truth.append((value, at))


def history_entry(
    value: str | None, at: datetime, source: str, user_id: int | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "value": value if value is not None else "",
        "timestamp": stamp(at),
        "sourceType": source,
    }
    if user_id is not None:
        entry["sourceId"] = f"userId:{user_id}"
        entry["updatedByUserId"] = user_id
    elif source == "CALCULATED":
        entry["sourceId"] = "RollupProperties"
    return entry
