"""Reading one HubSpot object type page by page: the full listing, incremental search windows
and the archived listing, each page with the stream state to resume after it.

Incremental pulls search the modified property (``lastmodifieddate`` for contacts,
``hs_lastmodifieddate`` otherwise) in time windows ``[lo, hi)``: ``lo`` is the last pull's
horizon minus the look-back, the last window ends at now minus the hold-back (the search index
lags behind writes). Each window is read in id order with keyset slices: every request asks
for the first 200 records with ``hs_object_id`` above the highest id read so far, so no query
ever pages towards the search API's 10,000-result cap, and more than 10,000 records sharing
one timestamp are read whole. A record modified while its window is read leaves the window
without shifting the others (no offsets are used), and the next pull finds it. Archived
records, which search never returns, come from the archived listing as deletions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from revgov.connectors.hubspot._cursor import StreamState, iso, parse_iso

if TYPE_CHECKING:
    from revgov.connectors.hubspot._api import HubSpotApi

__all__ = ["Batch", "StreamPlan", "StreamReader", "chunk_properties"]

SEARCH_PAGE = 200


def chunk_properties(names: Sequence[str], max_chars: int) -> list[list[str]]:
    """Split a property list so that each chunk's query string stays under ``max_chars``
    (``&properties=<name>`` per property, as hubspot-api-client sends them)."""
    chunks: list[list[str]] = []
    size = 0
    for name in dict.fromkeys(names):
        cost = len("&properties=") + len(name)
        if chunks and size + cost <= max_chars:
            chunks[-1].append(name)
            size += cost
        else:
            chunks.append([name])
            size = cost
    return chunks or [[]]


@dataclass(frozen=True)
class StreamPlan:
    """What to read of one object type."""

    object_type: str
    properties: tuple[str, ...]
    history: tuple[str, ...]
    modified: str
    max_query_chars: int

    @property
    def chunks(self) -> list[list[str]]:
        return chunk_properties(self.properties, self.max_query_chars)


@dataclass
class Batch:
    """One page of a stream as read: raw results, and what is still to be read for them."""

    records: list[dict[str, Any]]
    state: StreamState
    #: Properties not read yet (chunks past the first), read by id before mapping.
    missing: list[list[str]] = field(default_factory=list)
    #: Property history not read yet (search cannot return it).
    need_history: bool = False
    deletions: list[str] = field(default_factory=list)
    #: Records the source reports left to read in this stream (for progress), if known.
    remaining: int | None = None


def _next_after(data: Any) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _ms(text: str) -> str:
    return str(int(parse_iso(text).timestamp() * 1000))


class StreamReader:
    """Pages of one object type from a state (None: a first, full pull)."""

    def __init__(
        self,
        api: HubSpotApi,
        plan: StreamPlan,
        *,
        clock: Callable[[], datetime],
        lookback: timedelta,
        holdback: timedelta,
        window: timedelta,
    ) -> None:
        self.api = api
        self.plan = plan
        self.clock = clock
        self.lookback = lookback
        self.holdback = holdback
        self.window = window

    def batches(self, state: StreamState | None) -> Iterator[Batch]:
        if state is None or state.phase == "list":
            yield from self._list(state)
            return
        if state.phase == "idle":
            state = self._start_run(state)
        if state.phase == "search":
            for batch in self._search(state):
                yield batch
                state = batch.state
        if state.phase == "archived":
            yield from self._archived(state)

    # -- the full listing ----------------------------------------------------------------

    def _list(self, state: StreamState | None) -> Iterator[Batch]:
        started = state.started if state is not None and state.started else iso(self.clock())
        after = state.after if state is not None else None
        chunks = self.plan.chunks
        while True:
            # History comes by batch read (50 ids a request): asked for here, it would cap the
            # page at 50 records, and twice the pages cost more than the reads.
            data = self.api.list_page(self.plan.object_type, after=after, properties=chunks[0])
            after = _next_after(data)
            new = (
                StreamState("list", after=after, started=started)
                if after
                else StreamState("idle", since=started)
            )
            yield Batch(
                list(data.get("results") or []),
                new,
                missing=chunks[1:],
                need_history=bool(self.plan.history),
            )
            if after is None:
                return

    # -- incremental search windows ------------------------------------------------------

    def _start_run(self, state: StreamState) -> StreamState:
        assert state.since is not None
        since = parse_iso(state.since)
        lo = since - self.lookback
        # The horizon never moves back, or pulling twice in a row would re-read more and more.
        end = max(self.clock() - self.holdback, since)
        return StreamState(
            "search",
            lo=iso(lo),
            hi=iso(min(lo + self.window, end)),
            end=iso(end),
            start=iso(lo),
        )

    def _after_window(self, state: StreamState) -> StreamState:
        assert state.hi is not None and state.end is not None
        hi, end = parse_iso(state.hi), parse_iso(state.end)
        if hi < end:
            return StreamState(
                "search",
                lo=state.hi,
                hi=iso(min(hi + self.window, end)),
                end=state.end,
                start=state.start,
            )
        return StreamState("archived", since=state.start, end=state.end)

    def _query(self, state: StreamState) -> dict[str, Any]:
        assert state.lo is not None and state.hi is not None
        modified = self.plan.modified
        filters: list[dict[str, str]] = [
            {"propertyName": modified, "operator": "GTE", "value": _ms(state.lo)},
            {"propertyName": modified, "operator": "LT", "value": _ms(state.hi)},
        ]
        if state.last_id is not None:
            filters.append(
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(state.last_id)}
            )
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.plan.chunks[0],
            "limit": SEARCH_PAGE,
        }

    def _search(self, state: StreamState) -> Iterator[Batch]:
        chunks = self.plan.chunks
        while state.phase == "search":
            if state.lo == state.hi:
                state = self._after_window(state)
                continue
            data = self.api.search(self.plan.object_type, self._query(state))
            results = list(data.get("results") or [])
            ids = [int(r["id"]) for r in results]
            total = data.get("total")
            if results and _next_after(data) is not None:
                new = state.with_(last_id=max(ids))
            else:
                new = self._after_window(state)
            remaining = int(total) - len(results) if isinstance(total, int) else None
            yield Batch(
                results,
                new,
                missing=chunks[1:],
                need_history=bool(self.plan.history),
                remaining=remaining,
            )
            state = new

    # -- the archived listing ------------------------------------------------------------

    def _archived(self, state: StreamState) -> Iterator[Batch]:
        assert state.since is not None and state.end is not None
        since = parse_iso(state.since)
        after = state.after
        while True:
            data = self.api.list_page(
                self.plan.object_type,
                after=after,
                properties=["hs_object_id"],
                archived=True,
            )
            gone = [
                str(r["id"])
                for r in data.get("results") or []
                if r.get("archivedAt") is None or parse_iso(str(r["archivedAt"])) >= since
            ]
            after = _next_after(data)
            new = (
                StreamState("archived", after=after, since=state.since, end=state.end)
                if after
                else StreamState("idle", since=state.end)
            )
            yield Batch([], new, deletions=gone)
            if after is None:
                return
