"""The governance sections: the scorecard and maturity stage, the run trend and what changed
since the previous run, the findings by rule, owner and team, and the definitions."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from revgov.config import Config
from revgov.reports import charts
from revgov.reports.diff import RunDiff
from revgov.reports.document import Chart, KeyNumber, Section, Stamp, Table
from revgov.rules import DIMENSIONS, Report

__all__ = [
    "DRILL_DOWN_ROWS",
    "Previous",
    "definitions_section",
    "findings_section",
    "history_section",
    "scorecard_section",
]

#: Records listed per rule in the drill-down tables (all of them are in the run history, the
#: database outputs and `revgov audit --findings-out`).
DRILL_DOWN_ROWS = 50
#: Records listed per change (new, resolved) in the diff's drill-down tables.
DIFF_ROWS = 200


@dataclass(frozen=True)
class Previous:
    """The run before this report's, from the run history."""

    run_id: str
    score: float | None
    trend: pl.DataFrame
    diff: RunDiff


def scorecard_section(report: Report, previous: Previous | None) -> Section:
    m = report.maturity
    results = report.results
    scores = pl.DataFrame(
        [
            {
                "dimension": d,
                "score": report.scores.get(d),
                "rules": sum(1 for r in results if r.dimension == d and r.pass_rate is not None),
                "failing": sum(1 for r in results if r.dimension == d and r.failed),
            }
            for d in DIMENSIONS
        ],
        schema={
            "dimension": pl.String,
            "score": pl.Float64,
            "rules": pl.Int64,
            "failing": pl.Int64,
        },
    )
    criteria = pl.DataFrame(
        [
            {
                "stage": c.stage,
                "criterion": c.name,
                "value": c.value,
                "threshold": c.threshold,
                "met": c.met,
                "description": c.description,
            }
            for c in m.criteria
        ],
        schema={
            "stage": pl.Int64,
            "criterion": pl.String,
            "value": pl.Float64,
            "threshold": pl.Float64,
            "met": pl.Boolean,
            "description": pl.String,
        },
    )
    next_unmet = [c for c in m.criteria if c.stage == m.stage + 1 and not c.met]
    why = f"Maturity stage {m.stage} ({m.name}): every criterion of stage {m.stage} and below "
    why += "is met." if m.stage > 1 else "is the starting stage."
    if next_unmet:
        why += f" Stage {m.stage + 1} needs " + "; ".join(
            f"{c.name} ({'not measurable' if c.value is None else f'{c.value:.1%}'} of "
            f"{c.threshold:.0%})"
            for c in next_unmet
        )
        why += "."
    s = report.summary()
    chart, desc = charts.dimension_scores(scores)
    return Section(
        id="scorecard",
        title="Scorecard and maturity",
        intro=why,
        key_numbers=(
            KeyNumber(
                "score",
                "Governance score",
                report.score,
                "score",
                previous=previous.score if previous else None,
                better="higher",
            ),
            KeyNumber("maturity_stage", "Maturity stage", m.stage, "stage", note=m.name),
            KeyNumber("rules_failing", "Rules failing", s["fail"], "count", better="lower"),
            KeyNumber("findings", "Findings", s["findings"], "count", better="lower"),
        ),
        tables=(
            Table("scores", "Score by dimension", scores, units={"score": "score"}),
            Table(
                "maturity",
                "Maturity criteria (the stage is the highest whose criteria, and every lower "
                "stage's, are all met)",
                criteria,
                units={"value": "share", "threshold": "share"},
            ),
        ),
        charts=(Chart("scorecard", "Score by dimension", desc, "scores", chart),),
    )


def history_section(
    report: Report, previous: Previous | None, trend: pl.DataFrame | None
) -> Section:
    notes: list[str] = []
    tables: list[Table] = []
    chart_list: list[Chart] = []
    details: list[Table] = []
    keys: list[KeyNumber] = []
    if trend is not None and trend.height:
        shown = trend.select(*_TREND_COLUMNS, *[c for c in trend.columns if c.startswith("score_")])
        tables.append(
            Table(
                "trend",
                "Recorded runs (oldest first)",
                shown,
                units={c: "score" for c in shown.columns if c.startswith("score")},
            )
        )
        long = _trend_long(trend)
        chart, desc = charts.score_trend(long)
        chart_list.append(Chart("trend", "Score trend", desc, "trend", chart))
    else:
        notes.append("No run is recorded with this snapshot yet: the trend starts with this one.")
    if previous is None:
        notes.append("No earlier run to compare with: every finding is shown as it stands.")
    else:
        keys, more, details = _changes(previous)
        tables += more
        by_owner = previous.diff.by_owner().filter(pl.col("new") > 0)
        if by_owner.height:
            chart, desc = charts.bar(
                by_owner,
                category="owner_id",
                value="new",
                title="New findings per owner",
                what="New findings since the previous run",
            )
            chart_list.append(
                Chart("new_by_owner", "New findings per owner", desc, "diff_by_owner", chart)
            )
    return Section(
        "history",
        "Trend and changes since the last run",
        _HISTORY_INTRO,
        tuple(keys),
        tuple(tables),
        tuple(chart_list),
        tuple(notes),
        tuple(details),
    )


def _changes(previous: Previous) -> tuple[list[KeyNumber], list[Table], list[Table]]:
    """Key numbers, tables and drill-downs of the diff against the previous run."""
    d = previous.diff
    c = d.counts()
    keys = [
        KeyNumber("new_findings", "New findings", c["new"], "count", better="lower"),
        KeyNumber("resolved_findings", "Resolved findings", c["resolved"], "count"),
        KeyNumber("persisting_findings", "Persisting findings", c["persisting"], "count"),
    ]
    changed = (pl.col("new") > 0) | (pl.col("resolved") > 0)
    tables = [
        Table(
            "diff_by_owner",
            f"Owners with new or resolved findings since run {previous.run_id}",
            d.by_owner().filter(changed),
        ),
        Table("diff_by_rule", "Rules with new or resolved findings", d.by_rule().filter(changed)),
    ]
    details = [
        Table("diff_all_owners", "Every owner's findings: new, resolved, persisting", d.by_owner())
    ]
    for change in ("new", "resolved"):
        rows = d.of(change)
        details.append(
            Table(
                f"{change}_records",
                f"{change.capitalize()} findings",
                rows.head(DIFF_ROWS),
                total_rows=rows.height,
                note=_cut_note(rows.height, DIFF_ROWS, "`revgov diff`"),
            )
        )
    return keys, tables, details


#: The columns of the trend table (the run history has more: `revgov history -f json`).
_TREND_COLUMNS = (
    "run_id",
    "recorded_at",
    "command",
    "snapshot_version",
    "config_hash",
    "score",
    "maturity_stage",
    "rules_fail",
    "findings",
)

_HISTORY_INTRO = (
    "Every audit run is recorded with the snapshot. A finding is new when the same rule did not "
    "flag the same record and field in the previous run, resolved when it no longer does."
)


def _trend_long(trend: pl.DataFrame) -> pl.DataFrame:
    cols = ["score", *[c for c in trend.columns if c.startswith("score_") and c != "score_change"]]
    return (
        trend.with_row_index("run", offset=1)
        .select("run", pl.col("recorded_at").cast(pl.String), *cols)
        .unpivot(index=["run", "recorded_at"], variable_name="series", value_name="value")
        .rename({"value": "score"})
        .with_columns(pl.col("series").str.replace("^score_", "").str.replace("^score$", "overall"))
        .filter(pl.col("score").is_not_null())
    )


def _cut_note(total: int, shown: int, where: str) -> str:
    if total <= shown:
        return ""
    return f"showing {shown:,} of {total:,}; every record is in {where}"


def findings_section(report: Report, findings: pl.DataFrame) -> Section:
    """``findings``: the report's findings with ``owner_name`` and ``team``."""
    rules = pl.DataFrame(
        [
            {
                "rule_id": r.id,
                "severity": r.severity,
                "dimension": r.dimension,
                "status": r.status,
                "checked": r.checked,
                "violating": r.violating,
                "findings": r.findings,
                "pass_rate": r.pass_rate,
                "owner": r.owner,
                "remediation": r.remediation,
            }
            for r in report.results
            if r.violating or r.reason
        ],
        schema={
            "rule_id": pl.String,
            "severity": pl.String,
            "dimension": pl.String,
            "status": pl.String,
            "checked": pl.Int64,
            "violating": pl.Int64,
            "findings": pl.Int64,
            "pass_rate": pl.Float64,
            "owner": pl.String,
            "remediation": pl.String,
        },
    ).sort(["findings", "rule_id"], descending=[True, False])
    owners = report.top_offenders("owner", n=10_000)
    teams = report.top_offenders("team", n=10_000)
    chart_list = []
    if rules.height:
        c, desc = charts.bar(
            rules,
            category="rule_id",
            value="findings",
            title="Findings by rule",
            what="Findings",
            color="severity",
        )
        chart_list.append(Chart("findings_by_rule", "Findings by rule", desc, "by_rule", c))
    for name, frame, category in (("owner", owners, "owner_id"), ("team", teams, "team")):
        if frame.height:
            c, desc = charts.bar(
                frame,
                category=category,
                value="findings",
                title=f"Findings by {name}",
                what="Findings",
            )
            chart_list.append(
                Chart(f"findings_by_{name}", f"Findings by {name}", desc, f"by_{name}", c)
            )
    details = []
    for rule_id, rows in sorted(findings.partition_by("rule_id", as_dict=True).items()):
        rid = str(rule_id[0])
        shown = rows.drop("rule_id", "dimension").head(DRILL_DOWN_ROWS)
        details.append(
            Table(
                f"records:{rid}",
                f"{rid}: records",
                shown,
                total_rows=rows.height,
                note=_cut_note(
                    rows.height,
                    DRILL_DOWN_ROWS,
                    "the run history, the database outputs and `revgov audit --findings-out`",
                ),
            )
        )
    notes = tuple(f"{r.id} is not applicable: {r.reason}" for r in report.results if r.reason)
    return Section(
        id="findings",
        title="Findings by rule, owner and team",
        intro="Rules that found violations (or could not run), the owners and teams whose "
        "records they flag, and the records behind each rule.",
        tables=(
            Table("by_rule", "Rules with violations", rules, units={"pass_rate": "share"}),
            Table("by_owner", "Findings per owner", owners),
            Table("by_team", "Findings per team", teams),
        ),
        charts=tuple(chart_list),
        notes=notes,
        details=tuple(details),
    )


def definitions_section(config: Config, stamp: Stamp) -> Section:
    """What every number of the report was computed from."""
    rows = [
        ("config hash", stamp.config_hash),
        ("snapshot", stamp.snapshot or "(frames given in memory)"),
        ("snapshot version", stamp.version_label),
        ("snapshot pulled with config", stamp.snapshot_config_hash or "(not stamped)"),
        ("as of", stamp.as_of.isoformat()),
        ("generated at", stamp.generated_at.isoformat(timespec="seconds")),
        ("run id", stamp.run_id or "(not recorded)"),
        ("revgov", stamp.revgov_version),
        ("engine", stamp.engine),
        ("currency", config.company.currency),
        ("win-rate basis", str(config.kpis.win_rate_basis)),
        ("coverage basis", str(config.kpis.coverage_basis)),
        ("speed-to-lead SLA (business hours)", _sla_text(config)),
        ("SLA time zone", config.sla.timezone),
        (
            "pipelines",
            "; ".join(
                f"{p.name}: " + " → ".join(s.name for s in p.stages) for p in config.pipelines
            )
            or "(none configured)",
        ),
    ]
    notes = []
    if stamp.config_differs:
        notes.append(
            f"The snapshot was pulled with config {stamp.snapshot_config_hash}, not "
            f"{stamp.config_hash}: numbers follow the definitions above, which differ from "
            "those of the pull."
        )
    table = pl.DataFrame(rows, schema={"item": pl.String, "value": pl.String}, orient="row")
    return Section(
        id="definitions",
        title="Definitions behind every number",
        intro="Each number above was computed with these definitions (their hash) from this "
        "snapshot version, as of this moment.",
        tables=(Table("definitions", "Definitions and provenance", table),),
        notes=tuple(notes),
    )


def _sla_text(config: Config) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in config.sla.speed_to_lead_hours.items())
