"""The KPI registry: complete definitions, runnable examples, and docs/metrics.md in sync."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import polars as pl
import pytest

import revgov.metrics as metrics
from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import KPIS, compute, get_kpi
from revgov.metrics._catalogue import render
from revgov.metrics._examples import EXAMPLE_AS_OF
from revgov.model import ENTITIES

ISSUE_KPIS = {
    "pipeline_created", "qualified_pipeline", "bookings", "stage_conversion",
    "lead_to_opportunity", "mql_to_sql", "opportunity_to_win", "time_in_stage",
    "sales_cycle_days", "win_rate_by_count", "win_rate_by_amount", "average_deal_size",
    "sales_velocity", "pipeline_coverage", "required_coverage", "speed_to_lead",
    "sla_compliance_rate", "cac", "cac_payback_months", "marketing_sourced_pipeline",
    "marketing_influenced_pipeline", "channel_efficiency", "campaign_efficiency",
    "attribution", "icp_fit_rate", "buying_group_coverage", "funnel_leakage",
}  # fmt: skip


def test_every_kpi_of_the_issue_is_registered() -> None:
    assert set(KPIS) >= ISSUE_KPIS


@pytest.mark.parametrize("name", list(KPIS))
def test_definition_is_complete(name: str) -> None:
    d = KPIS[name]
    assert d.function is getattr(metrics, name)
    assert d.function.__name__ == name
    for text in (d.title, d.unit, d.basis, d.owner, d.driver, d.remediation, d.example):
        assert text.strip()
    assert d.formula, f"{name}'s docstring has no Formula paragraph"
    assert d.returns, f"{name}'s docstring has no Returns paragraph"
    assert set(d.inputs) <= set(ENTITIES)


@pytest.mark.parametrize("name", list(KPIS))
def test_every_public_kpi_docstring_names_its_output_columns(
    name: str, ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    d = KPIS[name]
    ns = {n: getattr(metrics, n) for n in metrics.__all__} | dict(ex)
    ns |= {"config": ex_config, "as_of": EXAMPLE_AS_OF}
    out = eval(d.example, ns)
    assert isinstance(out, pl.DataFrame) and out.height > 0
    grouped = set(re.findall(r'by="(\w+)"', d.example)) | {"period"}
    for column in out.columns:
        if column not in grouped:
            assert column in d.returns, f"{name} returns {column!r} but its docstring omits it"
    if d.headline is not None:
        assert d.headline in out.columns


@pytest.mark.parametrize("name", list(KPIS))
def test_compute_runs_each_kpi_as_the_cli_does(
    name: str, ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    out = compute(name, {k: v.lazy() for k, v in ex.items()}, ex_config, as_of=EXAMPLE_AS_OF)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect().height > 0


def test_unknown_kpi_suggests_the_closest() -> None:
    with pytest.raises(MetricInputError, match="win_rate_by_count"):
        get_kpi("win_rate_by_cont")


def test_compute_names_missing_entities(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    with pytest.raises(MetricInputError, match="spend"):
        compute("cac", {"opportunities": ex["opportunities"].lazy()}, ex_config)


def test_public_api_is_explicit() -> None:
    for name in metrics.__all__:
        assert hasattr(metrics, name)
    functions = [n for n in metrics.__all__ if inspect.isfunction(getattr(metrics, n))]
    for name in functions:
        assert inspect.getdoc(getattr(metrics, name)), name


def test_committed_catalogue_is_current(repo_root: Path) -> None:
    committed = (repo_root / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/metrics.md is stale: run `python -m revgov.metrics._catalogue > docs/metrics.md`"
    )


def test_catalogue_lists_every_kpi_with_a_worked_example() -> None:
    text = render()
    for d in KPIS.values():
        assert f"(`{d.name}`)" in text
        assert d.example in text
