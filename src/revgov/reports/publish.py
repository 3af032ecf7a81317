"""What happens to an audit run after it is computed: recorded in the run history beside the
snapshot, written to a database (``--to``), announced on a webhook (``--notify``).

``revgov audit`` and ``revgov report`` both go through :func:`record_run` then
:func:`deliver`, so a run is recorded, stored and announced the same way whichever made it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from revgov.errors import OutputError
from revgov.reports.diff import RunDiff, diff_findings
from revgov.reports.history import RunHistory
from revgov.reports.runs import RunTables, new_run_id, run_tables
from revgov.rules import Report

if TYPE_CHECKING:
    from revgov.reports.database import WriteSummary

__all__ = ["RecordedRun", "deliver", "record_run"]


@dataclass
class RecordedRun:
    """One run's tables, the history it went to (None when not recorded) and the run
    recorded before it."""

    report: Report
    history: RunHistory | None
    previous_id: str | None
    recorded: bool
    run_id: str
    snapshot_version: int | None = None
    messages: list[str] = field(default_factory=list)
    build_tables: Callable[[], RunTables] | None = field(default=None, repr=False)

    @cached_property
    def tables(self) -> RunTables:
        """The run's tables, made when first read: a run neither recorded nor delivered
        never copies its findings into a findings table (a copy as large as the findings)."""
        if self.build_tables is None:
            raise ValueError("a RecordedRun needs build_tables to make its tables")
        return self.build_tables()

    @cached_property
    def diff(self) -> RunDiff | None:
        """This run's findings against the previous run's (None without one)."""
        if self.history is None or self.previous_id is None:
            return None
        return diff_findings(
            self.history.findings(self.previous_id),
            # The alert's diff: the one place a recorded run reads its findings into memory.
            self.tables.findings_df(),
            before_id=self.previous_id,
            after_id=self.run_id if self.recorded else None,
        )

    @cached_property
    def previous_score(self) -> float | None:
        if self.history is None or self.previous_id is None:
            return None
        runs = self.history.runs().filter(pl.col("run_id") == self.previous_id)
        return runs["score"][0] if runs.height else None


def record_run(
    report: Report,
    *,
    snapshot: str | Path | None,
    snapshot_version: int | None = None,
    snapshot_config_hash: str | None = None,
    command: str = "audit",
    record: bool = True,
    storage_options: Mapping[str, str] | None = None,
) -> RecordedRun:
    """The run's tables, appended to the history beside ``snapshot`` unless ``record`` is
    false (or there is no snapshot location, e.g. frames given in memory)."""
    moment = datetime.now(UTC)
    run_id = new_run_id(moment)

    def build() -> RunTables:
        return run_tables(
            report,
            run_id=run_id,
            recorded_at=moment,
            command=command,
            snapshot=None if snapshot is None else str(snapshot),
            snapshot_version=snapshot_version,
            snapshot_config_hash=snapshot_config_hash,
        )

    history = (
        RunHistory.of_snapshot(snapshot, storage_options=storage_options)
        if snapshot is not None
        else None
    )
    previous = history.latest() if history is not None else None
    recorded = bool(record and history is not None)
    run = RecordedRun(
        report, history, previous, recorded, run_id, snapshot_version, build_tables=build
    )
    messages: list[str] = []
    if recorded and history is not None:
        try:
            history.record(run.tables)
        except OutputError as exc:
            # An audit of a snapshot this user cannot write (read-only copy, object storage
            # without credentials) still reports; that the run was not kept is said.
            recorded = False
            messages.append(f"warning: run not recorded: {exc.message} (--no-record skips it)")
    run.recorded = recorded
    run.messages.extend(messages)
    return run


def deliver(
    run: RecordedRun,
    *,
    to: str | None = None,
    notify_env: str | None = None,
    kpi_tables: Mapping[str, pl.DataFrame] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> WriteSummary | None:
    """Write the run to the database ``to`` (with ``kpi_tables`` as KPI values) and post
    the alert to the webhook in the environment variable ``notify_env``; say what was
    done in ``run.messages``."""
    written = None
    if to is not None:
        from revgov.reports.database import write_results

        tables = run.tables.with_kpis(kpi_tables) if kpi_tables else run.tables
        written = write_results(to, tables)
        total = sum(written.rows.values())
        run.messages.append(f"wrote run {run.run_id} ({total:,} rows) to {written.target}")
    if notify_env is not None:
        from revgov.reports.notify import Alert, post_alert, webhook_from_env

        url = webhook_from_env(notify_env)
        alert = Alert.of(
            run.report,
            run.diff,
            previous_score=run.previous_score,
            snapshot_version=run.snapshot_version,
            run_id=run.run_id if run.recorded else None,
        )
        post_alert(url, alert, verify=verify)
        run.messages.append(f"alert posted to the webhook in ${notify_env}")
    return written
