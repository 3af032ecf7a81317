"""CLI: ``revgov report``: the audit and the KPI spine of a snapshot as one self-contained HTML
file (or Markdown, or JSON), for a cadence: audit (default), weekly, monthly or quarterly.

The report's audit is recorded in the snapshot's run history like ``revgov audit`` (unless
``--no-record``), so the page shows the trend and what changed since the previous run;
``--to`` and ``--notify`` store and announce it as ``revgov audit`` does. Exit codes (see
:mod:`revgov.cli`): 0 when the report was written, 2 for a bad argument, 3 for a revgov error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from revgov._typing import DocumentFormat
from revgov.cli._console import TerminalConsole
from revgov.cli._context import (
    AtOpt,
    ConfigOpt,
    SnapshotOpt,
    StrictOpt,
    VersionOpt,
    demo_as_of,
    open_snapshot,
    open_with_definitions,
    parse_as_of,
)
from revgov.config import Config
from revgov.demo import DemoOutput
from revgov.errors import OutputWriteError
from revgov.reports import CADENCES, RunHistory, build_report
from revgov.reports.publish import RecordedRun, deliver, record_run
from revgov.rules import Report
from revgov.store import SnapshotStore

__all__ = [
    "NotifyEnvOpt",
    "NotifyOpt",
    "OpenSnapshot",
    "RecordOpt",
    "ToOpt",
    "demo_report",
    "notify_var",
    "publish_audit",
    "read_snapshot",
    "report_cmd",
    "write_report",
]

console = TerminalConsole()
err_console = TerminalConsole(stderr=True)

# typer takes an option's choices from an enum (not from a Literal computed at runtime).
CadenceOpt = StrEnum("CadenceOpt", {c: c for c in CADENCES})  # type: ignore[misc]

ToOpt = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="Also append the run to a database: duckdb:///path.db or "
        "postgresql://user@host:5432/db (tables in docs/outputs.md).",
    ),
]
NotifyOpt = Annotated[
    bool,
    typer.Option(
        "--notify",
        help="Post a short summary to the webhook URL in $REVGOV_NOTIFY_URL (Slack-compatible).",
    ),
]
NotifyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--notify-env",
        metavar="VAR",
        help="Post the summary to the webhook URL in this environment variable instead.",
    ),
]
RecordOpt = Annotated[
    bool,
    typer.Option(
        "--record/--no-record",
        help="Record the run in the snapshot's run history (<snapshot>/_runs/).",
    ),
]


def notify_var(notify: bool, notify_env: str | None) -> str | None:
    """The environment variable holding the webhook URL, if an alert was asked for."""
    if notify_env or not notify:
        return notify_env
    from revgov.reports.notify import DEFAULT_ENV

    return DEFAULT_ENV


@dataclass(frozen=True)
class OpenSnapshot:
    """A snapshot as the report commands read it: one version, its frames and its stamp."""

    path: Path
    frames: dict[str, Any]
    version: int
    config_hash: str | None
    #: The pull's counts per entity (``SnapshotStore.pulled``), for the quarantine rule.
    pulled: Any = None


def read_snapshot(
    path: Path,
    version: int | None = None,
    at: str | None = None,
    *,
    store: SnapshotStore | None = None,
) -> OpenSnapshot:
    """The snapshot at ``--version`` or ``--at`` (default: the latest), and the version read:
    every report, run record, database row and alert carries it."""
    store = store if store is not None else open_snapshot(path, version, at)
    return OpenSnapshot(
        path, dict(store.frames()), store.version, store.config_hash, store.pulled().lazy()
    )


def write_report(text: str, out: Path) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise OutputWriteError(
            f"cannot write the report to {str(out)!r}: {exc.strerror or type(exc).__name__}",
            hint="pass --out FILE in a folder this user can write",
        ) from None


def publish_audit(
    report: Report,
    snapshot: OpenSnapshot | SnapshotStore,
    *,
    record: bool,
    to: str | None,
    notify_env: str | None,
    command: str = "audit",
) -> None:
    """Record ``report`` with the snapshot version it audited, write it ``to`` a database,
    post the alert (``revgov audit`` after its audit); what was done goes to stderr."""
    run = record_run(
        report,
        snapshot=snapshot.path if isinstance(snapshot, OpenSnapshot) else snapshot.uri,
        snapshot_version=snapshot.version,
        snapshot_config_hash=snapshot.config_hash,
        command=command,
        record=record,
    )
    deliver(run, to=to, notify_env=notify_env)
    for message in run.messages:
        err_console.print(message, highlight=False)


def _default_out(cadence: str, snapshot: Path) -> Path:
    return snapshot.parent / "reports" / f"{cadence}.html"


def report_cmd(
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    cadence: Annotated[
        CadenceOpt, typer.Option("--cadence", help="Which review the report serves.")
    ] = CadenceOpt.audit,  # type: ignore[attr-defined]
    fmt: Annotated[
        DocumentFormat, typer.Option("--format", "-f", help="HTML, Markdown or JSON.")
    ] = "html",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write (default: reports/<cadence>.html "
            "beside the snapshot for HTML, standard output otherwise).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Measure as of this moment (ISO; default: a demo's as_of, else now, UTC).",
        ),
    ] = None,
    record: RecordOpt = True,
    to: ToOpt = None,
    notify: NotifyOpt = False,
    notify_env: NotifyEnvOpt = None,
    version: VersionOpt = None,
    at: AtOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Write the report of a snapshot: scorecard, funnel, speed to lead, pipeline,
    scenarios, findings, trend and changes since the last run."""
    moment_given = parse_as_of(as_of) if as_of else None
    defs, store = open_with_definitions(config, snapshot, version, at, strict=strict)
    cfg = defs.config
    # The report itself says when the definitions differ from the snapshot's (its stamp).
    for w in defs.warnings():
        err_console.print(f"warning: {w}", style="yellow", highlight=False, soft_wrap=True)
    snapshot = store.root
    moment = moment_given or demo_as_of(snapshot)
    snap = read_snapshot(snapshot, store=store)
    text = render_report(
        snap,
        cfg,
        moment,
        str(cadence.value),
        fmt,
        record=record,
        to=to,
        notify_env=notify_var(notify, notify_env),
    )
    if out is None and fmt != "html":
        typer.echo(text)
        return
    target = out or _default_out(str(cadence.value), snapshot)
    write_report(text, target)
    size = target.stat().st_size
    console.print(f"wrote {target} ({size / 1e6:.1f} MB)", highlight=False)


def demo_report(output: DemoOutput, out_console: Console) -> None:
    """After ``revgov demo``: the HTML report of the demo snapshot, its path printed."""
    moment = datetime.fromisoformat(str(output.data.manifest["as_of"]))
    snap = read_snapshot(output.snapshot_dir)
    text = render_report(snap, output.data.config, moment, "audit", "html", command="demo")
    target = output.out_dir / "report.html"
    write_report(text, target)
    out_console.print(f"HTML report: {target}", highlight=False, soft_wrap=True)


def render_report(
    snap: OpenSnapshot,
    cfg: Config,
    moment: Any,
    cadence: str,
    fmt: DocumentFormat,
    *,
    record: bool = True,
    to: str | None = None,
    notify_env: str | None = None,
    command: str = "report",
) -> str:
    """Audit (and record the run), build and render; deliver to ``to`` and ``notify_env``."""
    runs: list[RecordedRun] = []

    def keep(report: Report) -> str | None:
        run = record_run(
            report,
            snapshot=snap.path,
            snapshot_version=snap.version,
            snapshot_config_hash=snap.config_hash,
            command=command,
            record=record,
        )
        runs.append(run)
        return run.run_id if run.recorded else None

    doc = build_report(
        snap.frames,
        cfg,
        as_of=moment,
        cadence=cadence,  # type: ignore[arg-type]
        snapshot=snap.path,
        snapshot_version=snap.version,
        snapshot_config_hash=snap.config_hash,
        history=RunHistory.of_snapshot(snap.path),
        record=keep,
        pulled=snap.pulled,
    )
    deliver(runs[0], to=to, notify_env=notify_env, kpi_tables=doc.kpi_tables())
    for message in runs[0].messages:
        err_console.print(message, highlight=False)
    if fmt == "json":
        return doc.to_json()
    if fmt == "md":
        return doc.to_markdown()
    return doc.to_html()
