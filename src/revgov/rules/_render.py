"""Markdown and terminal (rich) renderings of a Report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from revgov import display
from revgov.rules.findings import sort_findings

if TYPE_CHECKING:
    from revgov.rules.report import Report, RuleResult

__all__ = ["definition_text", "report_markdown", "report_renderable"]

_SHORT_STATUS = {
    "pass": "pass",
    "fail": "FAIL",
    "within_threshold": "within",
    "not_applicable": "n/a",
}
_STATUS_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "within_threshold": "yellow",
    "not_applicable": "magenta",
}


def _pct(x: float | None) -> str:
    return display.share(x)


#: Statuses listed apart, after the rules that ran: they say nothing about the data.
_ASIDE = ("not_applicable",)


def _ran(report: Report) -> list[RuleResult]:
    """The rules that checked rows, failing first (the table's order otherwise); the
    not-applicable ones are listed apart, last, with their reasons."""
    ran = [r for r in report.results if r.status != "not_applicable"]
    return sorted(ran, key=lambda r: r.status != "fail")


def _aside(report: Report) -> dict[str, list[str]]:
    """Rules that checked nothing (not applicable), grouped by the reason and how to
    provide the input."""
    groups: dict[str, list[str]] = {}
    for r in report.results:
        if r.status == "not_applicable":
            groups.setdefault(r.reason or f"no {r.entity} rows in its scope", []).append(r.id)
    return groups


def _failing_notes(report: Report) -> list[tuple[str, str, str]]:
    """(rule, what it checks, the fix) of each failing rule."""
    return [(r.id, r.description, r.remediation) for r in report.results if r.status == "fail"]


def _md_failing(report: Report) -> list[str]:
    notes = _failing_notes(report)
    if not notes:
        return []
    lines = ["## Failing rules: what they check and the fix", ""]
    for rid, description, remediation in notes:
        lines.append(f"- `{rid}`: {description}" + (f" Fix: {remediation}" if remediation else ""))
    return [*lines, ""]


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _md_section(title: str, headers: list[str], rows: list[list[object]]) -> list[str]:
    """``## title`` and its table; nothing when there are no rows."""
    return [f"## {title}", "", *_md_table(headers, rows), ""] if rows else []


def _md_head(report: Report) -> list[str]:
    s = report.summary()
    m = report.maturity
    return [
        "# revgov audit",
        "",
        f"- config hash: `{report.config_hash}`",
        f"- as of: {report.as_of.isoformat()}",
        f"- engine: {report.engine}",
        f"- rules: {s['rules']} ({s['pass']} pass, {s['fail']} fail, "
        f"{s['within_threshold']} within threshold, {s['not_applicable']} not applicable; "
        f"{s['ungoverned']} on revgov defaults only, at severity info and not scored)",
        f"- findings: {s['findings']}",
        f"- score: {_pct(report.score)}",
        f"- maturity: stage {m.stage}, {m.name}",
        "",
        "## Scores",
        "",
        *_md_table(["dimension", "score"], [[d, _pct(v)] for d, v in report.scores.items()]),
        "",
        "## Maturity",
        "",
        *_md_table(
            ["stage", "criterion", "value", "threshold", "met"],
            [
                [c.stage, c.name, _pct(c.value), _pct(c.threshold), "yes" if c.met else "no"]
                for c in m.criteria
            ],
        ),
        "",
        "## Rules",
        "",
        *_md_table(
            [
                "rule",
                "severity",
                "dimension",
                "status",
                "checked",
                "violating",
                "pass rate",
                "definition",
            ],
            [
                [
                    f"`{r.id}`",
                    r.severity,
                    r.dimension,
                    r.status + (f" ({r.reason})" if r.reason else ""),
                    r.checked,
                    r.violating,
                    _pct(r.pass_rate),
                    definition_text(r),
                ]
                for r in _ran(report)
            ],
        ),
        "",
        *_md_failing(report),
    ]


def definition_text(result: RuleResult) -> str:
    """Where a rule's definition comes from, marked when no company definition backs it."""
    text = result.definition or "-"
    return text if result.governed else f"{text} (ungoverned: info, not scored)"


def report_markdown(report: Report, *, findings: int = 20) -> str:
    lines = _md_head(report)
    if report.nothing_audited:
        lines += ["**Nothing was audited**: no rule checked a single record.", ""]
    lines += _md_section(
        "Not applicable (why, and how to provide the input)",
        ["rule", "reason"],
        [[f"`{r.id}`", r.reason or ""] for r in report.not_applicable],
    )
    lines += _md_section(
        "Top offenders by owner",
        ["owner", "name", "team", "findings", "records", "errors"],
        [list(r) for r in report.top_offenders("owner").iter_rows()],
    )
    lines += _md_section(
        "Top offenders by team",
        ["team", "findings", "records", "errors"],
        [list(r) for r in report.top_offenders("team").iter_rows()],
    )
    lines += _md_section(
        "UTM spelling families",
        ["entity", "tag", "family", "spelling", "count"],
        [list(r) for r in report.utm_families.iter_rows()],
    )
    if findings and report.findings_count:
        columns = ["rule_id", "record_id", "owner_id", "field", "value", "message"]
        lines += _md_section(
            f"Findings (first {findings} per rule)",
            ["rule", "record", "owner", "field", "value", "message"],
            [
                [r[c] for c in columns]
                for r in _sample(report.findings_lazy(), findings).iter_rows(named=True)
            ],
        )
    return "\n".join(lines)


def _sample(findings: pl.LazyFrame, per_rule: int) -> pl.DataFrame:
    """The first ``per_rule`` findings of each rule, in the stable order."""
    ordered = sort_findings(findings)
    return ordered.filter(pl.int_range(pl.len()).over("rule_id") < per_rule).collect()


def report_renderable(report: Report) -> RenderableType:
    s = report.summary()
    m = report.maturity
    head = Text.assemble(
        ("revgov audit", "bold"),
        f"  as of {report.as_of.isoformat()}  engine {report.engine}\n",
        ("config ", "dim"),
        (report.config_hash, "cyan"),
    )
    scores = Table(title="Scores")
    scores.add_column("dimension")
    scores.add_column("score", justify="right")
    for d, v in report.scores.items():
        scores.add_row(d, _pct(v))
    scores.add_row(Text("overall", style="bold"), Text(_pct(report.score), style="bold"))
    maturity = Table(title=f"Maturity: stage {m.stage}, {m.name}")
    for col in ("stage", "criterion", "value", "threshold", "met"):
        maturity.add_column(col)
    for c in m.criteria:
        maturity.add_row(
            str(c.stage),
            c.name,
            _pct(c.value),
            _pct(c.threshold),
            Text("yes", style="green") if c.met else Text("no", style="red"),
        )
    tables: list[RenderableType] = []
    by_owner = report.top_offenders("owner")
    if by_owner.height:
        tables.append(
            _frame_table(
                "Top offenders by owner",
                ["owner", "name", "team", "findings", "records", "errors"],
                by_owner,
            )
        )
    by_team = report.top_offenders("team")
    if by_team.height:
        tables.append(
            _frame_table(
                "Top offenders by team", ["team", "findings", "records", "errors"], by_team
            )
        )
    if report.utm_families.height:
        tables.append(_families_table(report.utm_families))
    foot = Text(
        f"{s['rules']} rules: {s['pass']} pass, {s['fail']} fail, {s['within_threshold']} within "
        f"threshold, {s['not_applicable']} n/a; {s['ungoverned']} on revgov defaults only "
        f"(severity info, not scored); {s['findings']:,} findings; config {report.config_hash}",
        style="dim",
    )
    parts: list[RenderableType] = [head, _RulesTable(report)]
    if report.nothing_audited:
        parts.append(
            Text("Nothing was audited: no rule checked a single record.", style="bold red")
        )
    parts += _rich_notes(report)
    parts += _rich_ungoverned(report)
    return Group(*parts, scores, maturity, *tables, foot)


def _rich_ungoverned(report: Report) -> list[RenderableType]:
    """Rules that ran on revgov's defaults only, grouped by the keys that would make them the
    company's own (wrapping text, not a table: it fits any width). Ungoverned rules that were
    not applicable anyway are only counted."""
    groups: dict[str, list[str]] = {}
    idle = 0
    for r in report.results:
        if r.governed:
            continue
        if r.status == "not_applicable":
            idle += 1
            continue
        groups.setdefault(r.definition, []).append(r.id)
    if not groups and not idle:
        return []
    head = "On revgov defaults only (severity info, not scored)"
    if not groups:
        return [Text(f"{head}: {idle} rules, none applicable here\n", style="dim")]
    text = Text(f"{head}: set the keys to make them yours\n", style="bold")
    for definition, ids in groups.items():
        text.append(f"{definition}: ", style="dim")
        text.append(", ".join(ids) + "\n")
    if idle:
        text.append(f"and {idle} more, not applicable here\n", style="dim")
    return [text]


def _rich_notes(report: Report) -> list[RenderableType]:
    """After the rules table: each failing rule's check and fix, then the rules that checked
    nothing, grouped by why (they wrap to the console's width)."""
    out: list[RenderableType] = []
    notes = _failing_notes(report)
    if notes:
        text = Text("Failing rules: what they check and the fix\n", style="bold")
        for rid, description, remediation in notes:
            text.append(f"{rid}", style="bold red")
            text.append(f": {description}")
            if remediation:
                text.append(" Fix: ", style="bold")
                text.append(remediation)
            text.append("\n")
        out.append(text)
    groups = _aside(report)
    if groups:
        count = sum(len(ids) for ids in groups.values())
        text = Text(
            f"Not applicable: why, and how to provide the input ({count})\n", style="bold dim"
        )
        for reason, ids in groups.items():
            text.append(f"{reason}: ", style="dim")
            text.append(", ".join(ids) + "\n", style="dim")
        out.append(text)
    return out


def _families_table(families: pl.DataFrame, limit: int = 15) -> Table:
    """One row per spelling family: its spellings, most common first, with counts."""
    grouped = (
        families.group_by("entity", "tag", "family", maintain_order=True)
        .agg(
            pl.format("{} ({})", "value", "count").str.join(", ").alias("spellings"),
            pl.col("count").sum().alias("records"),
        )
        .select("entity", "tag", "family", "records", "spellings")
    )
    more = grouped.height - limit
    table = _frame_table(
        "UTM spelling families",
        ["entity", "tag", "family", "records", "spellings (count)"],
        grouped.head(limit),
    )
    if more > 0:
        table.caption = f"{more} more families: see --format json or md"
    return table


def _frame_table(title: str, headers: list[str], frame: pl.DataFrame) -> Table:
    """A small frame as a rich table (numbers right-aligned, with thousands separators)."""
    table = Table(title=title)
    numeric = [dtype.is_numeric() for dtype in frame.dtypes]
    for header, is_num in zip(headers, numeric, strict=True):
        table.add_column(header, justify="right" if is_num else "left")
    for row in frame.iter_rows():
        table.add_row(
            *["" if v is None else display.cell(v) if isinstance(v, int) else str(v) for v in row]
        )
    return table


class _RulesTable:
    """The rules table, laid out for the terminal: in full when it is wide enough, else
    compact (no dimension, short statuses) so that rule ids are never cut; they are what
    people copy into ``--rule`` and ``[rules."..."]``."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        results = _ran(self.report)
        width = max((len(r.id) for r in results), default=4)
        if options.max_width >= width + 72:
            table = Table(title="Rules")
            table.add_column("rule", no_wrap=True, min_width=width)
            for col in ("sev", "dimension", "status"):
                table.add_column(col, no_wrap=True)
            for col in ("checked", "violating", "pass"):
                table.add_column(col, justify="right", no_wrap=True)
            for r in results:
                table.add_row(
                    r.id,
                    r.severity,
                    r.dimension,
                    Text(r.status, style=_STATUS_STYLE[r.status]),
                    display.count(r.checked),
                    display.count(r.violating),
                    _pct(r.pass_rate),
                )
            yield table
            return
        # Compact: every number whole and the ids uncut; the severity goes first when even
        # this does not fit (the failing rules' notes below say what each checks).
        numbers = [
            (display.count(r.checked), display.count(r.violating), _pct(r.pass_rate))
            for r in results
        ]
        headers = ("checked", "failed", "pass")
        widths = [max([len(n[i]) for n in numbers] + [len(h)]) for i, h in enumerate(headers)]

        def compact(with_sev: bool, fold_ids: bool = False) -> Table:
            table = Table(title="Rules", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
            if fold_ids:
                table.add_column("rule", overflow="fold")
            else:
                table.add_column("rule", no_wrap=True, min_width=width)
            if with_sev:
                table.add_column("sev", no_wrap=True)
            table.add_column("status", no_wrap=True)
            for col, w in zip(headers, widths, strict=True):
                table.add_column(col, justify="right", no_wrap=True, min_width=w)
            for r, n in zip(results, numbers, strict=True):
                status = Text(_SHORT_STATUS[r.status], style=_STATUS_STYLE[r.status])
                table.add_row(r.id, *([r.severity] if with_sev else []), status, *n)
            return table

        # Measured, not summed by hand: rich adds edges and padding a sum gets wrong by a
        # column or two, and then crops the last column ("pas"). Last resort on a narrow
        # terminal: the longest ids fold onto a second line rather than a number being cut.
        layouts = ((True, False), (False, False), (False, True))
        tables = (compact(with_sev=sev, fold_ids=fold) for sev, fold in layouts)
        yield display.first_fitting(tables, console, options)
