"""The facts of ../shared/datasets/*/SOURCE.md, recomputed through the files connector, the
example configs and the public KPI functions. Expected values are copied from SOURCE.md."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from revgov.config import Config
from revgov.metrics import (
    average_deal_size,
    bookings,
    compute,
    lead_to_close_days,
    lead_to_opportunity,
    mql_to_sql,
    pipeline_created,
    prepare_frames,
    sales_cycle_days,
    win_rate_by_amount,
    win_rate_by_count,
    with_owner_attributes,
)

Pulled = tuple[Config, dict[str, pl.LazyFrame]]


def _as_dict(frame: pl.LazyFrame | pl.DataFrame, key: str, value: str) -> dict[Any, Any]:
    df = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return dict(zip(df[key].to_list(), df[value].to_list(), strict=True))


def _one(frame: pl.LazyFrame) -> dict[str, Any]:
    df = frame.collect()
    assert df.height == 1
    return df.row(0, named=True)


# -- Maven CRM -------------------------------------------------------------------------------


def test_maven_stage_counts(maven: Pulled) -> None:
    _, frames = maven
    counts = _as_dict(
        pipeline_created(frames["opportunities"], by="stage"), "stage", "opportunities"
    )
    assert counts == {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}


def test_maven_win_rate(maven: Pulled) -> None:
    _, frames = maven
    row = _one(win_rate_by_count(frames["opportunities"]))
    assert (row["won"], row["closed"]) == (4238, 6711)
    assert row["win_rate"] == 4238 / 6711


def test_maven_won_revenue_and_deal_size(maven: Pulled) -> None:
    _, frames = maven
    row = _one(bookings(frames["opportunities"]))
    assert (row["won_deals"], row["bookings"]) == (4238, 10_005_534)
    size = _one(average_deal_size(frames["opportunities"]))
    assert size["average_deal_size"] == pytest.approx(2360.909, abs=1e-3)
    # Lost deals all have close_value 0, so the amount-basis win rate is 1.
    by_amount = _one(win_rate_by_amount(frames["opportunities"]))
    assert by_amount["closed_amount"] == 10_005_534
    assert by_amount["win_rate"] == 1.0


def test_maven_sales_cycle(maven: Pulled) -> None:
    _, frames = maven
    won = _one(sales_cycle_days(frames["opportunities"]))
    assert won["deals"] == 4238
    assert won["median_days"] == 57
    assert won["mean_days"] == pytest.approx(51.78197, abs=1e-5)
    assert (won["min_days"], won["max_days"]) == (1, 138)
    lost = _one(sales_cycle_days(frames["opportunities"], outcome="lost"))
    assert lost["median_days"] == 14


def test_maven_won_value_by_product(maven: Pulled) -> None:
    _, frames = maven
    by_product = _as_dict(bookings(frames["opportunities"], by="product"), "product", "bookings")
    assert by_product == {
        "GTXPro": 3_510_578,
        "GTX Plus Pro": 2_629_651,
        "MG Advanced": 2_216_387,
        "GTX Plus Basic": 705_275,
        "GTX Basic": 499_263,
        "GTK 500": 400_612,
        "MG Special": 43_768,
    }


def test_maven_won_value_by_owner_region(maven: Pulled) -> None:
    _, frames = maven
    opps = with_owner_attributes(frames["opportunities"], frames["users"], columns=["region"])
    by_region = _as_dict(bookings(opps, by="owner_region"), "owner_region", "bookings")
    assert by_region == {"West": 3_568_647, "Central": 3_346_293, "East": 3_090_594}


def test_maven_won_value_by_region_through_the_registry(maven: Pulled) -> None:
    cfg, frames = maven
    out = compute("bookings", frames, cfg, by=["owner_region"])
    assert _as_dict(out, "owner_region", "bookings") == {
        "West": 3_568_647,
        "Central": 3_346_293,
        "East": 3_090_594,
    }


def test_maven_top_agents(maven: Pulled) -> None:
    _, frames = maven
    by_agent = bookings(frames["opportunities"], by="owner_id").collect()
    top = by_agent.sort("bookings", descending=True).head(3)
    assert top.select("owner_id", "bookings").rows() == [
        ("Darcel Schlecht", 1_153_214.0),
        ("Vicki Laflamme", 478_396.0),
        ("Kary Hendrixson", 454_298.0),
    ]


def test_maven_won_value_by_close_month(maven: Pulled) -> None:
    _, frames = maven
    monthly = bookings(frames["opportunities"], every="1mo").collect()
    got = {r["period"]: (r["bookings"], r["won_deals"]) for r in monthly.iter_rows(named=True)}
    expected = {
        3: (1_134_672, 531),
        4: (721_932, 285),
        5: (1_025_713, 438),
        6: (1_338_466, 531),
        7: (696_932, 308),
        8: (1_050_059, 446),
        9: (1_235_264, 503),
        10: (731_980, 279),
        11: (938_943, 406),
        12: (1_131_573, 511),
    }
    assert got == {date(2017, m, 1): v for m, v in expected.items()}


def test_maven_flags_come_from_the_configured_stages(maven: Pulled) -> None:
    cfg, frames = maven
    prepared = prepare_frames(frames, cfg)["opportunities"].collect()
    won = prepared.filter(pl.col("stage") == "Won")
    assert won["is_won"].all() and won["is_closed"].all()
    assert prepared.filter(pl.col("stage") == "Engaging")["is_closed"].not_().all()


# -- Olist marketing funnel --------------------------------------------------------------------


def test_olist_lead_to_deal(olist: Pulled) -> None:
    _, frames = olist
    row = _one(lead_to_opportunity(frames["people"], frames["opportunities"]))
    assert (row["converted"], row["leads"]) == (842, 8000)
    assert row["conversion_rate"] == 0.10525


def test_olist_mqls_and_deals_by_origin(olist: Pulled) -> None:
    _, frames = olist
    out = lead_to_opportunity(frames["people"], frames["opportunities"], by="lead_source")
    got = {
        r["lead_source"]: (r["leads"], r["converted"]) for r in out.collect().iter_rows(named=True)
    }
    assert got == {
        "organic_search": (2296, 271),
        "paid_search": (1586, 195),
        "social": (1350, 75),
        "unknown": (1099, 179),
        "direct_traffic": (499, 56),
        "email": (493, 15),
        "referral": (284, 24),
        "other": (150, 4),
        "display": (118, 6),
        "other_publicities": (65, 3),
        None: (60, 14),  # a blank origin is a null lead source
    }


def test_olist_mqls_by_month(olist: Pulled) -> None:
    _, frames = olist
    out = mql_to_sql(frames["people"], every="1mo")
    got = _as_dict(out, "period", "mqls")
    months = ["2017-06", "2017-07", "2017-08", "2017-09", "2017-10", "2017-11", "2017-12"]
    months += ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05"]
    counts = [4, 239, 386, 312, 416, 445, 200, 1141, 1028, 1174, 1352, 1303]
    assert got == {date.fromisoformat(m + "-01"): n for m, n in zip(months, counts, strict=True)}


def test_olist_deals_by_won_month(olist: Pulled) -> None:
    _, frames = olist
    got = _as_dict(bookings(frames["opportunities"], every="1mo"), "period", "won_deals")
    months = ["2017-12"] + [f"2018-{m:02d}" for m in range(1, 12)]
    counts = [3, 73, 113, 147, 207, 122, 57, 37, 33, 23, 21, 6]
    assert got == {date.fromisoformat(m + "-01"): n for m, n in zip(months, counts, strict=True)}


def test_olist_days_to_close(olist: Pulled) -> None:
    _, frames = olist
    calendar = _one(lead_to_close_days(frames["opportunities"], frames["people"]))
    assert calendar["deals"] == 842
    assert calendar["median_days"] == 14
    assert round(calendar["mean_days"], 4) == 48.4406
    assert (calendar["min_days"], calendar["max_days"]) == (-2, 427)
    fractional = _one(lead_to_close_days(frames["opportunities"], frames["people"], calendar=False))
    assert round(fractional["median_days"], 4) == 14.6507
    assert round(fractional["mean_days"], 4) == 49.1008


def test_olist_deals_carry_no_amount(olist: Pulled) -> None:
    # SOURCE.md: closed deals have no deal value, so bookings are unknown, not 0.
    _, frames = olist
    row = _one(bookings(frames["opportunities"]))
    assert (row["won_deals"], row["bookings"]) == (842, None)
    size = _one(average_deal_size(frames["opportunities"]))
    assert (size["deals_with_amount"], size["average_deal_size"]) == (0, None)
