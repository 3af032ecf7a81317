"""Benchmark: bulk typing with quarantine against per-record pydantic validation.

Target (issue 2): at least 1,000,000 raw records per second typed on a 2-core machine, and at
least 10x faster than validating the same records one by one with the pydantic model, both
measured in this one run.

    python benchmarks/bench_typing.py [--rows 1000000] [--repeat 3]

Raw records are what an export or an API page gives: every value as text, 1% of rows with a
bad amount and 0.5% with a bad date. Typing is timed on a frame of raw text (the files
connector's input) and on a list of dicts (an API page, including the conversion to a frame).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from revgov.model import Opportunity, type_records

RESULTS = Path(__file__).parent / "results" / "typing.json"


def raw_frame(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    stages = np.array(["Prospecting", "Qualification", "Proposal", "Closed Won", "Closed Lost"])
    amount = rng.gamma(2, 20000, n).round(2).astype(str)
    amount[rng.random(n) < 0.01] = "n/a"
    days = rng.integers(0, 900, n)
    close = (np.datetime64("2024-01-01") + days).astype(str)
    close[rng.random(n) < 0.005] = "2024-02-30"
    created = (np.datetime64("2023-06-01T09:00:00") + days * 3600).astype(str)
    return pl.DataFrame(
        {
            "opportunity_id": np.char.add("006", np.arange(n).astype(str)),
            "name": np.char.add("Deal ", np.arange(n).astype(str)),
            "account_id": np.char.add("001", rng.integers(0, n // 10 + 1, n).astype(str)),
            "pipeline": np.full(n, "new_business"),
            "stage": stages[rng.integers(0, len(stages), n)],
            "amount": amount,
            "currency": np.full(n, "USD"),
            "close_date": close,
            "created_at": np.char.add(created, ".000+0000"),
            "is_closed": np.where(rng.random(n) < 0.4, "true", "false"),
            "is_won": np.where(rng.random(n) < 0.2, "true", "false"),
            "owner_id": np.char.add("005", rng.integers(0, 200, n).astype(str)),
        }
    )


def best_of(repeat: int, fn: object) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.rows
    frame = raw_frame(n)
    records = frame.to_dicts()
    pulled = datetime.now(UTC)

    type_records("opportunities", frame.head(1000), source_system="bench")  # warm-up
    page = type_records("opportunities", frame, source_system="bench", pulled_at=pulled)
    assert page.rows_in == n
    t_frame = best_of(
        args.repeat,
        lambda: type_records("opportunities", frame, source_system="bench", pulled_at=pulled),
    )
    t_dicts = best_of(
        args.repeat,
        lambda: type_records("opportunities", records, source_system="bench", pulled_at=pulled),
    )

    def pydantic_one_by_one() -> int:
        ok = 0
        for rec in records:
            try:
                Opportunity.model_validate(
                    {
                        **rec,
                        "source_system": "bench",
                        "source_id": rec["opportunity_id"],
                        "pulled_at": pulled,
                    }
                )
                ok += 1
            except ValueError:
                pass
        return ok

    t_pyd = best_of(1, pydantic_one_by_one)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": __import__("os").cpu_count(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "rows": n,
        "typed": page.frame.height,
        "quarantined": page.quarantine.height,
        "bulk_frame_s": round(t_frame, 3),
        "bulk_frame_rows_per_s": round(n / t_frame),
        "bulk_dicts_s": round(t_dicts, 3),
        "bulk_dicts_rows_per_s": round(n / t_dicts),
        "pydantic_one_by_one_s": round(t_pyd, 3),
        "pydantic_rows_per_s": round(n / t_pyd),
        "speedup_frame_vs_pydantic": round(t_pyd / t_frame, 1),
        "speedup_dicts_vs_pydantic": round(t_pyd / t_dicts, 1),
        "target_rows_per_s": 1_000_000,
        "target_speedup": 10,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>28}  {value}")


if __name__ == "__main__":
    main()
