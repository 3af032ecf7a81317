"""Sourced, influenced and attributed pipeline (hand-computed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.metrics import attribution, marketing_influenced_pipeline, marketing_sourced_pipeline

Eng = Callable[[pl.DataFrame], Any]


def test_marketing_sourced(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    row = to_polars(marketing_sourced_pipeline(eng(ex["opportunities"]))).row(0, named=True)
    # o1, o3, o4, o7, o8 have a primary campaign; outbound and referral are not marketing.
    assert (row["sourced_opportunities"], row["sourced_amount"]) == (5, 40_000)
    assert row["sourced_share"] == pytest.approx(40_000 / 125_000)


def test_marketing_influenced(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    opps, touches, people = eng(ex["opportunities"]), eng(ex["campaign_touches"]), eng(ex["people"])
    row = to_polars(marketing_influenced_pipeline(opps, touches, people=people)).row(0, named=True)
    # Every deal but the two at Initech (a2) had a touch before it was created.
    assert (row["influenced_opportunities"], row["influenced_amount"]) == (6, 55_000)
    recent = to_polars(
        marketing_influenced_pipeline(opps, touches, people=people, lookback_days=10)
    ).row(0, named=True)
    # Within 10 days of creation: o1 (x2), o3 (x3), o4 (x4), o8 (x5).
    assert (recent["influenced_opportunities"], recent["influenced_amount"]) == (4, 34_000)


def test_marketing_influenced_by_primary_person_only(ex: dict[str, pl.DataFrame]) -> None:
    by_person = marketing_influenced_pipeline(ex["opportunities"], ex["campaign_touches"]).row(
        0, named=True
    )
    assert by_person["influenced_opportunities"] == 6


def test_attribution_models(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        attribution(
            eng(ex["opportunities"]), eng(ex["campaign_touches"]), campaigns=eng(ex["campaigns"])
        )
    )
    got = {
        (r["campaign_id"], r["model"]): (
            r["attributed_opportunities"],
            r["attributed_pipeline"],
            r["attributed_bookings"],
        )
        for r in out.iter_rows(named=True)
    }
    # o1 was touched by c3 then c1; o5 by c3; o4 and o8 by c1; o3 and o7 by c2.
    assert got[("c3", "first")] == (2, 27_000, 12_000)
    assert got[("c1", "last")] == (3, 29_000, 12_000)
    assert got[("c1", "linear")] == (2.5, 23_000, 6_000)
    assert got[("c3", "linear")] == (1.5, 21_000, 6_000)
    assert set(out["reading"]) == {"directional"}
    assert set(out["channel"]) == {"paid-search", "webinar", "email"}


def test_attribution_credit_sums_to_the_touched_deals(ex: dict[str, pl.DataFrame]) -> None:
    out = attribution(ex["opportunities"], ex["campaign_touches"], people=ex["people"])
    totals = out.group_by("model").agg(pl.col("attributed_opportunities").sum())
    assert dict(totals.iter_rows()) == pytest.approx({"first": 6, "last": 6, "linear": 6})


def test_simultaneous_touches_share_first_touch_credit() -> None:
    opps = pl.DataFrame(
        {
            "opportunity_id": ["o"],
            "amount": [100.0],
            "is_won": [False],
            "created_at": [datetime(2024, 2, 1)],
            "primary_person_id": ["p"],
        }
    )
    touches = pl.DataFrame(
        {
            "touch_id": ["a", "b", "c"],
            "person_id": ["p", "p", "p"],
            "campaign_id": ["x", "y", "z"],
            "touched_at": [datetime(2024, 1, 1)] * 2 + [datetime(2024, 1, 9)],
        }
    )
    out = attribution(opps, touches, models=["first"])
    got = dict(zip(out["campaign_id"], out["attributed_pipeline"], strict=True))
    assert got == {"x": 50.0, "y": 50.0, "z": 0.0}


def test_attribution_by_a_deal_column(ex: dict[str, pl.DataFrame], eng: Eng) -> None:
    out = to_polars(
        attribution(
            eng(ex["opportunities"]), eng(ex["campaign_touches"]), by="segment", models=["linear"]
        )
    )
    got = {
        (r["campaign_id"], r["segment"]): r["attributed_pipeline"]
        for r in out.iter_rows(named=True)
    }
    # c1: o1 (mid, half of 12,000), o4 and o8 (smb); c3: o1 (mid, half), o5 (mid, 15,000).
    assert got[("c1", "mid")] == 6_000
    assert got[("c1", "smb")] == 17_000
    assert got[("c3", "mid")] == 21_000
    assert out.columns[:3] == ["campaign_id", "segment", "model"]


def test_attribution_is_the_same_whatever_the_row_order(ex: dict[str, pl.DataFrame]) -> None:
    # Amounts whose float sums depend on the order they are added in.
    opps = ex["opportunities"].with_columns(
        (pl.col("amount") / 3 + pl.int_range(pl.len()) * 0.1).alias("amount")
    )
    touches = pl.concat([ex["campaign_touches"]] * 1).with_columns(
        pl.col("touched_at").dt.offset_by("0s")
    )
    runs = set()
    for seed in range(8):
        shuffled_opps = opps.sample(fraction=1.0, shuffle=True, seed=seed)
        shuffled_touches = touches.sample(fraction=1.0, shuffle=True, seed=seed)
        people = ex["people"].sample(fraction=1.0, shuffle=True, seed=seed)
        out = attribution(shuffled_opps, shuffled_touches, people=people)
        runs.add(tuple(out.select("attributed_pipeline", "attributed_bookings").rows()))
    assert len(runs) == 1


def test_attribution_of_deals_without_amounts_is_null_not_zero(ex: dict[str, pl.DataFrame]) -> None:
    opps = ex["opportunities"].with_columns(pl.lit(None, dtype=pl.Float64).alias("amount"))
    out = attribution(opps, ex["campaign_touches"], models=["first"])
    assert out["attributed_opportunities"].sum() == 6
    assert out["attributed_pipeline"].null_count() == out.height


def _random_crm(seed: int) -> dict[str, pl.DataFrame]:
    """Deals, people and touches drawn at random, blanks included (deals without a person or
    an account, people without an account, touches without a time or by unknown people)."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1)

    def moments(n: int) -> list[datetime | None]:
        days = rng.integers(0, 120, n)
        return [None if rng.random() < 0.05 else start + timedelta(days=int(d)) for d in days]

    def ids(prefix: str, n: int, size: int, blank: float) -> list[str | None]:
        picks = rng.integers(0, n, size)
        return [None if rng.random() < blank else f"{prefix}{p}" for p in picks]

    opportunities = pl.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(300)],
            "amount": rng.integers(1, 100, 300).astype(float) * 1000,
            "created_at": moments(300),
            "primary_person_id": ids("p", 450, 300, 0.2),
            "account_id": ids("a", 110, 300, 0.1),
        }
    )
    people = pl.DataFrame(
        {"person_id": [f"p{i}" for i in range(400)], "account_id": ids("a", 100, 400, 0.1)}
    )
    touches = pl.DataFrame(
        {
            "person_id": ids("p", 450, 700, 0.05),
            "campaign_id": ids("c", 5, 700, 0.0),
            "touched_at": moments(700),
        }
    )
    return {"opportunities": opportunities, "people": people, "campaign_touches": touches}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_influenced_deals_are_those_with_a_person_touched_before_creation(seed: int) -> None:
    """Each deal's flag against a plain recomputation: every (deal, person) link, by the
    primary person and by account, joined to every touch of that person."""
    crm = _random_crm(seed)
    opps, people, touches = crm["opportunities"], crm["people"], crm["campaign_touches"]
    links = pl.concat(
        [
            opps.select("opportunity_id", "created_at", person_id="primary_person_id"),
            opps.join(people, on="account_id").select("opportunity_id", "created_at", "person_id"),
        ]
    )
    touched = (
        links.join(touches, on="person_id")
        .filter(pl.col("touched_at") <= pl.col("created_at"))
        .select("opportunity_id")
        .unique()
    )
    expected = set(touched["opportunity_id"])
    assert 0 < len(expected) < opps.height  # both kinds of deals are there
    for frames in (crm, {k: v.lazy() for k, v in crm.items()}):
        out = to_polars(
            marketing_influenced_pipeline(
                frames["opportunities"],
                frames["campaign_touches"],
                people=frames["people"],
                by="opportunity_id",
            )
        )
        got = set(out.filter(pl.col("influenced_opportunities") > 0)["opportunity_id"])
        assert got == expected
