"""CLI: ``revgov metrics`` (the KPI spine on a snapshot) and ``revgov forecast`` (the funnel
model: fitted assumptions, forward bookings, backward plan).

Both find the config as ``revgov audit`` does (``--config``, else the definitions the snapshot
was pulled with, else ./revgov.toml) and warn, on stderr and in the output (a ``warnings``
list in JSON, ``# warning=`` lines in CSV), when it is not the one the snapshot was pulled
with; ``--strict`` makes that an error (RG104). ``--as-of`` defaults to a demo snapshot's ``as_of``, else now; every KPI is
measured as of that moment. Exit codes (see :mod:`revgov.cli`): 2 for a bad argument (an
unknown ``--kpi``, a ``--by`` column the KPI's input lacks, a bad ``--every`` or
``--as-of``), 3 for a revgov error. CSV output starts with ``# key=value`` comment lines
(``config_hash``, ``as_of``...): read it with ``comment_prefix="#"``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from revgov import display
from revgov._typing import ConversionBasis, TableFormat
from revgov.cli._console import TerminalConsole
from revgov.cli._context import (
    AtOpt,
    ConfigOpt,
    SnapshotOpt,
    StrictOpt,
    VersionOpt,
    demo_as_of,
    open_with_definitions,
    parse_as_of,
    quarantine_line,
)
from revgov.config import Config
from revgov.demo import DemoOutput
from revgov.errors import MetricInputError, RevgovError
from revgov.metrics import (
    by_closeness,
    check_options,
    compute,
    frame_columns,
    get_kpi,
    groupable_columns,
    kpi_notes,
    kpis,
    naive_utc,
    parse_every,
    prepare_frames,
    quarterly_reforecast,
    row_count,
    spilled_frames,
)
from revgov.store import SnapshotStore

__all__ = ["demo_metrics", "forecast_cmd", "metrics_cmd"]

console = TerminalConsole()
err_console = TerminalConsole(stderr=True)


AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Measure as of this date or time: later records, events and closes are left "
        "out (ISO; default: a demo snapshot's as_of, else now, UTC).",
    ),
]
FormatOpt = Annotated[
    TableFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output as a table, JSON or CSV (CSV starts with `# config_hash=...` lines).",
    ),
]


def _load(
    config: Path | None,
    snapshot: Path | None,
    version: int | None = None,
    at: str | None = None,
    *,
    strict: bool = False,
) -> tuple[Config, SnapshotStore, list[str]]:
    """The config found as `revgov audit` finds it, the snapshot, and the warnings to put in
    the output (also printed on stderr, with a note when there is no config at all)."""
    defs, store = open_with_definitions(config, snapshot, version, at, strict=strict)
    if defs.origin == "default":
        err_console.print(
            "note: no revgov.toml found; computed with the default definitions", style="yellow"
        )
    for w in defs.warnings():
        err_console.print(f"warning: {w}", style="yellow", highlight=False, soft_wrap=True)
    return defs.config, store, defs.warnings()


def _quarantine_meta(store: SnapshotStore) -> dict[str, Any]:
    """Rows in quarantine per entity, and the KPIs each feeds (said on stderr too)."""
    counts = store.quarantine_counts()
    touched = {e: [d.name for d in kpis().values() if e in d.inputs] for e in counts}
    line = quarantine_line(store, touched)
    if line:
        err_console.print(line, style="yellow", highlight=False, soft_wrap=True)
    return {"quarantined": counts or None, "quarantine_touches": touched or None}


def _moment(given: datetime | None, store: SnapshotStore) -> datetime:
    """``--as-of``, else the demo's as_of beside the snapshot, else now (naive UTC)."""
    return naive_utc(given if given is not None else demo_as_of(store.root))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _collect(frame: Any) -> pl.DataFrame:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame
    raise MetricInputError(f"unexpected result type {type(frame).__name__}")  # pragma: no cover


def _display_frame(frame: pl.DataFrame, title: str, currency: str | None) -> pl.DataFrame:
    """``frame`` as the text a table shows: every number formatted by its unit
    (:mod:`revgov.display`); the headline table writes each value in its KPI's unit and drops
    the columns that only JSON and CSV need."""
    if title == "metrics" and {"value", "unit"} <= set(frame.columns):
        values = [
            display.value(v, u, currency=currency) if v is not None else display.MISSING
            for v, u in zip(frame["value"], frame["unit"], strict=True)
        ]
        # KPIs without a value (and why) after those with one.
        frame = (
            frame.with_columns(pl.Series("value", values, pl.String))
            .sort(pl.col("value") == display.MISSING, maintain_order=True)
            .drop("column", "unit", strict=False)
        )
    # Tables of forecast assumptions and plan items hold one quantity per row (a win rate, a
    # deal size, a cycle in days): their numbers take the unit the row names, not the column.
    named = next((c for c in ("assumption", "item") if c in frame.columns), None)
    row_units = [display.column_unit(n) if n else "number" for n in frame[named]] if named else None
    columns = {}
    for name, dtype in frame.schema.items():
        unit = display.column_unit(name) if dtype.is_numeric() else "number"
        units = (
            row_units
            if row_units and dtype.is_numeric() and name in ("value", "low", "high")
            else [unit] * frame.height
        )
        cells = [
            display.cell(v, u, currency=currency) for v, u in zip(frame[name], units, strict=True)
        ]
        columns[name] = pl.Series(name, cells, pl.String)
    return pl.DataFrame(columns)


def _print_table(frame: pl.DataFrame, title: str, currency: str | None = None) -> None:
    """A table that fits the console (80 columns when piped, ``COLUMNS`` when set): names and
    numbers are never cut, text wraps, and when even that does not fit, the rightmost text
    columns are left out, then the rightmost numbers (named in the caption; JSON and CSV
    have every column)."""
    numeric = {n for n, t in frame.schema.items() if t.is_numeric() or t.is_temporal()}
    if title == "metrics":
        numeric.add("value")
    shown = _display_frame(frame, title, currency)
    dropped: list[str] = []
    while True:
        # Tighter padding first, then text columns left out.
        layouts = (_table(shown, title, numeric, dropped, compact=c) for c in (False, True))
        table = display.first_fitting(layouts, console, wrapped=True)
        # Numbers cannot wrap: with no text left to leave out, the rightmost numbers go
        # (time_in_stage's p90_days at 80 columns), never a number cut in two.
        droppable = [c for c in shown.columns[1:] if c not in numeric] or shown.columns[1:]
        if not droppable or display.table_width(table, console, wrapped=True) <= console.width:
            break
        dropped.insert(0, droppable[-1])
        shown = shown.drop(droppable[-1])
    console.print(table)


def _table(
    shown: pl.DataFrame, title: str, numeric: set[str], dropped: list[str], *, compact: bool
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=not compact,
        collapse_padding=compact,
    )
    for i, name in enumerate(shown.columns):
        keep = i == 0 or name in numeric
        width = max([len(v) for v in shown[name]] + [len(name)]) if keep else None
        table.add_column(
            name,
            justify="right" if name in numeric else "left",
            no_wrap=keep,
            min_width=width,
            overflow="fold",
        )
    for row in shown.iter_rows():
        table.add_row(*row)
    if dropped:
        table.caption = f"left out at this width: {', '.join(dropped)} (see --format json or csv)"
    return table


def _meta_text(value: Any) -> str:
    """A stamp value on one line: ``{"people": 3}`` as ``people:3``."""
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def _emit(
    tables: dict[str, pl.DataFrame],
    fmt: TableFormat,
    meta: dict[str, Any],
    csv_table: str,
    notes: list[str] | None = None,
    currency: str | None = None,
) -> None:
    """Write ``tables`` with the ``meta`` stamp and the ``notes`` (what a KPI leaves out or
    cannot say): JSON ``notes``, CSV ``# note=`` comment lines, lines under a table."""
    notes = notes or []
    if fmt == "json":
        payload = dict(meta)
        if notes:
            payload["notes"] = notes
        payload["tables"] = {
            name: [{k: _json_value(v) for k, v in row.items()} for row in t.iter_rows(named=True)]
            for name, t in tables.items()
        }
        typer.echo(json.dumps(payload, indent=2))
    elif fmt == "csv":
        if csv_table not in tables:
            raise MetricInputError(
                f"no table {csv_table!r} to write as CSV",
                hint=f"choose one of: {', '.join(tables)}",
            )
        # The stamp goes first as comment lines (polars: read_csv(comment_prefix="#")).
        stamp = "".join(
            f"# {k}={_meta_text(v)}\n"
            for k, v in meta.items()
            if v is not None and k not in ("warnings", "quarantine_touches")
        )
        stamp += "".join(f"# warning={w}\n" for w in meta.get("warnings", []))
        stamp += "".join(f"# note={_one_line(n)}\n" for n in notes)
        typer.echo(stamp + tables[csv_table].write_csv(), nl=False)
    else:
        for name, t in tables.items():
            _print_table(t, name, currency)
        for n in notes:
            console.print(f"note: {n}", highlight=False, markup=False)
        # Warnings went to stderr (where a terminal shows them apart from the tables).
        stamp = ", ".join(
            f"{k} {_meta_text(v)}"
            for k, v in meta.items()
            if v is not None and k not in ("warnings", "quarantine_touches")
        )
        console.print(stamp, highlight=False, style="dim")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _summary(frames: dict[str, Any], cfg: Config, as_of: datetime) -> pl.DataFrame:
    """One headline number per KPI, or why there is none."""
    counts: dict[str, int] = {}

    def present(entity: str) -> bool:
        if entity not in counts:
            counts[entity] = row_count(frames[entity]) if entity in frames else 0
        return counts[entity] > 0

    rows = []
    for d in kpis().values():
        if d.headline is None:
            continue
        missing = [e for e in d.inputs if not present(e)]
        value: float | None = None
        note = ""
        if missing:
            note = "no " + ", ".join(missing) + " in the snapshot"
        else:
            try:
                out = _collect(compute(d.name, frames, cfg, as_of=as_of, prepared=True))
                notes = kpi_notes(d.name, frames, cfg, as_of=as_of, prepared=True)
            except RevgovError as exc:
                note = exc.message
            else:
                raw = out[d.headline][0] if out.height else None
                value = float(raw) if raw is not None else None
                if value is None and not notes:
                    notes = ["no value: nothing in the snapshot meets its definition"]
                note = "; ".join(notes)
        rows.append(
            {
                "kpi": d.name,
                "value": value,
                "unit": d.headline_label,
                "column": d.headline,
                "note": note,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "kpi": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "column": pl.String,
            "note": pl.String,
        },
    )


def metrics_cmd(
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    kpi: Annotated[
        str | None,
        typer.Option("--kpi", "-k", help="One KPI's full table (default: headline values)."),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by this column (repeatable): any column of the KPI's input, or an "
            "enrichment: owner_region, owner_team, owner_role, owner_manager, "
            "account_segment, account_industry, account_country.",
        ),
    ] = None,
    basis: Annotated[
        ConversionBasis | None,
        typer.Option(
            "--basis",
            help="Win rates and opportunity_to_win: 'cohort' places deals in the period "
            "they were created in (closed deals only), 'period' in the period they closed in.",
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            help="Period: 1d, 1w, 1mo, 1q or 1y (quarters and years are fiscal when "
            "kpis.fiscal_calendar is true).",
        ),
    ] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = "table",
    list_: Annotated[bool, typer.Option("--list", help="List the KPIs and exit.")] = False,
    version: VersionOpt = None,
    at: AtOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Compute the KPI spine on a snapshot: headline values, or one KPI's table."""
    registry = kpis()
    if list_:
        listing = pl.DataFrame(
            {
                "kpi": list(registry),
                "title": [d.title for d in registry.values()],
                "unit": [d.unit for d in registry.values()],
                "inputs": [", ".join(d.inputs) for d in registry.values()],
            }
        )
        _emit({"kpis": listing}, fmt, {}, "kpis")
        return
    if kpi is None and (by or every or basis):
        raise typer.BadParameter(
            "--by, --every and --basis need --kpi NAME", param_hint="--by/--every/--basis"
        )
    if kpi is not None:
        try:
            get_kpi(kpi)
        except MetricInputError as exc:
            raise typer.BadParameter(exc.message, param_hint="--kpi") from None
    try:
        parse_every(every)
    except MetricInputError as exc:
        raise typer.BadParameter(
            f"unsupported period {every!r}: {exc.hint}", param_hint="--every"
        ) from None
    moment_given = parse_as_of(as_of) if as_of is not None else None
    cfg, store, warnings = _load(config, snapshot, version, at, strict=strict)
    moment = _moment(moment_given, store)
    frames = prepare_frames(store.frames(), cfg, as_of=moment)
    meta = {
        "snapshot": store.uri,
        "snapshot_version": store.version,
        "config_hash": cfg.config_hash,
        "snapshot_config_hash": store.config_hash,
        "as_of": moment.isoformat(),
        "warnings": warnings,
        **_quarantine_meta(store),
    }
    if kpi is None:
        # Prepared once for every KPI, on disk rather than in memory (bounded memory).
        with spilled_frames(frames) as ready:
            summary = _summary(ready, cfg, moment)
        _emit({"metrics": summary}, fmt, meta, "metrics", currency=cfg.company.currency)
        return
    _check_usage(kpi, frames, by, every, basis)
    result = _collect(
        compute(kpi, frames, cfg, by=by, every=every, basis=basis, as_of=moment, prepared=True)
    )
    notes = kpi_notes(
        kpi, frames, cfg, by=by, every=every, basis=basis, as_of=moment, prepared=True
    )
    _emit(
        {kpi: result}, fmt, {"kpi": kpi, "basis": basis, **meta}, kpi, notes, cfg.company.currency
    )


def forecast_cmd(
    snapshot: SnapshotOpt = None,
    config: ConfigOpt = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Fit the funnel per value of this column (default: none)."),
    ] = None,
    as_of: AsOfOpt = None,
    months: Annotated[int, typer.Option("--months", min=1, help="Months to forecast.")] = 3,
    window_days: Annotated[
        int, typer.Option("--window-days", min=1, help="Trailing days of history to fit.")
    ] = 365,
    target: Annotated[
        float | None,
        typer.Option(
            "--target",
            help="Bookings target to plan backward from (default: bookings targets of "
            "the forecast months, if any).",
        ),
    ] = None,
    conservative: Annotated[
        float | None,
        typer.Option("--conservative", help="Multiplier for the conservative case, e.g. 0.8."),
    ] = None,
    aggressive: Annotated[
        float | None,
        typer.Option("--aggressive", help="Multiplier for the aggressive case, e.g. 1.2."),
    ] = None,
    fmt: FormatOpt = "table",
    table: Annotated[
        str,
        typer.Option(
            "--table",
            help="With --format csv: assumptions, scenarios, forward, backward or statement.",
        ),
    ] = "forward",
    version: VersionOpt = None,
    at: AtOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Refit the funnel model and forecast bookings forward and plan backward."""
    if (conservative is None) != (aggressive is None):
        raise typer.BadParameter(
            "give both --conservative and --aggressive, or neither",
            param_hint="--conservative/--aggressive",
        )
    multipliers = (
        {"conservative": conservative, "aggressive": aggressive}
        if conservative is not None and aggressive is not None
        else None
    )
    moment_given = parse_as_of(as_of) if as_of is not None else None
    cfg, store, warnings = _load(config, snapshot, version, at, strict=strict)
    moment = _moment(moment_given, store)
    frames = store.frames()
    if by is not None:
        _check_forecast_by(by, frames)
    result = quarterly_reforecast(
        frames,
        cfg,
        as_of=moment,
        target=target,
        multipliers=multipliers,
        by=by,
        months=months,
        window_days=window_days,
    )
    tables = {name: _collect(t) for name, t in result.tables().items()}
    meta = {
        "snapshot": store.uri,
        "snapshot_version": store.version,
        "config_hash": cfg.config_hash,
        "snapshot_config_hash": store.config_hash,
        "as_of": moment.isoformat(),
        "warnings": warnings,
        **_quarantine_meta(store),
    }
    _emit(tables, fmt, meta, table, currency=cfg.company.currency)


def _check_usage(
    kpi: str,
    frames: dict[str, Any],
    by: list[str] | None,
    every: str | None,
    basis: str | None = None,
) -> None:
    """A ``--by``, ``--every`` or ``--basis`` the KPI cannot take is a usage error (exit 2)
    that lists the columns it can group by, closest first (or the KPIs that take a basis)."""
    definition = get_kpi(kpi)
    try:
        check_options(definition, frames, by=by, every=every, basis=basis)
    except MetricInputError as exc:
        if basis and "basis" in exc.message:
            raise typer.BadParameter(f"{exc.message} ({exc.hint})", param_hint="--basis") from None
        raise typer.BadParameter(exc.message, param_hint="--by/--every") from None
    if by and groupable_columns(definition, frames) is None:
        missing = [e for e in definition.grouped_by if frames.get(e) is None]
        raise typer.BadParameter(
            f"{kpi} groups by columns of {', '.join(missing)}, which the snapshot lacks",
            param_hint="--by",
        )


def _check_forecast_by(by: str, frames: dict[str, Any]) -> None:
    """``forecast --by`` names a column of the opportunities (and of people, if any)."""
    for entity in ("opportunities", "people"):
        if frames.get(entity) is None or row_count(frames[entity]) == 0:
            continue
        names = frame_columns(frames[entity])
        if by not in names:
            close = by_closeness(by, names)
            raise typer.BadParameter(
                f"{entity} have no column {by!r}; the columns, closest first: {', '.join(close)}",
                param_hint="--by",
            )


def demo_metrics(output: DemoOutput, out_console: Console) -> None:
    """After ``revgov demo``: the headline KPIs of the demo CRM as of its ``as_of``."""
    data = output.data
    moment = naive_utc(str(data.manifest["as_of"]))
    frames = prepare_frames(
        {e: f.lazy() for e, f in data.frames.items()}, data.config, as_of=moment
    )
    summary = _summary(frames, data.config, moment).filter(pl.col("value").is_not_null())
    table = Table(box=box.SIMPLE, title="headline KPIs")
    # At 80 columns the unit wraps; a KPI's name and its value are never cut.
    table.add_column("kpi", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("unit")
    for row in summary.iter_rows(named=True):
        shown = display.value(row["value"], row["unit"], currency=data.config.company.currency)
        table.add_row(row["kpi"], shown, row["unit"])
    out_console.print(table)
    out_console.print(
        f"every KPI: revgov metrics --config {output.config_path} --snapshot "
        f"{output.snapshot_dir} --as-of {moment.date().isoformat()} --list",
        highlight=False,
    )
