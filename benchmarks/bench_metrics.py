"""Benchmark: the KPI spine on 1M opportunities and 10M stage events, and three KPIs side by
side with the same computation hand-written in polars.

Targets (issue 4): the whole spine under 10 s on this machine; each of the three KPIs within
1.5x of its hand-written polars equivalent, measured in one run on the same frames.

The data is seeded and generated with numpy: opportunities over two years in three segments,
each with ten stage events (moves back and forth through the open stages, then won or lost
for closed deals). Frames are in memory and handed to the KPIs as polars LazyFrames, as
``SnapshotStore.scan`` gives them. Each timing is the best of ``--repeat`` runs after a
warm-up; the spine total is the sum of its KPIs' best times.

    python benchmarks/bench_metrics.py [--opportunities 1000000] [--events-per-deal 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

import revgov.metrics as m
from revgov.config import PipelineConfig, QualifiedDefinition, StageConfig

RESULTS = Path(__file__).parent / "results" / "metrics.json"
AS_OF = datetime(2026, 1, 1)
STAGES = ["Discovery", "Demo", "Proposal", "Negotiation"]
PIPELINE = PipelineConfig(
    name="new_business",
    stages=[
        *[
            StageConfig(name=s, order=i + 1, probability=p)
            for i, (s, p) in enumerate(zip(STAGES, (0.1, 0.25, 0.5, 0.7), strict=True))
        ],
        StageConfig(name="Won", order=5, probability=1.0, is_closed=True, is_won=True),
        StageConfig(name="Lost", order=6, probability=0.0, is_closed=True),
    ],
)


def generate(n: int, per_deal: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` opportunities and ``n * per_deal`` stage events, vectorized."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    created = start + (rng.integers(0, 700 * 86_400, n) * 1_000_000).astype("timedelta64[us]")
    outcome = rng.choice(3, n, p=[0.3, 0.3, 0.4])  # 0 open, 1 won, 2 lost
    gaps = rng.exponential(4 * 86_400, (n, per_deal)).astype(np.int64) * 1_000_000
    times = created[:, None] + np.cumsum(gaps, axis=1).astype("timedelta64[us]")
    walk = np.clip(np.cumsum(rng.choice([-1, 1, 1], (n, per_deal)), axis=1), 0, 3)
    stage_idx = walk.astype(np.int64)
    stage_idx[:, 0] = 0
    names = np.array([*STAGES, "Won", "Lost"])
    stage_idx[:, -1] = np.where(outcome == 1, 4, np.where(outcome == 2, 5, stage_idx[:, -1]))
    closed_at = times[:, -1]
    ids = np.char.add("o", np.arange(n).astype(str))
    amount = np.round(rng.lognormal(9, 1, n), 2)
    opps = pl.DataFrame(
        {
            "opportunity_id": ids,
            "segment": rng.choice(["smb", "mid", "enterprise"], n),
            "owner_id": np.char.add("u", rng.integers(0, 200, n).astype(str)),
            "lead_source": rng.choice(["paid_search", "outbound", "webinar", "referral"], n),
            "stage": names[stage_idx[:, -1]],
            "amount": amount,
            "created_at": created,
            "closed_at": np.where(outcome > 0, closed_at, np.datetime64("NaT")),
            "close_date": (closed_at + np.timedelta64(5, "D")).astype("datetime64[D]"),
            "is_closed": outcome > 0,
            "is_won": outcome == 1,
        }
    ).with_columns(
        pl.col("created_at").dt.replace_time_zone("UTC"),
        pl.col("closed_at").dt.replace_time_zone("UTC"),
    )
    events = pl.DataFrame(
        {
            "event_id": np.arange(n * per_deal).astype(str),
            "record_entity": "opportunities",
            "record_id": np.repeat(ids, per_deal),
            "field": "stage",
            "to_value": names[stage_idx.ravel()],
            "changed_at": times.ravel(),
        }
    ).with_columns(pl.col("changed_at").dt.replace_time_zone("UTC"))
    return opps, events


# -- three KPIs written by hand in polars -----------------------------------------------------


def hand_win_rate(opps: pl.LazyFrame) -> pl.DataFrame:
    closed = opps.filter(pl.col("is_closed") | pl.col("is_won"))
    close = pl.coalesce(
        pl.col("closed_at").dt.replace_time_zone(None), pl.col("close_date").cast(pl.Datetime)
    )
    return (
        closed.group_by("segment", close.dt.truncate("1mo").dt.date().alias("period"))
        .agg(pl.len().alias("closed"), pl.col("is_won").sum().alias("won"))
        .with_columns((pl.col("won") / pl.col("closed")).alias("win_rate"))
        .sort("segment", "period")
        .collect()
    )


def hand_cycle(opps: pl.LazyFrame) -> pl.DataFrame:
    close = pl.coalesce(pl.col("closed_at"), pl.col("close_date").cast(pl.Datetime("us", "UTC")))
    days = (close.dt.date() - pl.col("created_at").dt.date()).dt.total_days()
    return (
        opps.filter(pl.col("is_won"))
        .with_columns(days.alias("days"))
        .group_by("segment")
        .agg(
            pl.len().alias("deals"),
            pl.col("days").mean().alias("mean_days"),
            pl.col("days").median().alias("median_days"),
            pl.col("days").quantile(0.75, "linear").alias("p75_days"),
            pl.col("days").quantile(0.9, "linear").alias("p90_days"),
        )
        .sort("segment")
        .collect()
    )


def hand_time_in_stage(events: pl.LazyFrame) -> pl.DataFrame:
    cutoff = AS_OF.replace(tzinfo=UTC)
    nxt = pl.col("changed_at").shift(-1).over("record_id", order_by=["changed_at", "event_id"])
    is_open = nxt.is_null() | (nxt > cutoff)
    end = pl.when(is_open).then(pl.lit(cutoff)).otherwise(nxt)
    return (
        events.filter(pl.col("changed_at") <= cutoff)
        .with_columns(is_open.alias("open"), end.alias("end"))
        .filter(~pl.col("to_value").is_in(["Won", "Lost"]))
        .with_columns(
            ((pl.col("end") - pl.col("changed_at")).dt.total_seconds() / 86_400).alias("d")
        )
        .group_by("to_value")
        .agg(
            pl.len().alias("stays"),
            pl.col("open").sum().alias("open_stays"),
            pl.col("d").mean().alias("mean_days"),
            pl.col("d").median().alias("median_days"),
            pl.col("d").quantile(0.75, "linear").alias("p75_days"),
            pl.col("d").quantile(0.9, "linear").alias("p90_days"),
        )
        .sort("to_value")
        .collect()
    )


def spine(
    opps: pl.LazyFrame, events: pl.LazyFrame, targets: pl.LazyFrame
) -> dict[str, Callable[[], Any]]:
    """Every KPI that runs on opportunities and stage events, as the CLI would call it."""
    qualified = QualifiedDefinition(opportunity_min_stage="Demo")

    def conversion() -> pl.LazyFrame:
        return m.stage_conversion(events, stages=PIPELINE, opportunities=opps, every="1mo")

    return {
        "pipeline_created": lambda: m.pipeline_created(opps, by="segment", every="1mo"),
        "qualified_pipeline": lambda: m.qualified_pipeline(
            opps, PIPELINE, qualified=qualified, stage_events=events, every="1mo"
        ),
        "bookings": lambda: m.bookings(opps, by="segment", every="1mo"),
        "stage_conversion": conversion,
        "opportunity_to_win": lambda: m.opportunity_to_win(opps, by="segment", every="1q"),
        "time_in_stage": lambda: m.time_in_stage(events, as_of=AS_OF, pipelines=PIPELINE),
        "sales_cycle_days": lambda: m.sales_cycle_days(opps, by="segment"),
        "win_rate_by_count": lambda: m.win_rate_by_count(opps, by="segment", every="1mo"),
        "win_rate_by_amount": lambda: m.win_rate_by_amount(opps, by="segment", every="1mo"),
        "average_deal_size": lambda: m.average_deal_size(opps, by="segment", every="1mo"),
        "sales_velocity": lambda: m.sales_velocity(opps, as_of=AS_OF, by="segment"),
        "pipeline_coverage": lambda: m.pipeline_coverage(opps, targets, by="segment"),
        "required_coverage": lambda: m.required_coverage(opps, by="segment"),
        "marketing_sourced_pipeline": lambda: m.marketing_sourced_pipeline(opps, every="1mo"),
        "funnel_leakage": lambda: m.funnel_leakage(conversion()),
    }


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--events-per-deal", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    t = time.perf_counter()
    opps_df, events_df = generate(args.opportunities, args.events_per_deal)
    print(f"generated {opps_df.height:,} opportunities, {events_df.height:,} events "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    targets = pl.DataFrame(
        {
            "period": [date(2026, 1, 1)] * 3,
            "metric": ["bookings"] * 3,
            "segment": ["smb", "mid", "enterprise"],
            "amount": [5e6, 8e6, 2e7],
        }
    ).lazy()
    opps, events = opps_df.lazy(), events_df.lazy()

    timings: dict[str, float] = {}
    for name, fn in spine(opps, events, targets).items():
        timings[name], _ = best_of(lambda fn=fn: fn().collect(), args.repeat)
        print(f"  {name:<28} {timings[name]:6.3f} s")
    total = sum(timings.values())
    print(f"whole spine: {total:.2f} s (target < 10 s)")

    pairs = {
        "win_rate_by_count": (
            lambda: m.win_rate_by_count(opps, by="segment", every="1mo").collect(),
            lambda: hand_win_rate(opps),
        ),
        "sales_cycle_days": (
            lambda: m.sales_cycle_days(opps, by="segment").collect(),
            lambda: hand_cycle(opps),
        ),
        "time_in_stage": (
            lambda: m.time_in_stage(events, as_of=AS_OF, pipelines=PIPELINE).collect(),
            lambda: hand_time_in_stage(events),
        ),
    }
    side_by_side: dict[str, dict[str, Any]] = {}
    for name, (revgov_fn, hand_fn) in pairs.items():
        rv_t, rv_out = best_of(revgov_fn, args.repeat)
        hd_t, hd_out = best_of(hand_fn, args.repeat)
        # Same numbers, not just the same speed.
        numeric = [
            c for c in hd_out.columns if c in rv_out.columns and hd_out[c].dtype.is_numeric()
        ]
        same = all(
            np.allclose(rv_out[c].to_numpy(), hd_out[c].to_numpy(), rtol=1e-9, equal_nan=True)
            for c in numeric
        )
        side_by_side[name] = {
            "revgov_s": round(rv_t, 4),
            "hand_polars_s": round(hd_t, 4),
            "ratio": round(rv_t / hd_t, 3),
            "same_results": bool(same),
        }
        print(f"  {name:<20} revgov {rv_t:6.3f} s  hand {hd_t:6.3f} s  "
              f"ratio {rv_t / hd_t:5.2f}  same results: {same}")  # fmt: skip

    result = {
        "benchmark": "metrics",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "polars": pl.__version__,
        },
        "opportunities": opps_df.height,
        "stage_events": events_df.height,
        "repeat": args.repeat,
        "spine_seconds": {k: round(v, 4) for k, v in timings.items()},
        "spine_total_seconds": round(total, 3),
        "spine_target_seconds": 10,
        "spine_ok": total < 10,
        "side_by_side": side_by_side,
        "ratio_target": 1.5,
        "ratios_ok": all(v["ratio"] <= 1.5 for v in side_by_side.values()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
