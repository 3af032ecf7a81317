"""Benchmark: ``play_lift`` with a 1,000-resample bootstrap against computing its primary KPI
once, side by side in one run, on 1M people and 100k opportunities.

Target (issue 14): ``revgov play`` within 3x the time of computing the primary KPI once.

The data is seeded and generated with numpy: 1,000,000 people created over two years in three
segments (a tenth converted), 100,000 opportunities naming a random person as primary contact.
The play is a holdout (20%) on ``lead_to_opportunity``; two populations are timed: one
segment over the play's last 26 weeks (the usual case: a segment since the play started)
and every person of the two years (the worst case: the whole base in one play). The baseline
is ``lead_to_opportunity(people, opportunities)`` over all 1M people, once, headline form.
Timings are the best of ``--repeat`` runs after a warm-up; both read the same polars frames.

    python benchmarks/bench_play.py [--people 1000000] [--opportunities 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from revgov.config.schema import PlayConfig
from revgov.metrics import lead_to_opportunity
from revgov.plays import play_lift

RESULTS = Path(__file__).parent / "results" / "play.json"
AS_OF = datetime(2026, 7, 1)
START = date(2026, 1, 1)


def generate(people: int, opportunities: int, seed: int = 14) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    first = AS_OF - timedelta(days=730)
    offsets = rng.uniform(0, 730 * 86_400, people) * 1e6
    persons = pl.DataFrame(
        {
            "person_id": [f"P{i:07d}" for i in range(people)],
            "kind": "lead",
            "segment": np.array(["smb", "mid_market", "enterprise"])[rng.integers(0, 3, people)],
            "is_converted": rng.random(people) < 0.1,
        }
    ).with_columns(
        (pl.lit(first) + pl.Series(offsets.astype(np.int64)).cast(pl.Duration("us"))).alias(
            "created_at"
        )
    )
    owners = rng.integers(0, people, opportunities)
    opps = pl.DataFrame(
        {
            "opportunity_id": [f"O{i:07d}" for i in range(opportunities)],
            "primary_person_id": [f"P{i:07d}" for i in owners],
            "amount": rng.gamma(2.0, 15_000.0, opportunities),
        }
    ).with_columns(
        (
            pl.lit(first)
            + pl.Series(rng.uniform(0, 730 * 86_400e6, opportunities).astype(np.int64)).cast(
                pl.Duration("us")
            )
        ).alias("created_at")
    )
    return {"people": persons, "opportunities": opps}


def play(where: dict[str, Any], start: date) -> PlayConfig:
    return PlayConfig.model_validate(
        {
            "name": "bench",
            "owner": "bench",
            "start": start,
            "primary_kpi": "lead_to_opportunity",
            "window_days": 14,
            "population": {"entity": "people", "where": where},
            "control": {"kind": "holdout", "share": 0.2},
            "decision": {"min_lift": 0.01},
        }
    )


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall and CPU seconds of ``repeat`` runs after a warm-up, and the last result."""
    result = fn()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frames = generate(args.people, args.opportunities)
    people, opps = frames["people"], frames["opportunities"]

    kpi_wall, kpi_cpu, _ = best(lambda: lead_to_opportunity(people, opps), args.repeat)
    rows: list[dict[str, Any]] = [
        {"what": "lead_to_opportunity once (all people)", "wall_s": kpi_wall, "cpu_s": kpi_cpu}
    ]
    cases = {
        "play_lift: smb since the start (26 weeks)": play({"segment": "smb"}, START),
        "play_lift: every person, two years": play({}, (AS_OF - timedelta(days=729)).date()),
    }
    for label, p in cases.items():
        wall, cpu, result = best(
            lambda p=p: play_lift(p, frames, as_of=AS_OF, resamples=1000), args.repeat
        )
        rows.append(
            {
                "what": label,
                "wall_s": wall,
                "cpu_s": cpu,
                "ratio": wall / kpi_wall,
                "records": result.primary.play_records + result.primary.control_records,
                "verdict": result.verdict,
            }
        )
    out = {
        "people": args.people,
        "opportunities": args.opportunities,
        "resamples": 1000,
        "repeat": args.repeat,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "rows": rows,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for r in rows:
        ratio = f"  {r['ratio']:.2f}x" if "ratio" in r else ""
        print(f"{r['what']:<45} {r['wall_s']:8.3f} s{ratio}")


if __name__ == "__main__":
    main()
