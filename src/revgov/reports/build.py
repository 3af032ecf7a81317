"""Assemble a :class:`~revgov.reports.document.RevenueReport` of one cadence from a snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from revgov.config import Config
from revgov.errors import ConfigValidationError
from revgov.reports import cadences, governance, spine
from revgov.reports._format import as_utc
from revgov.reports._inputs import Inputs
from revgov.reports.diff import diff_findings
from revgov.reports.document import CADENCES, Cadence, RevenueReport, Section, Stamp
from revgov.reports.history import RunHistory
from revgov.reports.runs import findings_with_owners
from revgov.rules import Report, audit

__all__ = ["TITLES", "build_report"]

TITLES: dict[Cadence, str] = {
    "audit": "Revenue governance report",
    "weekly": "Weekly scoreboard",
    "monthly": "Monthly pipeline review",
    "quarterly": "Quarterly reforecast",
}


def _previous(
    report: Report, history: RunHistory | None, run_id: str | None
) -> tuple[governance.Previous | None, Any]:
    """The run before this one and the trend, from the history (None without one)."""
    if history is None:
        return None, None
    trend = history.trend()
    prev_id = history.previous(run_id) if run_id else history.latest()
    if prev_id is None:
        return None, trend
    prev_row = trend.filter(trend["run_id"] == prev_id)
    diff = diff_findings(
        history.findings(prev_id),
        findings_with_owners(report),
        before_id=prev_id,
        after_id=run_id,
    )
    score = prev_row["score"][0] if prev_row.height else None
    return governance.Previous(prev_id, score, trend, diff), trend


def _sections(
    cadence: Cadence, inp: Inputs, report: Report, previous: Any, trend: Any
) -> list[Section]:
    head = [
        governance.scorecard_section(report, previous),
        governance.history_section(report, previous, trend),
    ]
    body: list[Section]
    if cadence == "weekly":
        body = [
            cadences.weekly_section(inp),
            spine.speed_section(inp),
            spine.time_in_stage_section(inp),
        ]
    elif cadence == "monthly":
        body = [
            cadences.monthly_section(inp),
            spine.funnel_section(inp),
            spine.pipeline_section(inp),
        ]
    elif cadence == "quarterly":
        body = [*cadences.quarterly_section(inp), spine.pipeline_section(inp)]
    else:
        builders: list[Callable[[Inputs], Section]] = [
            spine.funnel_section,
            spine.time_in_stage_section,
            spine.speed_section,
            spine.pipeline_section,
            spine.scenarios_section,
        ]
        body = [b(inp) for b in builders]
        body.append(governance.findings_section(report, findings_with_owners(report)))
    return [*head, *body, governance.definitions_section(inp.config, inp.stamp)]


def build_report(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | None = None,
    cadence: Cadence = "audit",
    snapshot: str | Path | None = None,
    snapshot_version: int | None = None,
    snapshot_config_hash: str | None = None,
    history: RunHistory | None = None,
    run_id: str | None = None,
    audit_report: Report | None = None,
) -> RevenueReport:
    """The report of ``cadence`` on a snapshot's ``frames`` (entity to frame, any engine).

    ``as_of`` (default now) is the moment every number is measured at. ``snapshot``,
    ``snapshot_version`` and ``snapshot_config_hash`` say which data the frames are (stamped
    on every section). With a ``history``, the report shows the trend of the recorded runs
    and what changed since the run before ``run_id`` (this report's own run, when it was
    recorded; else since the latest). ``audit_report`` reuses an audit of the same frames.
    """
    if cadence not in CADENCES:
        raise ConfigValidationError(
            f"unknown cadence {cadence!r}", hint=f"use one of: {', '.join(CADENCES)}"
        )
    moment = as_utc(as_of)
    report = audit_report or audit(frames, config=config, as_of=moment)
    from revgov import __version__

    stamp = Stamp(
        config_hash=config.config_hash,
        snapshot=None if snapshot is None else str(snapshot),
        snapshot_version=snapshot_version,
        snapshot_config_hash=snapshot_config_hash,
        as_of=moment,
        generated_at=datetime.now(UTC),
        revgov_version=__version__,
        engine=report.engine,
        currency=config.company.currency,
        run_id=run_id,
        company=config.company.name or "",
    )
    inp = Inputs(frames, config, moment, stamp)
    previous, trend = _previous(report, history, run_id)
    return RevenueReport(
        cadence=cadence,
        title=TITLES[cadence],
        stamp=stamp,
        sections=tuple(_sections(cadence, inp, report, previous, trend)),
        audit=report,
        diff=previous.diff if previous else None,
    )
