"""docs/contributing.md works: the toy rule kind and the toy connector on that page, each one
file, installed as plugins (a real, fake distribution on sys.path with entry points), are
usable from revgov.toml, run in the audit and the pull, and appear in the rule catalogue."""

from __future__ import annotations

import re
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import config_from_dict, load_config
from revgov.docgen.rules_page import rules_page
from revgov.errors import ConfigValidationError
from revgov.pull import pull
from revgov.rules import audit
from revgov.store import SnapshotStore

PAGE = Path(__file__).resolve().parents[1] / "docs" / "contributing.md"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in _BLOCK.findall(PAGE.read_text(encoding="utf-8")) if kind == lang]


def _module(first_line: str) -> str:
    """The python block of the page that starts with ``first_line`` (its file name)."""
    return next(b for b in _blocks("python") if b.startswith(first_line))


def _toml_after(marker: str) -> str:
    """The first toml block of the page that contains ``marker``."""
    return next(b for b in _blocks("toml") if marker in b)


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution declaring the page's rule kind and connector by their entry points."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "freshness_kind.py").write_text(_module("# freshness_kind.py"), encoding="utf-8")
    (site / "jsonl_connector.py").write_text(_module("# jsonl_connector.py"), encoding="utf-8")
    dist = site / "revgov_contrib_examples-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: revgov-contrib-examples\nVersion: 1.0\n", encoding="utf-8"
    )
    sections = []
    for group in ("revgov.rule_kinds", "revgov.connectors"):
        block = _toml_after(f'[project.entry-points."{group}"]')
        entries = [line.replace('"', "") for line in block.splitlines() if " = " in line]
        sections.append(f"[{group}]\n" + "\n".join(entries))
    entry_points = "\n".join(sections) + "\n"
    (dist / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    for mod in ("freshness_kind", "jsonl_connector"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    return site


def test_the_page_has_one_file_per_extension() -> None:
    assert _module("# freshness_kind.py").count("\nclass ") == 1
    assert "## Adding a KPI" in PAGE.read_text(encoding="utf-8")


def test_a_rule_kind_in_one_file_is_usable_from_revgov_toml(plugins: Path, tmp_path: Path) -> None:
    declared = _toml_after('kind = "freshness"')
    path = tmp_path / "revgov.toml"
    path.write_text(declared, encoding="utf-8")
    cfg = load_config(path)
    (spec,) = cfg.rules.custom_rules
    assert type(spec).__name__ == "FreshnessRule" and spec.max_days == 365  # type: ignore[attr-defined]

    as_of = datetime(2026, 7, 1, tzinfo=UTC)
    accounts = pl.DataFrame(
        {
            "account_id": ["old", "new", "blank"],
            "created_at": [
                datetime(2024, 1, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
                None,
            ],
        }
    )
    report = audit(
        {"accounts": accounts.lazy()}, config=cfg, as_of=as_of, only=["accounts.stale_enrichment"]
    )
    result = report.result("accounts.stale_enrichment")
    assert (result.checked, result.violating) == (2, 1)
    assert report.findings_df["record_id"].to_list() == ["old"]
    assert report.findings_df["severity"].to_list() == ["warn"]

    # Its keys are validated at load like any built-in kind's, with "did you mean".
    bad = declared.replace("max_days = 365", "max_dayz = 365")
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigValidationError) as err:
        load_config(path)
    assert "revgov.toml:5: rules.custom[0].max_dayz" in str(err.value)
    assert "did you mean 'max_days'?" in str(err.value)
    with pytest.raises(ConfigValidationError, match=r"max_days: Input should be greater"):
        config_from_dict({"rules": {"custom": [spec.model_dump() | {"max_days": 0}]}})


def test_a_rule_kind_in_one_file_is_in_the_catalogue(plugins: Path) -> None:
    page = rules_page()
    assert "#### Kind `freshness`" in page
    assert "| `max_days` | int |" in page
    assert "no older than `max_days` days" in page


def test_a_connector_in_one_file_pulls(
    plugins: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "revgov.toml"
    path.write_text(_toml_after('connector = "jsonl"'), encoding="utf-8")
    # config check asks the connector what a pull would meet: the file is not there yet.
    assert main(["config", "check", str(path)]) == EXIT_REVGOV_ERROR
    assert "accounts.jsonl does not exist" in capsys.readouterr().err
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "accounts.jsonl").write_text(
        textwrap.dedent(
            """\
            {"id": "a1", "employees": "12"}
            {"id": "a2", "employees": "many"}
            {"id": "a3", "employees": "40"}
            """
        ),
        encoding="utf-8",
    )
    assert main(["config", "check", str(path)]) == 0
    result = pull(load_config(path), tmp_path / "snap", progress=False)
    assert result.for_entity("accounts") == (2, 1)  # "many" goes to quarantine, not lost
    accounts = SnapshotStore(tmp_path / "snap").scan("accounts").collect().sort("account_id")
    assert accounts["account_id"].to_list() == ["a1", "a3"]
    assert set(accounts["source_system"]) == {"jsonl"}
    # Its options are validated at load by its own model.
    path.write_text(path.read_text(encoding="utf-8").replace("directory", "directry"))
    with pytest.raises(ConfigValidationError, match="did you mean 'directory'"):
        load_config(path)
