"""Reading one object: a window of changed records, by REST query or a Bulk API 2.0 job.

A pull of an object reads the window ``[since, until)`` of its cursor field (SystemModstamp,
else LastModifiedDate, else CreatedDate): ``since`` is the committed mark minus the look-back
(``>=``: records sharing the mark's timestamp, or committed late, are read again and
de-duplicated by Id), ``until`` the moment the pull began. A ``COUNT()`` of the window decides
the API: above ``bulk_threshold`` a Bulk 2.0 query job, streamed page by page through
``Sforce-Locator``; otherwise (and when Bulk refuses the object or a job fails) REST query in
Id order, page by page through ``nextRecordsUrl``. Objects with a ``IsDeleted`` field are read
with ``queryAll``, so deletions arrive as rows with ``IsDeleted = true``.

Each batch comes with the object's cursor after it (:mod:`._cursor`): the last Id read (REST)
or the job and next locator (Bulk), so a pull killed anywhere resumes inside the same window.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from revgov.connectors.base import SourceNote
from revgov.connectors.salesforce._client import SalesforceClient
from revgov.connectors.salesforce._cursor import ObjectCursor, parse_time, stamp
from revgov.connectors.salesforce._describe import FieldPlan
from revgov.connectors.salesforce._frames import normalise, rest_frame
from revgov.connectors.salesforce._soql import (
    Window,
    count_query,
    id_batches,
    ids_query,
    select_query,
    split_fields,
)
from revgov.connectors.salesforce.settings import SalesforceSettings
from revgov.errors import ConnectorError, VendorRequestError

__all__ = ["Batch", "ObjectReader", "query_by_ids", "rest_pages"]

_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.fZ"


@dataclass(frozen=True)
class Batch:
    """Raw records of one object (text columns named as selected) and the cursor after them."""

    frame: pl.DataFrame
    state: ObjectCursor
    total: int | None
    mode: str
    notes: tuple[SourceNote, ...] = ()


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def rest_pages(
    client: SalesforceClient, soql: str, *, include_deleted: bool, what: str
) -> Iterator[dict[str, Any]]:
    """Every page of a REST query, following ``nextRecordsUrl``."""
    page = client.query(soql, include_deleted=include_deleted, what=what)
    while True:
        yield page
        url = page.get("nextRecordsUrl")
        if page.get("done", True) or not url:
            return
        page = client.query_more(str(url), what=what)


def query_by_ids(
    client: SalesforceClient,
    settings: SalesforceSettings,
    plan: FieldPlan,
    fields: list[str],
    id_field: str,
    ids: list[str],
) -> pl.DataFrame:
    """``fields`` of the rows of ``plan.sobject`` whose ``id_field`` is one of ``ids`` (in
    batches whose URLs fit), one row per Id, datetimes normalised."""
    parts = [pl.DataFrame(schema=dict.fromkeys(fields, pl.String))]
    for batch in id_batches(plan.sobject, fields, id_field, ids, settings.max_url_length):
        soql = ids_query(plan.sobject, fields, id_field, batch)
        what = f"{plan.sobject} query by {id_field}"
        for page in rest_pages(client, soql, include_deleted=plan.deletable, what=what):
            parts.append(rest_frame(page.get("records") or [], fields))
    return normalise(pl.concat(parts), plan)


def _joined(batches: list[Batch]) -> Batch:
    """Consecutive batches as one: their records, the last one's cursor, every note."""
    if len(batches) == 1:
        return batches[0]
    last = batches[-1]
    frame = pl.concat([b.frame for b in batches], how="vertical")
    if frame.height and frame["Id"].n_unique() != frame.height:
        frame = frame.unique(subset="Id", keep="last", maintain_order=True)
    notes = tuple(n for b in batches for n in b.notes)
    return Batch(frame, last.state, last.total, last.mode, notes)


class ObjectReader:
    """Reads one object's window; see the module docstring."""

    def __init__(
        self,
        client: SalesforceClient,
        settings: SalesforceSettings,
        plan: FieldPlan,
        *,
        full_refresh: bool = False,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.plan = plan
        self.full_refresh = full_refresh or plan.cursor_field is None
        self._now = now or (lambda: datetime.now(UTC))

    # -- the window ------------------------------------------------------------------------

    def start(self, state: ObjectCursor, *, reread: bool = False) -> ObjectCursor:
        """The state with a window to read: the one under way, or a new one from the mark
        (``reread``: from the beginning, e.g. to refresh formula fields)."""
        if state.in_window and not self.full_refresh:
            return state
        since: datetime | None = None
        mark = parse_time(state.mark)
        if mark is not None and not (self.full_refresh or reread):
            since = _second(mark - timedelta(seconds=self.settings.lookback_seconds))
        earliest = parse_time(self.settings.start)
        if earliest is not None and (since is None or since < earliest):
            since = earliest
        until = None if self.full_refresh else _second(self._now())
        return ObjectCursor(
            mark=state.mark,
            since=stamp(since) if since else None,
            until=stamp(until) if until else None,
        )

    def _window(self, state: ObjectCursor, *, after: bool) -> Window:
        return Window(
            None if self.full_refresh else self.plan.cursor_field,
            parse_time(state.since),
            parse_time(state.until),
            state.after_id if after else None,
        )

    def count(self, state: ObjectCursor) -> int:
        soql = count_query(self.plan.sobject, self._window(state, after=False))
        found = self.client.query(
            soql, include_deleted=self.plan.deletable, what=f"{self.plan.sobject} count"
        )
        return int(found.get("totalSize") or 0)

    def _seen(self, frame: pl.DataFrame, state: ObjectCursor) -> str | None:
        """The newest cursor timestamp of ``frame`` inside the window, with the earlier ones:
        a record changed again while the window was read (now past ``until``) must not move
        the mark past records not yet read."""
        field = self.plan.cursor_field
        if self.full_refresh or field is None or frame.height == 0:
            return state.seen
        moments = frame.select(
            pl.col(field).str.to_datetime(_STAMP_FORMAT, time_zone="UTC", strict=False)
        ).to_series()
        since, until = parse_time(state.since), parse_time(state.until)
        if since is not None:
            moments = moments.filter(moments >= since)
        if until is not None:
            moments = moments.filter(moments < until)
        newest: Any = moments.max()
        candidates = [m for m in (newest, parse_time(state.seen)) if isinstance(m, datetime)]
        return stamp(max(candidates)) if candidates else state.seen

    # -- reading ---------------------------------------------------------------------------

    def batches(self, state: ObjectCursor) -> Iterator[Batch]:
        """The window's records batch by batch (REST or Bulk 2.0), each with its cursor."""
        total = self.count(state)
        use_bulk = state.mode == "bulk" or (
            state.mode is None
            and not self.full_refresh
            and self.settings.bulk
            and total > self.settings.bulk_threshold
        )
        if use_bulk:
            fallback: SourceNote | None = None
            for batch in self._bulk(state, total):
                if batch.mode == "rest":
                    fallback = batch.notes[0] if batch.notes else None
                    state = batch.state
                    break
                yield batch
            else:
                return
            yield from self._pages_of(self._rest(state, total, note=fallback))
            return
        yield from self._pages_of(self._rest(state, total))

    def _pages_of(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """REST batches (at most 2,000 records) gathered into pages of ``page_size``: each
        page costs one commit."""
        held: list[Batch] = []
        rows = 0
        for batch in batches:
            held.append(batch)
            rows += batch.frame.height
            if rows >= self.settings.page_size:
                yield _joined(held)
                held, rows = [], 0
        if held:
            yield _joined(held)

    def _pages(self, soql: str, what: str) -> Iterator[dict[str, Any]]:
        return rest_pages(self.client, soql, include_deleted=self.plan.deletable, what=what)

    def _rest(
        self, state: ObjectCursor, total: int, note: SourceNote | None = None
    ) -> Iterator[Batch]:
        plan = self.plan
        window = self._window(state, after=True)
        required = [f for f in plan.select if f in ("Id", plan.cursor_field, "IsDeleted")]
        others = [f for f in plan.select if f not in required]
        chunks = split_fields(plan.sobject, required, others, window, self.settings.max_url_length)
        soql = select_query(plan.sobject, chunks[0], window)
        notes = (note,) if note else ()
        for page in self._pages(soql, what=f"{plan.sobject} query"):
            records = page.get("records") or []
            frame = rest_frame(records, chunks[0])
            if len(chunks) > 1 and frame.height:
                frame = self._stitch(frame, chunks[1:])
            frame = normalise(frame.select(plan.select), plan)
            state = state.advanced(
                mode="rest",
                after_id=str(records[-1]["Id"]) if records else state.after_id,
                seen=self._seen(frame, state),
                done=state.done + frame.height,
            )
            yield Batch(frame, state, total, "rest", notes)
            notes = ()

    def _stitch(self, frame: pl.DataFrame, chunks: list[list[str]]) -> pl.DataFrame:
        """The other field lists of a split query, read by Id and joined on."""
        ids = frame["Id"].to_list()
        for chunk in chunks:
            extra = query_by_ids(self.client, self.settings, self.plan, chunk, "Id", ids)
            frame = frame.join(extra, on="Id", how="left", maintain_order="left")
        return frame

    def _bulk(self, state: ObjectCursor, total: int) -> Iterator[Batch]:
        plan, settings = self.plan, self.settings
        job = self.client.bulk(plan.sobject)
        job_id = state.job if state.locator else None
        if job_id is not None and not self._job_alive(job_id):
            job_id = None  # the job expired or was deleted: read the window again
        if job_id is None:
            soql = select_query(
                plan.sobject, plan.select, self._window(state, after=False), order_by_id=False
            )
            try:
                job_id = job.create(soql, include_deleted=plan.deletable)
            except VendorRequestError as exc:
                yield self._fallback(state, total, f"Bulk API 2.0 refused the query ({exc})")
                return
            final = job.wait(
                job_id, poll=settings.bulk_poll_seconds, timeout=settings.bulk_timeout_seconds
            )
            if final != "JobComplete":
                self._forget(job, job_id)
                yield self._fallback(state, total, f"the Bulk API 2.0 job {job_id} ended {final}")
                return
            state = state.advanced(mode="bulk", job=job_id, locator=None, after_id=None)
        # The next result page downloads while this one is typed and committed: Salesforce
        # takes its time to answer, and the two overlap (at most one page is in flight).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revgov-bulk") as pool:
            size = settings.page_size
            pending = pool.submit(job.results, job_id, state.locator, size, plan.select)
            while True:
                raw, locator = pending.result()
                if locator is not None:
                    pending = pool.submit(job.results, job_id, locator, size, plan.select)
                frame = normalise(raw, plan)
                del raw
                state = state.advanced(
                    mode="bulk",
                    job=job_id,
                    locator=locator,
                    seen=self._seen(frame, state),
                    done=state.done + frame.height,
                )
                yield Batch(frame, state, total, "bulk")
                if locator is None:
                    self._forget(job, job_id)
                    return

    def _job_alive(self, job_id: str) -> bool:
        try:
            info = self.client.bulk(self.plan.sobject).state(job_id)
        except VendorRequestError:
            return False
        return info.get("state") == "JobComplete"

    @staticmethod
    def _forget(job: Any, job_id: str) -> None:
        """Delete a finished job (Salesforce keeps results for days); a failure is harmless."""
        with contextlib.suppress(ConnectorError):
            job.delete(job_id)

    def _fallback(self, state: ObjectCursor, total: int, why: str) -> Batch:
        note = SourceNote(
            kind="bulk_fallback",
            entity=self.plan.entity,
            field=self.plan.sobject,
            severity="info",
            message=f"{self.plan.sobject}: {why}; read with REST query instead",
        )
        restart = state.advanced(mode=None, job=None, locator=None, after_id=None)
        return Batch(pl.DataFrame(), restart, total, "rest", (note,))
