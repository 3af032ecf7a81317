"""docs/quickstart.md, run for real in a copy of examples/quickstart.

The page is walked in order: every ``revgov ...`` line of its ```bash blocks runs through
``revgov.cli.main`` and every ```python block is exec'd in one namespace, with the working
directory set to the copy (``my-audit/``, as the page names it). A ```text block right after a
code block is that block's output as the page shows it: each of its lines must appear, in
order, in the real output (whitespace and table rules collapsed). In those lines, a line
``...`` stands for lines left out, ``...`` inside a line for any text, and a 16-hex-digit
config hash for any such hash (so a change in the config model's defaults does not stale the
page).

The demo runs at ``--scale 0.02`` to stay fast, so the numbers of its output are not compared
(its shape is). The facts the page states are also checked against values computed here from
the CSV files with the standard library, not with revgov.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shlex
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from revgov.cli import main
from revgov.config import load_config
from revgov.store import SnapshotStore

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "quickstart.md"
EXAMPLE = ROOT / "examples" / "quickstart"
WORKDIR = "my-audit"  # what the page copies examples/quickstart to
DEMO_SCALE = "0.02"
AS_OF = datetime(2026, 7, 1, tzinfo=UTC)  # the --as-of the page passes to audit and metrics

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_HASH = re.compile(r"\b[0-9a-f]{16}\b")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_NUMBER = re.compile(r"\d[\d,.]*")
_RULE = re.compile(r"([─━═])\1+")  # a table rule's length follows the terminal's width


def _normal(line: str) -> str:
    return _RULE.sub(r"\1", " ".join(line.split()))


# -- reading the page ----------------------------------------------------------------------


@dataclass
class Block:
    lang: str
    text: str
    line: int
    output: Block | None = None  # the ```text block right after this one, if any


def page_blocks(text: str) -> list[Block]:
    """Fenced blocks in order; a ```text block separated from the previous block by blank lines
    only is that block's output (and is not listed on its own)."""
    blocks: list[Block] = []
    end = -1
    for m in _FENCE.finditer(text):
        block = Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        if block.lang == "text" and blocks and not text[end : m.start()].strip():
            blocks[-1].output = block
        else:
            blocks.append(block)
        end = m.end()
    return blocks


def revgov_commands(block: Block) -> list[list[str]]:
    """The ``revgov`` command lines of a bash block, as argument lists (comments dropped)."""
    out = []
    for line in block.text.replace("\\\n", " ").splitlines():
        args = shlex.split(line, comments=True)
        if args and args[0] == "revgov":
            out.append(args[1:])
    return out


def _pattern(line: str, *, any_number: bool) -> re.Pattern[str]:
    parts = []
    for piece in _normal(line).split("..."):
        escaped = []
        for text in _HASH.split(piece):
            if any_number:
                escaped.append(r"\d[\d,.]*".join(re.escape(s) for s in _NUMBER.split(text)))
            else:
                escaped.append(re.escape(text))
        parts.append("[0-9a-f]{16}".join(escaped))
    return re.compile(".*".join(parts))


def assert_shows(expected: str, actual: str, where: str, *, any_number: bool = False) -> None:
    """Every line of ``expected`` matches a line of ``actual``, in order (see module doc);
    with ``any_number``, a number matches any number."""
    lines = [_normal(a) for a in _ANSI.sub("", actual).splitlines()]
    at = 0
    for want in expected.splitlines():
        if not want.strip() or want.strip() == "...":
            continue
        pattern = _pattern(want, any_number=any_number)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            pytest.fail(f"{where}: the page shows\n  {want.strip()}\nbut the output is\n{actual}")
        at += 1


# -- running the page ----------------------------------------------------------------------


@dataclass
class Step:
    block: Block
    args: list[str] | None = None  # a CLI command, or None for a python block
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None

    @property
    def where(self) -> str:
        what = "revgov " + shlex.join(self.args) if self.args is not None else "python block"
        return f"docs/quickstart.md line {self.block.line}: {what}"


@dataclass
class Walk:
    workdir: Path
    steps: list[Step] = field(default_factory=list)

    def outputs(self) -> Iterator[tuple[Block, str]]:
        """Each code block that has an output block, with the output of all its steps."""
        by_block: dict[int, list[Step]] = {}
        for step in self.steps:
            by_block.setdefault(id(step.block), []).append(step)
        for steps in by_block.values():
            block = steps[0].block
            if block.output is not None:
                yield block, "".join(s.stdout for s in steps)

    def command(self, *prefix: str) -> Step:
        for step in self.steps:
            if step.args is not None and step.args[: len(prefix)] == list(prefix):
                return step
        raise AssertionError(f"the page has no `revgov {' '.join(prefix)}` command")


def _run_cli(args: list[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``revgov ARGS``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def _demo_args(args: list[str]) -> list[str]:
    return (
        [*args, "--scale", DEMO_SCALE] if args[:1] == ["demo"] and "--scale" not in args else args
    )


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walk:
    workdir = tmp_path_factory.mktemp("quickstart") / WORKDIR
    shutil.copytree(EXAMPLE, workdir)
    result = Walk(workdir)
    namespace: dict[str, Any] = {"__name__": "quickstart"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.setenv("COLUMNS", "200")  # wide enough that no output line wraps
        mp.delenv("TERM", raising=False)
        for block in page_blocks(PAGE.read_text(encoding="utf-8")):
            if block.lang == "bash":
                for args in revgov_commands(block):
                    step = Step(block, args)
                    result.steps.append(step)
                    step.code, step.stdout, step.stderr = _run_cli(_demo_args(args))
            elif block.lang == "python":
                step = Step(block)
                result.steps.append(step)
                out = io.StringIO()
                try:
                    # Polars' default formatting, as a fresh notebook has it.
                    with contextlib.redirect_stdout(out), pl.Config() as cfg:
                        cfg.restore_defaults()
                        exec(compile(block.text, step.where, "exec"), namespace)
                except Exception as exc:  # reported by the test, with the block
                    step.error = f"{type(exc).__name__}: {exc}"
                step.stdout = out.getvalue()
    return result


def _expected_code(args: list[str]) -> int:
    # The page: an audit exits 1 (error findings, and --fail-on defaults to error) unless it
    # says --fail-on never.
    if args[0] == "audit":
        return 0 if "--fail-on" in args and args[args.index("--fail-on") + 1] == "never" else 1
    return 0


# -- the page as a whole ---------------------------------------------------------------------


def test_the_page_has_the_steps_it_describes(walk: Walk) -> None:
    commands = [s.args[0] for s in walk.steps if s.args]
    for name in ("demo", "config", "pull", "snapshot", "audit", "metrics"):
        assert name in commands, f"the quickstart runs no `revgov {name}`"
    assert sum(s.args is None for s in walk.steps) >= 5, "python blocks missing"


def test_every_command_exits_as_the_page_says(walk: Walk) -> None:
    for step in walk.steps:
        if step.args is None:
            continue
        assert step.code == _expected_code(step.args), f"{step.where}\n{step.stdout}{step.stderr}"


def test_every_python_block_runs(walk: Walk) -> None:
    for step in walk.steps:
        if step.args is None:
            assert step.error is None, f"{step.where}: {step.error}\n{step.block.text}"


def test_every_output_shown_is_the_real_one(walk: Walk) -> None:
    shown = 0
    for block, actual in walk.outputs():
        assert block.output is not None
        demo = block.lang == "bash" and any(a[:1] == ["demo"] for a in revgov_commands(block))
        where = f"docs/quickstart.md line {block.output.line}"
        assert_shows(block.output.text, actual, where, any_number=demo)
        shown += 1
    assert shown >= 10


def test_the_demo_writes_the_outputs_the_page_lists(walk: Walk) -> None:
    demo = walk.workdir / "revgov-demo"
    for name in (
        "snapshot",
        "revgov.toml",
        "ground_truth.parquet",
        "ground_truth.csv",
        "demo_manifest.json",
    ):
        assert (demo / name).exists(), name
        assert f"revgov-demo/{name}" in PAGE.read_text(encoding="utf-8")
    manifest = json.loads((demo / "demo_manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7


# -- the page's code matches the example files -----------------------------------------------


def test_the_toml_shown_is_the_example_config() -> None:
    config_lines = {
        " ".join(line.split("#")[0].split())
        for line in (EXAMPLE / "revgov.toml").read_text(encoding="utf-8").splitlines()
    }
    blocks = [b for b in page_blocks(PAGE.read_text(encoding="utf-8")) if b.lang == "toml"]
    assert blocks
    for block in blocks:
        tomllib.loads(block.text)  # each shown excerpt is valid TOML on its own
        for line in block.text.splitlines():
            text = " ".join(line.split("#")[0].split())
            assert not text or text in config_lines, f"not in the example config: {line!r}"


def test_the_csv_shown_is_the_head_of_deals_csv() -> None:
    (block,) = [b for b in page_blocks(PAGE.read_text(encoding="utf-8")) if b.lang == "csv"]
    head = (EXAMPLE / "deals.csv").read_text(encoding="utf-8").splitlines()
    assert block.text.splitlines() == head[: len(block.text.splitlines())]


# -- the facts the page states, from the CSV files ---------------------------------------------


def _rows(name: str) -> list[dict[str, str]]:
    with (EXAMPLE / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _untypable_deals() -> list[dict[str, str]]:
    return [d for d in _rows("deals.csv") if d["Amount"] and _number(d["Amount"]) is None]


def test_the_export_has_one_untypable_row() -> None:
    deals, accounts = _rows("deals.csv"), _rows("accounts.csv")
    assert len(deals) == 20 and len(accounts) == 20
    (bad,) = _untypable_deals()
    assert (bad["Deal ID"], bad["Amount"]) == ("D-1013", "n/a")
    for row in accounts:  # every other typed value reads as its type
        assert row["Employees"].isdigit() and _number(row["Annual Revenue"]) is not None
        datetime.strptime(row["Created Date"], "%Y-%m-%d")
    for row in deals:
        datetime.strptime(row["Close Date"], "%Y-%m-%d")
        datetime.strptime(row["Create Date"], "%Y-%m-%d")


def test_the_pull_types_all_but_the_quarantined_row(walk: Walk) -> None:
    store = SnapshotStore(walk.workdir / "revgov-snapshot")
    bad = _untypable_deals()
    assert store.scan("opportunities").collect().height == len(_rows("deals.csv")) - len(bad)
    assert store.scan("accounts").collect().height == len(_rows("accounts.csv"))
    assert store.quarantine_counts() == {"opportunities": len(bad)}
    q = store.scan_quarantine().collect()
    assert q.select("entity", "source_id", "field", "raw_value", "reason").rows() == [
        ("opportunities", bad[0]["Deal ID"], "amount", bad[0]["Amount"], "not a number")
    ]
    info = walk.command("snapshot", "info", "revgov-snapshot")
    assert info.code == 0
    hash_line = walk.command("config", "check", "revgov.toml").stdout.split("hash")[1].split()[0]
    assert hash_line == load_config(walk.workdir / "revgov.toml").config_hash == store.config_hash


def _closed(deals: list[dict[str, str]]) -> tuple[list[float], list[float]]:
    won = [float(d["Amount"]) for d in deals if d["Deal Stage"] == "Closed - Won"]
    lost = [float(d["Amount"]) for d in deals if d["Deal Stage"] == "Closed - Lost"]
    return won, lost


def test_the_metrics_match_the_export(walk: Walk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(walk.workdir)
    code, out, err = _run_cli(
        ["metrics", "--config", "revgov.toml", "--as-of", "2026-07-01", "--format", "json"]
    )
    assert code == 0, err
    values = {r["kpi"]: r["value"] for r in json.loads(out)["tables"]["metrics"]}
    bad = _untypable_deals()
    typed = [d for d in _rows("deals.csv") if d not in bad]
    won, lost = _closed(typed)
    assert values["pipeline_created"] == sum(_number(d["Amount"]) or 0.0 for d in typed)
    assert values["bookings"] == sum(won)
    assert values["win_rate_by_count"] == pytest.approx(len(won) / (len(won) + len(lost)))
    assert values["win_rate_by_amount"] == pytest.approx(sum(won) / (sum(won) + sum(lost)))
    assert values["average_deal_size"] == pytest.approx(sum(won) / len(won))
    # [qualified]: Demo or later (or won), amount >= 5000; lost deals need stage history.
    later = ("Demo", "Proposal", "Proposal/Price Quote", "Negotiation", "Closed - Won")
    qualified = [
        float(d["Amount"])
        for d in typed
        if d["Deal Stage"] in later and d["Amount"] and float(d["Amount"]) >= 5000
    ]
    assert values["qualified_pipeline"] == sum(qualified)
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    assert "Six of the nine closed deals were won" in page and (len(won), len(lost)) == (6, 3)
    assert f"worth {sum(won):,.0f} of the {sum(won) + sum(lost):,.0f} closed" in page


def test_the_notebook_counts_match_the_export(walk: Walk) -> None:
    store = SnapshotStore(walk.workdir / "notebook-snapshot")
    deals = store.scan("opportunities").collect()
    bad = _untypable_deals()
    open_ids = {
        d["Deal ID"]
        for d in _rows("deals.csv")
        if not d["Deal Stage"].startswith("Closed") and d not in bad
    }
    flagged_open = deals.filter(~pl.col("is_closed"))["opportunity_id"].to_list()
    # The page: ten open deals, nine counted (the unknown stage has no is_closed).
    assert len(open_ids) == 10 and len(flagged_open) == 9
    assert open_ids - set(flagged_open) == {"D-1012"}


# -- the audit section -------------------------------------------------------------------------


def _defect_table() -> dict[str, set[str]]:
    """rule id -> records, from the page's table of the export's defects."""
    table: dict[str, set[str]] = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| ([A-Z]-\d+(?:, [A-Z]-\d+)*) \| .* \| `([a-z_]+\.[a-z_]+)`", line)
        if m:
            table.setdefault(m.group(2), set()).update(m.group(1).split(", "))
    return table


def test_the_defect_table_is_what_the_audit_finds(walk: Walk) -> None:
    from revgov.rules import audit

    table = _defect_table()
    assert len(table) == 12
    config = load_config(walk.workdir / "revgov.toml")
    frames = SnapshotStore(walk.workdir / "revgov-snapshot").frames()
    findings = audit(frames, config=config, as_of=AS_OF).findings
    if isinstance(findings, pl.LazyFrame):
        findings = findings.collect()
    found = findings.group_by("rule_id").agg(pl.col("record_id").unique())
    flagged = {r: set(ids) for r, ids in found.iter_rows()}
    for rule_id, records in table.items():
        assert flagged.get(rule_id) == records, rule_id


def _rule_counts(report: Any) -> dict[str, int]:
    """rule id -> violating rows, wherever the JSON report nests its rule list."""
    out: dict[str, int] = {}
    if isinstance(report, dict):
        if isinstance(report.get("id"), str) and isinstance(report.get("violating"), int):
            out[report["id"]] = report["violating"]
        for value in report.values():
            out |= _rule_counts(value)
    elif isinstance(report, list):
        for value in report:
            out |= _rule_counts(value)
    return out


def test_the_audit_commands_run_as_the_page_says(
    walk: Walk, monkeypatch: pytest.MonkeyPatch
) -> None:
    (step,) = [
        s for s in walk.steps if s.args and s.args[:3] == ["audit", "--config", "revgov.toml"]
    ]
    monkeypatch.chdir(walk.workdir)
    code, out, err = _run_cli([*step.args, "--format", "json"])
    assert code == 1, err
    report = json.loads(out)
    counts = _rule_counts(report)
    # The quarantined deal (D-1013, shown above) is one finding of the per-entity integrity
    # rule, beside the record defects the page's table lists.
    assert counts.pop("pulled.rows_quarantined") == 1
    table = _defect_table()
    assert {r: n for r, n in counts.items() if n} == {r: len(ids) for r, ids in table.items()}
    assert report["summary"]["findings"] == sum(len(ids) for ids in table.values()) + 1
    findings = pl.read_csv(walk.workdir / "findings.csv")
    assert findings.height == report["summary"]["findings"]


# -- what the page says about pulling again and about mistakes -----------------------------------


@pytest.fixture
def fresh_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workdir = tmp_path / WORKDIR
    shutil.copytree(EXAMPLE, workdir)
    monkeypatch.chdir(workdir)
    return workdir


def test_a_fixed_export_brings_the_quarantined_deal_in(fresh_copy: Path) -> None:
    pull = ["pull", "--config", "revgov.toml", "--no-progress", "--format", "json"]

    def entities(out: str) -> dict[str, tuple[str, int, int]]:
        return {
            e["entity"]: (e["status"], e["rows_typed"], e["rows_quarantined"])
            for e in json.loads(out)["entities"]
            if e["source"] == "crm_export"
        }

    code, out, err = _run_cli(pull)
    assert code == 0, err
    assert entities(out)["opportunities"][1:] == (19, 1)
    code, out, err = _run_cli(pull)  # nothing changed: a no-op
    assert code == 0, err
    assert {s for s, _, _ in entities(out).values()} == {"unchanged"}
    deals = fresh_copy / "deals.csv"
    deals.write_text(deals.read_text(encoding="utf-8").replace(",n/a,", ",150000,"), "utf-8")
    code, out, err = _run_cli(pull)
    assert code == 0, err
    assert entities(out) == {
        "opportunities": ("refreshed", 20, 0),
        "accounts": ("unchanged", 0, 0),
    }
    store = SnapshotStore(fresh_copy / "revgov-snapshot")
    assert store.scan("opportunities").collect().height == 20
    assert store.scan_quarantine().collect().height == 0


def test_a_config_mistake_names_line_key_and_fix(fresh_copy: Path) -> None:
    config = fresh_copy / "revgov.toml"
    text = config.read_text(encoding="utf-8")
    line = text.splitlines().index('opportunity_min_stage = "Demo"') + 1
    config.write_text(text.replace("opportunity_min_stage =", "opportunity_min_stag ="), "utf-8")
    code, _, err = _run_cli(["config", "check", "revgov.toml"])
    assert code == 3
    assert f"revgov.toml:{line}" in err and "did you mean 'opportunity_min_stage'" in err
