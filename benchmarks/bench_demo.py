"""Benchmark: generating the demo CRM at 1,000,000 people (scale 20).

Target (issue 2): 1,000,000 people generated in under 30 s on this 2-core machine. The run
times :func:`revgov.demo.generate` end to end (every entity, typed with the canonical
schemas, plus the ground truth), with the time of each generation step, and optionally the
writing of the snapshot (``--write``).

    python benchmarks/bench_demo.py [--scale 20] [--repeat 2] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from revgov.demo import DemoData, generate, write_demo

RESULTS = Path(__file__).parent / "results" / "demo.json"
TARGET_S = 30.0


def timed_generate(scale: float, seed: int) -> tuple[DemoData, float, dict[str, float]]:
    """One generation, its wall time, and the time spent in each step."""
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    data = generate(
        scale=scale, seed=seed, on_step=lambda s: marks.append((s, time.perf_counter()))
    )
    end = time.perf_counter()
    steps = {
        name: round((marks[i + 1][1] if i + 1 < len(marks) else end) - at, 3)
        for i, (name, at) in enumerate(marks)
    }
    return data, end - start, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="also time write_demo")
    args = parser.parse_args()

    generate(scale=0.05, seed=args.seed)  # warm-up: imports, polars thread pool
    runs = [timed_generate(args.scale, args.seed) for _ in range(args.repeat)]
    data = runs[0][0]
    times = [t for _, t, _ in runs]
    best = min(range(len(runs)), key=lambda i: times[i])
    people = data.frames["people"].height
    result: dict[str, object] = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "numpy": np.__version__,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "seed": args.seed,
        "people": people,
        "rows_total": sum(f.height for f in data.frames.values()),
        "rows": {e: f.height for e, f in data.frames.items()},
        "planted_defects": data.ground_truth.height,
        "generate_s_runs": [round(t, 3) for t in times],
        "generate_s_best": round(times[best], 3),
        "people_per_s": round(people / times[best]),
        "steps_s": runs[best][2],
        "target_s": TARGET_S,
        "meets_target": times[best] < TARGET_S,
    }
    if args.write:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            write_demo(Path(tmp) / "demo", scale=args.scale, seed=args.seed)
            result["write_demo_s"] = round(time.perf_counter() - start, 3)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    console = Console()
    table = Table(title=f"revgov demo generation, scale {args.scale:g}", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("people", f"{people:,}")
    table.add_row("rows, all entities", f"{result['rows_total']:,}")
    table.add_row("planted defects", f"{data.ground_truth.height:,}")
    table.add_row("generate (best of runs)", f"{times[best]:.2f} s")
    table.add_row("runs", ", ".join(f"{t:.2f} s" for t in times))
    table.add_row("people per second", f"{result['people_per_s']:,}")
    for name, seconds in runs[best][2].items():
        table.add_row(f"  step: {name}", f"{seconds:.2f} s")
    if "write_demo_s" in result:
        table.add_row("write_demo (generate + write)", f"{result['write_demo_s']:.2f} s")
    table.add_row("target", f"< {TARGET_S:.0f} s: {'met' if result['meets_target'] else 'MISSED'}")
    console.print(table)
    console.print(f"machine: {result['machine']}, {result['cpus']} cpus; written to {RESULTS}")


if __name__ == "__main__":
    main()
