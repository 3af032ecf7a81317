"""The report as one self-contained HTML file, and as a notebook cell.

The page holds everything it needs: its stylesheet, the chart specs (Vega-Lite JSON, data
inlined) and the Vega libraries (:mod:`revgov.reports._bundle`). A Content-Security-Policy
forbids any network request, so the page behaves the same offline, in a mail attachment or
in an archive. Every value from the CRM is escaped by Jinja's autoescaping; the chart specs
go in a JSON script block escaped by ``tojson``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

from revgov.reports._format import display
from revgov.reports.document import Table

if TYPE_CHECKING:
    from revgov.reports.document import KeyNumber, RevenueReport

__all__ = ["chart_specs", "render_fragment", "render_html", "table_html"]


def _resource(name: str) -> str:
    return (resources.files("revgov.reports") / "templates" / name).read_text(encoding="utf-8")


def _raw_value(value: Any) -> str:
    """A key number as the page's ``data-value`` (as JSON would write it; empty for None)."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _change_text(k: KeyNumber, currency: str) -> str:
    change = k.change
    if change is None:
        return f"before: {display(k.previous, k.unit, currency=currency)}"
    if k.unit in ("share", "score"):
        delta = f"{change * 100:+.1f} pts"
    else:
        delta = ("+" if change >= 0 else "-") + display(abs(change), k.unit, currency=currency)
    word = {"better": " (better)", "worse": " (worse)", "same": " (unchanged)"}.get(
        k.verdict or "", ""
    )
    return f"{delta} vs {display(k.previous, k.unit, currency=currency)} before{word}"


def _cell_writer(name: str, t: Table, currency: str) -> Callable[[Any], str]:
    """How one column's cells are written (every value escaped)."""
    if name == "status":
        return lambda v: f'<td class="status-{escape(v)}">{escape(v)}</td>'
    if name == "met":
        return lambda v: f'<td class="met-{"yes" if v else "no"}">{"yes" if v else "no"}</td>'
    if t.frame.schema[name].is_numeric():
        unit = t.units.get(name, "number")
        return lambda v: f'<td class="num">{escape(display(v, unit, currency=currency))}</td>'
    return lambda v: f"<td>{escape(display(v, 'text'))}</td>"


def table_html(t: Table, currency: str) -> Markup:
    """A section table as HTML: caption (with the cut note), header, one row per frame row."""
    frame = t.frame
    cols = frame.columns
    writers = [_cell_writer(c, t, currency) for c in cols]
    numeric = ' class="num"'
    head = "".join(
        f'<th scope="col"{numeric if frame.schema[c].is_numeric() else ""}>{escape(c)}</th>'
        for c in cols
    )
    body = "\n".join(
        "<tr>" + "".join(w(v) for w, v in zip(writers, row, strict=True)) + "</tr>"
        for row in frame.iter_rows()
    )
    if not body:
        body = f'<tr><td class="muted" colspan="{len(cols)}">none</td></tr>'
    cut = f' <span class="muted">({escape(t.note)})</span>' if t.cut else ""
    return Markup(
        f'<div class="table-wrap">\n<table data-table="{escape(t.name)}">\n'
        f"<caption>{escape(t.title)}{cut}</caption>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</div>"
    )


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("revgov.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    env.filters["fmt"] = lambda v, unit, currency="": display(v, unit, currency=currency)
    env.filters["raw_value"] = _raw_value
    env.filters["change_text"] = _change_text
    env.globals["table_html"] = table_html
    return env


def chart_specs(report: RevenueReport) -> dict[str, dict[str, Any]]:
    """Chart id to its Vega-Lite spec (data inlined), in page order."""
    return {c.id: c.chart.to_dict(validate=False) for s in report.sections for c in s.charts}


def render_html(report: RevenueReport) -> str:
    from revgov.reports._bundle import vega_bundle, vega_versions

    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=report,
            company=report.stamp.company,
            currency=report.stamp.currency,
            css=Markup(_resource("report.css")),
            specs=chart_specs(report),
            bundle=Markup(vega_bundle()),
            embed=Markup(_resource("embed.js")),
            versions=vega_versions(),
        )
    )


def render_fragment(report: RevenueReport) -> str:
    """The report for a notebook cell: key numbers, notes and tables (no script; each chart
    is named with its text alternative; ``report.chart(id)`` draws it)."""
    return (
        _env()
        .get_template("fragment.html.j2")
        .render(
            r=report,
            currency=report.stamp.currency,
            fragment_css=Markup(_resource("fragment.css")),
        )
    )
