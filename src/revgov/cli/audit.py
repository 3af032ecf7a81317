"""CLI: ``revgov audit``: run the governance rules on a snapshot and report.

Exit codes (see :mod:`revgov.cli`): 0 when no rule at or above ``--fail-on`` fails, 1 when
one does, when nothing was audited (no rule checked a record: an empty snapshot), or, with
``--strict``, when any rule is not applicable; 2 for a bad argument (an unknown ``--rule``
id), 3 for a revgov error (bad config, missing snapshot, with ``--strict`` a config other
than the snapshot's). Every output carries the config hash.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console

from revgov._typing import DIMENSIONS, ReportFormat, Severity
from revgov.cli._console import TerminalConsole
from revgov.cli._context import (
    AtOpt,
    ConfigOpt,
    SnapshotOpt,
    VersionOpt,
    demo_as_of,
    open_with_definitions,
    parse_as_of,
    quarantine_line,
    stamp_line,
)
from revgov.cli.report import NotifyEnvOpt, NotifyOpt, RecordOpt, ToOpt, notify_var, publish_audit
from revgov.config import Config
from revgov.demo import DemoOutput
from revgov.errors import ConfigValidationError, OutputWriteError
from revgov.rules import Report, audit, builtin_rules
from revgov.rules.findings import sort_findings
from revgov.rules.packs.baseline.pulled import PULLED, PULLED_KEY
from revgov.store import SnapshotStore

__all__ = ["audit_cmd", "audit_snapshot", "demo_audit"]

console = TerminalConsole()
err_console = TerminalConsole(stderr=True)


class FailOn(StrEnum):
    info = "info"
    warn = "warn"
    error = "error"
    never = "never"


_SEVERITY: dict[FailOn, Severity] = {
    FailOn.info: "info",
    FailOn.warn: "warn",
    FailOn.error: "error",
}

# typer takes a repeatable option's choices from an enum (not from a list of a Literal).
Dimension = StrEnum("Dimension", {d: d for d in DIMENSIONS})  # type: ignore[misc]


def audit_snapshot(
    snapshot: Path | SnapshotStore,
    config: Config,
    *,
    as_of: datetime | None = None,
    rule_ids: list[str] | None = None,
    dimensions: list[str] | None = None,
) -> Report:
    """Audit every entity of a snapshot (a directory, or a store open at a version); the
    flagged frames go through a temporary directory rather than memory (bounded memory)."""
    store = snapshot if isinstance(snapshot, SnapshotStore) else SnapshotStore(snapshot)
    # The pull's counts too, for the rule on quarantined rows.
    frames = {**store.frames(), PULLED: store.pulled().lazy()}
    with tempfile.TemporaryDirectory(prefix="revgov-audit-") as spill:
        return audit(
            frames,
            config=config,
            as_of=as_of,
            keys={PULLED: PULLED_KEY},
            only=rule_ids or None,
            dimensions=dimensions,
            spill_dir=spill,
        )


def _check_rule_ids(config: Config, rule_ids: list[str]) -> None:
    known = [r.id for r in builtin_rules(config)]
    for rid in rule_ids:
        if rid not in known:
            close = difflib.get_close_matches(rid, known, n=1)
            raise typer.BadParameter(
                f"no rule has the id {rid!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + " (see docs/rules.md)",
                param_hint="--rule",
            )


def _check_findings_out(path: Path) -> None:
    """Before the audit runs: ``--findings-out`` has a known extension and a folder."""
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".json", ".ndjson", ".jsonl"):
        raise ConfigValidationError(
            f"cannot write findings to {str(path)!r}: unknown extension {suffix!r}",
            hint="use .parquet, .csv or .jsonl",
        )
    if not path.parent.is_dir():
        raise OutputWriteError(
            f"cannot write findings to {str(path)!r}: the folder {str(path.parent)!r} does "
            "not exist",
            hint=f"create it first (mkdir -p {path.parent}), or name a file in an existing folder",
        )


def _write_findings(report: Report, path: Path) -> None:
    # Sorted and streamed to the file: findings kept on disk are never all in memory.
    sorted_findings = sort_findings(report.findings_lazy())
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            sorted_findings.sink_parquet(path)
        elif suffix == ".csv":
            sorted_findings.sink_csv(path)
        else:
            sorted_findings.sink_ndjson(path)
    except OSError as exc:
        raise OutputWriteError(
            f"cannot write findings to {str(path)!r}: {exc.strerror or type(exc).__name__}",
            hint="name a file in a folder this user can write",
        ) from None


def audit_cmd(
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Table, JSON or Markdown.")
    ] = "table",
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a rule of this severity or worse fails (beyond its threshold).",
        ),
    ] = FailOn.error,
    rule_ids: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="Run only this rule (repeatable)."),
    ] = None,
    dimension: Annotated[
        list[Dimension] | None,
        typer.Option("--dimension", "-d", help="Run only this dimension (repeatable)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Reference time of SLA and staleness rules (ISO; default: a demo's "
            "as_of, else now, UTC).",
        ),
    ] = None,
    findings_out: Annotated[
        Path | None,
        typer.Option(
            "--findings-out", help="Also write every finding to a .parquet, .csv or .jsonl."
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1 when any rule is not applicable (its inputs are missing or blank); "
            "fail (RG104) when the config is not the one the snapshot was pulled with.",
        ),
    ] = False,
    version: VersionOpt = None,
    at: AtOpt = None,
    record: RecordOpt = True,
    to: ToOpt = None,
    notify: NotifyOpt = False,
    notify_env: NotifyEnvOpt = None,
) -> None:
    """Audit a snapshot against the governed definitions; exit 1 on failing rules."""
    moment_given = parse_as_of(as_of) if as_of else None
    defs, store = open_with_definitions(config, snapshot, version, at, strict=strict)
    cfg = defs.config
    moment = moment_given or demo_as_of(store.root)
    ids = list(rule_ids or [])
    if ids:
        _check_rule_ids(cfg, ids)
    if findings_out is not None:
        _check_findings_out(findings_out)
    dims = [str(d.value) for d in dimension] if dimension else None
    report = audit_snapshot(store, cfg, as_of=moment, rule_ids=ids, dimensions=dims)
    stamp = store.stamp()
    if findings_out is not None:
        _write_findings(report, findings_out)
    publish_audit(report, store, record=record, to=to, notify_env=notify_var(notify, notify_env))
    for w in defs.warnings():
        err_console.print(f"warning: {w}", style="yellow", highlight=False, soft_wrap=True)
    quarantined = quarantine_line(store)
    if fmt == "json":
        extra = {
            "snapshot": stamp,
            "config_origin": defs.origin,
            "warnings": defs.warnings(),
            "quarantined": store.quarantine_counts(),
        }
        typer.echo(json.dumps(report.to_dict() | extra, indent=2, default=str))
    elif fmt == "md":
        warned = "".join(f"\n> **warning:** {w}\n" for w in defs.warnings())
        noted = f"\n_{quarantined}_\n" if quarantined else ""
        typer.echo(report.to_markdown() + f"\n_{stamp_line(stamp)}_\n" + noted + warned)
    else:
        console.print(report)
        if quarantined:
            console.print(quarantined, highlight=False, style="yellow")
        console.print(stamp_line(stamp), highlight=False, style="dim")
        if defs.origin == "default":
            err_console.print(
                "note: no revgov.toml found; audited against the default definitions",
                style="yellow",
            )
    if report.nothing_audited:
        err_console.print(
            "error: nothing was audited: no rule checked a single record (is the snapshot "
            "empty? see the reasons above)",
            style="red",
            highlight=False,
        )
        raise typer.Exit(code=1)
    if strict and report.not_applicable:
        listed = ", ".join(r.id for r in report.not_applicable[:10])
        more = (
            f" and {len(report.not_applicable) - 10} more"
            if len(report.not_applicable) > 10
            else ""
        )
        err_console.print(
            f"error (--strict): {len(report.not_applicable)} rule(s) not applicable: "
            f"{listed}{more}; each reason says which input to provide",
            style="red",
            highlight=False,
        )
        raise typer.Exit(code=1)
    if fail_on is not FailOn.never and report.failing(_SEVERITY[fail_on]):
        raise typer.Exit(code=1)


def demo_audit(output: DemoOutput, out_console: Console) -> None:
    """After ``revgov demo``: audit the demo data and compare with the planted defects."""
    data = output.data
    moment = datetime.fromisoformat(str(data.manifest["as_of"]))
    report = audit({e: f.lazy() for e, f in data.frames.items()}, config=data.config, as_of=moment)
    found = (
        report.findings_lazy()
        .select("entity", "record_id", pl.col("rule_id").alias("defect_kind"))
        .unique()
        .collect()
    )
    planted = data.ground_truth.select("entity", "record_id", "defect_kind").unique()
    kinds = planted["defect_kind"].unique().to_list()
    found_kinds = found.filter(pl.col("defect_kind").is_in(kinds))
    hit = planted.join(found_kinds, on=["entity", "record_id", "defect_kind"], how="semi").height
    extra = found_kinds.join(planted, on=["entity", "record_id", "defect_kind"], how="anti").height
    other = found.filter(~pl.col("defect_kind").is_in(kinds)).height
    s = report.summary()
    m = report.maturity
    out_console.print(
        f"{s['rules']} rules, {s['fail']} failing, {s['findings']:,} findings; score "
        f"{(report.score or 0) * 100:.1f}%; maturity stage {m.stage} ({m.name}); "
        f"config {report.config_hash}",
        highlight=False,
    )
    out_console.print(
        f"planted defects found: {hit:,} of {planted.height:,}; findings not planted: "
        f"{extra + other:,}",
        highlight=False,
    )
    out_console.print(
        f"  run `revgov audit --snapshot {output.snapshot_dir}` for the full report",
        highlight=False,
    )
