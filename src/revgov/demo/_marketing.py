"""Campaigns (named per the template, some planted off-template), spend and targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.demo._defects import Planter
from revgov.demo._time import days, utc_series
from revgov.demo._vocab import CAMPAIGN_COST, CHANNELS

__all__ = [
    "REGION_TOKENS",
    "Campaigns",
    "make_campaigns",
    "quarters_between",
    "spend_frame",
    "targets_frame",
]

REGION_TOKENS = ("na", "emea", "apac", "latam", "global")
_BAD_CHANNEL = {
    "search": "ppc",
    "social": "linkedin",
    "display": "banner",
    "email": "nurture",
    "webinar": "web",
    "event": "conf",
    "content": "syndication",
    "partner": "referral",
}
_BAD_REGION = {"na": "us", "emea": "eu", "apac": "asia", "latam": "sa", "global": "ww"}
_BAD_OFFER = ("misc", "launch", "q-promo")
_MARKETERS = ("usr_006", "usr_007")


@dataclass
class Campaigns:
    """Campaigns ordered by (quarter, channel, slot): ``per_block`` of each pair."""

    frame: pl.DataFrame  # campaign_id-less canonical columns plus "quarter_index"
    quarters: list[tuple[int, int]]
    per_block: int

    def index(
        self,
        quarter: npt.NDArray[np.int64],
        channel: npt.NDArray[np.int64],
        slot: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """Row of the campaign in ``slot`` of (quarter, channel); quarters are clipped."""
        q = np.clip(quarter, 0, len(self.quarters) - 1)
        return ((q * len(CHANNELS) + channel) * self.per_block + slot).astype(np.int64)


def quarters_between(first: date, last: date) -> list[tuple[int, int]]:
    """(year, quarter) pairs from ``first``'s quarter to ``last``'s, inclusive."""
    out = []
    y, q = first.year, (first.month - 1) // 3 + 1
    while (y, q) <= (last.year, (last.month - 1) // 3 + 1):
        out.append((y, q))
        y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    return out


def quarter_index(
    quarters: list[tuple[int, int]], when: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.int64]:
    """Index into ``quarters`` of each instant (UTC calendar)."""
    months = when.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    y0, q0 = quarters[0]
    first = (y0 - 1970) * 12 + (q0 - 1) * 3
    return ((months - first) // 3).astype(np.int64)


def _misnamed() -> pl.Expr:
    """A campaign name broken in one of seven ways, by ``variant``: a quarter 5, a two-digit
    year, a channel or region not in the vocabulary, a missing token, the wrong separator,
    an offer not in the vocabulary (``bad_offer``)."""
    y, q, ch, rg, of = (
        pl.col(c).cast(pl.String) for c in ("year", "quarter", "channel", "region", "offer")
    )
    return (
        pl.when(pl.col("variant") == 0)
        .then(pl.concat_str([y, pl.lit("-q5_"), ch, pl.lit("_"), rg, pl.lit("_"), of]))
        .when(pl.col("variant") == 1)
        .then(
            pl.concat_str(
                [y.str.slice(2), pl.lit("-q"), q, pl.lit("_"), ch, pl.lit("_"), rg, pl.lit("_"), of]
            )
        )
        .when(pl.col("variant") == 2)
        .then(
            pl.concat_str(
                [
                    y,
                    pl.lit("-q"),
                    q,
                    pl.lit("_"),
                    ch.replace_strict(_BAD_CHANNEL),
                    pl.lit("_"),
                    rg,
                    pl.lit("_"),
                    of,
                ]
            )
        )
        .when(pl.col("variant") == 3)
        .then(
            pl.concat_str(
                [
                    y,
                    pl.lit("-q"),
                    q,
                    pl.lit("_"),
                    ch,
                    pl.lit("_"),
                    rg.replace_strict(_BAD_REGION),
                    pl.lit("_"),
                    of,
                ]
            )
        )
        .when(pl.col("variant") == 4)
        .then(pl.concat_str([y, pl.lit("-q"), q, pl.lit("_"), ch, pl.lit("_"), rg]))
        .when(pl.col("variant") == 5)
        .then(
            pl.concat_str([y, pl.lit("-q"), q, pl.lit("-"), ch, pl.lit("-"), rg, pl.lit("-"), of])
        )
        .otherwise(
            pl.concat_str(
                [
                    y,
                    pl.lit("-q"),
                    q,
                    pl.lit("_"),
                    ch,
                    pl.lit("_"),
                    rg,
                    pl.lit("_"),
                    pl.col("bad_offer"),
                ]
            )
        )
    )


def make_campaigns(
    rng: np.random.Generator, quarters: list[tuple[int, int]], per_block: int, scale: float
) -> tuple[Campaigns, Planter]:
    """``per_block`` campaigns per quarter and channel, each with a distinct region/offer."""
    combos = pl.DataFrame(
        [
            {"channel_index": ci, "channel": ch.token, "region": r, "offer": o}
            for ci, ch in enumerate(CHANNELS)
            for r in REGION_TOKENS
            for o in ch.offers
        ]
    )
    qf = pl.DataFrame(
        {
            "quarter_index": range(len(quarters)),
            "year": [y for y, _ in quarters],
            "quarter": [q for _, q in quarters],
        }
    )
    table = qf.join(combos, how="cross").sort("quarter_index", "channel_index", "region", "offer")
    table = (
        table.with_columns(key=pl.Series(rng.random(table.height)))
        .with_columns(slot=pl.col("key").rank("ordinal").over("quarter_index", "channel_index") - 1)
        .filter(pl.col("slot") < per_block)
        .sort("quarter_index", "channel_index", "slot")
    )
    n = table.height
    cost_base = pl.Series([CAMPAIGN_COST[t] for t in table["channel"]])
    cost = (cost_base * rng.lognormal(0.0, 0.35, n) * max(scale, 0.05) * 2 / per_block).round(0)
    start = pl.date(pl.col("year"), pl.col("quarter") * 3 - 2, 1)
    frame = table.with_columns(
        start_date=start,
        end_date=start.dt.offset_by("3mo").dt.offset_by("-1d"),
        cost=cost,
        owner_id=pl.Series(_MARKETERS).gather(rng.integers(len(_MARKETERS), size=n)),
        name=pl.format("{}-q{}_{}_{}_{}", "year", "quarter", "channel", "region", "offer"),
    )
    start_at = np.asarray(frame["start_date"].to_numpy(), dtype="datetime64[us]")
    created = np.asarray(start_at - days(rng.uniform(7, 30, n)), dtype="datetime64[us]")
    frame = frame.with_columns(utc_series("created_at", created))

    planter = Planter(rng, "campaigns", n)
    bad = planter.pick("campaigns.naming")
    variant = pl.Series(rng.integers(7, size=len(bad)))
    bad_offer = pl.Series(_BAD_OFFER).gather(rng.integers(len(_BAD_OFFER), size=len(bad)))
    sub = frame[bad].with_columns(variant=variant, bad_offer=bad_offer)
    broken = sub.select(_misnamed()).to_series()
    names = frame["name"].clone().scatter(bad, broken)
    frame = frame.with_columns(name=names)
    return Campaigns(frame=frame, quarters=quarters, per_block=per_block), planter


def spend_frame(campaigns: pl.DataFrame) -> pl.DataFrame:
    """Monthly spend per channel: each campaign's cost spread evenly over its quarter."""
    monthly = (
        campaigns.select("channel", "start_date", (pl.col("cost") / 3).alias("amount"))
        .with_columns(month=pl.lit([0, 1, 2]))
        .explode("month")
        .with_columns(period=pl.col("start_date").dt.offset_by(pl.format("{}mo", "month")))
        .group_by("period", "channel")
        .agg(pl.col("amount").sum().round(2))
        .sort("period", "channel")
    )
    return monthly.select(
        spend_id=pl.format("spd_{}_{}", pl.col("period").dt.strftime("%Y-%m"), "channel"),
        period="period",
        channel="channel",
        campaign_id=pl.lit(None, pl.String),
        segment=pl.lit(None, pl.String),
        amount="amount",
    )


def targets_frame(
    opportunities: pl.DataFrame, people: pl.DataFrame, first_month: date, months: int
) -> pl.DataFrame:
    """Monthly bookings, pipeline and MQL targets per segment, set 10% above the average
    month actually achieved (with a gentle ramp), as a plan would be."""
    won = (
        opportunities.filter(pl.col("is_won"))
        .group_by("segment")
        .agg(
            (
                pl.col("amount").clip(0).sum() / pl.col("close_date").dt.truncate("1mo").n_unique()
            ).alias("bookings")
        )
    )
    mqls = (
        people.filter(pl.col("mql_at").is_not_null())
        .group_by("segment")
        .agg((pl.len() / pl.col("mql_at").dt.truncate("1mo").n_unique()).alias("mqls"))
    )
    base = won.join(mqls, on="segment", how="full", coalesce=True).fill_null(0).sort("segment")
    periods = pl.DataFrame({"period": pl.date_range(first_month, first_month, eager=True)}).select(
        pl.col("period").dt.offset_by(pl.format("{}mo", pl.int_range(months))).alias("period")
    )
    ramp = 0.9 + 0.2 * pl.int_range(pl.len()).over("segment") / max(months - 1, 1)
    plan = (
        base.join(periods, how="cross")
        .sort("segment", "period")
        .with_columns(ramp=ramp)
        .with_columns(
            bookings=(pl.col("bookings") * 1.1 * pl.col("ramp") / 1000).round() * 1000,
            mqls=(pl.col("mqls") * 1.1 * pl.col("ramp")).round(),
        )
        .with_columns(pipeline=pl.col("bookings") * 3)
        .unpivot(
            index=["period", "segment"],
            on=["bookings", "pipeline", "mqls"],
            variable_name="metric",
            value_name="amount",
        )
        .sort("period", "segment", "metric")
    )
    return plan.select(
        target_id=pl.format(
            "tgt_{}_{}_{}", pl.col("period").dt.strftime("%Y-%m"), "segment", "metric"
        ),
        period="period",
        metric="metric",
        segment="segment",
        owner_id=pl.lit(None, pl.String),
        channel=pl.lit(None, pl.String),
        amount=pl.col("amount").cast(pl.Float64),
    )
