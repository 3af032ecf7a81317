"""The HTML report in a real browser (Debian's Chromium, headless): it renders every chart with
no console error and no network request, shows the JSON report's numbers, and prints."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from tests.reports.browser import open_report, pdf_pages, print_pdf
from tests.reports.conftest import hostile_html

from revgov.demo import DemoOutput
from revgov.reports._format import display

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def written(demo: DemoOutput, as_of: datetime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The audit report as the CLI writes it, and its JSON beside it."""
    from revgov.cli import main

    out = tmp_path_factory.mktemp("html")
    args = ["report", "-s", str(demo.snapshot_dir), "--no-record"]
    assert main([*args, "--out", str(out / "report.html")]) == 0
    assert main([*args, "--format", "json", "--out", str(out / "report.json")]) == 0
    return out


def _assert_clean(visit) -> None:  # type: ignore[no-untyped-def]
    problems = [m for m in visit.console if m[0] in ("error", "warning")]
    assert problems == [] and visit.errors == []
    assert visit.requests == [visit.page.url]  # the file itself, nothing else
    failed = visit.page.eval_on_selector_all(".chart[data-error]", "els => els.map(e => e.id)")
    assert failed == []


def test_renders_offline_with_the_json_reports_numbers(written: Path, tmp_path: Path) -> None:
    data = json.loads((written / "report.json").read_text(encoding="utf-8"))
    with open_report(written / "report.html") as visit:
        _assert_clean(visit)
        page = visit.page
        charts = sum(len(s["charts"]) for s in data["sections"])
        assert page.locator(".chart[data-rendered] svg").count() == charts > 8
        shown = page.eval_on_selector_all(
            "[data-key]",
            "els => els.map(e => [e.dataset.key, e.dataset.value, "
            "e.querySelector('.value').textContent])",
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        label = page.locator("[data-chart=funnel]").get_attribute("aria-label")
        stamp = page.locator("[data-stamp=config_hash]").first.text_content()
    assert (tmp_path / "report.png").stat().st_size > 20_000
    keys = data["key_numbers"]
    assert {k for k, _, _ in shown} == set(keys)
    for key, raw, text in shown:
        value = keys[key]["value"]
        assert (float(raw) if raw else None) == value, key
        # The page formats the JSON's value exactly as the renderers' one formatter does.
        assert text == display(value, keys[key]["unit"], currency=data["stamp"]["currency"])
    assert stamp == data["stamp"]["config_hash"]
    funnel = next(c for s in data["sections"] for c in s["charts"] if c["id"] == "funnel")
    assert label == funnel["description"]


def test_dark_mode_restyles_the_chart_text(written: Path, tmp_path: Path) -> None:
    fills = {}
    for scheme in ("light", "dark"):
        with open_report(written / "report.html", color_scheme=scheme) as visit:
            _assert_clean(visit)
            page = visit.page
            fills[scheme] = page.eval_on_selector(
                "#chart-funnel .role-axis-label text", "e => getComputedStyle(e).fill"
            )
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            page.screenshot(path=str(tmp_path / f"{scheme}.png"))
        assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    assert fills["light"] != fills["dark"]
    assert fills["dark"] == "rgb(231, 234, 238)"  # the dark theme's text colour


def test_prints_to_a_sane_number_of_pages(written: Path, tmp_path: Path) -> None:
    pages = print_pdf(written / "report.html", tmp_path / "report.pdf")
    assert 4 <= pages <= 40
    assert pdf_pages(tmp_path / "report.pdf") == pages


def test_hostile_values_do_not_run(demo_copy: Path, as_of: datetime, tmp_path: Path) -> None:
    evil = '<img src="http://127.0.0.1:9/x" onerror="document.title=\'owned\'">'
    html = tmp_path / "evil.html"
    html.write_text(hostile_html(demo_copy, as_of, evil), encoding="utf-8")
    with open_report(html) as visit:
        _assert_clean(visit)
        assert visit.page.title() != "owned"
        assert visit.page.get_by_text(evil).count() >= 1  # shown as text
