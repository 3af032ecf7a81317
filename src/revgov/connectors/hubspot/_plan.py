"""What one pull reads of each HubSpot object for an entity, decided before the first request:
the merged column mapping, the properties (with the date properties built from pipeline stage
ids and lifecycle values), the labels to show, and the notes about hidden or calculated
properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from revgov.connectors.base import SourceNote
from revgov.connectors.hubspot._objects import (
    ENGAGEMENT_TYPES,
    HISTORY,
    MERGEABLE,
    HistorySpec,
    ObjectDefaults,
    defaults_for,
    is_derived,
)
from revgov.connectors.hubspot._portal import PortalInfo
from revgov.connectors.hubspot._streams import StreamPlan
from revgov.connectors.hubspot.settings import HubSpotEntitySettings, HubSpotSettings
from revgov.connectors.mapping import map_columns
from revgov.connectors.settings import EntityMapping
from revgov.model.frames import model_for

__all__ = ["ObjectPlan", "merged_mapping", "plan_object"]

#: people: the lifecycle value whose first entry each timestamp records, by default.
DEFAULT_TIMESTAMPS = {"mql_at": "marketingqualifiedlead"}


@dataclass(frozen=True)
class ObjectPlan:
    """Everything needed to turn pages of one object type into pages of one entity."""

    entity: str
    stream: StreamPlan
    mapping: EntityMapping
    defaults: ObjectDefaults
    where: str
    history: HistorySpec | None = None
    history_values: list[str] = field(default_factory=list)
    #: Per raw column, value to label (option labels; deal pipelines and stages).
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Labels of stage_events' values (deal stage ids), if shown by label.
    event_labels: Mapping[str, str] = field(default_factory=dict)
    #: Raw column to fill from history, to the lifecycle value whose first entry it is.
    timestamps: Mapping[str, str] = field(default_factory=dict)
    #: The raw column holding the current stage (opportunities' stage_entered_at).
    current_stage: str | None = None
    engagement_type: str | None = None
    associations: bool = True
    notes: tuple[SourceNote, ...] = ()

    @property
    def raw_columns(self) -> list[str]:
        derived = [c for c in self.mapping.columns.values() if is_derived(c)]
        return list(dict.fromkeys(["hs_object_id", *self.stream.properties, *derived]))


def merged_mapping(defaults: ObjectDefaults, settings: HubSpotEntitySettings) -> EntityMapping:
    """The entity table's mapping over the defaults (its columns win, custom fields add)."""
    return EntityMapping(
        columns={**defaults.columns, **settings.columns},
        values=dict(settings.values),
        constants={**defaults.constants, **settings.constants},
        custom_fields={**defaults.custom_fields, **settings.custom_fields},
    )


def _source_columns(mapping: EntityMapping) -> list[str]:
    mapped = list(mapping.columns.values())
    mapped += [name for name in mapping.custom_fields if name not in mapping.columns]
    return [c for c in mapped if not is_derived(c) and c != "hs_object_id"]


def _notes(
    entity: str,
    object_type: str,
    mapping: EntityMapping,
    settings: HubSpotEntitySettings,
    portal: PortalInfo,
) -> tuple[SourceNote, ...]:
    known = portal.properties(object_type)
    explicit = set(settings.columns.values()) | set(settings.custom_fields)
    notes = []
    for canonical, prop in mapping.columns.items():
        if is_derived(prop) or prop == "hs_object_id":
            continue
        definition = known.get(prop)
        if definition is None:
            notes.append(
                SourceNote(
                    "hidden_field",
                    entity,
                    f"HubSpot {object_type} property {prop!r} (mapped to {entity}.{canonical}) "
                    "is not among the portal's properties: it does not exist, or the app's "
                    "scopes do not let it see it; the column stays blank",
                    field=canonical,
                )
            )
        elif prop in explicit and definition.get("calculated"):
            notes.append(
                SourceNote(
                    "calculated_field",
                    entity,
                    f"HubSpot {object_type} property {prop!r} (mapped to {entity}.{canonical}) "
                    "is calculated by HubSpot: its value can change without the record "
                    "being edited",
                    field=canonical,
                    severity="info",
                )
            )
    return tuple(notes)


def _history(entity: str, object_type: str, settings: HubSpotEntitySettings) -> HistorySpec | None:
    spec = HISTORY.get(object_type)
    if spec is None:
        return None
    if entity == "stage_events":
        return spec
    return spec if settings.history and spec.record_entity == entity else None


def plan_object(
    entity: str,
    object_type: str,
    *,
    source: str,
    settings: HubSpotEntitySettings,
    options: HubSpotSettings,
    portal: PortalInfo,
) -> ObjectPlan:
    """The plan of ``object_type`` read as ``entity``; reads the portal's definitions.

    Raises :class:`~revgov.errors.MappingError` now, before any page, if the mapping names a
    column the entity does not have.
    """
    pk = model_for(entity).primary_key[0]
    defaults = defaults_for(entity, object_type, pk)
    mapping = merged_mapping(defaults, settings)
    history = _history(entity, object_type, settings)
    values = portal.stage_values(object_type) if history is not None else []
    timestamps: dict[str, str] = {}
    if history is not None and entity == "people":
        wanted = settings.lifecycle_timestamps
        for column, value in (DEFAULT_TIMESTAMPS if wanted is None else wanted).items():
            target = mapping.columns.get(column)
            if target is None or is_derived(target):
                target = f"__{column}"
                mapping = mapping.model_copy(
                    update={"columns": {**mapping.columns, column: target}}
                )
            timestamps[target] = value
    if entity == "opportunities" and history is not None:
        mapping = mapping.model_copy(
            update={"columns": {"stage_entered_at": "__stage_entered_at", **mapping.columns}}
        )
    modified = settings.modified_property or (
        "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
    )
    properties = [] if entity == "stage_events" else _source_columns(mapping)
    properties.append(modified)
    if object_type in MERGEABLE and entity != "stage_events":
        properties.append("hs_merged_object_ids")
    if history is not None:
        properties += list(history.entered_columns(values))
        properties += list(history.exited_columns(values))
    labels: dict[str, dict[str, str]] = {}
    for prop in settings.option_labels or defaults.option_labels:
        labels[prop] = portal.option_labels(object_type, prop)
    event_labels: dict[str, str] = {}
    if object_type == "deals" and options.stage_labels:
        pipelines = portal.pipelines("deals")
        labels["pipeline"] = {p.id: p.label for p in pipelines}
        event_labels = {s.id: s.label for p in pipelines for s in p.stages}
        labels["dealstage"] = event_labels
    where = f"source {source!r}, HubSpot {object_type} as {entity}"
    plan = ObjectPlan(
        entity=entity,
        stream=StreamPlan(
            object_type,
            tuple(dict.fromkeys(properties)),
            (history.property,) if history is not None else (),
            modified,
            options.max_query_chars,
        ),
        mapping=mapping,
        defaults=defaults,
        where=where,
        history=history,
        history_values=values,
        labels=labels,
        event_labels=event_labels,
        timestamps=timestamps,
        current_stage=mapping.columns.get("stage") if entity == "opportunities" else None,
        engagement_type=ENGAGEMENT_TYPES.get(object_type, object_type)
        if entity == "activities"
        else None,
        associations=settings.associations,
        notes=()
        if entity == "stage_events"
        else _notes(entity, object_type, mapping, settings, portal),
    )
    if entity != "stage_events":
        empty = pl.LazyFrame(schema=dict.fromkeys(plan.raw_columns, pl.String))
        map_columns(empty, entity, mapping, where=where, auto_map=False)
    return plan
