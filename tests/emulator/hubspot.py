"""The HubSpot emulator: CRM v3 objects (list, search, batch read with history), associations
v4, owners, pipelines, properties and the OAuth token endpoint, over a generated portal.

It behaves like HubSpot where connectors go wrong: list pages of at most 100 records (50 with
history) chained by ``paging.next.after`` and without ``paging`` on the last page; search
results capped at 10,000 per query (a 400 beyond) and lagging behind writes by ``search_lag``
seconds; batch reads of at most 100 ids (50 with history); association pages of 100 per record
in batch reads, with their own paging; URLs longer than ``max_url`` refused with 414; a rolling
rate limit with HubSpot's ``X-HubSpot-RateLimit-*`` headers and 429 bodies (policies
TEN_SECONDLY_ROLLING, SECONDLY for search, DAILY); bearer tokens that expire. Faults (429, 5xx,
dropped connections, truncated bodies) come from the shared harness's ``inject``.

Use in-process: ``api = hubspot(emulator, contacts=500)`` returns a :class:`HubSpotEmulator`
(the portal to change, the gate to inspect). In its own process: ``python -m tests.emulator
tests.emulator.hubspot:hubspot --state-dir DIR --option contacts=200000 --option burst=100``.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulator._hubspot_data import build_portal
from tests.emulator._hubspot_limits import Gate, error
from tests.emulator._hubspot_portal import (
    FIRST_ID,
    TYPE_IDS,
    Portal,
    Rec,
    history_entry,
    ms_of,
    stamp,
    to_ms,
)
from tests.emulator.server import Emulator, Request, Response

__all__ = ["HubSpotEmulator", "hubspot"]

SEARCH_CAP = 10_000
ASSOCIATIONS_PER_RECORD = 100
CUSTOM_OBJECT = "2-3508482"


@dataclass
class HubSpotEmulator:
    """What a test holds: the emulator, its portal and its gate."""

    emulator: Emulator
    portal: Portal
    gate: Gate
    search_lag: float = 0.0
    max_url: int = 16_000
    searches: int = 0

    @property
    def url(self) -> str:
        return self.emulator.url


def _now() -> str:
    return stamp(datetime.now(UTC))


def _opaque(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o-{offset}".encode()).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o-"))


def _names(values: list[str]) -> list[str]:
    """Property names from repeated parameters or comma-separated ones (HubSpot takes both)."""
    return [n for v in values for n in v.split(",") if n]


def _true(text: str | None) -> bool:
    return (text or "").lower() == "true"


class _Api:
    def __init__(self, hs: HubSpotEmulator) -> None:
        self.hs = hs
        self.portal = hs.portal
        self._known_cache: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}

    # -- rendering -----------------------------------------------------------------------

    def render(
        self,
        object_type: str,
        rec: Rec,
        props: list[str],
        history: list[str],
        *,
        archived: bool = False,
    ) -> dict[str, Any]:
        table = self.portal.tables[object_type]
        wanted = ("hs_object_id", "createdate", table.modified_property, *props)
        known = self._known(object_type, wanted)
        properties: dict[str, str | None] = {}
        for name in wanted:
            if name in known or name in rec.properties:
                properties[name] = (
                    str(rec.id) if name == "hs_object_id" else rec.properties.get(name)
                )
        out: dict[str, Any] = {
            "id": str(rec.id),
            "properties": properties,
            "createdAt": stamp(rec.created),
            "updatedAt": stamp(rec.updated),
            "archived": archived,
        }
        if archived and rec.archived_at is not None:
            out["archivedAt"] = stamp(rec.archived_at)
        if history:
            out["propertiesWithHistory"] = {
                name: self._history(rec, name)
                for name in history
                if name in rec.properties or self.portal.known_property(object_type, name)
            }
        return out

    def _known(self, object_type: str, names: tuple[str, ...]) -> frozenset[str]:
        """The names the object type has (asked once per request shape, not per record)."""
        key = (object_type, names)
        found = self._known_cache.get(key)
        if found is None:
            found = frozenset(n for n in names if self.portal.known_property(object_type, n))
            self._known_cache[key] = found
        return found

    @staticmethod
    def _history(rec: Rec, name: str) -> list[dict[str, Any]]:
        if name in rec.history:
            return rec.history[name]
        value = rec.properties.get(name)
        return [history_entry(value, rec.created, "CRM_UI", None)] if value is not None else []

    def _table(self, object_type: str) -> Any:
        return self.portal.table(object_type)

    def _unknown(self, object_type: str) -> Response:
        return error(
            400, "VALIDATION_ERROR", message=f"Unable to infer object type from: {object_type}"
        )

    # -- CRM v3 objects ------------------------------------------------------------------

    def list_page(self, r: Request) -> Response:
        object_type = r.params["type"]
        table = self._table(object_type)
        if table is None:
            return self._unknown(object_type)
        props, history = _names(r.args("properties")), _names(r.args("propertiesWithHistory"))
        limit = min(int(r.arg("limit", "10") or 10), 50 if history else 100)
        start = int(r.arg("after") or 0)
        archived = _true(r.arg("archived"))
        results: list[dict[str, Any]] = []
        next_after: int | None = None
        with self.portal.lock:
            if archived:
                ids = sorted(i for i in table.archived if i >= start)
                for rid in ids:
                    if len(results) == limit:
                        next_after = rid
                        break
                    results.append(
                        self.render(object_type, table.archived[rid], props, history, archived=True)
                    )
            else:
                for rid in table.ids_from(start):
                    if len(results) == limit:
                        next_after = rid
                        break
                    rec = table.get(rid)
                    if rec is not None:
                        results.append(self.render(object_type, rec, props, history))
        body: dict[str, Any] = {"results": results}
        if next_after is not None:
            body["paging"] = {
                "next": {
                    "after": str(next_after),
                    "link": f"https://api.hubapi.com/crm/v3/objects/{object_type}?after={next_after}",
                }
            }
        return Response.json(body)

    def batch_read(self, r: Request) -> Response:
        object_type = r.params["type"]
        table = self._table(object_type)
        if table is None:
            return self._unknown(object_type)
        body = r.json()
        inputs = body.get("inputs") or []
        history = list(body.get("propertiesWithHistory") or [])
        cap = 50 if history else 100
        if len(inputs) > cap:
            message = (
                "The maximum number of inputs supported in a batch request for property "
                f"histories is {cap}."
                if history
                else f"Too many inputs: {len(inputs)} > {cap}."
            )
            return error(400, "VALIDATION_ERROR", message=message)
        props = list(body.get("properties") or [])
        results, missing = [], []
        with self.portal.lock:
            for item in inputs:
                rec = table.get(int(item["id"]))
                if rec is None:
                    missing.append(str(item["id"]))
                else:
                    results.append(self.render(object_type, rec, props, history))
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": _now(),
            "completedAt": _now(),
        }
        if missing:
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return Response.json(out, 207)
        return Response.json(out)

    def search(self, r: Request) -> Response:
        object_type = r.params["type"]
        table = self._table(object_type)
        if table is None:
            return self._unknown(object_type)
        self.hs.searches += 1
        body = r.json() or {}
        groups = body.get("filterGroups") or []
        filters = [f for g in groups for f in g.get("filters") or []]
        if (
            len(groups) > 5
            or any(len(g.get("filters") or []) > 10 for g in groups)
            or len(filters) > 25
        ):
            return error(400, "VALIDATION_ERROR", message="too many filters")
        limit = min(int(body.get("limit") or 10), 200)
        offset = int(body.get("after") or 0)
        if offset >= SEARCH_CAP or offset + limit > SEARCH_CAP:
            return error(
                400,
                "VALIDATION_ERROR",
                message="Paging through more than 10000 results is not supported.",
            )
        horizon = to_ms(self.portal.clock() - timedelta(seconds=self.hs.search_lag))
        modified = table.modified_property
        predicates = [self._predicate(g) for g in groups]
        with self.portal.lock:
            matched = [
                rec
                for rec in table.live()
                if rec.modified_ms(modified) <= horizon
                and (not predicates or any(test(rec) for test in predicates))
            ]
        sorts = body.get("sorts") or []
        if sorts:
            spec = sorts[0]
            name = spec.get("propertyName") if isinstance(spec, dict) else str(spec)
            descending = isinstance(spec, dict) and spec.get("direction") == "DESCENDING"
            matched.sort(key=functools.partial(self._sort_key, name=name), reverse=descending)
        else:
            matched.sort(key=lambda rec: rec.id)
        page = matched[offset : offset + limit]
        props = list(body.get("properties") or [])
        out: dict[str, Any] = {
            "total": len(matched),
            "results": [self.render(object_type, rec, props, []) for rec in page],
        }
        if offset + limit < len(matched):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return Response.json(out)

    @staticmethod
    def _value(rec: Rec, name: str) -> tuple[int, float | str] | None:
        if name == "hs_object_id":
            return (0, float(rec.id))
        raw = rec.properties.get(name)
        if raw is None or raw == "":
            return None
        try:
            return (0, float(raw))
        except ValueError:
            pass
        try:
            return (0, float(ms_of(raw)))
        except ValueError:
            return (1, raw)

    def _sort_key(self, rec: Rec, *, name: str) -> tuple[int, float | str]:
        return self._value(rec, name) or (2, "")

    def _predicate(self, group: dict[str, Any]) -> Callable[[Rec], bool]:
        """One filter group as a test of a record (filter values parsed once)."""
        tests = [self._filter(f) for f in group.get("filters") or []]
        return lambda rec: all(test(rec) for test in tests)

    def _filter(self, f: dict[str, Any]) -> Callable[[Rec], bool]:
        op = f.get("operator", "EQ")
        name = f["propertyName"]

        def parsed(raw: Any) -> tuple[int, float | str]:
            return self._value(Rec(0, {"v": str(raw)}), "v") or (2, "")

        values = [parsed(v) for v in f.get("values") or []]
        target = parsed(f.get("value"))
        high = parsed(f.get("highValue"))

        def test(rec: Rec) -> bool:
            have = self._value(rec, name)
            if op == "HAS_PROPERTY":
                return have is not None
            if op == "NOT_HAS_PROPERTY":
                return have is None
            if have is None:
                return op in ("NEQ", "NOT_IN")
            if op in ("IN", "NOT_IN"):
                return (have in values) == (op == "IN")
            if op == "BETWEEN":
                return target <= have <= high
            return {
                "EQ": have == target,
                "NEQ": have != target,
                "LT": have < target,
                "LTE": have <= target,
                "GT": have > target,
                "GTE": have >= target,
            }.get(op, False)

        return test

    # -- associations v4 -----------------------------------------------------------------

    def _assoc(self, from_type: str, to_type: str, rid: int) -> list[dict[str, Any]]:
        out = []
        for link in self.portal.associations(from_type, to_type, rid):
            primary = TYPE_IDS.get((from_type, to_type), (0, None))[1]
            out.append(
                {
                    "toObjectId": link.to_id,
                    "associationTypes": [
                        {
                            "category": "HUBSPOT_DEFINED",
                            "typeId": t,
                            "label": "Primary" if t == primary else None,
                        }
                        for t in link.type_ids
                    ],
                }
            )
        return out

    def associations_batch(self, r: Request) -> Response:
        from_type, to_type = r.params["from"], r.params["to"]
        inputs = (r.json() or {}).get("inputs") or []
        if len(inputs) > 1000:
            return error(400, "VALIDATION_ERROR", message="Batch size over 1000")
        results, empty = [], []
        for item in inputs:
            rid = int(item["id"])
            links = self._assoc(from_type, to_type, rid)
            start = _offset(item.get("after"))
            if not links:
                empty.append(str(rid))
                continue
            page = links[start : start + ASSOCIATIONS_PER_RECORD]
            result: dict[str, Any] = {"from": {"id": str(rid)}, "to": page}
            if start + ASSOCIATIONS_PER_RECORD < len(links):
                after = _opaque(start + ASSOCIATIONS_PER_RECORD)
                result["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"https://api.hubapi.com/crm/v4/objects/{from_type}/{rid}/associations/{to_type}?after={after}",
                    }
                }
            results.append(result)
        out: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": _now(),
            "completedAt": _now(),
        }
        if empty:
            out["numErrors"] = len(empty)
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"No {to_type} is associated with {from_type} {i}.",
                    "context": {"fromObjectId": [i]},
                }
                for i in empty
            ]
            return Response.json(out, 207)
        return Response.json(out)

    def associations_page(self, r: Request) -> Response:
        links = self._assoc(r.params["type"], r.params["to"], int(r.params["id"]))
        limit = min(int(r.arg("limit", "500") or 500), 500)
        start = _offset(r.arg("after"))
        out: dict[str, Any] = {"results": links[start : start + limit]}
        if start + limit < len(links):
            out["paging"] = {"next": {"after": _opaque(start + limit)}}
        return Response.json(out)

    # -- owners, pipelines, properties ---------------------------------------------------

    def owners(self, r: Request) -> Response:
        archived = _true(r.arg("archived"))
        owners = [o for o in self.portal.owners if o["archived"] == archived]
        limit = min(int(r.arg("limit", "100") or 100), 500)
        start = int(r.arg("after") or 0)
        out: dict[str, Any] = {"results": owners[start : start + limit]}
        if start + limit < len(owners):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return Response.json(out)

    def pipelines(self, r: Request) -> Response:
        return Response.json({"results": self.portal.pipelines.get(r.params["type"], [])})

    def properties(self, r: Request) -> Response:
        object_type = r.params["type"]
        if object_type not in self.portal.properties:
            return self._unknown(object_type)
        return Response.json({"results": self.portal.properties[object_type]})


def _add_custom_object(portal: Portal, count: int) -> None:
    from tests.emulator._hubspot_data import _prop
    from tests.emulator._hubspot_portal import EPOCH, ObjectTable

    def partner(rid: int) -> Rec:
        k = rid - 9_000_001
        at = EPOCH + timedelta(days=k)
        props = {
            "hs_object_id": str(rid),
            "partner_name": f"Partner {k}",
            "partner_tier": ["gold", "silver", "bronze"][k % 3],
            "createdate": stamp(at),
            "hs_lastmodifieddate": stamp(at + timedelta(hours=2)),
        }
        return Rec(rid, props, {}, at, at + timedelta(hours=2))

    portal.tables[CUSTOM_OBJECT] = ObjectTable(CUSTOM_OBJECT, 9_000_001, count, partner)
    portal.properties[CUSTOM_OBJECT] = [
        _prop("hs_object_id", "number", "number"),
        _prop("partner_name"),
        _prop("partner_tier", "enumeration", "select"),
        _prop("createdate", "datetime", "date"),
        _prop("hs_lastmodifieddate", "datetime", "date"),
    ]


def hubspot(
    emulator: Emulator,
    *,
    seed: int = 7,
    contacts: int = 300,
    companies: int = 60,
    deals: int = 120,
    engagements: int = 40,
    partners: int = 12,
    private_token: str | None = "pat-na1-emulator",
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    token_ttl: float = 1800.0,
    burst: int = 0,
    interval_ms: int = 10_000,
    daily: int = 0,
    search_per_second: int = 0,
    retry_after: float | None = None,
    search_lag: float = 0.0,
    max_url: int = 16_000,
) -> HubSpotEmulator:
    """Register HubSpot's routes on ``emulator``, over a generated portal."""
    portal = build_portal(
        seed=seed, contacts=contacts, companies=companies, deals=deals, engagements=engagements
    )
    if partners:
        _add_custom_object(portal, partners)
    gate = Gate(
        private_token=private_token,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        token_ttl=token_ttl,
        burst=burst,
        interval_ms=interval_ms,
        daily=daily,
        search_per_second=search_per_second,
        retry_after=retry_after,
    )
    hs = HubSpotEmulator(emulator, portal, gate, search_lag=search_lag, max_url=max_url)
    # The harness writes a response's headers and body separately; with Nagle's algorithm on,
    # the client's delayed ACK then stalls every response ~40 ms. HubSpot answers in one go.
    emulator._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    api = _Api(hs)

    def guarded(
        handler: Callable[[Request], Response], *, search: bool = False
    ) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            url = len(request.path) + sum(
                len(k) + len(v) + 2 for k, vs in request.query.items() for v in vs
            )
            if url > hs.max_url:
                return Response(
                    414,
                    "<html><body>414 Request-URI Too Large</body></html>",
                    {"Content-Type": "text/html"},
                )
            refused, headers = gate.check(request, search=search)
            if refused is not None:
                return refused
            response = handler(request)
            response.headers.update(headers)
            return response

        return serve

    obj = r"/crm/v3/objects/(?P<type>[\w-]+)"
    emulator.add("GET", obj, guarded(api.list_page))
    emulator.add("POST", obj + "/search", guarded(api.search, search=True))
    emulator.add("POST", obj + "/batch/read", guarded(api.batch_read))
    emulator.add(
        "POST",
        r"/crm/v4/associations/(?P<from>[\w-]+)/(?P<to>[\w-]+)/batch/read",
        guarded(api.associations_batch),
    )
    emulator.add(
        "GET",
        r"/crm/v4/objects/(?P<type>[\w-]+)/(?P<id>\d+)/associations/(?P<to>[\w-]+)",
        guarded(api.associations_page),
    )
    emulator.add("GET", r"/crm/v3/owners/?", guarded(api.owners))
    emulator.add("GET", r"/crm/v3/pipelines/(?P<type>[\w-]+)", guarded(api.pipelines))
    emulator.add("GET", r"/crm/v3/properties/(?P<type>[\w-]+)", guarded(api.properties))
    emulator.add("POST", r"/oauth/v1/token", gate.token)
    emulator.add(
        "GET",
        r"/__emulator/stats",
        lambda r: Response.json({**gate.stats(), "searches": hs.searches}),
    )
    return hs


__all__ += ["CUSTOM_OBJECT", "FIRST_ID"]
