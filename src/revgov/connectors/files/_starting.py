"""``revgov init DIR``: a starting revgov.toml for a folder of CRM exports.

The folder's CSV files are recognised as a Salesforce data export (files named by object,
columns by API field), a HubSpot export (columns by property label) or a generic export
(:mod:`._layouts`). The config written maps each file onto its entity, reads stage and
lifecycle history in the export's shape, lists the pipeline's stages as the export has them
(order from the history, closed and won from the export's flags or names, probability from
the export where it has one) and maps lifecycle values onto canonical stages. What only the
company can say (stale limits, required fields, UTM vocabulary, routing, SLAs) is marked
``TODO``, and every guess says so in a comment: the file is a start to review, not a verdict.
The document and the inferences it rests on are :mod:`._config_writer`'s.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import tomlkit
from tomlkit.items import Table

from revgov.connectors.base import ConnectorContext
from revgov.connectors.files._config_writer import (
    ConfigWriter,
    Layout,
    export_files,
    flags_by_name,
    header_of,
    inline,
    lifecycle_guess,
    read_columns,
    stage_order,
    stage_tables,
)
from revgov.errors import SourceNotFoundError

__all__ = ["Layout", "detect_layout", "starting_config"]


def detect_layout(folder: Path) -> Layout:
    """Which vendor's export ``folder`` holds, from its file and column names."""
    from revgov.connectors.files._layouts import HUBSPOT_COLUMNS, SALESFORCE_OBJECTS

    files = export_files(folder)
    objects = set(SALESFORCE_OBJECTS) | {"OpportunityHistory", "LeadHistory"}
    if any(stem in objects and "Id" in header_of(p) for stem, p in files.items()):
        return "salesforce"
    labels = {label for cols in HUBSPOT_COLUMNS.values() for ls in cols.values() for label in ls}
    for path in files.values():
        header = set(header_of(path))
        if "Record ID" in header and len(header & labels) >= 3:
            return "hubspot"
    return "generic"


# -- Salesforce ---------------------------------------------------------------------------------


def _salesforce(w: ConfigWriter, files: dict[str, Path]) -> None:
    from revgov.connectors.files._layouts import SALESFORCE_OBJECTS, salesforce_columns
    from revgov.connectors.salesforce.defaults import DEFAULT_ENTITIES

    taken: set[str] = set()
    people_status: list[str] = []
    for stem, path in files.items():
        if stem not in SALESFORCE_OBJECTS:
            continue
        entity = SALESFORCE_OBJECTS[stem]
        if entity in taken:
            w.notes.append(
                f"TODO: {path.name} is also {entity}: a source has one file per entity; "
                "add a second [[sources]] for it"
            )
            continue
        taken.add(entity)
        header = header_of(path)
        columns = salesforce_columns(stem, header)
        # Custom UTM fields (utm_source__c) are the canonical UTM columns.
        for col in header:
            base = col.removesuffix("__c").lower()
            if col.endswith("__c") and base.startswith("utm_") and entity == "people":
                columns.setdefault(base, col)
        if entity == "people" and "Status" in header:
            columns.setdefault("lifecycle_stage", "Status")
            people_status += [v for v in read_columns(path, ["Status"])["Status"].to_list() if v]
        table = w.entity(entity, path, columns)
        mapping = DEFAULT_ENTITIES[entity][stem]
        if entity == "activities" and "WhoId" in header:
            # Who is a lead or a contact: both are people. What may be any object, so it is
            # left for the company to map (opportunity_id only if it names deals).
            columns.setdefault("person_id", "WhoId")
            table["columns"] = inline(columns)
            table["columns"].comment("TODO: WhatId names deals or accounts: map it if you need")
        if mapping.constants:
            consts = tomlkit.inline_table()
            consts.update(mapping.constants)
            table.add("constants", consts)
        if mapping.values:
            values = tomlkit.table()
            for canonical, vmap in mapping.values.items():
                if canonical in columns:
                    values.add(canonical, inline(dict(vmap)))
            if values:
                table.add("values", values)
        custom = [c for c in header if c.endswith("__c") and c not in columns.values()]
        if custom:
            table.add(tomlkit.comment(f"custom fields to keep? {', '.join(custom)}"))
            table.add(tomlkit.comment('  custom_fields = { Field__c = "string" }'))
    for stem in ("LeadHistory", "ContactHistory"):
        if stem in files and "people" in w.entities:
            changes = read_columns(files[stem], ["Field", "OldValue", "NewValue"])
            status = changes.filter(pl.col("Field") == "Status")
            people_status += status["OldValue"].drop_nulls().to_list()
            people_status += status["NewValue"].drop_nulls().to_list()
    if people_status:
        w.lifecycle(people_status)
    mql = sorted({v for v in people_status if lifecycle_guess(v) == "mql"})
    _salesforce_history(w, files, mql)


def _salesforce_history(w: ConfigWriter, files: dict[str, Path], mql: list[str]) -> None:
    from revgov.connectors.files._layouts import SALESFORCE_HISTORY

    stages: dict[str, Any] = {}
    for stem, (entity, shape) in SALESFORCE_HISTORY.items():
        if stem not in files or entity not in w.entities:
            continue
        path, header = files[stem], header_of(files[stem])
        key = (
            "OpportunityId"
            if entity == "opportunities"
            else ("LeadId" if stem == "LeadHistory" else "ContactId")
        )
        history = tomlkit.inline_table()
        history.add("shape", shape)
        history.add("path", w.path(path))
        cols = tomlkit.inline_table()
        if shape == "stage_entered":
            cols.update({"record_id": key, "to_value": "StageName", "changed_at": "CreatedDate"})
        else:
            cols.update(
                {
                    "record_id": key,
                    "field": "Field",
                    "from_value": "OldValue",
                    "to_value": "NewValue",
                    "changed_at": "CreatedDate",
                }
            )
            if "Id" in header:
                cols.add("event_id", "Id")
            fields = tomlkit.inline_table()
            fields.add("Status", "lifecycle_stage")
            history.add("fields", fields)
            if mql:
                ts = tomlkit.inline_table()
                ts.add("mql_at", mql[0])
                history.add("timestamps", ts)
        if "CreatedById" in header:
            cols.add("changed_by", "CreatedById")
        history.add("columns", cols)
        table = w.entities[entity]
        assert isinstance(table, Table)
        table.add("history", history)
        table["history"].comment(
            f"{stem}: {'a row per stage entered' if shape == 'stage_entered' else 'old and new values'}"
        )
        if entity == "opportunities":
            stages["history"] = read_columns(
                path, ["OpportunityId", "StageName", "CreatedDate"]
            ).rename({"OpportunityId": "record_id", "StageName": "stage", "CreatedDate": "at"})
    if "Opportunity" in files:
        path = files["Opportunity"]
        header = header_of(path)
        wanted = [c for c in ("StageName", "IsClosed", "IsWon", "Probability") if c in header]
        deals = read_columns(path, wanted).rename({"StageName": "stage"})
        flags: dict[str, tuple[bool, bool]] = {}
        probability: dict[str, float] = {}
        for stage, group in deals.group_by("stage"):
            name = str(stage[0])
            if "IsClosed" in group.columns:
                share = {
                    c: float(group[c].str.to_lowercase().eq("true").sum()) / group.height
                    for c in ("IsClosed", "IsWon")
                    if c in group.columns
                }
                flags[name] = (share["IsClosed"] > 0.5, share.get("IsWon", 0.0) > 0.5)
            else:
                flags[name] = flags_by_name(name)
            if "Probability" in group.columns:
                p = group["Probability"].cast(pl.Float64, strict=False).drop_nulls()
                if p.len():
                    probability[name] = float(p.mode().sort().to_list()[0]) / 100
        names, unseen, counts = stage_order(
            deals, stages.get("history"), {k: v[0] for k, v in flags.items()}
        )
        for name in names:
            flags.setdefault(name, flags_by_name(name))
        w.pipeline(stage_tables(names, counts, flags, probability), unseen)


# -- HubSpot ------------------------------------------------------------------------------------


def _hubspot_entity(header: list[str]) -> str | None:
    cols = set(header)
    if cols & {"Deal Stage", "Deal Name"}:
        return "opportunities"
    if cols & {"Lifecycle Stage", "First Name", "Email"}:
        return "people"
    if cols & {"Company name", "Company Name", "Company Domain Name"}:
        return "accounts"
    return None


def _hubspot(w: ConfigWriter, files: dict[str, Path]) -> None:
    from revgov.connectors.files._layouts import (
        HUBSPOT_BECAME,
        HUBSPOT_COLUMNS,
        HUBSPOT_DATE_ENTERED,
        HUBSPOT_STAGE_LABELS,
    )

    for path in files.values():
        header = header_of(path)
        entity = _hubspot_entity(header)
        if entity is None or entity in w.entities:
            w.notes.append(f"TODO: {path.name} was not recognised: map it by hand")
            continue
        columns = {
            canonical: next(label for label in labels if label in header)
            for canonical, labels in HUBSPOT_COLUMNS[entity].items()
            if any(label in header for label in labels)
        }
        table = w.entity(entity, path, columns)
        if entity == "people":
            consts = tomlkit.inline_table()
            consts.add("kind", "contact")
            table.add("constants", consts)
            became = {
                col: m.group("stage")
                for col in header
                if (m := HUBSPOT_BECAME.match(col)) is not None
            }
            values = list(became.values())
            if "lifecycle_stage" in columns:
                values += read_columns(path, [columns["lifecycle_stage"]])[
                    columns["lifecycle_stage"]
                ].to_list()
            if values:
                w.lifecycle(values)
            if became:
                history = tomlkit.inline_table()
                history.add("shape", "date_columns")
                history.add("dates", inline(became))
                mql = sorted(v for v in became.values() if lifecycle_guess(v) == "mql")
                if mql:
                    history.add("timestamps", inline({"mql_at": mql[0]}))
                table.add("history", history)
                table["history"].comment('the "Became a <stage> Date" columns')
        if entity == "opportunities":
            dates = {
                col: m.group("stage")
                for col in header
                if (m := HUBSPOT_DATE_ENTERED.match(col)) is not None
            }
            if dates:
                history = tomlkit.inline_table()
                history.add("shape", "date_columns")
                d = tomlkit.inline_table()
                d.update(dates)
                history.add("dates", d)
                table.add("history", history)
                table["history"].comment('the "Date entered <stage>" columns')
            stage_col = columns.get("stage")
            if stage_col:
                deals = read_columns(path, [stage_col, *dates]).rename({stage_col: "stage"})
                # Internal stage ids (closedwon) become the labels the UI shows, by a value
                # map the company can read: the pipeline's stages are named by label.
                ids = {
                    v: HUBSPOT_STAGE_LABELS[v]
                    for v in deals["stage"].drop_nulls().unique().sort().to_list()
                    if v in HUBSPOT_STAGE_LABELS
                }
                if ids:
                    table.add("values", tomlkit.table())
                    table["values"].add("stage", inline(ids))
                    deals = deals.with_columns(pl.col("stage").replace(ids))
                long = (
                    (
                        deals.with_row_index("record_id")
                        .unpivot(
                            index="record_id", on=list(dates), variable_name="col", value_name="at"
                        )
                        .drop_nulls("at")
                        .with_columns(
                            pl.col("col").replace_strict(dates).alias("stage"),
                            pl.col("record_id").cast(pl.String),
                        )
                        .select("record_id", "stage", "at")
                    )
                    if dates
                    else None
                )
                flags = {
                    s: flags_by_name(s)
                    for s in [*deals["stage"].drop_nulls().unique().to_list(), *dates.values()]
                }
                names, unseen, counts = stage_order(
                    deals, long, {k: v[0] for k, v in flags.items()}
                )
                pipeline = "sales"
                if "pipeline" in columns:
                    seen = read_columns(path, [columns["pipeline"]])[
                        columns["pipeline"]
                    ].drop_nulls()
                    pipeline = str(seen.mode().sort()[0]) if seen.len() else pipeline
                    if seen.n_unique() > 1:
                        w.notes.append(
                            "TODO: the deals are in several pipelines; the stages listed are "
                            f"{pipeline!r}'s and the others': add a [[pipelines]] for each"
                        )
                w.pipeline(stage_tables(names, counts, flags, {}), unseen, pipeline)


# -- generic ------------------------------------------------------------------------------------

_GENERIC_ENTITIES = (
    (re.compile(r"deal|opportunit", re.I), "opportunities"),
    (re.compile(r"account|compan|organi", re.I), "accounts"),
    (re.compile(r"lead|contact|people|person", re.I), "people"),
    (re.compile(r"user|owner|rep", re.I), "users"),
    (re.compile(r"task|activit|call|email|meeting", re.I), "activities"),
    (re.compile(r"campaign", re.I), "campaigns"),
)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _generic(w: ConfigWriter, files: dict[str, Path]) -> None:
    from revgov.connectors.files._layouts import GENERIC_SYNONYMS
    from revgov.model.frames import field_types, model_for

    for stem, path in files.items():
        entity = next((e for rx, e in _GENERIC_ENTITIES if rx.search(stem)), None)
        if entity is None or entity in w.entities:
            w.notes.append(f"TODO: {path.name} was not recognised: map it by hand")
            continue
        header = header_of(path)
        canonical = field_types(entity)
        key = model_for(entity).primary_key[0]
        columns: dict[str, str] = {}
        for col in header:
            n = _norm(col)
            match = next(
                (
                    c
                    for c in canonical
                    if c not in columns and (n == _norm(c) or n in GENERIC_SYNONYMS.get(c, ()))
                ),
                None,
            )
            if match is not None and (match != "owner_id" or entity != "users"):
                columns[match] = col
        table = w.entity(entity, path, columns)
        if key not in columns:
            table["columns"].comment(f'TODO: map the record id: {key} = "<column>"')
        left = [c for c in header if c not in columns.values()]
        if left:
            table.add(tomlkit.comment(f"not mapped: {', '.join(left)}"))
        if entity == "opportunities" and "stage" in columns:
            deals = read_columns(path, [columns["stage"]]).rename({columns["stage"]: "stage"})
            flags = {s: flags_by_name(s) for s in deals["stage"].drop_nulls().unique().to_list()}
            names, _, counts = stage_order(deals, None, {k: v[0] for k, v in flags.items()})
            w.pipeline(stage_tables(names, counts, flags, {}), set())


def starting_config(folder: Path | None, context: ConnectorContext) -> str:
    """A complete revgov.toml (text) for the exports in ``folder``."""
    if folder is None or not folder.is_dir():
        raise SourceNotFoundError(
            f"{folder} is not a folder of exports", hint="name the folder that holds the CSV files"
        )
    files = export_files(folder)
    if not files:
        raise SourceNotFoundError(
            f"{folder} holds no CSV files", hint="export your CRM's objects as CSV into it"
        )
    layout = detect_layout(folder)
    w = ConfigWriter(folder, context, layout)
    w.header()
    {"salesforce": _salesforce, "hubspot": _hubspot, "generic": _generic}[layout](w, files)
    w.definitions()
    w.source()
    return tomlkit.dumps(w.doc)
