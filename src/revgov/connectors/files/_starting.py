"""``revgov init DIR``: a starting revgov.toml for a folder of CRM exports.

The folder's CSV files are recognised as a Salesforce data export (files named by object,
columns by API field), a HubSpot export (columns by property label) or a generic export
(:mod:`._layouts`). The config written maps each file onto its entity, reads stage and
lifecycle history in the export's shape, lists the pipeline's stages as the export has them
(order from the history, closed and won from the export's flags or names, probability from
the export where it has one) and maps lifecycle values onto canonical stages. What only the
company can say (stale limits, required fields, UTM vocabulary, routing, SLAs) is marked
``TODO``, and every guess says so in a comment: the file is a start to review, not a verdict.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import polars as pl
import tomlkit
from tomlkit.items import AoT, Table

from revgov.connectors.base import ConnectorContext
from revgov.errors import SourceNotFoundError

__all__ = ["Layout", "detect_layout", "starting_config"]

Layout = Literal["salesforce", "hubspot", "generic"]

_CSV = (".csv", ".tsv", ".txt")
_SAMPLE_ROWS = 200_000
_CANONICAL_LIFECYCLE = ("subscriber", "lead", "mql", "sql", "opportunity", "customer")
#: Spellings of a vendor lifecycle or lead status value, to the canonical stage they suggest
#: (first match wins: "Sales Qualified" before "Qualified").
_LIFECYCLE_HINTS = (
    (re.compile(r"\bmql\b|marketing ?qualified", re.I), "mql"),
    (re.compile(r"\bsql\b|sales ?qualified|^qualified$", re.I), "sql"),
    (re.compile(r"subscriber", re.I), "subscriber"),
    (re.compile(r"opportunity", re.I), "opportunity"),
    (re.compile(r"customer|evangelist|closed.?won|converted", re.I), "customer"),
    (re.compile(r"lead|open|new|working|contacted|nurtur|unqualified|attempt", re.I), "lead"),
)


def _files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _CSV}


def _header(path: Path) -> list[str]:
    # The csv module, not polars: polars keeps a header's doubled quotes ("") as two quotes,
    # and HubSpot's 'Date entered "Stage (Pipeline)"' columns are written with them.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def _read(path: Path, columns: Iterable[str]) -> pl.DataFrame:
    header = _header(path)
    wanted = [c for c in columns if c]
    return pl.read_csv(
        path,
        has_header=False,
        skip_rows=1,
        schema=dict.fromkeys(header, pl.String()),
        n_rows=_SAMPLE_ROWS,
    ).select(wanted)


def detect_layout(folder: Path) -> Layout:
    """Which vendor's export ``folder`` holds, from its file and column names."""
    from revgov.connectors.files._layouts import HUBSPOT_COLUMNS, SALESFORCE_OBJECTS

    files = _files(folder)
    objects = set(SALESFORCE_OBJECTS) | {"OpportunityHistory", "LeadHistory"}
    if any(stem in objects and "Id" in _header(p) for stem, p in files.items()):
        return "salesforce"
    labels = {label for cols in HUBSPOT_COLUMNS.values() for ls in cols.values() for label in ls}
    for path in files.values():
        header = set(_header(path))
        if "Record ID" in header and len(header & labels) >= 3:
            return "hubspot"
    return "generic"


def _lifecycle_guess(value: str) -> str | None:
    return next((stage for rx, stage in _LIFECYCLE_HINTS if rx.search(value)), None)


class _Writer:
    """Builds the document: a source of ``files``, its entities, pipeline and lifecycle."""

    def __init__(self, folder: Path, context: ConnectorContext, layout: Layout) -> None:
        self.folder, self.layout = folder, layout
        self.config_dir = context.config_dir
        self.doc = tomlkit.document()
        self.entities = tomlkit.table(is_super_table=True)
        self.notes: list[str] = []

    def path(self, file: Path) -> str:
        return Path(os.path.relpath(file.resolve(), self.config_dir.resolve())).as_posix()

    def entity(self, name: str, file: Path, columns: dict[str, str]) -> Table:
        table = tomlkit.table()
        table.add("path", self.path(file))
        cols = tomlkit.inline_table()
        cols.update(columns)
        table.add("columns", cols)
        self.entities.add(name, table)
        return table

    # -- the document ------------------------------------------------------------------------

    def header(self) -> None:
        vendor = {"salesforce": "a Salesforce data export", "hubspot": "a HubSpot export"}.get(
            self.layout, "a CSV export"
        )
        d = self.doc
        d.add(tomlkit.comment(f"revgov.toml written by `revgov init` from {vendor}"))
        d.add(
            tomlkit.comment(f"in {self.path(self.folder)}/. Review it before you trust an audit:")
        )
        d.add(
            tomlkit.comment(
                "  * every line marked TODO is a definition only your company can give;"
            )
        )
        d.add(
            tomlkit.comment(
                "  * stages, their order and the lifecycle map are guesses from the data."
            )
        )
        d.add(
            tomlkit.comment("Then: revgov config check revgov.toml && revgov pull && revgov audit")
        )
        d.add(
            tomlkit.comment("docs/exports.md walks through it; docs/config-guide.md has every key.")
        )
        d.add(tomlkit.nl())
        company = tomlkit.table()
        company.add("name", "TODO: your company")
        company.add("currency", "USD")
        company["currency"].comment("TODO: the currency amounts are in")
        d.add("company", company)

    def lifecycle(self, values: Iterable[str]) -> dict[str, str]:
        """``[lifecycle]`` with a map of the export's values; returns the map."""
        mapping: dict[str, str] = {}
        unknown: list[str] = []
        for value in sorted({v for v in values if v and v.strip()}):
            guess = _lifecycle_guess(value)
            if guess is None:
                unknown.append(value)
                guess = "lead"
            if guess != value.strip().lower():
                mapping[value] = guess
        table = tomlkit.table()
        table.add(tomlkit.comment("Canonical funnel stages, in order, and the export's values"))
        table.add(tomlkit.comment("mapped onto them (guessed from their wording: TODO check)."))
        table.add("stages", list(_CANONICAL_LIFECYCLE))
        if mapping:
            m = tomlkit.table()
            for vendor, canonical in mapping.items():
                m.add(vendor, canonical)
                if vendor in unknown:
                    m[vendor].comment("TODO: no idea what this value means; 'lead' is a guess")
            table.add("map", m)
        self.doc.add("lifecycle", table)
        return mapping

    def pipeline(self, stages: list[dict[str, Any]], unseen: set[str], name: str = "sales") -> None:
        """``[[pipelines]]`` with the stages found; ``unseen``: stages no history shows."""
        pipe = tomlkit.table()
        pipe.add(tomlkit.comment("Stages as the export has them. Order is the order deals entered"))
        pipe.add(tomlkit.comment("them in the history; closed/won from the export. TODO: check"))
        pipe.add(tomlkit.comment("each, remove stages that are mistakes, set probabilities."))
        pipe.add("name", name)
        stale = tomlkit.inline_table()
        pipe.add("stale_days", stale)
        # On its own line, so that it can be replaced in place (docs/exports.md does).
        pipe["stale_days"].comment("TODO: days a deal may sit in each open stage")
        aot = AoT([])
        for st in stages:
            t = tomlkit.table()
            t.add("name", st["name"])
            t.add("order", st["order"])
            t.add("probability", st["probability"])
            if st["is_closed"]:
                t.add("is_closed", True)
            if st["is_won"]:
                t.add("is_won", True)
            if st["name"] in unseen:
                t["name"].comment(
                    f"TODO: on {st['count']} deals but never in the history: a real stage?"
                )
            aot.append(t)
        pipe.add("stages", aot)
        pipelines = AoT([pipe])
        self.doc.add("pipelines", pipelines)

    def definitions(self) -> None:
        d = self.doc
        d.add(tomlkit.nl())
        for line in (
            "-- your company's definitions (TODO) -----------------------------------------",
            "Until these are set, the rules that need them report not_applicable or run on",
            "revgov's defaults. See docs/config-guide.md for each:",
            "[[required_fields]]   fields each entity (or stage) must have",
            "[utm]                 required UTM tags, vocabulary, lower case",
            "[campaign_naming]     the template campaign names follow",
            "[routing]             pools and rules: who should own which lead",
            "[sla]                 time zone, business hours, speed-to-lead hours",
            "[rules.skipped_stage] stages a deal may not skip",
        ):
            d.add(tomlkit.comment(line))
        d.add(tomlkit.nl())

    def source(self) -> None:
        src = tomlkit.table()
        src.add("name", f"{self.layout}_export")
        src.add("connector", "files")
        src.add("entities", self.entities)
        self.doc.add("sources", AoT([src]))
        for note in self.notes:
            self.doc.add(tomlkit.comment(note))


def _stage_order(
    current: pl.DataFrame, history: pl.DataFrame | None, closed: dict[str, bool]
) -> tuple[list[str], set[str], Counter[str]]:
    """Stage names in pipeline order, the ones no history shows, and deals per stage.

    ``current``: column ``stage``; ``history``: ``record_id``, ``stage``, ``at`` (text). A
    stage's place is the median position at which deals first entered it; stages without
    history come after the others, closed stages last."""
    counts: Counter[str] = Counter(v for v in current["stage"].to_list() if v)
    position: dict[str, float] = {}
    if history is not None and history.height:
        from revgov.model._casting import full_parse

        firsts = (
            history.drop_nulls(["record_id", "stage"])
            .with_columns(full_parse(pl.col("at"), "datetime").alias("__at"))
            .group_by("record_id", "stage")
            .agg(pl.col("__at").min())
            .with_columns(pl.col("__at").rank("ordinal").over("record_id").alias("__pos"))
            .group_by("stage")
            .agg(pl.col("__pos").median())
        )
        position = dict(zip(firsts["stage"].to_list(), firsts["__pos"].to_list(), strict=True))
        counts.update({s: 0 for s in position})
    seen = set(position)
    names = sorted(
        counts,
        key=lambda s: (
            closed.get(s, False),
            s not in seen,
            position.get(s, 0.0),
            "won" not in s.lower(),
            s,
        ),
    )
    return names, set(counts) - seen, counts


def _stages(
    names: list[str],
    counts: Counter[str],
    flags: dict[str, tuple[bool, bool]],
    probability: dict[str, float],
) -> list[dict[str, Any]]:
    out = []
    for i, name in enumerate(names, start=1):
        is_closed, is_won = flags.get(name, (False, False))
        default = 1.0 if is_won else (0.0 if is_closed else round(i / (len(names) + 1), 2))
        out.append(
            {
                "name": name,
                "order": i,
                "probability": round(probability.get(name, default), 2),
                "is_closed": is_closed,
                "is_won": is_won,
                "count": counts.get(name, 0),
            }
        )
    return out


def _inline(values: dict[str, str]) -> Any:
    table = tomlkit.inline_table()
    table.update(values)
    return table


def _flags_by_name(name: str) -> tuple[bool, bool]:
    low = name.lower()
    won = "won" in low and "closed" in low
    return (won or ("closed" in low or "lost" in low), won)


# -- Salesforce ---------------------------------------------------------------------------------


def _salesforce(w: _Writer, files: dict[str, Path]) -> None:
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
        header = _header(path)
        columns = salesforce_columns(stem, header)
        # Custom UTM fields (utm_source__c) are the canonical UTM columns.
        for col in header:
            base = col.removesuffix("__c").lower()
            if col.endswith("__c") and base.startswith("utm_") and entity == "people":
                columns.setdefault(base, col)
        if entity == "people" and "Status" in header:
            columns.setdefault("lifecycle_stage", "Status")
            people_status += [v for v in _read(path, ["Status"])["Status"].to_list() if v]
        table = w.entity(entity, path, columns)
        mapping = DEFAULT_ENTITIES[entity][stem]
        if entity == "activities" and "WhoId" in header:
            # Who is a lead or a contact: both are people. What may be any object, so it is
            # left for the company to map (opportunity_id only if it names deals).
            columns.setdefault("person_id", "WhoId")
            table["columns"] = _inline(columns)
            table["columns"].comment("TODO: WhatId names deals or accounts: map it if you need")
        if mapping.constants:
            consts = tomlkit.inline_table()
            consts.update(mapping.constants)
            table.add("constants", consts)
        if mapping.values:
            values = tomlkit.table()
            for canonical, vmap in mapping.values.items():
                if canonical in columns:
                    inline = tomlkit.inline_table()
                    inline.update(vmap)
                    values.add(canonical, inline)
            if values:
                table.add("values", values)
        custom = [c for c in header if c.endswith("__c") and c not in columns.values()]
        if custom:
            table.add(tomlkit.comment(f"custom fields to keep? {', '.join(custom)}"))
            table.add(tomlkit.comment('  custom_fields = { Field__c = "string" }'))
    for stem in ("LeadHistory", "ContactHistory"):
        if stem in files and "people" in w.entities:
            changes = _read(files[stem], ["Field", "OldValue", "NewValue"])
            status = changes.filter(pl.col("Field") == "Status")
            people_status += status["OldValue"].drop_nulls().to_list()
            people_status += status["NewValue"].drop_nulls().to_list()
    if people_status:
        w.lifecycle(people_status)
    mql = sorted({v for v in people_status if _lifecycle_guess(v) == "mql"})
    _salesforce_history(w, files, mql)


def _salesforce_history(w: _Writer, files: dict[str, Path], mql: list[str]) -> None:
    from revgov.connectors.files._layouts import SALESFORCE_HISTORY

    stages: dict[str, Any] = {}
    for stem, (entity, shape) in SALESFORCE_HISTORY.items():
        if stem not in files or entity not in w.entities:
            continue
        path, header = files[stem], _header(files[stem])
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
            stages["history"] = _read(path, ["OpportunityId", "StageName", "CreatedDate"]).rename(
                {"OpportunityId": "record_id", "StageName": "stage", "CreatedDate": "at"}
            )
    if "Opportunity" in files:
        path = files["Opportunity"]
        header = _header(path)
        wanted = [c for c in ("StageName", "IsClosed", "IsWon", "Probability") if c in header]
        deals = _read(path, wanted).rename({"StageName": "stage"})
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
                flags[name] = _flags_by_name(name)
            if "Probability" in group.columns:
                p = group["Probability"].cast(pl.Float64, strict=False).drop_nulls()
                if p.len():
                    probability[name] = float(p.mode().sort().to_list()[0]) / 100
        names, unseen, counts = _stage_order(
            deals, stages.get("history"), {k: v[0] for k, v in flags.items()}
        )
        for name in names:
            flags.setdefault(name, _flags_by_name(name))
        w.pipeline(_stages(names, counts, flags, probability), unseen)


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


def _hubspot(w: _Writer, files: dict[str, Path]) -> None:
    from revgov.connectors.files._layouts import HUBSPOT_COLUMNS, HUBSPOT_DATE_ENTERED

    for path in files.values():
        header = _header(path)
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
            if "lifecycle_stage" in columns:
                w.lifecycle(
                    _read(path, [columns["lifecycle_stage"]])[columns["lifecycle_stage"]].to_list()
                )
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
                deals = _read(path, [stage_col, *dates]).rename({stage_col: "stage"})
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
                    s: _flags_by_name(s)
                    for s in [*deals["stage"].drop_nulls().unique().to_list(), *dates.values()]
                }
                names, unseen, counts = _stage_order(
                    deals, long, {k: v[0] for k, v in flags.items()}
                )
                pipeline = "sales"
                if "pipeline" in columns:
                    seen = _read(path, [columns["pipeline"]])[columns["pipeline"]].drop_nulls()
                    pipeline = str(seen.mode().sort()[0]) if seen.len() else pipeline
                    if seen.n_unique() > 1:
                        w.notes.append(
                            "TODO: the deals are in several pipelines; the stages listed are "
                            f"{pipeline!r}'s and the others': add a [[pipelines]] for each"
                        )
                w.pipeline(_stages(names, counts, flags, {}), unseen, pipeline)


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


def _generic(w: _Writer, files: dict[str, Path]) -> None:
    from revgov.connectors.files._layouts import GENERIC_SYNONYMS
    from revgov.model.frames import field_types, model_for

    for stem, path in files.items():
        entity = next((e for rx, e in _GENERIC_ENTITIES if rx.search(stem)), None)
        if entity is None or entity in w.entities:
            w.notes.append(f"TODO: {path.name} was not recognised: map it by hand")
            continue
        header = _header(path)
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
            deals = _read(path, [columns["stage"]]).rename({columns["stage"]: "stage"})
            flags = {s: _flags_by_name(s) for s in deals["stage"].drop_nulls().unique().to_list()}
            names, _, counts = _stage_order(deals, None, {k: v[0] for k, v in flags.items()})
            w.pipeline(_stages(names, counts, flags, {}), set())


def starting_config(folder: Path | None, context: ConnectorContext) -> str:
    """A complete revgov.toml (text) for the exports in ``folder``."""
    if folder is None or not folder.is_dir():
        raise SourceNotFoundError(
            f"{folder} is not a folder of exports", hint="name the folder that holds the CSV files"
        )
    files = _files(folder)
    if not files:
        raise SourceNotFoundError(
            f"{folder} holds no CSV files", hint="export your CRM's objects as CSV into it"
        )
    layout = detect_layout(folder)
    w = _Writer(folder, context, layout)
    w.header()
    {"salesforce": _salesforce, "hubspot": _hubspot, "generic": _generic}[layout](w, files)
    w.definitions()
    w.source()
    return tomlkit.dumps(w.doc)
