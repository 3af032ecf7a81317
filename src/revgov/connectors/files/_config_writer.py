"""Writing a starting revgov.toml: the document (:class:`ConfigWriter`) and what it infers
from an export's values — lifecycle stages from their wording, the pipeline's stage order from
the history, closed and won from flags or names.

The vendor layouts that call it are :mod:`._starting`'s.
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

__all__ = [
    "ConfigWriter",
    "Layout",
    "export_files",
    "flags_by_name",
    "header_of",
    "inline",
    "lifecycle_guess",
    "read_columns",
    "stage_order",
    "stage_tables",
]

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


def export_files(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _CSV}


def header_of(path: Path) -> list[str]:
    # The csv module, not polars: polars keeps a header's doubled quotes ("") as two quotes,
    # and HubSpot's 'Date entered "Stage (Pipeline)"' columns are written with them.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh), [])


def read_columns(path: Path, columns: Iterable[str]) -> pl.DataFrame:
    header = header_of(path)
    wanted = [c for c in columns if c]
    return pl.read_csv(
        path,
        has_header=False,
        skip_rows=1,
        schema=dict.fromkeys(header, pl.String()),
        n_rows=_SAMPLE_ROWS,
    ).select(wanted)


def lifecycle_guess(value: str) -> str | None:
    return next((stage for rx, stage in _LIFECYCLE_HINTS if rx.search(value)), None)


class ConfigWriter:
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
            guess = lifecycle_guess(value)
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


def stage_order(
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


def stage_tables(
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


def inline(values: dict[str, str]) -> Any:
    table = tomlkit.inline_table()
    table.update(values)
    return table


def flags_by_name(name: str) -> tuple[bool, bool]:
    low = name.lower()
    won = "won" in low and "closed" in low
    return (won or ("closed" in low or "lost" in low), won)
