"""The KPI registry: complete definitions, runnable examples, and docs/metrics.md in sync."""

from __future__ import annotations

import dataclasses
import inspect
import re
from datetime import date, datetime

import polars as pl
import pytest
from tests.metrics.test_engines import assert_same

import revgov.metrics as metrics
from revgov.config import Config, config_from_dict
from revgov.docgen.metrics_page import render
from revgov.errors import MetricInputError
from revgov.metrics import KPIS, compute, get_kpi
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


def test_catalogue_lists_every_kpi_with_a_worked_example() -> None:
    text = render()
    for d in KPIS.values():
        assert f"(`{d.name}`)" in text
        assert d.example in text


# -- options every KPI honours -------------------------------------------------------------


@pytest.mark.parametrize("name", list(KPIS))
def test_by_and_every_are_never_ignored(
    name: str, ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    frames = {k: v.lazy() for k, v in ex.items()}
    d = KPIS[name]
    assert d.takes_by and d.takes_every, f"{name} should take by= and every="
    grouped = compute(name, frames, ex_config, by=["segment"], as_of=EXAMPLE_AS_OF).collect()
    assert "segment" in grouped.columns, f"{name} dropped by="
    split = compute(name, frames, ex_config, every="1mo", as_of=EXAMPLE_AS_OF).collect()
    assert "period" in split.columns, f"{name} dropped every="
    assert split.height > 0


def test_an_option_a_kpi_cannot_take_is_an_error(
    ex: dict[str, pl.DataFrame], ex_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = {k: v.lazy() for k, v in ex.items()}
    monkeypatch.setitem(KPIS, "bookings", dataclasses.replace(KPIS["bookings"], takes_by=False))
    with pytest.raises(MetricInputError, match="cannot be grouped"):
        compute("bookings", frames, ex_config, by=["segment"])
    monkeypatch.setitem(KPIS, "bookings", dataclasses.replace(KPIS["bookings"], takes_every=False))
    with pytest.raises(MetricInputError, match="cannot be split into periods"):
        compute("bookings", frames, ex_config, every="1q")


def test_a_by_column_on_only_one_input_is_an_error(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    # cac divides spend between groups: spend must be split by the column too.
    frames = {k: v.lazy() for k, v in ex.items()}
    with pytest.raises(MetricInputError, match="owner_region") as err:
        compute("cac", frames, ex_config, by=["owner_region"], as_of=EXAMPLE_AS_OF)
    assert "spend" in str(err.value)


def test_headline_units_are_the_units_of_the_headline_column() -> None:
    for d in KPIS.values():
        if d.headline is None:
            continue
        label = d.headline_label
        assert ";" not in label, f"{d.name}: one unit for one number"
        assert label in [u.strip() for u in d.unit.split(";")], d.name
        column = d.headline
        if column.endswith(("_rate", "_share")):
            assert label == "share", d.name
        elif column.endswith("_days"):
            assert label == "days", d.name
        elif column.endswith("_per_month"):
            assert label.endswith("per month"), d.name
        elif column in ("bookings", "pipeline_amount", "qualified_amount", "average_deal_size"):
            assert label == "currency", d.name


# -- as_of: every KPI measures the CRM as it stood then ---------------------------------------

CUT = datetime(2024, 2, 15)


def _by_hand_as_of(ex: dict[str, pl.DataFrame], cut: datetime) -> dict[str, pl.DataFrame]:
    """The example CRM as it stood at ``cut``, written out with plain polars."""
    at = pl.lit(cut).dt.replace_time_zone("UTC")

    def upto(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        value = pl.col(column)
        if frame.schema[column] == pl.Date:
            value = value.cast(pl.Datetime("us", "UTC"))
        return frame.filter(value.is_null() | (value <= at))

    out = dict(ex)
    for entity, column in (
        ("stage_events", "changed_at"),
        ("activities", "occurred_at"),
        ("campaign_touches", "touched_at"),
        ("spend", "period"),
        ("accounts", "created_at"),
        ("campaigns", "created_at"),
    ):
        out[entity] = upto(ex[entity], column)
    events = ex["stage_events"]
    moved = events.filter(pl.col("changed_at") > at)["record_id"].unique().to_list()
    stage_then = (
        out["stage_events"]
        .sort("changed_at", "event_id")
        .group_by("record_id")
        .agg(pl.col("to_value").last().alias("stage_then"))
    )
    opps = upto(ex["opportunities"], "created_at").join(
        stage_then, left_on="opportunity_id", right_on="record_id", how="left"
    )
    late = pl.col("is_closed") & (pl.col("closed_at") > at)
    opps = opps.with_columns(
        pl.when(pl.col("opportunity_id").is_in(moved))
        .then(pl.col("stage_then"))
        .when(late)
        .then(None)
        .otherwise(pl.col("stage"))
        .alias("stage"),
        pl.when(late).then(False).otherwise(pl.col("is_won")).alias("is_won"),
        pl.when(late).then(None).otherwise(pl.col("closed_at")).alias("closed_at"),
        pl.when(late).then(False).otherwise(pl.col("is_closed")).alias("is_closed"),
    ).drop("stage_then")
    out["opportunities"] = opps
    people = upto(ex["people"], "created_at")
    out["people"] = people.with_columns(
        pl.when(pl.col("mql_at") <= at).then(pl.col("mql_at")).alias("mql_at")
    )
    return out


def test_the_cut_by_hand_is_not_a_no_op(ex: dict[str, pl.DataFrame]) -> None:
    cut = _by_hand_as_of(ex, CUT)
    opps = {r["opportunity_id"]: r for r in cut["opportunities"].iter_rows(named=True)}
    # o6 and o8 did not exist yet; o1 (won 02-20) was open at Proposal; o5 (created that
    # day, first stage event at 10:00) had no stage yet.
    assert set(opps) == {"o1", "o2", "o3", "o4", "o5", "o7"}
    assert (opps["o1"]["stage"], opps["o1"]["is_won"]) == ("Proposal", False)
    assert opps["o5"]["stage"] is None
    assert opps["o3"]["is_closed"]  # lost on 02-10


@pytest.mark.parametrize("name", list(KPIS))
def test_as_of_is_a_cut_off_for_every_kpi(
    name: str, ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    full = {k: v.lazy() for k, v in ex.items()}
    by_hand = {k: v.lazy() for k, v in _by_hand_as_of(ex, CUT).items()}
    then = compute(name, full, ex_config, as_of=CUT).collect()
    assert_same(then, compute(name, by_hand, ex_config, as_of=CUT).collect())
    later = compute(name, full, ex_config, as_of=EXAMPLE_AS_OF).collect()
    assert not then.equals(later), f"{name} reads the same on {CUT:%Y-%m-%d} and later"


# -- fiscal periods ------------------------------------------------------------------------


def test_fiscal_quarters_follow_the_fiscal_year(ex: dict[str, pl.DataFrame]) -> None:
    fiscal = config_from_dict(
        {
            "company": {"fiscal_year_start_month": 2},
            "kpis": {"fiscal_calendar": True},
        }
    )
    frames = {k: v.lazy() for k, v in ex.items()}
    out = compute("pipeline_created", frames, fiscal, every="1q", as_of=EXAMPLE_AS_OF).collect()
    got = dict(zip(out["period"], out["opportunities"], strict=True))
    # Fiscal quarters Nov-Jan, Feb-Apr: January's three deals, then February and March's five.
    assert got == {date(2023, 11, 1): 3, date(2024, 2, 1): 5}
    years = compute("bookings", frames, fiscal, every="1y", as_of=EXAMPLE_AS_OF).collect()
    assert years["period"].to_list() == [date(2024, 2, 1)]
    calendar = compute("pipeline_created", frames, Config(), every="1q", as_of=EXAMPLE_AS_OF)
    assert calendar.collect()["period"].to_list() == [date(2024, 1, 1)]
