"""`revgov audit`: exit codes, JSON and Markdown content, rule and dimension filters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.cli import main
from revgov.demo import DemoOutput, write_demo
from revgov.rules import engine


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    return write_demo(tmp_path_factory.mktemp("audit") / "demo", scale=0.05, seed=9)


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = capsys.readouterr().out
    data: dict[str, object] = json.loads(out)
    return data


def test_json_lists_every_rule_and_exits_1_on_failing_rules(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "--snapshot", str(demo_dir.snapshot_dir), "--format", "json"])
    data = _json(capsys)
    assert code == 1
    rules = data["rules"]
    assert isinstance(rules, list) and len(rules) >= 30
    for r in rules:
        assert {"id", "checked", "violating", "pass_rate", "status"} <= set(r)
    by_id = {r["id"]: r for r in rules}
    truth = pl.read_parquet(demo_dir.ground_truth_path)
    planted = truth.filter(pl.col("defect_kind") == "people.email_missing").height
    assert by_id["people.email_missing"]["violating"] == planted > 0
    # The config beside the snapshot is found and its hash stamped; the demo's as_of is used.
    assert data["config_hash"] == demo_dir.data.config.config_hash
    assert data["as_of"] == "2026-07-01T00:00:00+00:00"


def test_fail_on_and_exit_0(demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(demo_dir.snapshot_dir)
    assert main(["audit", "-s", snap, "--fail-on", "never", "--format", "json"]) == 0
    capsys.readouterr()
    # Only info-severity rules run: none fails on the demo.
    code = main(["audit", "-s", snap, "--rule", "people.utm_incomplete", "--format", "json"])
    data = _json(capsys)
    assert code == 0
    assert [r["id"] for r in data["rules"]] == ["people.utm_incomplete"]  # type: ignore[union-attr]
    # A warn rule fails only with --fail-on warn.
    args = ["audit", "-s", snap, "--rule", "people.phone_format", "--format", "json"]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--fail-on", "warn"]) == 1
    capsys.readouterr()


def test_dimension_filter_and_markdown(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "audit",
            "-s",
            str(demo_dir.snapshot_dir),
            "-d",
            "sla",
            "--format",
            "md",
            "--fail-on",
            "never",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"- config hash: `{demo_dir.data.config.config_hash}`" in out
    assert "people.speed_to_lead_breach" in out
    assert "people.email_missing" not in out.split("## Rules")[1].split("##")[0]


def test_table_output_carries_the_hash(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["audit", "-s", str(demo_dir.snapshot_dir), "--fail-on", "never"])
    out = capsys.readouterr().out
    assert demo_dir.data.config.config_hash in out.replace("\n", "")
    assert "Maturity" in out


def test_table_output_has_offenders_by_team_and_utm_families(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["audit", "-s", str(demo_dir.snapshot_dir), "--fail-on", "never"])
    out = capsys.readouterr().out
    assert "Top offenders by owner" in out
    assert "Top offenders by team" in out
    assert "UTM spelling families" in out


def test_filters_that_select_no_rule_give_no_findings(
    demo_dir: DemoOutput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "findings.parquet"
    args = ["audit", "-s", str(demo_dir.snapshot_dir), "--rule", "people.email_missing"]
    code = main([*args, "--dimension", "sla", "--format", "json", "--findings-out", str(target)])
    data = _json(capsys)
    assert code == 0
    assert data["rules"] == []
    assert data["summary"]["findings"] == 0  # type: ignore[index]
    assert pl.read_parquet(target).height == 0


@pytest.mark.parametrize("pattern", ["a{2", "abc\\Z", "[[:alpha:]]"])
def test_a_regex_polars_rejects_is_a_config_error_not_a_crash(
    demo_dir: DemoOutput, tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str
) -> None:
    config = tmp_path / "revgov.toml"
    config.write_text(
        demo_dir.config_path.read_text(encoding="utf-8")
        + '\n[[rules.custom]]\nid = "people.title_format"\nkind = "pattern"\n'
        + f"field = \"title\"\npattern = '{pattern}'\n",
        encoding="utf-8",
    )
    code = main(["audit", "-s", str(demo_dir.snapshot_dir), "-c", str(config)])
    err = capsys.readouterr().err
    assert code == 3, err
    # Refused when the config is loaded (a config error, RG102), with the file, line and key.
    assert "[RG102]" in err and "revgov.toml:" in err and "rules.custom[0].pattern" in err
    assert "at position" in err
    assert "Warning" not in err and "Traceback" not in err


def test_unknown_rule_id_is_a_usage_error(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "-s", str(demo_dir.snapshot_dir), "--rule", "people.email_mising"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no rule has the id 'people.email_mising'" in err
    assert "people.email_missing" in err


def test_unknown_dimension_is_a_usage_error(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "-s", str(demo_dir.snapshot_dir), "-d", "speed"]) == 2
    capsys.readouterr()


def test_missing_snapshot_and_bad_config_exit_3(
    tmp_path: Path, demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--snapshot", str(tmp_path / "nope")]) == 3
    assert "[RG301]" in capsys.readouterr().err
    bad = tmp_path / "revgov.toml"
    bad.write_text('[rules]\ndisabled = ["people.emial_missing"]\n', encoding="utf-8")
    code = main(["audit", "-s", str(demo_dir.snapshot_dir), "-c", str(bad)])
    err = capsys.readouterr().err
    assert code == 3
    assert "[RG501]" in err and "people.email_missing" in err
    assert "Traceback" not in err


def test_as_of_and_findings_out(
    demo_dir: DemoOutput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "findings.parquet"
    code = main(
        [
            "audit",
            "-s",
            str(demo_dir.snapshot_dir),
            "--as-of",
            "2030-01-01",
            "--format",
            "json",
            "--rule",
            "opportunities.past_close_date",
            "--findings-out",
            str(target),
        ]
    )
    data = _json(capsys)
    assert code == 0  # a warn rule
    assert data["as_of"] == "2030-01-01T00:00:00+00:00"
    rule = data["rules"][0]  # type: ignore[index]
    findings = pl.read_parquet(target)
    # Four years on, every open deal's close date has passed.
    assert rule["violating"] == rule["checked"] == findings.height > 0
    assert main(["audit", "-s", str(demo_dir.snapshot_dir), "--as-of", "soon"]) == 2
    capsys.readouterr()


def test_config_in_working_directory(
    demo_dir: DemoOutput,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copy(demo_dir.config_path, tmp_path / "revgov.toml")
    monkeypatch.chdir(tmp_path)
    main(["audit", "-s", str(demo_dir.snapshot_dir), "--format", "json", "--fail-on", "never"])
    assert _json(capsys)["config_hash"] == demo_dir.data.config.config_hash


def test_demo_runs_the_audit_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scale", "0.02", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "planted defects found:" in out
    line = next(x for x in out.splitlines() if "planted defects found" in x)
    found, total = line.split(":")[1].split(";")[0].split(" of ")
    assert found.strip() == total.strip()
    assert "findings not planted: 0" in out


def test_an_empty_snapshot_fails_nothing_was_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from revgov.store import SnapshotStore

    SnapshotStore.create(tmp_path / "empty")
    code = main(["audit", "-s", str(tmp_path / "empty"), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 1
    data = json.loads(captured.out)
    assert data["nothing_audited"] is True
    assert data["summary"]["pass"] == 0
    assert "nothing was audited" in captured.err


def test_strict_fails_on_any_not_applicable_rule(
    demo_dir: DemoOutput, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = str(demo_dir.snapshot_dir)
    args = ["audit", "-s", snap, "--fail-on", "never", "--format", "json"]
    args += ["--rule", "people.speed_to_lead_breach", "--rule", "people.email_missing"]
    assert main([*args, "--strict"]) == 0  # every rule saw its input
    capsys.readouterr()
    # Long before any lead arrived: no SLA clock has started, nothing to check.
    early = [*args, "--as-of", "2000-01-01"]
    assert main(early) == 0
    capsys.readouterr()
    code = main([*early, "--strict"])
    captured = capsys.readouterr()
    assert code == 1
    rules = {r["id"]: r for r in json.loads(captured.out)["rules"]}
    stl = rules["people.speed_to_lead_breach"]
    assert (stl["status"], stl["checked"]) == ("not_applicable", 0)
    assert stl["reason"].startswith("none of the ")
    assert rules["people.email_missing"]["status"] != "not_applicable"
    assert "--strict" in captured.err and "people.speed_to_lead_breach" in captured.err


def test_findings_kept_on_disk_print_and_write_the_same(
    demo_dir: DemoOutput,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An audit whose findings stay on disk (the size forced to none) prints the same JSON,
    Markdown and table and writes the same findings files as one holding them in memory."""
    snap = str(demo_dir.snapshot_dir)

    def outputs(label: str) -> dict[str, object]:
        out: dict[str, object] = {}
        for fmt in ("json", "md", "table"):
            args = ["audit", "-s", snap, "--no-record", "--fail-on", "never", "--format", fmt]
            assert main(args) == 0
            out[fmt] = capsys.readouterr().out
        for suffix in ("parquet", "csv", "jsonl"):
            target = tmp_path / f"{label}.{suffix}"
            args = ["audit", "-s", snap, "--no-record", "--fail-on", "never", "--format", "json"]
            assert main([*args, "--findings-out", str(target)]) == 0
            capsys.readouterr()
            out[suffix] = pl.read_parquet(target) if suffix == "parquet" else target.read_bytes()
        return out

    in_memory = outputs("memory")
    monkeypatch.setattr(engine, "FINDINGS_IN_MEMORY_MAX", 0)
    on_disk = outputs("disk")
    findings = in_memory["parquet"]
    assert isinstance(findings, pl.DataFrame) and findings.height > 100
    assert_frame_equal(on_disk.pop("parquet"), in_memory.pop("parquet"))  # type: ignore[arg-type]
    assert on_disk == in_memory
    data = json.loads(str(on_disk["json"]))
    assert data["summary"]["findings"] == findings.height


def test_findings_kept_on_disk_are_recorded_the_same(
    demo_dir: DemoOutput,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`revgov audit` records its run by default: with the findings on disk (the size forced
    to none) and written in small batches, the run history holds the same rows."""
    from revgov.reports import RunHistory, runs

    def recorded(label: str) -> RunHistory:
        snap = tmp_path / label
        shutil.copytree(demo_dir.snapshot_dir, snap)
        shutil.rmtree(snap / "_runs", ignore_errors=True)
        assert main(["audit", "-s", str(snap), "--fail-on", "never", "--format", "json"]) == 0
        assert "run not recorded" not in capsys.readouterr().err
        return RunHistory.of_snapshot(snap)

    in_memory = recorded("memory")
    monkeypatch.setattr(engine, "FINDINGS_IN_MEMORY_MAX", 0)
    monkeypatch.setattr(runs, "BATCH_ROWS", 64)
    on_disk = recorded("disk")
    (a,), (b,) = in_memory.ids(), on_disk.ids()
    fa, fb = in_memory.findings(a), on_disk.findings(b)
    assert fa.height > 100
    key = [c for c in fa.columns if c != "run_id"]
    assert_frame_equal(fb.drop("run_id").sort(key), fa.drop("run_id").sort(key))
    rules = ["rule_id", "status", "checked", "violating", "findings", "pass_rate"]
    assert_frame_equal(
        on_disk.rule_results(b).select(rules), in_memory.rule_results(a).select(rules)
    )
    assert on_disk.runs()["findings"].to_list() == [fb.height]
