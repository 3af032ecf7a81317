"""Assemble a :class:`~revgov.reports.document.RevenueReport` of one cadence from a snapshot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from revgov.config import Config
from revgov.errors import ConfigValidationError
from revgov.reports import cadences, governance, plays, spine
from revgov.reports._format import as_utc as as_of_utc
from revgov.reports._inputs import Inputs
from revgov.reports.diff import diff_findings
from revgov.reports.document import CADENCES, Cadence, RevenueReport, Section, Stamp
from revgov.reports.history import RunHistory
from revgov.reports.runs import findings_with_owners
from revgov.rules import Report, audit
from revgov.rules.packs.baseline.pulled import PULLED, PULLED_KEY

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


def _body(cadence: Cadence, inp: Inputs) -> list[Section]:
    """The KPI and cadence sections (they do not need the audit)."""
    if cadence == "weekly":
        active = plays.plays_section(inp)
        return [
            cadences.weekly_section(inp),
            *([active] if active is not None else []),
            spine.speed_section(inp),
            spine.time_in_stage_section(inp),
        ]
    if cadence == "monthly":
        return [
            cadences.monthly_section(inp),
            spine.funnel_section(inp),
            spine.pipeline_section(inp),
        ]
    if cadence == "quarterly":
        return [*cadences.quarterly_section(inp), spine.pipeline_section(inp)]
    builders: list[Callable[[Inputs], Section]] = [
        spine.funnel_section,
        spine.time_in_stage_section,
        spine.speed_section,
        spine.pipeline_section,
        spine.scenarios_section,
    ]
    return [b(inp) for b in builders]


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
    record: Callable[[Report], str | None] | None = None,
    pulled: Any = None,
) -> RevenueReport:
    """The report of ``cadence`` on a snapshot's ``frames`` (entity to frame, any engine).

    ``as_of`` (default now) is the moment every number is measured at. ``snapshot``,
    ``snapshot_version`` and ``snapshot_config_hash`` say which data the frames are (stamped
    on every section). With a ``history``, the report shows the trend of the recorded runs
    and what changed since the run before ``run_id`` (this report's own run, when it was
    recorded; else since the latest). ``audit_report`` reuses an audit of the same frames;
    otherwise the audit runs on a worker thread while the KPI sections compute (both are
    mostly native code that releases the GIL). ``record``, called with the audit as soon as
    it is done, records it and returns its run id (the CLI records the run this way).
    ``pulled`` (a snapshot's ``SnapshotStore.pulled()``) lets the audit's rule on quarantined
    rows run; without it that rule is not applicable.
    """
    if cadence not in CADENCES:
        raise ConfigValidationError(
            f"unknown cadence {cadence!r}", hint=f"use one of: {', '.join(CADENCES)}"
        )
    moment = as_of_utc(as_of)

    def run_audit() -> Report:
        if audit_report is not None:
            return audit_report
        if pulled is None:
            return audit(frames, config=config, as_of=moment)
        return audit(
            {**frames, PULLED: pulled},
            config=config,
            as_of=moment,
            keys={PULLED: PULLED_KEY},
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revgov-audit") as pool:
        pending = pool.submit(run_audit)
        body = _body(cadence, Inputs(frames, config, moment))
        report = pending.result()
    if record is not None:
        run_id = record(report)
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
    previous, trend = _previous(report, history, run_id)
    tail = [governance.definitions_section(config, stamp)]
    if cadence == "audit":
        tail.insert(0, governance.findings_section(report, findings_with_owners(report)))
    head = [
        governance.scorecard_section(report, previous),
        governance.history_section(report, previous, trend),
    ]
    return RevenueReport(
        cadence=cadence,
        title=TITLES[cadence],
        stamp=stamp,
        sections=(*head, *body, *tail),
        audit=report,
        diff=previous.diff if previous else None,
    )
