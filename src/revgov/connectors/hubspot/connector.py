"""The HubSpot connector: CRM objects, owners, deal pipelines and stage history as pages.

See docs/hubspot.md for what is read and how; in short:

* ``pipeline_stages`` (deal pipelines), ``users`` (owners, archived ones included) are read
  whole each pull; ``accounts`` (companies), ``people`` (contacts), ``opportunities`` (deals),
  ``activities`` (calls, emails, meetings, tasks) and ``stage_events`` (deal stage and contact
  lifecycle history) are listed in full once, then pulled incrementally through search
  (:mod:`._streams`), archived records arriving as deletions.
* Every request goes through :class:`._api.HubSpotApi` (shared retries, the rate limiter
  resized from HubSpot's headers, the daily budget); pages are completed concurrently and
  yielded in order (:func:`._pipeline.ordered_map`).
* hubspot-api-client is imported only when the first request is made: loading a config that
  names this connector never imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from revgov.config import SourceConfig
from revgov.connectors.base import ConnectorContext, Cursor, Page, SourceNote
from revgov.connectors.history import STAGE_EVENT_COLUMNS, derive_entered_at
from revgov.connectors.hubspot._associations import associations, primary_and_every
from revgov.connectors.hubspot._cursor import EntityCursor, iso
from revgov.connectors.hubspot._history import stage_history
from revgov.connectors.hubspot._objects import ENTITY_OBJECTS, ObjectDefaults
from revgov.connectors.hubspot._pipeline import ordered_map
from revgov.connectors.hubspot._plan import ObjectPlan, merged_mapping, plan_object
from revgov.connectors.hubspot._portal import PortalInfo, list_owners
from revgov.connectors.hubspot._streams import Batch, StreamReader
from revgov.connectors.hubspot.settings import (
    HubSpotCredentials,
    HubSpotEntitySettings,
    HubSpotSettings,
)
from revgov.connectors.mapping import map_columns
from revgov.errors import UnknownEntityError

if TYPE_CHECKING:
    from revgov.connectors.hubspot._api import HubSpotApi

__all__ = ["DEFAULT_ENTITIES", "HubSpotConnector"]

#: What a source with no entity tables pulls, in this order (pipelines and owners first).
DEFAULT_ENTITIES = (
    "pipeline_stages",
    "users",
    "accounts",
    "people",
    "opportunities",
    "activities",
    "stage_events",
)
_BATCH = 100
_BATCH_HISTORY = 50

_USER_COLUMNS = {
    "user_id": "id",
    "name": "name",
    "email": "email",
    "team": "team",
    "is_active": "active",
}
_STAGE_COLUMNS = {
    c: c for c in ("pipeline", "stage", "order", "probability", "is_closed", "is_won")
}


@dataclass(frozen=True)
class _Item:
    """One page as read, with the entity cursor after it (built on the reader thread)."""

    plan: ObjectPlan
    batch: Batch
    cursor: EntityCursor
    first: bool
    total: int | None


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class HubSpotConnector:
    """Pulls a HubSpot portal (``connector = "hubspot"``)."""

    name = "hubspot"
    settings_model = HubSpotSettings
    entity_settings_model = HubSpotEntitySettings

    def __init__(self, source: SourceConfig, context: ConnectorContext | None = None) -> None:
        self.source = source
        self.settings: HubSpotSettings = source.settings
        self.context = context or ConnectorContext()
        #: The connector's notion of now (tests move it); UTC.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        #: Sleeps between retries (tests make it instant).
        self.sleep: Callable[[float], None] | None = None
        self._api: HubSpotApi | None = None
        self._portal: PortalInfo | None = None
        for entity in self.entities():
            self.objects(entity)

    # -- what is pulled ------------------------------------------------------------------

    def entities(self) -> Sequence[str]:
        """The ``entities`` option, else every default entity and any other a table names
        (an entity table configures an entity; it does not leave the others out)."""
        if self.settings.entities is not None:
            return list(dict.fromkeys(self.settings.entities))
        others = [e for e in self.source.entities if e not in DEFAULT_ENTITIES]
        return [*DEFAULT_ENTITIES, *others]

    def entity_settings(self, entity: str) -> HubSpotEntitySettings:
        if entity in self.source.entities:
            spec: HubSpotEntitySettings = self.source.entity_settings(entity)
            return spec
        return HubSpotEntitySettings()

    def objects(self, entity: str) -> list[str]:
        """The HubSpot object types read for ``entity``."""
        if entity in ("users", "pipeline_stages"):
            return []
        chosen = self.entity_settings(entity).objects
        if chosen is None:
            chosen = list(ENTITY_OBJECTS.get(entity, ()))
        if not chosen:
            raise UnknownEntityError(
                f"source {self.source.name!r}: HubSpot has no default object for {entity!r}",
                hint=f"name the HubSpot objects to read, e.g. [sources.entities.{entity}] "
                'objects = ["2-1234567"] (a custom object) with its columns',
            )
        return chosen

    def check(self) -> list[str]:
        """Problems a pull would meet before its first request (no network)."""
        credentials = HubSpotCredentials.from_environment(self.settings)
        problems = []
        if not credentials.usable:
            s = self.settings
            problems.append(
                f"no HubSpot credentials: set ${s.token_env} (a private app token), or "
                f"${s.client_id_env}, ${s.client_secret_env} and ${s.refresh_token_env} (OAuth)"
            )
        ca = self.settings.ca_bundle or credentials.ca_bundle
        if ca is not None and not (self.context.config_dir / ca).is_file():
            problems.append(f"the CA bundle {str(ca)!r} is missing")
        return problems

    @property
    def api(self) -> HubSpotApi:
        if self._api is None:
            from revgov.connectors.hubspot._api import HubSpotApi

            settings = self.settings
            if settings.ca_bundle is not None and not settings.ca_bundle.is_absolute():
                settings = settings.model_copy(
                    update={"ca_bundle": self.context.config_dir / settings.ca_bundle}
                )
            credentials = HubSpotCredentials.from_environment(settings)
            self._api = HubSpotApi(settings, credentials, sleep=self.sleep)
        return self._api

    @property
    def portal(self) -> PortalInfo:
        if self._portal is None:
            self._portal = PortalInfo(self.api)
        return self._portal

    # -- pages ---------------------------------------------------------------------------

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        if entity not in self.entities():
            raise UnknownEntityError(
                f"source {self.source.name!r} does not pull {entity!r}",
                hint=f"its entities are: {', '.join(self.entities())}",
            )
        if entity == "users":
            yield from self._users(cursor)
        elif entity == "pipeline_stages":
            yield from self._pipeline_stages()
        else:
            yield from self._records(entity, cursor)

    def _plans(self, entity: str) -> list[ObjectPlan]:
        settings = self.entity_settings(entity)
        return [
            plan_object(
                entity,
                object_type,
                source=self.source.name,
                settings=settings,
                options=self.settings,
                portal=self.portal,
            )
            for object_type in self.objects(entity)
        ]

    def _reader(self, plan: ObjectPlan) -> StreamReader:
        s = self.settings
        return StreamReader(
            self.api,
            plan.stream,
            clock=self.clock,
            lookback=timedelta(seconds=s.lookback_seconds),
            holdback=timedelta(seconds=s.holdback_seconds),
            window=timedelta(days=s.window_days),
        )

    def _read(self, plans: list[ObjectPlan], cursor: EntityCursor) -> Iterator[_Item]:
        done = 0
        for plan in plans:
            first = True
            for batch in self._reader(plan).batches(cursor.state(plan.stream.object_type)):
                cursor = cursor.with_state(plan.stream.object_type, batch.state)
                done += len(batch.records)
                total = done + batch.remaining if batch.remaining is not None else None
                yield _Item(plan, batch, cursor, first, total)
                first = False

    def _records(self, entity: str, cursor: Cursor) -> Iterator[Page]:
        plans = self._plans(entity)
        if any(p.history is not None for p in plans):
            self.portal.users()  # once, before the threads need it
        items = self._read(plans, EntityCursor.parse(cursor))
        workers = self.settings.concurrency
        # concurrency = 1: one request at a time, on this thread (no reading ahead).
        ahead = workers + 1 if workers > 1 else 1
        yield from ordered_map(items, self._page, workers=workers, ahead=ahead)

    # -- one page of records -------------------------------------------------------------

    def _complete(self, plan: ObjectPlan, batch: Batch) -> None:
        """Read what the first request could not carry: more properties, history."""
        if not batch.records:
            return
        by_id = {str(r["id"]): r for r in batch.records}
        ids = list(by_id)
        object_type = plan.stream.object_type
        for chunk in batch.missing:
            for part in _chunks(ids, _BATCH):
                data = self.api.batch_read(object_type, part, properties=chunk)
                for found in data.get("results") or []:
                    record = by_id.get(str(found["id"]))
                    if record is not None:
                        record.setdefault("properties", {}).update(found.get("properties") or {})
        if batch.need_history:
            for part in _chunks(ids, _BATCH_HISTORY):
                data = self.api.batch_read(
                    object_type, part, properties=[], history=plan.stream.history
                )
                for found in data.get("results") or []:
                    record = by_id.get(str(found["id"]))
                    if record is not None:
                        record["propertiesWithHistory"] = found.get("propertiesWithHistory") or {}

    def _raw(self, plan: ObjectPlan, records: list[dict[str, Any]]) -> pl.DataFrame:
        ids = [str(r["id"]) for r in records]
        columns: dict[str, list[str | None]] = {"hs_object_id": list(ids)}
        for name in plan.raw_columns[1:]:
            columns[name] = [(r.get("properties") or {}).get(name) for r in records]
        if plan.engagement_type is not None:
            columns["__type"] = [plan.engagement_type] * len(records)
        if plan.associations and records and plan.defaults.associations:
            for spec in plan.defaults.associations:
                found = associations(self.api, plan.stream.object_type, spec.to, ids)
                pairs = [primary_and_every(found.get(i, []), spec.primary_type_ids) for i in ids]
                columns[spec.primary] = [p for p, _ in pairs]
                columns[spec.every] = [e for _, e in pairs]
        frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
        relabel = [
            pl.col(c).replace(dict(m)) for c, m in plan.labels.items() if c in frame.columns and m
        ]
        return frame.with_columns(relabel) if relabel else frame

    def _page(self, item: _Item) -> Page:
        plan, batch = item.plan, item.batch
        self._complete(plan, batch)
        notes = list(plan.notes) if item.first else []
        deletions = list(batch.deletions)
        for record in batch.records:
            merged = (record.get("properties") or {}).get("hs_merged_object_ids")
            if merged:
                deletions += [i for i in str(merged).split(";") if i]
        raw = self._raw(plan, batch.records)
        events = None
        if plan.history is not None and batch.records:
            found = stage_history(
                batch.records,
                plan.history,
                values=plan.history_values,
                labels=plan.event_labels,
                users=self.portal.users(),
            )
            events = found.events
            if found.incomplete:
                notes.append(self._gap_note(plan, found.incomplete))
        if plan.entity == "stage_events":
            frame = events.collect() if events is not None else pl.DataFrame(schema=_EVENT_SCHEMA)
            extras: dict[str, Any] = {}
        else:
            lazy = raw.lazy() if events is None else self._derive(plan, raw.lazy(), events)
            mapped = map_columns(lazy, plan.entity, plan.mapping, where=plan.where, auto_map=False)
            frame = mapped.frame.collect()  # one query per page: derivations and mapping
            extras = dict(plan.mapping.custom_fields)
        return Page(
            entity=plan.entity,
            records=frame,
            cursor=item.cursor.dump(),
            extras=extras,
            total=item.total,
            deletions=tuple(dict.fromkeys(deletions)),
            notes=tuple(notes),
            status=self.api.limits.status(),
        )

    @staticmethod
    def _derive(plan: ObjectPlan, raw: pl.LazyFrame, events: pl.LazyFrame) -> pl.LazyFrame:
        """stage_entered_at and lifecycle timestamps, where HubSpot's own values are blank."""
        assert plan.history is not None
        field = plan.history.field
        if plan.current_stage is not None and plan.current_stage in plan.raw_columns:
            raw = derive_entered_at(
                raw,
                events,
                key="hs_object_id",
                field=field,
                current=plan.current_stage,
                target="__stage_entered_at",
            )
        for target, value in plan.timestamps.items():
            raw = derive_entered_at(
                raw,
                events,
                key="hs_object_id",
                field=field,
                current=None,
                value=value,
                target=target,
                which="first",
            )
        return raw

    @staticmethod
    def _gap_note(plan: ObjectPlan, count: int) -> SourceNote:
        return SourceNote(
            "history_gap",
            plan.entity,
            f"{count} HubSpot {plan.stream.object_type} left a stage after their last "
            "recorded change (hs_v2_date_exited_*): their stage history is incomplete",
            field=plan.history.field if plan.history else None,
            severity="info",
        )

    # -- owners and pipelines, read whole ------------------------------------------------

    def _mapped(self, entity: str, raw: pl.DataFrame, defaults: dict[str, str]) -> pl.DataFrame:
        mapping = merged_mapping(ObjectDefaults(defaults), self.entity_settings(entity))
        where = f"source {self.source.name!r}, HubSpot {entity}"
        return map_columns(raw.lazy(), entity, mapping, where=where, auto_map=False).frame.collect()

    def _users(self, cursor: Cursor) -> Iterator[Page]:
        """Owners, archived ones too (their records keep a named owner), read whole."""
        state = json.loads(cursor) if cursor else {}
        resume = state.get("v") == 1 and not state.get("done")
        skip = int(state.get("read", 0)) if resume else 0
        rows: list[dict[str, str | None]] = []
        read = 0
        replace = not resume

        def page(done: bool) -> Page:
            nonlocal rows, replace
            frame = pl.DataFrame(rows, schema=dict.fromkeys(_OWNER_COLUMNS, pl.String))
            out = Page(
                "users",
                self._mapped("users", frame, _USER_COLUMNS),
                cursor=json.dumps({"v": 1, "done": done, "read": read}),
                extras=dict(self.entity_settings("users").custom_fields),
                replace=replace,
                status=self.api.limits.status(),
            )
            rows, replace = [], False
            return out

        for owner, archived in list_owners(self.api):
            read += 1
            if read <= skip:
                continue
            rows.append(_owner_row(owner, archived))
            if len(rows) >= _BATCH:
                yield page(done=False)
        yield page(done=True)

    def _pipeline_stages(self) -> Iterator[Page]:
        """Deal pipelines and their stages (probability, closed, won), read whole."""
        rows = []
        labels = self.settings.stage_labels
        for pipeline in self.portal.pipelines("deals"):
            for stage in pipeline.stages:
                rows.append(
                    {
                        "pipeline": pipeline.label if labels else pipeline.id,
                        "stage": stage.label if labels else stage.id,
                        "order": str(stage.order),
                        "probability": None
                        if stage.probability is None
                        else str(stage.probability),
                        "is_closed": str(stage.is_closed).lower(),
                        "is_won": str(stage.is_won).lower(),
                        "pipeline_id": pipeline.id,
                        "stage_id": stage.id,
                    }
                )
        schema = dict.fromkeys([*_STAGE_COLUMNS, "pipeline_id", "stage_id"], pl.String)
        yield Page(
            "pipeline_stages",
            self._mapped("pipeline_stages", pl.DataFrame(rows, schema=schema), _STAGE_COLUMNS),
            cursor=json.dumps({"v": 1, "at": iso(self.clock())}),
            extras=dict(self.entity_settings("pipeline_stages").custom_fields),
            replace=True,
            status=self.api.limits.status(),
        )

    @classmethod
    def starting_config(cls, folder: Path | None, context: ConnectorContext) -> str:
        """A starting revgov.toml from the portal's pipelines and properties."""
        from revgov.connectors.hubspot._starting import starting_config

        return starting_config(context)


_EVENT_SCHEMA = dict.fromkeys(STAGE_EVENT_COLUMNS, pl.String)
_OWNER_COLUMNS = ("id", "email", "firstName", "lastName", "name", "team", "active", "userId")


def _owner_row(owner: dict[str, Any], archived: bool) -> dict[str, str | None]:
    teams = owner.get("teams") or []
    primary = next((t for t in teams if t.get("primary")), teams[0] if teams else None)
    first, last = owner.get("firstName"), owner.get("lastName")
    name = " ".join(p for p in (first, last) if p) or owner.get("email")
    user = owner.get("userId") or owner.get("userIdIncludingInactive")
    return {
        "id": str(owner["id"]),
        "email": owner.get("email"),
        "firstName": first,
        "lastName": last,
        "name": name,
        "team": primary.get("name") if primary else None,
        "active": "false" if archived or owner.get("archived") else "true",
        "userId": None if user is None else str(user),
    }
