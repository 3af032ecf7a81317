"""The Salesforce connector: every revenue object of an org as pages of canonical records.

``fetch(entity, cursor)`` reads each Salesforce object of the entity in turn (people: Lead,
then Contact; activities: Task, then Event...), page by page (:mod:`._reader`), maps each page
onto the canonical model (:mod:`._frames`, history through :mod:`._history`) and yields it with
the entity's cursor after it (:mod:`._cursor`). Records deleted at the source arrive as
``Page.deletions``; what the describe revealed (hidden fields, formula fields, compound
fields, objects this org lacks) as ``Page.notes`` on the object's first page; the API usage as
``Page.status``.

simple-salesforce is imported only when a pull starts (:attr:`SalesforceConnector.client`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from revgov.config import SourceConfig
from revgov.connectors.base import ConnectorContext, Cursor, Page, SourceNote
from revgov.connectors.salesforce._cursor import EntityCursor
from revgov.connectors.salesforce._describe import FieldPlan, ObjectInfo, plan_fields
from revgov.connectors.salesforce._frames import map_object
from revgov.connectors.salesforce._history import (
    event_ids,
    history_events,
    roles_frame,
    stage_entered_at,
)
from revgov.connectors.salesforce._mapping import merged_mapping
from revgov.connectors.salesforce.credentials import SalesforceCredentials, choose_flow
from revgov.connectors.salesforce.defaults import DEFAULT_ENTITIES, STANDARD_KEY_PREFIXES
from revgov.connectors.salesforce.settings import (
    ObjectMapping,
    SalesforceEntitySettings,
    SalesforceSettings,
)
from revgov.errors import AuthenticationError, MappingError, UnknownEntityError
from revgov.model.frames import model_for

if TYPE_CHECKING:
    from revgov.connectors.salesforce._client import SalesforceClient
    from revgov.connectors.salesforce._reader import Batch

__all__ = ["SalesforceConnector"]


@dataclass
class _Spec:
    """One object of an entity, ready to read."""

    sobject: str
    entity: str
    mapping: ObjectMapping
    plan: FieldPlan


def _without_entered(
    mapping: ObjectMapping, entered: set[tuple[str | None, str | None]]
) -> ObjectMapping:
    """A ``changes`` history mapping without the fields an ``entered`` object of the same
    entity already reads (OpportunityFieldHistory's StageName rows when OpportunityHistory
    is readable): both would give the same events, and one read holding a key twice
    quarantines it as a duplicate."""
    kept = {
        name: field
        for name, field in mapping.fields.items()
        if (mapping.record_entity, field) not in entered
    }
    if kept == mapping.fields:
        return mapping
    return mapping.model_copy(update={"fields": kept})


class SalesforceConnector:
    """Pulls a Salesforce org; see the module docstring and docs/salesforce.md."""

    name = "salesforce"
    settings_model = SalesforceSettings
    entity_settings_model = SalesforceEntitySettings

    def __init__(self, source: SourceConfig, context: ConnectorContext | None = None) -> None:
        self.source = source
        self.settings: SalesforceSettings = source.settings
        self.context = context or ConnectorContext()
        self._client: SalesforceClient | None = None
        self._org: dict[str, dict[str, Any]] | None = None
        self._described: dict[str, ObjectInfo | None] = {}

    # -- configuration ---------------------------------------------------------------------

    def entity_settings(self, entity: str) -> SalesforceEntitySettings:
        if entity in self.source.entities:
            found: SalesforceEntitySettings = self.source.entity_settings(entity)
            return found
        return SalesforceEntitySettings()

    def entities(self) -> Sequence[str]:
        """Every entity with a default mapping, then any other configured one."""
        names = [*DEFAULT_ENTITIES, *(e for e in self.source.entities if e not in DEFAULT_ENTITIES)]
        return [e for e in names if self.entity_settings(e).enabled]

    def objects(self, entity: str) -> list[tuple[str, ObjectMapping]]:
        """The objects ``entity`` is read from, with their merged mappings (read order)."""
        if entity not in self.entities():
            raise UnknownEntityError(
                f"source {self.source.name!r} does not pull {entity!r}",
                hint=f"its entities are: {', '.join(self.entities())}",
            )
        model_for(entity)
        settings = self.entity_settings(entity)
        defaults = DEFAULT_ENTITIES.get(entity, {})
        names = [*defaults, *(o for o in settings.objects if o not in defaults)]
        out = []
        for name in names:
            mapping = merged_mapping(defaults.get(name), settings, settings.objects.get(name))
            if mapping.enabled is not False:
                out.append((name, mapping))
        return out

    def ca_bundle(self) -> Path | None:
        path = self.settings.ca_bundle
        if path is None:
            return None
        return path if path.is_absolute() else self.context.config_dir / path

    def check(self) -> list[str]:
        """Problems a pull would meet, without contacting Salesforce."""
        problems = []
        creds = SalesforceCredentials(_env_prefix=self.settings.env_prefix)
        try:
            choose_flow(creds, self.settings.auth, self.settings.env_prefix)
        except AuthenticationError as exc:
            problems.append(exc.render())
        ca = self.ca_bundle() or creds.ca_bundle
        if ca is not None and not Path(ca).is_file():
            problems.append(
                f"source {self.source.name!r}: the CA bundle {str(ca)!r} does not exist"
            )
        return problems

    # -- the org ---------------------------------------------------------------------------

    @property
    def client(self) -> SalesforceClient:
        if self._client is None:
            from revgov.connectors.salesforce._client import SalesforceClient

            self._client = SalesforceClient(self.settings, ca_bundle=self.ca_bundle())
        return self._client

    def org_objects(self) -> dict[str, dict[str, Any]]:
        if self._org is None:
            self._org = self.client.global_describe()
        return self._org

    def describe(self, sobject: str) -> ObjectInfo | None:
        """The object's describe, or None if this org has no such queryable object."""
        if sobject not in self._described:
            meta = self.org_objects().get(sobject)
            if meta is None or meta.get("queryable") is False:
                self._described[sobject] = None
            else:
                self._described[sobject] = ObjectInfo.from_describe(self.client.describe(sobject))
        return self._described[sobject]

    def key_prefixes(self, sobjects: Sequence[str]) -> list[str]:
        out = []
        for name in sobjects:
            prefix = (self.org_objects().get(name) or {}).get("keyPrefix")
            prefix = prefix or STANDARD_KEY_PREFIXES.get(name)
            if prefix:
                out.append(str(prefix))
        return out

    def _specs(self, entity: str) -> tuple[list[_Spec], list[SourceNote]]:
        specs, notes = [], []
        objects = self.objects(entity)
        entered: set[tuple[str | None, str | None]] = {
            (m.record_entity, m.field)
            for name, m in objects
            if m.history == "entered" and self.describe(name) is not None
        }
        for name, mapping in objects:
            if mapping.history == "changes" and entered:
                mapping = _without_entered(mapping, entered)
            info = self.describe(name)
            if info is None:
                if name not in DEFAULT_ENTITIES.get(entity, {}):
                    raise self._no_object(entity, name)
                notes.append(
                    SourceNote(
                        kind="missing_object",
                        entity=entity,
                        field=name,
                        severity="info",
                        message=f"this org has no queryable {name} (for history objects: "
                        "field history tracking is off); it is skipped",
                    )
                )
                continue
            specs.append(
                _Spec(name, entity, mapping, plan_fields(info, entity, mapping, self.describe))
            )
        return specs, notes

    def _no_object(self, entity: str, name: str) -> MappingError:
        close = difflib.get_close_matches(name, list(self.org_objects()), n=1)
        return MappingError(
            f"source {self.source.name!r}: [entities.{entity}.objects] names {name!r}, which this "
            "org has no queryable object of",
            hint=(f"did you mean {close[0]!r}? " if close else "")
            + "check the object's API name (custom objects end in __c) and the integration "
            "user's access to it",
        )

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        """Pages of ``entity`` changed since ``cursor`` (see the module docstring)."""
        from revgov.connectors.salesforce._reader import ObjectReader

        state = EntityCursor.parse(cursor)
        specs, notes = self._specs(entity)
        counted = 0
        first = True
        for spec in specs:
            full = len(model_for(entity).primary_key) > 1
            reader = ObjectReader(self.client, self.settings, spec.plan, full_refresh=full)
            reread = self.context.refresh_formulas and bool(spec.plan.calculated)
            start = reader.start(state.get(spec.sobject), reread=reread)
            state = state.with_object(spec.sobject, start)
            pending: Page | None = None
            object_total = 0
            for batch in reader.batches(start):
                object_total = batch.total or 0
                state = state.with_object(spec.sobject, batch.state)
                page = self._page(spec, batch, state, counted, replace=full and first)
                if pending is None:
                    page = replace(page, notes=(*notes, *spec.plan.notes, *page.notes))
                    notes = []
                else:
                    yield pending
                first = False
                pending = page
            state = state.with_object(spec.sobject, state.get(spec.sobject).finished())
            if pending is None:
                pending = self._empty(spec, state, counted, notes, replace=full and first)
                notes, first = [], False
            counted += object_total
            yield replace(pending, cursor=state.dump())
        if notes:
            yield Page(entity=entity, records=[], cursor=state.dump(), notes=tuple(notes))

    def _status(self, spec: _Spec, mode: str) -> dict[str, str | int | float]:
        return {"object": spec.sobject, "via": mode, **self.client.status()}

    def _empty(
        self,
        spec: _Spec,
        state: EntityCursor,
        counted: int,
        notes: list[SourceNote],
        *,
        replace: bool,
    ) -> Page:
        return Page(
            entity=spec.entity,
            records=[],
            cursor=state.dump(),
            total=counted,
            replace=replace,
            notes=(*notes, *spec.plan.notes),
            status=self._status(spec, "rest"),
        )

    def _page(
        self, spec: _Spec, batch: Batch, state: EntityCursor, counted: int, *, replace: bool
    ) -> Page:
        raw = batch.frame
        deleted = (
            (raw["IsDeleted"].fill_null("false").str.to_lowercase() == "true")
            if "IsDeleted" in raw.columns
            else pl.Series([False] * raw.height, dtype=pl.Boolean)
        )
        if spec.mapping.history:
            records, deletions, extras = self._history_page(spec, raw, deleted)
        else:
            records, deletions, extras = self._record_page(spec, raw, deleted)
        return Page(
            entity=spec.entity,
            records=records,
            cursor=state.dump(),
            extras=extras,
            total=counted + (batch.total or 0),
            replace=replace,
            deletions=deletions,
            notes=batch.notes,
            status=self._status(spec, batch.mode),
        )

    def _record_page(
        self, spec: _Spec, raw: pl.DataFrame, deleted: pl.Series
    ) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
        mapping = spec.mapping
        constants = dict(mapping.constants)
        if (
            spec.entity in ("opportunities", "pipeline_stages")
            and "pipeline" not in mapping.columns
        ):
            constants.setdefault("pipeline", self.settings.pipeline)
            mapping = mapping.model_copy(update={"constants": constants})
        frame, extras = map_object(
            raw,
            spec.entity,
            mapping,
            spec.plan,
            key_prefixes=self.key_prefixes,
            where=f"source {self.source.name!r}, Salesforce object {spec.sobject}",
        )
        key = model_for(spec.entity).primary_key
        deletions = frame.filter(deleted)[key[0]].drop_nulls().to_list() if len(key) == 1 else []
        records = frame.filter(~deleted)
        if spec.sobject == "Opportunity" and "stage_entered_at" in records.columns:
            records = self._entered_at(records)
        return records, [str(d) for d in deletions], extras

    def _history_page(
        self, spec: _Spec, raw: pl.DataFrame, deleted: pl.Series
    ) -> tuple[pl.DataFrame, list[str], dict[str, Any]]:
        rows = roles_frame(raw, spec.mapping, spec.plan.available)
        live, gone = rows.filter(~deleted), rows.filter(deleted)
        context = None
        if spec.mapping.history == "entered" and live.height:
            ids = live["record_id"].drop_nulls().unique().to_list()
            context = self._entered_rows(spec, ids)
        events = history_events(live, spec.mapping, context)
        deletions = event_ids(gone, spec.mapping).to_list() if gone.height else []
        return events, deletions, {}

    def _entered_rows(self, spec: _Spec, record_ids: list[str]) -> pl.DataFrame:
        """Every row of an ``entered`` history object for these records (as roles)."""
        from revgov.connectors.salesforce._reader import query_by_ids

        id_field = spec.mapping.columns.get("record_id")
        assert isinstance(id_field, str)
        fields = [f for f in spec.plan.select if f != "IsDeleted"]
        plan = replace(spec.plan, deletable=False)
        raw = query_by_ids(self.client, self.settings, plan, fields, id_field, record_ids)
        return roles_frame(raw, spec.mapping, spec.plan.available)

    def _entered_at(self, records: pl.DataFrame) -> pl.DataFrame:
        """Fill opportunities' stage_entered_at (where LastStageChangeDate gave none) from
        the stage history."""
        missing = records.filter(
            pl.col("stage_entered_at").is_null() & pl.col("stage").is_not_null()
        )
        if missing.height == 0:
            return records
        mapping = merged_mapping(
            DEFAULT_ENTITIES["stage_events"]["OpportunityHistory"],
            self.entity_settings("stage_events"),
            self.entity_settings("stage_events").objects.get("OpportunityHistory"),
        )
        info = self.describe("OpportunityHistory")
        if info is None:
            return records
        spec = _Spec(
            "OpportunityHistory",
            "stage_events",
            mapping,
            plan_fields(info, "stage_events", mapping, self.describe),
        )
        history = self._entered_rows(spec, missing["opportunity_id"].to_list())
        return stage_entered_at(records, history)

    # -- revgov init -----------------------------------------------------------------------

    @classmethod
    def starting_config(cls, folder: Path | None, context: ConnectorContext) -> str:
        """A starting revgov.toml from the org's describe and OpportunityStage."""
        from revgov.connectors.salesforce._starting import starting_config

        return starting_config(context)
