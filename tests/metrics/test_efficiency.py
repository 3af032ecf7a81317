"""CAC, CAC payback and efficiency per channel and campaign (hand-computed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.config import KPIChoices
from revgov.errors import MetricInputError
from revgov.metrics import cac, cac_payback_months, campaign_efficiency, channel_efficiency

Eng = Callable[[pl.DataFrame], Any]
FEB, MAR, APR = date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)


def test_cac_charges_last_months_spend(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(cac(eng(ex["spend"]), eng(ex["opportunities"])))
    got = {
        r["period"]: (r["spend"], r["new_customers"], r["cac"]) for r in out.iter_rows(named=True)
    }
    # January spend 5,500 buys February's one customer; February's 2,000 March's two.
    assert got == {FEB: (5_500, 1, 5_500), MAR: (2_000, 2, 1_000), APR: (2_000, 0, None)}
    assert set(out["spend_lag_months"]) == {1}


def test_cac_without_lag(ex: dict[str, pl.DataFrame]) -> None:
    out = cac(ex["spend"], ex["opportunities"], choices=KPIChoices(cac_spend_lag_months=0))
    got = {r["period"]: r["cac"] for r in out.iter_rows(named=True)}
    assert got == {date(2024, 1, 1): None, FEB: 2_000, MAR: 1_000}


def test_cac_counts_accounts_not_deals_and_only_new_business() -> None:
    spend = pl.DataFrame({"period": [date(2024, 1, 1)], "amount": [900.0]})
    opps = pl.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d"],
            "account_id": ["x", "x", "y", "z"],
            "type": ["New Business", None, "renewal", "new business"],
            "amount": [100.0, 50.0, 70.0, 10.0],
            "is_won": [True, True, True, True],
            "close_date": [date(2024, 1, 5)] * 4,
        }
    )
    row = cac(spend, opps, spend_lag_months=0).row(0, named=True)
    assert row["new_customers"] == 2  # x (twice) and z; the renewal is not new business
    assert row["new_arr"] == 160
    assert row["cac"] == 450


def test_cac_payback(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(cac_payback_months(eng(ex["spend"]), eng(ex["opportunities"])))
    got = {r["period"]: r["cac_payback_months"] for r in out.iter_rows(named=True)}
    # 5,500 / (12,000 x 0.75 / 12) and 2,000 / (36,000 x 0.75 / 12)
    assert got[FEB] == pytest.approx(5_500 / 750)
    assert got[MAR] == pytest.approx(2_000 / 2_250)
    assert got[APR] is None
    half = cac_payback_months(ex["spend"], ex["opportunities"], gross_margin=0.5)
    assert half.filter(pl.col("period") == FEB)["cac_payback_months"][0] == pytest.approx(11.0)


def test_channel_efficiency(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        channel_efficiency(
            eng(ex["opportunities"]), eng(ex["spend"]), campaigns=eng(ex["campaigns"])
        )
    )
    got = {r["channel"]: r for r in out.iter_rows(named=True)}
    paid = got["paid-search"]
    assert (paid["spend"], paid["opportunities"], paid["pipeline_amount"]) == (6_000, 3, 29_000)
    assert (paid["won_deals"], paid["bookings"]) == (1, 12_000)
    assert paid["pipeline_per_spend"] == pytest.approx(29_000 / 6_000)
    assert paid["bookings_per_spend"] == 2.0
    assert got["email"]["pipeline_per_spend"] == 0.0
    # Deals without a campaign fall back to their lead source; no spend there: null ratios.
    assert got["outbound"]["pipeline_amount"] == 70_000
    assert got["outbound"]["pipeline_per_spend"] is None


def test_channel_efficiency_by_month(ex: dict[str, pl.DataFrame]) -> None:
    out = channel_efficiency(
        ex["opportunities"], ex["spend"], campaigns=ex["campaigns"], every="1mo"
    )
    mar = out.filter((pl.col("channel") == "paid-search") & (pl.col("period") == MAR))
    assert mar.select("spend", "pipeline_amount", "bookings").row(0) == (2_000, 9_000, 0)


def test_campaign_efficiency(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        campaign_efficiency(eng(ex["opportunities"]), eng(ex["campaigns"]), spend=eng(ex["spend"]))
    )
    got = {r["campaign_id"]: r for r in out.iter_rows(named=True)}
    assert (got["c1"]["cost"], got["c1"]["pipeline_amount"], got["c1"]["bookings"]) == (
        6_000,
        29_000,
        12_000,
    )
    assert got["c2"]["bookings_per_cost"] == 2.0
    assert got["c3"]["opportunities"] == 0  # a campaign with no pipeline is still listed
    without_spend = campaign_efficiency(ex["opportunities"], ex["campaigns"])
    assert without_spend.filter(pl.col("campaign_id") == "c3")["cost"][0] == 500


def _spend_by_segment(ex: dict[str, pl.DataFrame]) -> pl.DataFrame:
    # Paid search bought smb demand, the rest mid.
    return ex["spend"].with_columns(
        pl.when(pl.col("channel") == "paid-search")
        .then(pl.lit("smb"))
        .otherwise(pl.lit("mid"))
        .alias("segment")
    )


def test_channel_efficiency_by_segment(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        channel_efficiency(
            eng(ex["opportunities"]),
            eng(_spend_by_segment(ex)),
            campaigns=eng(ex["campaigns"]),
            by="segment",
        )
    )
    got = {(r["channel"], r["segment"]): r for r in out.iter_rows(named=True)}
    smb = got[("paid-search", "smb")]
    # smb paid search: o4 (8,000) and o8 (9,000), none won; all 6,000 of paid search spend.
    assert (smb["spend"], smb["pipeline_amount"], smb["bookings"]) == (6_000, 17_000, 0)
    mid = got[("paid-search", "mid")]
    # mid paid search: o1 (12,000, won) and no spend on mid paid search: null ratios.
    assert (mid["spend"], mid["bookings"], mid["bookings_per_spend"]) == (0, 12_000, None)
    assert out.columns[:2] == ["channel", "segment"]


def test_efficiency_by_a_column_spend_lacks_is_an_error(ex: dict[str, pl.DataFrame]) -> None:
    spend = ex["spend"].drop("segment")
    with pytest.raises(MetricInputError, match="spend"):
        channel_efficiency(ex["opportunities"], spend, by="segment")
    with pytest.raises(MetricInputError, match="spend"):
        campaign_efficiency(ex["opportunities"], ex["campaigns"], by="segment")


def test_campaign_efficiency_by_segment(ex: dict[str, pl.DataFrame]) -> None:
    out = campaign_efficiency(
        ex["opportunities"], ex["campaigns"], spend=_spend_by_segment(ex), by="segment"
    )
    got = {(r["campaign_id"], r["segment"]): r for r in out.iter_rows(named=True)}
    assert got[("c1", "smb")]["cost"] == 6_000
    assert got[("c1", "smb")]["pipeline_amount"] == 17_000
    assert got[("c1", "mid")]["cost"] is None  # no c1 spend line names mid
    assert got[("c2", "mid")]["cost"] == 3_000
    assert got[("c2", "smb")]["bookings"] == 6_000  # o7


def test_efficiency_keeps_unknown_amounts_unknown(ex: dict[str, pl.DataFrame]) -> None:
    opps = ex["opportunities"].with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))
    out = channel_efficiency(opps, ex["spend"], campaigns=ex["campaigns"])
    paid = out.filter(pl.col("channel") == "paid-search").row(0, named=True)
    assert paid["opportunities"] == 3
    assert paid["pipeline_amount"] is None and paid["pipeline_per_spend"] is None
    email = out.filter(pl.col("channel") == "email").row(0, named=True)
    assert email["pipeline_amount"] == 0  # no deals at all: nothing, not unknown
    row = cac(ex["spend"], opps).filter(pl.col("period") == MAR).row(0, named=True)
    assert (row["new_customers"], row["new_arr"]) == (2, None)
