"""Output people can read (issue 12, item 6): numbers formatted by unit in one module, and
the audit, metrics and snapshot tables within 80 columns with every number whole."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from revgov import display
from revgov.cli import main
from revgov.cli._console import TerminalConsole
from revgov.config import load_config
from revgov.pull import pull

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"


def test_numbers_are_written_by_their_unit() -> None:
    assert display.count(1234567) == "1,234,567"
    assert display.count(2297.0) == "2,297"
    assert display.money(48106.5007, "EUR") == "48,106.50 EUR"
    assert display.share(0.9734) == "97.3%"
    assert display.value(12.345, "days") == "12.3 days"
    assert display.value(3.2, "ratio (x)") == "3.20x"
    assert display.value(175483.731, "currency per month", currency="USD") == (
        "175,483.73 USD per month"
    )
    assert display.value(0.25, "share") == "25.0%"
    assert display.value(None, "currency") == display.MISSING
    assert display.column_unit("win_rate") == "share"
    assert display.column_unit("pipeline_amount") == "currency"
    assert display.column_unit("median_days") == "days"
    # Names their endings read wrong (average_deal_size's table showed "321.00 USD" deals).
    assert display.column_unit("deals_with_amount") == "number"
    assert display.cell(321, display.column_unit("deals_with_amount")) == "321"
    assert display.column_unit("average_deal_size") == "currency"
    assert display.column_unit("velocity_per_month") == "currency"
    assert display.column_unit("pipeline_per_spend") == "ratio"
    assert display.cell(4.2, display.column_unit("pipeline_per_spend")) == "4.20x"
    assert display.column_unit("gap_to_target") == "currency"
    assert display.column_unit("target_step_conversion") == "share"
    assert display.cell(float("nan")) == "NaN"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("display") / "project"
    shutil.copytree(QUICKSTART, root)
    pull(load_config(root / "revgov.toml"), root / "snap", progress=False)
    return root / "snap"


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "--no-record", "--fail-on", "never", "--as-of", "2026-07-01"],
        ["metrics", "--as-of", "2026-07-01"],
        ["metrics", "--as-of", "2026-07-01", "--kpi", "win_rate_by_count", "--by", "owner_id"],
        ["metrics", "--as-of", "2026-07-01", "--kpi", "stage_conversion"],
        ["snapshot", "info"],
        ["snapshot", "quarantine"],
    ],
    ids=["audit", "metrics", "kpi-table", "all-numbers", "snapshot-info", "quarantine"],
)
def test_every_table_fits_80_columns(
    snapshot: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = (
        [*command, str(snapshot)] if command[0] == "snapshot" else [*command, "-s", str(snapshot)]
    )
    code, out = _run(*args)
    assert code == 0, out
    widths = [len(line.rstrip()) for line in out.splitlines()]
    assert max(widths) <= 80, "\n".join(line for line in out.splitlines() if len(line) > 80)


def test_the_audit_table_keeps_numbers_whole_and_lists_not_applicable_rules_last(
    snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, data = _run(
        "audit", "-s", str(snapshot), "--no-record", "-f", "json", "--as-of", "2026-07-01"
    )
    rules = {r["id"]: r for r in json.loads(data)["rules"]}
    _, out = _run("audit", "-s", str(snapshot), "--no-record", "--as-of", "2026-07-01")
    lines = out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("rule "))
    table_end = next(i for i, line in enumerate(lines) if "Failing rules" in line)
    assert header.split()[-1] == "pass"  # not cut to "pas"
    for rid, r in rules.items():
        if r["status"] == "not_applicable":
            assert not any(line.split()[:1] == [rid] for line in lines[:table_end])
            continue
        row = next(line for line in lines if line.split()[:1] == [rid])
        pass_rate = display.share(r["pass_rate"])
        assert row.split()[-3:] == [f"{r['checked']:,}", f"{r['violating']:,}", pass_rate]
    aside = next(i for i, line in enumerate(lines) if "Not applicable: why" in line)
    assert table_end < aside
    # Failing rules say what they check and the fix; n/a rules come after, with why.
    failing = [rid for rid, r in rules.items() if r["status"] == "fail"]
    text = " ".join(out.split())
    for rid in failing:
        assert f"{rid}: {rules[rid]['description']}" in text
    assert "people.email_missing" in " ".join(lines[aside:])


def test_metrics_write_money_and_shares_by_unit(
    snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, data = _run("metrics", "-s", str(snapshot), "-f", "json", "--as-of", "2026-07-01")
    rows = {r["kpi"]: r for r in json.loads(data)["tables"]["metrics"]}
    _, out = _run("metrics", "-s", str(snapshot), "--as-of", "2026-07-01")
    bookings = next(line for line in out.splitlines() if line.split()[:1] == ["bookings"])
    assert f"{rows['bookings']['value']:,.2f} USD" in bookings
    win = next(line for line in out.splitlines() if line.split()[:1] == ["win_rate_by_count"])
    assert f"{rows['win_rate_by_count']['value'] * 100:.1f}%" in win
    # KPIs without a value come after every KPI with one.
    names = [
        line.split()[0] for line in out.splitlines() if line.split()[:1] and line.split()[0] in rows
    ]
    missing = [rows[n]["value"] is None for n in names]
    assert missing == sorted(missing)


def test_cli_consoles_follow_the_width_of_each_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich fixes COLUMNS when a Console is built; the CLI's consoles, built once at import,
    must follow each run's width (one process may run many commands)."""
    monkeypatch.setenv("COLUMNS", "80")
    console = TerminalConsole()
    assert console.width == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert console.width == 132


@pytest.mark.parametrize("id_length", range(20, 46, 3))
def test_the_rules_table_never_cuts_a_column_whatever_the_longest_rule_id(
    id_length: int,
) -> None:
    """The compact table drops the severity when the columns do not fit; rich's edges and
    padding were once summed by hand one or two columns short, so at some lengths of the
    longest rule id the last column was cropped ("pas", "98.0" for "98.0%")."""
    from dataclasses import replace

    from rich.console import Console

    from revgov.rules._render import _RulesTable
    from revgov.rules.report import RuleResult

    base = RuleResult(
        id="x",
        entity="people",
        severity="error",
        dimension="completeness",
        kind="required",
        description="d",
        owner=None,
        remediation="r",
        threshold=None,
        checked=1_234_567,
        violating=123_456,
        findings=123_456,
    )
    long_id = "people." + "a" * (id_length - len("people."))
    results = (
        replace(base, id=long_id),
        replace(base, id="people.short", checked=50_000, violating=0),
    )
    report = type("R", (), {"results": results})()
    for width in range(76, 101):
        console = Console(width=width, file=io.StringIO(), color_system=None)
        console.print(_RulesTable(report))  # type: ignore[arg-type]
        lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
        assert max(len(line.rstrip()) for line in lines) <= width
        lines = [line.translate(str.maketrans("│┃", "  ")) for line in lines]  # full layout
        header = next(line for line in lines if line.lstrip().startswith("rule "))
        assert header.split()[-1] == "pass", (width, header)
        # The id whole on its line, or folded onto the next when nothing else fits.
        assert long_id in "".join(line.split()[0] for line in lines if line.split())
        row = next(line for line in lines if "1,234,567" in line)
        assert row.split()[-3:] == ["1,234,567", "123,456", display.share(1 - 123_456 / 1_234_567)]


def test_a_kpi_table_of_numbers_only_tightens_its_padding_rather_than_crop(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers cannot wrap and there is no text column to leave out: a table whose numbers
    take 81 to 83 columns with rich's usual padding is printed with less padding. (Measured
    against the console's width, rich's measurement was clamped to it, so such a table
    always seemed to fit and was cropped: `cumulative_conversio`, `100.0`.)"""
    import polars as pl

    from revgov.cli.metrics import _print_table

    monkeypatch.setenv("COLUMNS", "80")
    frame = pl.DataFrame(
        {
            "stage": ["Prospecting", "Qualification", "Closed Won"],
            "stage_order": [1, 2, 3],
            "reached": [8_000, 7_607, 2_692],
            "step_conversion": [None, 0.951, 0.726],
            "cumulative_conversion": [1.0, 0.951, 0.337],
        }
    )
    _print_table(frame, "stage_conversion")
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:1] == ["stage"])
    assert header.split()[-1] == "cumulative_conversion"
    first = next(line for line in lines if line.split()[:1] == ["Prospecting"])
    assert first.split()[-1] == "100.0%"


def test_a_kpi_table_too_wide_for_its_numbers_leaves_the_rightmost_out_rather_than_crop(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's time_in_stage at 80 columns: its stage names and six number columns need
    more than 80 even with tight padding, and there is no text to leave out. It was cropped
    (`p9`, `15.`); the rightmost numbers are left out instead, named in the caption."""
    import polars as pl

    from revgov.cli.metrics import _print_table

    monkeypatch.setenv("COLUMNS", "80")
    frame = pl.DataFrame(
        {
            "stage": ["Discovery", "Proposal/Price Quote", "Negotiation/Review"],
            "stays": [16, 5_483, 4],
            "open_stays": [16, 270, 4],
            "mean_days": [10.0, 11.5, 11.0],
            "median_days": [9.9, 10.7, 11.0],
            "p75_days": [13.0, 15.6, 13.5],
            "p90_days": [15.4, 18.2, 16.7],
        }
    )
    _print_table(frame, "time_in_stage")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:1] == ["stage"])
    shown = header.split()
    assert shown[:3] == ["stage", "stays", "open_stays"]
    assert set(shown) < set(frame.columns)
    left_out = [c for c in frame.columns if c not in shown]
    assert left_out == frame.columns[-len(left_out) :]
    assert f"left out at this width: {', '.join(left_out)}" in " ".join(out.split())
    quote = next(line for line in lines if "Proposal/Price Quote" in line)
    cells = quote.split()[2:]  # after "Proposal/Price Quote"
    assert cells[:2] == ["5,483", "270"]
    assert cells[2:] == [v for c in shown[3:] for v in (f"{frame[c][1]:.1f}", "days")]


def test_forecast_assumptions_are_written_in_the_unit_each_row_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`revgov forecast` printed every assumption as money (`cycle_days 42.63 USD`,
    `win_rate 0.40 USD`) and its low and high as bare decimals: the row says the unit."""
    import polars as pl

    from revgov.cli.metrics import _print_table

    monkeypatch.setenv("COLUMNS", "100")
    frame = pl.DataFrame(
        {
            "assumption": ["average_deal_size", "cycle_days", "win_rate", "mqls_per_month"],
            "value": [47_344.22, 42.63, 0.397, 1_183.33],
            "low": [43_685.81, 42.06, 0.388, 1_099.0],
            "high": [50_581.24, 42.95, 0.406, 1_222.5],
        }
    )
    _print_table(frame, "assumptions", "USD")
    rows = {
        line.split()[0]: " ".join(line.split()[1:])
        for line in capsys.readouterr().out.splitlines()
        if line.split()[:1] and line.split()[0] in frame["assumption"]
    }
    assert rows == {
        "average_deal_size": "47,344.22 USD 43,685.81 USD 50,581.24 USD",
        "cycle_days": "42.6 days 42.1 days 43.0 days",
        "win_rate": "39.7% 38.8% 40.6%",
        "mqls_per_month": "1,183.33 1,099 1,222.50",
    }


def test_the_pull_summary_keeps_every_header_whole_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Salesforce export's names (`salesforce_export`, `pipeline_stages`) with rich's usual
    padding take 82 columns: the headers gave way (`rows …`, `quarantin…`); tighter padding
    fits them whole."""
    from revgov.cli.pull import _print_text
    from revgov.pull import EntityPull, PullResult

    monkeypatch.setenv("COLUMNS", "80")
    entities = tuple(
        EntityPull("salesforce_export", e, 1, n, q, True)
        for e, n, q in (("opportunities", 24, 0), ("pipeline_stages", 7, 0), ("people", 40, 3))
    )
    _print_text(PullResult("/tmp/snap", "0f7bdfc1db99dec2", None, entities))
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    header = next(line for line in lines if line.split()[:1] == ["source"])
    assert header.split() == ["source", "entity", "status", "rows", "in", "typed", "quarantined"]
    people = next(line for line in lines if "people" in line.split())
    assert people.split()[-3:] == ["43", "40", "3"]
