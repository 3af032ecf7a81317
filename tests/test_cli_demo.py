"""`revgov demo`: progress, summary, outputs, refusal to overwrite, post steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from revgov.cli import main
from revgov.cli.demo import POST_STEPS, PostStep, run_demo
from revgov.demo import DemoOutput
from revgov.store import SnapshotStore


def test_demo_command_writes_everything_and_summarizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--scale", "0.02", "--seed", "3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    for name in ("revgov.toml", "ground_truth.parquet", "ground_truth.csv", "demo_manifest.json"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "demo_manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3
    store = SnapshotStore(out / "snapshot")
    assert store.row_count("people") == manifest["row_counts"]["people"] == 1000
    assert "people.speed_to_lead_breach" in printed
    assert f"{manifest['ground_truth_rows']:,}" in printed
    assert str(out / "snapshot") in printed.replace("\n", "")


def test_demo_command_refuses_a_non_empty_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    code = main(["demo", "--scale", "0.02", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 3
    assert "RG303" in err and "--force" in err
    assert not (tmp_path / "snapshot").exists()
    assert main(["demo", "--scale", "0.02", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "x"


def test_post_steps_run_after_the_summary(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def audit(output: DemoOutput, console: Console) -> None:
        seen.append(("audit", output.data.frames["people"].height))
        console.print("audited")

    console = Console(record=True, width=120)
    run_demo(
        tmp_path / "d",
        scale=0.02,
        seed=1,
        force=False,
        console=console,
        post_steps=[PostStep("audit", audit)],
    )
    text = console.export_text()
    assert seen == [("audit", 1000)]
    assert text.index("planted") < text.index("audited")
    assert isinstance(POST_STEPS, list)  # where audit and metrics register their steps
