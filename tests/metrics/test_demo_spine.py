"""Every KPI and the cadence on the demo CRM (messy on purpose), on polars and on DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pytest
from tests.metrics.conftest import to_polars
from tests.metrics.test_engines import assert_same

from revgov.demo import DEFAULT_AS_OF, DemoData, generate
from revgov.metrics import (
    KPIS,
    compute,
    monthly_pipeline_review,
    quarterly_reforecast,
    weekly_scoreboard,
)

RATE_COLUMNS = {
    "win_rate", "conversion_rate", "qualified_rate", "step_conversion", "cumulative_conversion",
    "contact_rate", "sla_compliance_rate", "sourced_share", "influenced_share", "icp_fit_rate",
    "multi_threaded_share", "single_threaded_share", "dark_share",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(scale=0.1, seed=3)


@pytest.mark.parametrize("name", list(KPIS))
def test_kpi_on_demo_data(name: str, demo: DemoData) -> None:
    by = ["segment"]
    lazy: dict[str, Any] = {k: v.lazy() for k, v in demo.frames.items()}
    duck: dict[str, Any] = {k: duckdb.from_arrow(v.to_arrow()) for k, v in demo.frames.items()}
    got = to_polars(compute(name, lazy, demo.config, by=by, as_of=DEFAULT_AS_OF))
    assert got.height > 0
    for col in RATE_COLUMNS & set(got.columns):
        values = got[col].drop_nulls()
        assert ((values >= 0) & (values <= 1)).all(), col
    assert_same(got, to_polars(compute(name, duck, demo.config, by=by, as_of=DEFAULT_AS_OF)))


def test_cadence_on_demo_data(demo: DemoData) -> None:
    lazy = {k: v.lazy() for k, v in demo.frames.items()}
    board = to_polars(weekly_scoreboard(lazy, demo.config, as_of=DEFAULT_AS_OF))
    assert {"new_people", "speed_to_lead_median_hours", "step_conversion"} <= set(
        board["indicator"]
    )
    review = monthly_pipeline_review(lazy, demo.config, as_of=DEFAULT_AS_OF)
    summary = to_polars(review.summary)
    assert summary.filter(pl.col("indicator") == "bookings")["value"][0] > 0
    plan = quarterly_reforecast(lazy, demo.config, as_of=DEFAULT_AS_OF)
    backward = to_polars(plan.backward)
    # New pipeline is needed exactly where the open pipeline leaves a gap to the target (in
    # the demo the aggressive case's open pipeline covers it in every segment).
    gap = backward["gap_to_target"] > 0
    assert (backward["pipeline_needed"] > 0).to_list() == gap.to_list()
    assert backward.filter(pl.col("scenario") != "aggressive")["pipeline_needed"].min() > 0
