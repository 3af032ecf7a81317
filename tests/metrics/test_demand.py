"""ICP fit and buying-group coverage (hand-computed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import ICP, Config
from revgov.errors import MetricInputError
from revgov.metrics import buying_group_coverage, icp_fit_rate
from revgov.metrics._examples import EXAMPLE_AS_OF

Eng = Callable[[pl.DataFrame], Any]


def test_icp_fit_rate_on_accounts(ex: dict[str, pl.DataFrame], ex_config: Config, eng: Eng) -> None:
    row = to_polars(icp_fit_rate(eng(ex["accounts"]), ex_config.icp)).row(0, named=True)
    assert (row["records"], row["icp_fit"]) == (4, 3)  # Umbrella is retail
    assert row["criteria"] == "industry, employees"


def test_icp_fit_rate_on_people_by_month(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    out = icp_fit_rate(ex["people"], ex_config.icp, every="1mo")
    got = {r["period"]: (r["records"], r["icp_fit"]) for r in out.iter_rows(named=True)}
    # January p1 p2 p3 p5 p6 (p5 retail), February p4 p7, March p8 p9 p10 (retail, fit, blank)
    assert got == {date(2024, 1, 1): (5, 4), date(2024, 2, 1): (2, 2), date(2024, 3, 1): (3, 1)}


def test_icp_fit_rate_blank_values_do_not_fit() -> None:
    people = pl.DataFrame({"created_at": [date(2024, 1, 1)] * 3, "country": ["US", None, "de"]})
    row = icp_fit_rate(people, ICP(countries=["us", "DE"])).row(0, named=True)
    assert row["icp_fit"] == 2


def test_icp_fit_rate_needs_a_checkable_criterion(ex: dict[str, pl.DataFrame]) -> None:
    with pytest.raises(MetricInputError, match="ICP"):
        icp_fit_rate(ex["accounts"], ICP())


def test_buying_group_coverage(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(
        buying_group_coverage(
            eng(ex["opportunities"]), eng(ex["people"]), eng(ex["activities"]), as_of=EXAMPLE_AS_OF
        )
    ).row(0, named=True)
    # Open: o4 (p6, p7), o5 (p1, p2), o6 (p3, p4), each with two roles.
    assert row["open_opportunities"] == 3
    assert (row["mean_contacts"], row["mean_roles"]) == (2.0, 2.0)
    assert (row["multi_threaded_share"], row["dark_share"]) == (0.0, 0.0)


def test_buying_group_coverage_recent_activity_only(ex: dict[str, pl.DataFrame]) -> None:
    row = buying_group_coverage(
        ex["opportunities"],
        ex["people"],
        ex["activities"],
        as_of=EXAMPLE_AS_OF,
        lookback_days=30,
        min_contacts=2,
    ).row(0, named=True)
    # Since 03-02: o4 p6 (t10), o5 p2 and p1 (t11, t12), o6 p3 (t13).
    assert row["mean_contacts"] == pytest.approx(4 / 3)
    assert row["single_threaded_share"] == pytest.approx(2 / 3)
    assert row["multi_threaded_share"] == pytest.approx(1 / 3)
    assert row["mean_roles"] == pytest.approx(4 / 3)


def test_buying_group_coverage_by_creation_month(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        buying_group_coverage(
            eng(ex["opportunities"]),
            eng(ex["people"]),
            eng(ex["activities"]),
            as_of=EXAMPLE_AS_OF,
            every="1mo",
        )
    )
    got = {r["period"]: r["open_opportunities"] for r in out.iter_rows(named=True)}
    # The open deals by the month they were created in: o4 and o5 in February, o6 in March.
    assert got == {date(2024, 2, 1): 2, date(2024, 3, 1): 1}
