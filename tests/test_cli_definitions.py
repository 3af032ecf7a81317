"""The definitions a snapshot is read with (issue 12, item 1): without ``--config`` the commands
use the config the snapshot was pulled with (saved in it), not a revgov.toml that happens to
be in the working directory; any other config is a warning in every output format, and an
error (RG104) with ``--strict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import config_from_dict, load_config
from revgov.demo import DemoOutput, write_demo
from revgov.pull import pull
from revgov.store import SnapshotStore


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    return write_demo(tmp_path_factory.mktemp("defs") / "demo", scale=0.02, seed=5)


@pytest.fixture
def other_config(demo: DemoOutput, tmp_path: Path) -> Path:
    """The demo's definitions with one change (the currency), in a folder of its own."""
    text = demo.config_path.read_text(encoding="utf-8")
    assert 'currency = "USD"' in text
    path = tmp_path / "elsewhere" / "revgov.toml"
    path.parent.mkdir()
    path.write_text(text.replace('currency = "USD"', 'currency = "EUR"'), encoding="utf-8")
    return path


def test_the_snapshot_keeps_the_definitions_it_was_written_with(demo: DemoOutput) -> None:
    store = SnapshotStore(demo.snapshot_dir)
    cfg = demo.data.config
    assert store.config_hash == cfg.config_hash
    saved = demo.snapshot_dir / "_revgov" / "configs" / f"{cfg.config_hash}.json"
    assert json.loads(saved.read_text(encoding="utf-8")) == store.stored_config()
    assert store.stored_config("0" * 16) is None


def test_audit_ignores_a_revgov_toml_in_the_working_directory(
    demo: DemoOutput,
    other_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The case of the issue: the demo's hint run from a folder that has its own revgov.toml.
    monkeypatch.chdir(other_config.parent)
    args = ["audit", "-s", str(demo.snapshot_dir), "-f", "json", "--fail-on", "never"]
    assert main(args) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["config_hash"] == demo.data.config.config_hash
    assert data["config_origin"] == "snapshot"
    assert data["warnings"] == []
    assert "warning" not in captured.err
    assert main(["metrics", "-s", str(demo.snapshot_dir), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config_hash"] == data["snapshot_config_hash"] == demo.data.config.config_hash


@pytest.mark.parametrize("fmt", ["json", "md", "table"])
def test_another_config_is_a_warning_in_every_audit_format(
    demo: DemoOutput, other_config: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = load_config(other_config).config_hash
    stamped = demo.data.config.config_hash
    args = ["audit", "-s", str(demo.snapshot_dir), "-c", str(other_config), "-f", fmt]
    assert main([*args, "--fail-on", "never"]) == 0
    captured = capsys.readouterr()
    for stream in (captured.err, *([captured.out] if fmt != "table" else [])):
        flat = " ".join(stream.split())
        assert (
            f"config hash {other}" in flat and f"differs from the snapshot's {stamped}" in flat
        ), stream
    if fmt == "json":
        data = json.loads(captured.out)
        assert data["config_origin"] == "--config"
        assert len(data["warnings"]) == 1 and "omit --config" in data["warnings"][0]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_another_config_is_a_warning_in_metrics_output(
    demo: DemoOutput, other_config: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["metrics", "-s", str(demo.snapshot_dir), "-c", str(other_config), "-f", fmt]
    assert main(args) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        warnings = json.loads(out)["warnings"]
    else:
        warnings = [line for line in out.splitlines() if line.startswith("# warning=")]
    assert len(warnings) == 1 and demo.data.config.config_hash in warnings[0]


@pytest.mark.parametrize(
    "command", [["audit"], ["metrics"], ["forecast"], ["report", "-f", "json", "--no-record"]]
)
def test_strict_makes_the_mismatch_an_error(
    demo: DemoOutput, other_config: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*command, "-s", str(demo.snapshot_dir), "-c", str(other_config), "--strict"]
    assert main(args) == EXIT_REVGOV_ERROR
    err = capsys.readouterr().err
    assert "[RG104]" in err and demo.data.config.config_hash in err
    assert "Traceback" not in err
    # The config the snapshot was pulled with passes --strict.
    same = [*command, "-s", str(demo.snapshot_dir), "-c", str(demo.config_path), "--strict"]
    assert main([*same, *(["--fail-on", "never"] if command == ["audit"] else [])]) == 0
    assert "warning" not in capsys.readouterr().err


def test_pull_saves_its_config(tmp_path: Path, repo_root: Path) -> None:
    config = load_config(repo_root / "examples" / "quickstart" / "revgov.toml")
    result = pull(config, tmp_path / "snap", progress=False)
    store = SnapshotStore(result.snapshot)
    saved = store.stored_config()
    assert saved is not None
    assert config_from_dict(saved).config_hash == config.config_hash == store.config_hash
