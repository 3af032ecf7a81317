"""Benchmark: the whole KPI registry on 1M opportunities and 10M stage events (with people,
activities, campaigns, touches, spend, targets, users and accounts), and three KPIs side by
side with the same computation hand-written in polars.

Targets (issue 4): the whole spine under 10 s on this machine; each of the three KPIs within
1.5x of its hand-written polars equivalent, measured in one run on the same frames.

The data is seeded and generated with numpy: opportunities over two years in three segments,
each with ten stage events (moves back and forth through the open stages, then won or lost
for closed deals); one person per deal (their MQL, lifecycle stage, firmographics and account,
three deals and three people to an account), activities and campaign touches on those people,
200 campaigns with monthly spend lines, bookings targets per segment and month, 200 users.

The spine is timed as ``revgov metrics`` runs it: the frames are prepared once as of
``AS_OF`` (stage attributes, owners' regions, the as-of cut-off; computed once, as the CLI
does), then every KPI of :data:`revgov.metrics.KPIS` is computed through the registry
(``compute(..., prepared=True)``), headline form (no grouping) and grouped (``by=segment``,
``every=1mo``). Each timing is the best of ``--repeat`` runs after a warm-up; the spine total
is the preparation plus the sum of its KPIs' best times.

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
from revgov.config import PipelineConfig, StageConfig, config_from_dict

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


def generate(
    n: int, per_deal: int, seed: int = 7, *, first: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` opportunities and ``n * per_deal`` stage events, vectorized. Ids start at deal
    number ``first`` (so that a large CRM can be generated in chunks, as bench_memory does)."""
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
    seq = np.arange(first, first + n)
    ids = np.char.add("o", seq.astype(str))
    amount = np.round(rng.lognormal(9, 1, n), 2)
    opps = (
        pl.DataFrame(
            {
                "opportunity_id": ids,
                "account_id": np.char.add("a", (seq // 3).astype(str)),
                "pipeline": "new_business",
                "type": rng.choice(["new business", "renewal", "expansion"], n, p=[0.7, 0.2, 0.1]),
                "segment": rng.choice(["smb", "mid", "enterprise"], n),
                "owner_id": np.char.add("u", rng.integers(0, 200, n).astype(str)),
                "lead_source": rng.choice(["paid_search", "outbound", "webinar", "referral"], n),
                "primary_campaign_id": np.char.add("c", rng.integers(0, 200, n).astype(str)),
                "__has_campaign": rng.random(n) < 0.5,
                "primary_person_id": np.char.add("p", seq.astype(str)),
                "stage": names[stage_idx[:, -1]],
                "amount": amount,
                "created_at": created,
                "closed_at": np.where(outcome > 0, closed_at, np.datetime64("NaT")),
                "close_date": (closed_at + np.timedelta64(5, "D")).astype("datetime64[D]"),
                "is_closed": outcome > 0,
                "is_won": outcome == 1,
            }
        )
        .with_columns(
            pl.col("created_at").dt.replace_time_zone("UTC"),
            pl.col("closed_at").dt.replace_time_zone("UTC"),
            pl.when("__has_campaign")
            .then(pl.col("primary_campaign_id"))
            .alias("primary_campaign_id"),
        )
        .drop("__has_campaign")
    )
    events = pl.DataFrame(
        {
            "event_id": np.arange(first * per_deal, (first + n) * per_deal).astype(str),
            "record_entity": "opportunities",
            "record_id": np.repeat(ids, per_deal),
            "field": "stage",
            "to_value": names[stage_idx.ravel()],
            "changed_at": times.ravel(),
        }
    ).with_columns(pl.col("changed_at").dt.replace_time_zone("UTC"))
    return opps, events


def generate_context(
    opps: pl.DataFrame, seed: int = 11, *, first: int = 0
) -> dict[str, pl.DataFrame]:
    """People, activities, campaigns, touches, spend, targets, users and accounts around
    ``opps`` (one person per deal, created up to 30 days before it). ``first`` is the deal
    number ``opps`` start at (see :func:`generate`): ids of people, activities, touches and
    accounts follow it; campaigns, spend, targets and users are the same in every chunk."""
    rng = np.random.default_rng(seed)
    n = opps.height
    deal_created = opps["created_at"].dt.replace_time_zone(None).to_numpy()
    lead = (rng.integers(0, 30 * 86_400, n) * 1_000_000).astype("timedelta64[us]")
    created = deal_created - lead
    mql = created + (rng.integers(0, 3 * 86_400, n) * 1_000_000).astype("timedelta64[us]")
    person_ids = np.char.add("p", np.arange(first, first + n).astype(str))
    people = pl.DataFrame(
        {
            "person_id": person_ids,
            "kind": "lead",
            "account_id": opps["account_id"].to_numpy(),
            "segment": opps["segment"].to_numpy(),
            "lifecycle_stage": rng.choice(["mql", "sql", "opportunity", "customer"], n),
            "role": rng.choice(["champion", "economic buyer", "user", None], n),
            "lead_source": opps["lead_source"].to_numpy(),
            "industry": rng.choice(["software", "retail", "finance"], n),
            "employees": rng.integers(5, 5_000, n),
            "country": rng.choice(["US", "GB", "DE"], n),
            "owner_id": opps["owner_id"].to_numpy(),
            "created_at": created,
            "mql_at": np.where(rng.random(n) < 0.7, mql, np.datetime64("NaT")),
        }
    ).with_columns(
        pl.col("created_at").dt.replace_time_zone("UTC"),
        pl.col("mql_at").dt.replace_time_zone("UTC"),
    )
    k = 3 * n
    who = rng.integers(0, n, k)
    after = (rng.exponential(2 * 86_400, k).astype(np.int64) * 1_000_000).astype("timedelta64[us]")
    activities = (
        pl.DataFrame(
            {
                "activity_id": np.char.add("t", np.arange(3 * first, 3 * first + k).astype(str)),
                "type": rng.choice(["call", "email", "meeting", "task"], k),
                "person_id": person_ids[who],
                "opportunity_id": opps["opportunity_id"].to_numpy()[who],
                "__on_deal": rng.random(k) < 0.5,
                "occurred_at": mql[who] + after,
            }
        )
        .with_columns(
            pl.col("occurred_at").dt.replace_time_zone("UTC"),
            pl.when("__on_deal").then(pl.col("opportunity_id")).alias("opportunity_id"),
        )
        .drop("__on_deal")
    )
    campaigns = pl.DataFrame(
        {
            "campaign_id": np.char.add("c", np.arange(200).astype(str)),
            "name": np.char.add("campaign ", np.arange(200).astype(str)),
            "channel": rng.choice(["paid-search", "webinar", "email", "events"], 200),
            "cost": np.round(rng.uniform(1_000, 50_000, 200), 2),
        }
    )
    t = 2 * n
    toucher = rng.integers(0, n, t)
    before = (rng.integers(0, 60 * 86_400, t) * 1_000_000).astype("timedelta64[us]")
    touches = pl.DataFrame(
        {
            "touch_id": np.char.add("x", np.arange(2 * first, 2 * first + t).astype(str)),
            "person_id": person_ids[toucher],
            "campaign_id": np.char.add("c", rng.integers(0, 200, t).astype(str)),
            "touched_at": deal_created[toucher] - before,
        }
    ).with_columns(pl.col("touched_at").dt.replace_time_zone("UTC"))
    months = pl.date_range(date(2024, 1, 1), date(2025, 12, 1), "1mo", eager=True)
    spend = (
        pl.DataFrame({"period": months})
        .join(campaigns.select("campaign_id", "channel"), how="cross")
        .with_columns(
            pl.Series("amount", np.round(rng.uniform(100, 5_000, len(months) * 200), 2)),
            pl.Series("segment", rng.choice(["smb", "mid", "enterprise"], len(months) * 200)),
            pl.format("s{}-{}", pl.col("campaign_id"), pl.col("period")).alias("spend_id"),
        )
    )
    segments = ["smb", "mid", "enterprise"]
    targets = (
        pl.DataFrame(
            {"period": pl.date_range(date(2025, 1, 1), date(2026, 6, 1), "1mo", eager=True)}
        )
        .join(pl.DataFrame({"segment": segments, "amount": [5e6, 8e6, 2e7]}), how="cross")
        .with_columns(pl.lit("bookings").alias("metric"))
    )
    users = pl.DataFrame(
        {
            "user_id": np.char.add("u", np.arange(200).astype(str)),
            "team": rng.choice(["AE East", "AE West"], 200),
            "region": rng.choice(["East", "West", "Central"], 200),
        }
    )
    # The accounts the deals name (three deals to an account, from deal ``first`` on).
    acc_first, acc_end = first // 3, (first + n + 2) // 3
    n_acc = acc_end - acc_first
    accounts = pl.DataFrame(
        {
            "account_id": np.char.add("a", np.arange(acc_first, acc_end).astype(str)),
            "industry": rng.choice(["software", "retail", "finance"], n_acc),
            "employees": rng.integers(5, 5_000, n_acc),
            "country": rng.choice(["US", "GB", "DE"], n_acc),
            "created_at": np.full(n_acc, np.datetime64("2023-06-01T00:00:00", "us")),
        }
    ).with_columns(pl.col("created_at").dt.replace_time_zone("UTC"))
    return {
        "people": people,
        "activities": activities,
        "campaigns": campaigns,
        "campaign_touches": touches,
        "spend": spend,
        "targets": targets,
        "users": users,
        "accounts": accounts,
    }


CONFIG = config_from_dict(
    {
        "pipelines": [PIPELINE.model_dump()],
        "qualified": {"opportunity_min_stage": "Demo"},
        "icp": {"industries": ["software"], "employees_min": 50, "employees_max": 2000},
        "sla": {"timezone": "America/New_York", "speed_to_lead_hours": {"default": 4.0}},
    }
)


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


#: CPU seconds (all threads) of the fastest run of the last ``best_of`` call: steadier than
#: wall time when other jobs share the machine.
LAST_CPU: list[float] = [0.0]


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t
        if wall < best:
            best, LAST_CPU[0] = wall, time.process_time() - c
    return best, out


def markdown(result: dict[str, Any]) -> str:
    """The figures as a Markdown table (for docs/benchmarks.md)."""
    head, grouped = result["spine_seconds"], result["grouped_seconds"]
    lines = [
        "| step | headline (s) | by segment, every 1mo (s) |",
        "|---|---:|---:|",
        f"| prepare (as-of cut, stages, owners; once) | {result['prepare_seconds']:.3f} | "
        f"{result['prepare_seconds']:.3f} |",
        *[f"| `{k}` | {head[k]:.3f} | {grouped[k]:.3f} |" for k in head],
        f"| **whole registry ({result['kpis_timed']} KPIs)** | "
        f"**{result['spine_total_seconds']:.2f}** | **{result['grouped_total_seconds']:.2f}** |",
        "",
        "| KPI | revgov (s) | hand-written polars (s) | ratio | same results |",
        "|---|---:|---:|---:|---|",
        *[
            f"| `{k}` | {v['revgov_s']:.3f} | {v['hand_polars_s']:.3f} | {v['ratio']:.2f} | "
            f"{'yes' if v['same_results'] else 'NO'} |"
            for k, v in result["side_by_side"].items()
        ],
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--events-per-deal", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    t = time.perf_counter()
    opps_df, events_df = generate(args.opportunities, args.events_per_deal)
    context = generate_context(opps_df)
    sizes = {"opportunities": opps_df.height, "stage_events": events_df.height}
    sizes |= {k: v.height for k, v in context.items()}
    print(f"generated {', '.join(f'{v:,} {k}' for k, v in sizes.items())} "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    opps, events = opps_df.lazy(), events_df.lazy()
    raw = {"opportunities": opps, "stage_events": events} | {
        k: v.lazy() for k, v in context.items()
    }

    def prepare() -> dict[str, pl.LazyFrame]:
        ready = m.prepare_frames(raw, CONFIG, as_of=AS_OF)
        return {k: v.collect().lazy() for k, v in ready.items()}

    load_before = os.getloadavg()[0]
    prep_s, frames = best_of(prepare, args.repeat)
    prep_cpu = LAST_CPU[0]
    print(f"  {'prepare (as-of cut, stages, owners)':<36} {prep_s:6.3f} s")
    runs: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    options: dict[str, dict[str, Any]] = {
        "headline": {},
        "grouped": {"by": ["segment"], "every": "1mo"},
    }
    for label, kwargs in options.items():
        print(f"{label}: {kwargs or 'no grouping'}")
        runs[label], cpu[label] = {}, {}
        for name in m.KPIS:

            def run(name: str = name, kwargs: dict[str, Any] = kwargs) -> pl.DataFrame:
                out = m.compute(name, frames, CONFIG, as_of=AS_OF, prepared=True, **kwargs)
                return out.collect()

            runs[label][name], _ = best_of(run, args.repeat)
            cpu[label][name] = LAST_CPU[0]
            print(f"  {name:<36} {runs[label][name]:6.3f} s  (cpu {cpu[label][name]:6.3f} s)")
    totals = {label: prep_s + sum(t.values()) for label, t in runs.items()}
    for label, total in totals.items():
        print(f"whole spine, {label}: {total:.2f} s (target < 10 s)")
    missing = set(m.KPIS) - set(runs["headline"])
    assert not missing, f"KPIs not timed: {missing}"

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
        "rows": sizes,
        "as_of": AS_OF.isoformat(),
        "repeat": args.repeat,
        "kpis_timed": len(runs["headline"]),
        "kpis_registered": len(m.KPIS),
        "load_average_1min": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
        "prepare_seconds": round(prep_s, 4),
        "prepare_cpu_seconds": round(prep_cpu, 4),
        "spine_seconds": {k: round(v, 4) for k, v in runs["headline"].items()},
        "spine_total_seconds": round(totals["headline"], 3),
        "spine_cpu_seconds": {k: round(v, 4) for k, v in cpu["headline"].items()},
        "grouped_seconds": {k: round(v, 4) for k, v in runs["grouped"].items()},
        "grouped_total_seconds": round(totals["grouped"], 3),
        "spine_target_seconds": 10,
        "spine_ok": totals["headline"] < 10,
        "grouped_ok": totals["grouped"] < 10,
        "side_by_side": side_by_side,
        "ratio_target": 1.5,
        "ratios_ok": all(v["ratio"] <= 1.5 for v in side_by_side.values()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
