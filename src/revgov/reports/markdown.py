"""The report as Markdown: the same sections, key numbers and tables as the HTML page, with each
chart given by its text alternative (a Markdown reader has no charts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgov.reports._format import Unit, display

if TYPE_CHECKING:
    from revgov.reports.document import RevenueReport, Table

__all__ = ["md_table", "render_markdown"]

#: Rows of a drill-down table written to Markdown (the JSON report holds what the HTML shows).
MD_DETAIL_ROWS = 20


def _cell(value: Any, unit: Unit | str, currency: str) -> str:
    text = display(value, unit, currency=currency) if value is not None else "—"
    return text.replace("|", "\\|").replace("\n", " ")


def md_table(t: Table, currency: str, *, max_rows: int | None = None) -> list[str]:
    frame = t.frame if max_rows is None else t.frame.head(max_rows)
    numeric = {c for c, d in frame.schema.items() if d.is_numeric()}
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if c in numeric else "---" for c in frame.columns) + "|"
    rows = [
        "| "
        + " | ".join(
            _cell(v, t.units.get(c, "number") if c in numeric else "text", currency)
            for c, v in row.items()
        )
        + " |"
        for row in frame.iter_rows(named=True)
    ]
    shown = frame.height
    more = ["", f"_showing {shown:,} of {t.rows:,} rows_"] if t.rows > shown else []
    return [f"**{t.title}**", "", head, rule, *rows, *more, ""]


def render_markdown(report: RevenueReport) -> str:
    st = report.stamp
    cur = st.currency
    lines = [
        f"# {report.title}" + (f" · {st.company}" if st.company else ""),
        "",
        f"- as of: {st.as_of.isoformat()}",
        f"- definitions (config hash): `{st.config_hash}`",
        f"- snapshot: {st.version_label}" + (f" (`{st.snapshot}`)" if st.snapshot else ""),
        f"- run: {st.run_id or 'not recorded'}",
        f"- generated: {st.generated_at.isoformat(timespec='seconds')} by revgov "
        f"{st.revgov_version}",
        "",
    ]
    if st.config_differs:
        lines += [f"> The snapshot was pulled with definitions `{st.snapshot_config_hash}`.", ""]
    for s in report.sections:
        lines += [f"## {s.title}", "", s.intro, ""]
        for k in s.key_numbers:
            prev = (
                f" (before: {display(k.previous, k.unit, currency=cur)})"
                if k.previous is not None
                else ""
            )
            lines.append(f"- **{k.label}**: {k.shown(cur)}{prev}")
        if s.key_numbers:
            lines.append("")
        lines += [f"> {n}" for n in s.notes] + ([""] if s.notes else [])
        for c in s.charts:
            lines += [f"_{c.title}_: {c.description}", ""]
        for t in s.tables:
            lines += md_table(t, cur)
        for t in s.details:
            lines += md_table(t, cur, max_rows=MD_DETAIL_ROWS)
        lines += [f"<sub>{st.line()}</sub>", ""]
    return "\n".join(lines)
