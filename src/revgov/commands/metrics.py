"""CLI: ``revgov metrics`` (the KPI spine on a snapshot) and ``revgov forecast`` (the funnel
model: fitted assumptions, forward bookings, backward plan)."""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from revgov.config import Config, load_config
from revgov.errors import MetricInputError, RevgovError
from revgov.metrics._time import naive_utc, parse_every
from revgov.metrics.cadence import quarterly_reforecast
from revgov.metrics.registry import KPIS, compute, get_kpi, prepare_frames, row_count
from revgov.store import SnapshotStore

console = Console()


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="The governed definitions (default: ./revgov.toml if it exists).",
    ),
]
SnapshotOpt = Annotated[
    Path | None,
    typer.Option(
        "--snapshot",
        "-s",
        help="Snapshot directory (default: revgov-snapshot/ beside the config).",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate as of this date or time (ISO; default: now, UTC)."),
]
FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output as a table, JSON or CSV.")
]


def _load(config: Path | None, snapshot: Path | None) -> tuple[Config, SnapshotStore]:
    if config is not None:
        cfg = load_config(config)
    elif Path("revgov.toml").is_file():
        cfg = load_config("revgov.toml")
    else:
        cfg = Config()
    if snapshot is None:
        from revgov.pull import default_snapshot_dir

        snapshot = default_snapshot_dir(cfg)
    return cfg, SnapshotStore(snapshot)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value == value else "NaN"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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


def _print_table(frame: pl.DataFrame, title: str) -> None:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for i, (name, dtype) in enumerate(frame.schema.items()):
        # The row's name (first column) and numbers are never cut short; text may wrap.
        keep = i == 0 or dtype.is_numeric() or dtype.is_temporal()
        width = max([len(_cell(v)) for v in frame[name]] + [len(name)]) if keep else None
        table.add_column(
            name,
            justify="right" if dtype.is_numeric() else "left",
            no_wrap=keep,
            min_width=width,
        )
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    # A terminal wraps to its width; a pipe or file gets whole lines, whatever their length.
    if console.is_terminal:
        console.print(table)
    else:
        wide = Measurement.get(console, console.options.update_width(10_000), table).maximum
        Console(width=max(console.width, wide)).print(table)


def _emit(
    tables: dict[str, pl.DataFrame], fmt: OutputFormat, meta: dict[str, Any], csv_table: str
) -> None:
    if fmt is OutputFormat.json:
        payload = dict(meta)
        payload["tables"] = {
            name: [{k: _json_value(v) for k, v in row.items()} for row in t.iter_rows(named=True)]
            for name, t in tables.items()
        }
        typer.echo(json.dumps(payload, indent=2))
    elif fmt is OutputFormat.csv:
        if csv_table not in tables:
            raise MetricInputError(
                f"no table {csv_table!r} to write as CSV",
                hint=f"choose one of: {', '.join(tables)}",
            )
        typer.echo(tables[csv_table].write_csv(), nl=False)
    else:
        for name, t in tables.items():
            _print_table(t, name)
        stamp = ", ".join(f"{k} {v}" for k, v in meta.items() if v is not None)
        console.print(stamp, highlight=False, style="dim")


def _summary(frames: dict[str, Any], cfg: Config, as_of: datetime) -> pl.DataFrame:
    """One headline number per KPI, or why there is none."""
    counts: dict[str, int] = {}

    def present(entity: str) -> bool:
        if entity not in counts:
            counts[entity] = row_count(frames[entity]) if entity in frames else 0
        return counts[entity] > 0

    rows = []
    for d in KPIS.values():
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
            except RevgovError as exc:
                note = exc.message
            else:
                raw = out[d.headline][0] if out.height else None
                value = float(raw) if raw is not None else None
        rows.append(
            {"kpi": d.name, "value": value, "unit": d.unit, "column": d.headline, "note": note}
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


def register(app: typer.Typer) -> None:
    """Add ``revgov metrics`` and ``revgov forecast`` to the app."""

    @app.command("metrics")
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
                help="Group by this column (repeatable), e.g. segment, owner_id, owner_region.",
            ),
        ] = None,
        every: Annotated[
            str | None, typer.Option("--every", help="Period: 1d, 1w, 1mo, 1q or 1y.")
        ] = None,
        as_of: AsOfOpt = None,
        fmt: FormatOpt = OutputFormat.table,
        list_: Annotated[bool, typer.Option("--list", help="List the KPIs and exit.")] = False,
    ) -> None:
        """Compute the KPI spine on a snapshot: headline values, or one KPI's table."""
        if list_:
            listing = pl.DataFrame(
                {
                    "kpi": list(KPIS),
                    "title": [d.title for d in KPIS.values()],
                    "unit": [d.unit for d in KPIS.values()],
                    "inputs": [", ".join(d.inputs) for d in KPIS.values()],
                }
            )
            _emit({"kpis": listing}, fmt, {}, "kpis")
            return
        if kpi is None and (by or every):
            raise typer.BadParameter("--by and --every need --kpi NAME", param_hint="--by/--every")
        if kpi is not None:
            get_kpi(kpi)
        parse_every(every)
        cfg, store = _load(config, snapshot)
        moment = naive_utc(as_of)
        frames = prepare_frames(store.frames(), cfg)
        meta = {
            "snapshot": str(store.root),
            "config_hash": cfg.config_hash,
            "snapshot_config_hash": store.config_hash,
            "as_of": moment.isoformat(),
        }
        if kpi is None:
            _emit({"metrics": _summary(frames, cfg, moment)}, fmt, meta, "metrics")
            return
        result = _collect(
            compute(kpi, frames, cfg, by=by, every=every, as_of=moment, prepared=True)
        )
        _emit({kpi: result}, fmt, {"kpi": kpi, **meta}, kpi)

    @app.command("forecast")
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
        fmt: FormatOpt = OutputFormat.table,
        table: Annotated[
            str,
            typer.Option(
                "--table", help="With --format csv: assumptions, scenarios, forward or backward."
            ),
        ] = "forward",
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
        cfg, store = _load(config, snapshot)
        moment = naive_utc(as_of)
        result = quarterly_reforecast(
            store.frames(),
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
            "snapshot": str(store.root),
            "config_hash": cfg.config_hash,
            "as_of": moment.isoformat(),
        }
        _emit(tables, fmt, meta, table)

    from revgov.commands.demo import POST_STEPS, PostStep

    if not any(step.name == "metrics" for step in POST_STEPS):
        POST_STEPS.append(PostStep("metrics", _demo_metrics))


def _demo_metrics(output: object, out_console: Console) -> None:
    """After ``revgov demo``: the headline KPIs of the demo CRM as of its ``as_of``."""
    from revgov.demo import DemoOutput

    if not isinstance(output, DemoOutput):  # pragma: no cover - demo passes its output
        return
    data = output.data
    moment = naive_utc(str(data.manifest["as_of"]))
    frames = prepare_frames({e: f.lazy() for e, f in data.frames.items()}, data.config)
    summary = _summary(frames, data.config, moment).filter(pl.col("value").is_not_null())
    table = Table("kpi", "value", "unit", box=box.SIMPLE, title="headline KPIs")
    table.columns[1].justify = "right"
    for row in summary.iter_rows(named=True):
        table.add_row(row["kpi"], _cell(row["value"]), row["unit"])
    out_console.print(table)
    out_console.print(
        f"every KPI: revgov metrics --config {output.config_path} --snapshot "
        f"{output.snapshot_dir} --as-of {moment.date().isoformat()} --list",
        highlight=False,
    )
