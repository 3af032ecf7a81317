"""Notebook views of findings and KPI results: HTML in Jupyter, polars frames, Altair charts.

::

    from revgov import reports
    result = reports.kpi("win_rate_by_count", frames, config, every="1mo")
    result              # a table in the notebook (_repr_html_)
    result.chart()      # an Altair chart of the headline column over the periods
    result.to_polars()  # the frame

    findings = reports.Findings.of(report)   # or revenue_report.findings
    findings.chart("owner")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from revgov.config import Config
from revgov.metrics import KPIS, compute
from revgov.reports import charts
from revgov.reports._format import Unit, as_utc
from revgov.reports._inputs import to_polars
from revgov.reports.document import Table
from revgov.reports.runs import findings_with_owners
from revgov.rules import Report

if TYPE_CHECKING:
    import altair as alt

__all__ = ["Findings", "KPIResult", "frame_html", "kpi"]

#: Rows a notebook cell shows (``to_polars()`` has all of them).
NOTEBOOK_ROWS = 50


def frame_html(
    frame: pl.DataFrame,
    *,
    caption: str = "",
    units: Mapping[str, Unit] | None = None,
    max_rows: int = NOTEBOOK_ROWS,
) -> str:
    """``frame`` as an escaped HTML table (the report's own table markup), cut to
    ``max_rows`` rows with the total said in the caption."""
    from revgov.reports.html import _env

    table = Table(
        "frame",
        caption,
        frame.head(max_rows),
        total_rows=frame.height,
        note=f"showing {min(max_rows, frame.height):,} of {frame.height:,}; "
        "to_polars() has every row",
        units=dict(units or {}),
    )
    template = _env().from_string(
        '{% import "_macros.html.j2" as m %}<div class="revgov-report">{{ m.table(t, "") }}</div>'
    )
    return template.render(t=table)


@dataclass(frozen=True)
class Findings:
    """The findings of an audit with each owner's name and team."""

    frame: pl.DataFrame

    @classmethod
    def of(cls, report: Report) -> Findings:
        return cls(findings_with_owners(report))

    def __len__(self) -> int:
        return self.frame.height

    def to_polars(self) -> pl.DataFrame:
        return self.frame

    def count_by(self, by: Literal["rule", "owner", "team", "severity"]) -> pl.DataFrame:
        """Findings and distinct records per rule, owner, team or severity, most first."""
        key = {"rule": "rule_id", "owner": "owner_id", "team": "team", "severity": "severity"}[by]
        return (
            self.frame.with_columns(pl.col(key).fill_null("(none)"))
            .group_by(key)
            .agg(pl.len().alias("findings"), pl.col("record_id").n_unique().alias("records"))
            .sort(["findings", key], descending=[True, False])
        )

    def chart(self, by: Literal["rule", "owner", "team", "severity"] = "rule") -> alt.TopLevelMixin:
        counts = self.count_by(by)
        built, _ = charts.bar(
            counts,
            category=counts.columns[0],
            value="findings",
            title=f"Findings by {by}",
            what="Findings",
        )
        return built

    def _repr_html_(self) -> str:
        head = f"<p><strong>{self.frame.height:,}</strong> findings</p>"
        return (
            head
            + frame_html(self.count_by("rule"), caption="per rule")
            + frame_html(self.frame, caption="records")
        )


@dataclass(frozen=True)
class KPIResult:
    """One KPI's table with its definition: shows itself, charts itself, converts."""

    name: str
    frame: pl.DataFrame
    config_hash: str
    as_of: datetime

    @property
    def title(self) -> str:
        return KPIS[self.name].title

    def to_polars(self) -> pl.DataFrame:
        return self.frame

    def _value_column(self) -> str:
        headline = KPIS[self.name].headline
        if headline and headline in self.frame.columns:
            return headline
        numeric = [c for c, t in self.frame.schema.items() if t.is_numeric()]
        if not numeric:
            raise ValueError(f"{self.name} has no numeric column to chart")
        return numeric[-1]

    def chart(self, value: str | None = None) -> alt.TopLevelMixin:
        """The ``value`` column (default: the KPI's headline) over the periods, one line per
        group; without periods, a bar per group (or per row)."""
        col = value or self._value_column()
        unit = _unit_of(self.name, col)
        labels = [c for c, t in self.frame.schema.items() if t == pl.String]
        if "period" in self.frame.columns:
            built, _ = charts.timeseries(
                self.frame,
                value=col,
                unit=unit,
                title=self.title,
                what=col,
                color=labels[0] if labels else None,
                mark="line",
            )
            return built
        frame = self.frame if labels else self.frame.with_row_index("row").cast({"row": pl.String})
        built, _ = charts.bar(
            frame,
            category=labels[0] if labels else "row",
            value=col,
            unit=unit,
            title=self.title,
            what=col,
            limit=30,
        )
        return built

    def _repr_html_(self) -> str:
        d = KPIS[self.name]
        head = (
            f"<p><strong>{self.title}</strong> ({d.unit}; {d.basis}) · definitions "
            f"<code>{self.config_hash}</code> · as of {self.as_of.isoformat()}</p>"
        )
        units = {self._value_column(): _unit_of(self.name, self._value_column())}
        return head + frame_html(self.frame, units=units)


def _unit_of(name: str, column: str) -> Unit:
    label = KPIS[name].headline_label if column == KPIS[name].headline else column
    for word, unit in (
        ("share", "share"),
        ("rate", "share"),
        ("conversion", "share"),
        ("currency", "currency"),
        ("amount", "currency"),
        ("hours", "hours"),
        ("days", "days"),
        ("ratio", "ratio"),
    ):
        if word in label:
            return unit  # type: ignore[return-value]
    return "number"


def kpi(
    name: str,
    frames: Mapping[str, Any],
    config: Config,
    *,
    by: Sequence[str] | None = None,
    every: str | None = None,
    as_of: datetime | None = None,
) -> KPIResult:
    """KPI ``name`` computed with :func:`revgov.metrics.compute`, as a notebook view."""
    moment = as_utc(as_of)
    out = compute(name, frames, config, by=by, every=every, as_of=moment)
    return KPIResult(name, to_polars(out), config.config_hash, moment)
