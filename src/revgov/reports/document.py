"""The report as data: sections of key numbers, tables and charts, stamped with what produced them.

A :class:`RevenueReport` is built once (:func:`revgov.reports.build_report`) and rendered many
ways: JSON (``to_json``), Markdown (``to_markdown``), one self-contained HTML file
(``to_html``), a notebook cell (``_repr_html_``), polars frames (``to_polars``) and Altair
charts (``chart``). Every rendering reads the same numbers, so they cannot disagree.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from revgov.reports._format import Unit, display, json_value

if TYPE_CHECKING:
    import altair as alt

    from revgov.reports.diff import RunDiff
    from revgov.reports.views import Findings
    from revgov.rules import Report

__all__ = [
    "CADENCES",
    "Cadence",
    "Chart",
    "KeyNumber",
    "RevenueReport",
    "Section",
    "Stamp",
    "Table",
]

Cadence = Literal["audit", "weekly", "monthly", "quarterly"]
CADENCES: tuple[Cadence, ...] = ("audit", "weekly", "monthly", "quarterly")
#: Sections about the audit itself (their numbers are in the run tables already).
GOVERNANCE_SECTIONS = ("scorecard", "history", "findings", "definitions")


@dataclass(frozen=True)
class Stamp:
    """What every number of the report was computed from."""

    config_hash: str
    snapshot: str | None
    snapshot_version: int | None
    snapshot_config_hash: str | None
    as_of: datetime
    generated_at: datetime
    revgov_version: str
    engine: str
    currency: str = ""
    run_id: str | None = None
    company: str = ""

    @property
    def config_differs(self) -> bool:
        """The snapshot was pulled with other definitions than the report used."""
        return self.snapshot_config_hash is not None and self.snapshot_config_hash != (
            self.config_hash
        )

    @property
    def version_label(self) -> str:
        return "unversioned" if self.snapshot_version is None else f"v{self.snapshot_version}"

    def line(self) -> str:
        """One line under every section: definitions hash, snapshot version and as-of."""
        return (
            f"config {self.config_hash} · snapshot {self.version_label} · as of "
            f"{self.as_of.isoformat(timespec='minutes')}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "config_hash": self.config_hash,
            "snapshot": self.snapshot,
            "snapshot_version": self.snapshot_version,
            "snapshot_config_hash": self.snapshot_config_hash,
            "config_differs_from_snapshot": self.config_differs,
            "as_of": self.as_of.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "revgov_version": self.revgov_version,
            "engine": self.engine,
            "currency": self.currency,
            "run_id": self.run_id,
            "company": self.company,
        }


def _steady(value: float, unit: str) -> float:
    return round(value, 2) if unit == "currency" else float(f"{value:.12g}")


@dataclass(frozen=True)
class KeyNumber:
    """A number a reader acts on, with its unit and, where there is one, its previous value."""

    key: str
    label: str
    value: float | int | str | None
    unit: Unit = "number"
    previous: float | int | None = None
    better: Literal["higher", "lower"] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        # Sums of floats may differ in their last bits from one run to the next (parallel
        # aggregation): currency is kept to cents, any other float to 12 significant digits,
        # so every rendering and every run of the same data says the same number.
        for name in ("value", "previous"):
            v = getattr(self, name)
            if isinstance(v, float) and math.isfinite(v):
                object.__setattr__(self, name, _steady(v, self.unit))

    def shown(self, currency: str = "") -> str:
        return display(self.value, self.unit, currency=currency)

    @property
    def change(self) -> float | None:
        if not isinstance(self.value, int | float) or self.previous is None:
            return None
        return float(self.value) - float(self.previous)

    @property
    def verdict(self) -> Literal["better", "worse", "same"] | None:
        """Whether the change since ``previous`` is good news (None when unknown)."""
        change = self.change
        if change is None or self.better is None:
            return None
        if change == 0:
            return "same"
        return "better" if (change > 0) == (self.better == "higher") else "worse"


@dataclass(frozen=True)
class Table:
    """A tidy table of a section. ``total_rows`` > ``frame.height`` when it was cut for
    display (``note`` says where the rest is)."""

    name: str
    title: str
    frame: pl.DataFrame
    total_rows: int | None = None
    note: str = ""
    units: dict[str, Unit] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.total_rows if self.total_rows is not None else self.frame.height

    @property
    def cut(self) -> bool:
        return self.rows > self.frame.height

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "total_rows": self.rows,
            "shown_rows": self.frame.height,
            "note": self.note,
            "rows": [
                {k: json_value(v) for k, v in row.items()}
                for row in self.frame.iter_rows(named=True)
            ],
        }


@dataclass(frozen=True)
class Chart:
    """A chart of one section table: the Altair chart and its text alternative."""

    id: str
    title: str
    description: str
    table: str
    chart: alt.TopLevelMixin


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str
    key_numbers: tuple[KeyNumber, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    #: What was left out and why (inputs the snapshot lacks, rows cut for display).
    notes: tuple[str, ...] = ()
    #: Drill-down tables (e.g. the records behind each rule), shown folded.
    details: tuple[Table, ...] = ()

    def table(self, name: str) -> Table:
        for t in (*self.tables, *self.details):
            if t.name == name:
                return t
        raise KeyError(name)

    def to_dict(self, currency: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "intro": self.intro,
            "notes": list(self.notes),
            "key_numbers": [k.key for k in self.key_numbers],
            "tables": {t.name: t.to_dict() for t in self.tables},
            "details": {t.name: t.to_dict() for t in self.details},
            "charts": [
                {"id": c.id, "title": c.title, "description": c.description, "table": c.table}
                for c in self.charts
            ],
        }


@dataclass(frozen=True)
class RevenueReport:
    """A report of one cadence on one snapshot: sections, the audit behind it, its stamp."""

    cadence: Cadence
    title: str
    stamp: Stamp
    sections: tuple[Section, ...]
    audit: Report
    diff: RunDiff | None = None

    # -- lookups ---------------------------------------------------------------------------

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(f"no section {section_id!r}; sections: {[s.id for s in self.sections]}")

    @property
    def key_numbers(self) -> dict[str, KeyNumber]:
        return {k.key: k for s in self.sections for k in s.key_numbers}

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every table by ``<section>.<table>`` name (drill-downs included)."""
        return {f"{s.id}.{t.name}": t.frame for s in self.sections for t in (*s.tables, *s.details)}

    def kpi_tables(self) -> dict[str, pl.DataFrame]:
        """The KPI tables (every section but the governance ones), by ``<section>.<table>``:
        what ``--to`` writes as KPI values."""
        return {
            f"{s.id}.{t.name}": t.frame
            for s in self.sections
            if s.id not in GOVERNANCE_SECTIONS
            for t in s.tables
        }

    def charts(self) -> dict[str, Chart]:
        return {c.id: c for s in self.sections for c in s.charts}

    @property
    def findings(self) -> Findings:
        from revgov.reports.views import Findings

        return Findings.of(self.audit)

    # -- notebook helpers --------------------------------------------------------------------

    def to_polars(self, name: str | None = None) -> pl.DataFrame:
        """The key numbers as one frame (``section, key, label, value, unit, shown,
        previous``), or the table ``name`` (``<section>.<table>``, as :meth:`tables` names)."""
        if name is not None:
            tables = self.tables()
            if name not in tables:
                raise KeyError(f"no table {name!r}; tables: {sorted(tables)}")
            return tables[name]
        rows = [
            {
                "section": s.id,
                "key": k.key,
                "label": k.label,
                "value": float(k.value) if isinstance(k.value, int | float) else None,
                "unit": k.unit,
                "shown": k.shown(self.stamp.currency),
                "previous": None if k.previous is None else float(k.previous),
            }
            for s in self.sections
            for k in s.key_numbers
        ]
        return pl.DataFrame(
            rows,
            schema={
                "section": pl.String,
                "key": pl.String,
                "label": pl.String,
                "value": pl.Float64,
                "unit": pl.String,
                "shown": pl.String,
                "previous": pl.Float64,
            },
        )

    def chart(self, chart_id: str) -> alt.TopLevelMixin:
        """The Altair chart ``chart_id`` (see :meth:`charts`), to show or change in a notebook."""
        charts = self.charts()
        if chart_id not in charts:
            raise KeyError(f"no chart {chart_id!r}; charts: {sorted(charts)}")
        return charts[chart_id].chart

    def _repr_html_(self) -> str:
        from revgov.reports.html import render_fragment

        return render_fragment(self)

    # -- renderings --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        cur = self.stamp.currency
        return {
            "report": "revgov",
            "cadence": self.cadence,
            "title": self.title,
            "stamp": self.stamp.to_dict(),
            "key_numbers": {
                k.key: {
                    "label": k.label,
                    "value": json_value(k.value),
                    "unit": k.unit,
                    "shown": k.shown(cur),
                    "previous": json_value(k.previous),
                    "better": k.better,
                    "note": k.note,
                }
                for k in self.key_numbers.values()
            },
            "sections": [s.to_dict(cur) for s in self.sections],
            "audit": self.audit.to_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def to_markdown(self) -> str:
        from revgov.reports.markdown import render_markdown

        return render_markdown(self)

    def to_html(self) -> str:
        """One self-contained HTML page (charts' JavaScript inlined; no network)."""
        from revgov.reports.html import render_html

        return render_html(self)
