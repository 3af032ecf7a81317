"""Benchmark: peak memory of ``revgov audit`` and of the headline ``revgov metrics`` on a
snapshot of 1M and of 5M deals, in one run.

Targets (issue 12, item 7): each command peaks under 3 GB on 5M deals, and its peak grows at
most linearly from 1M to 5M (peak at 5M <= 5 x peak at 1M).

The data is :mod:`bench_metrics`'s generator (its proportions: ten stage events, one person,
three activities and two campaign touches per deal, an account for every three deals, 200
campaigns, users and their spend, bookings targets), made in chunks of ``--chunk`` deals
(each chunk a page of every entity) and published into a Delta snapshot with the
benchmark's config saved and stamped, as a pull leaves it. Snapshots are kept in
benchmarks/_data/memory/ and reused when they hold the expected number of deals
(``--rebuild`` to make them again).

Each command runs as its own child process (``revgov.cli.run``, the code of the installed
``revgov`` entry point), ``--as-of 2026-01-01``, findings recorded nowhere (audit
``--no-record``; ``audit-recorded`` records the run as a default ``revgov audit`` does, in a
run history in a temporary folder), output to /dev/null. The peak RSS is the child's own high-water mark
(``VmHWM`` from /proc, read as it exits): not ``wait4``'s ``ru_maxrss``, which on Linux also
counts the memory of the parent the child was forked from (here, the generated data). The
wall time is the process's, start-up included. ``--repeat`` runs per command and size (the
peak is the highest, the time the lowest).

    python benchmarks/bench_memory.py [--sizes 1000000 5000000] [--chunk 600000] [--repeat 1]
        [--commands audit metrics audit-recorded] [--out benchmarks/results/memory.json]

A child whose RSS passes ``--rss-max-gb`` (default 10) is stopped so as not to starve the
machine; the results then say so and give the RSS it had reached. ``--sizes 30000`` makes a
quick run (seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from bench_metrics import AS_OF, CONFIG, generate, generate_context

import revgov
from revgov.model.frames import TypedPage
from revgov.store import SnapshotStore

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "_data" / "memory"
RESULTS = REPO / "benchmarks" / "results" / "memory.json"
TARGET_GB = 3.0
EVENTS_PER_DEAL = 10
#: The commands measured: the audit (every rule of the config) and the headline metrics.
COMMANDS: dict[str, list[str]] = {
    "audit": ["audit", "--no-record", "--fail-on", "never", "--format", "json"],
    "metrics": ["metrics", "--format", "json"],
    # As a user's default `revgov audit` runs: the run recorded in the snapshot's history.
    "audit-recorded": ["audit", "--fail-on", "never", "--format", "json"],
}
#: The commands that write beside the snapshot: they run on a view of it in a temporary
#: folder (links to its tables), so their run history goes there, never into the data.
RECORDING = frozenset({"audit-recorded"})
#: Entities made once (their size does not grow with the deals).
FIXED = ("campaigns", "spend", "targets", "users")


def _chunks(n: int, chunk: int) -> list[tuple[int, int]]:
    """(first deal, deals) of each chunk; a chunk size that is a multiple of three keeps
    every account in one chunk (three deals to an account)."""
    return [(first, min(chunk, n - first)) for first in range(0, n, chunk)]


def build_snapshot(n: int, chunk: int, root: Path) -> dict[str, int]:
    """A snapshot of ``n`` deals (and their context), one read per entity, one page per
    chunk; the benchmark config saved and stamped as a pull would."""
    if root.exists():
        shutil.rmtree(root)
    store = SnapshotStore.create(root, config_hash=CONFIG.config_hash)
    store.save_config(CONFIG.config_hash, CONFIG.model_dump(mode="json"))
    store.writer_config_hash = CONFIG.config_hash
    reads: dict[str, Any] = {}
    rows: dict[str, int] = {}
    for i, (first, size) in enumerate(_chunks(n, chunk)):
        t = time.perf_counter()
        opps, events = generate(size, EVENTS_PER_DEAL, seed=7 + i, first=first)
        context = generate_context(opps, seed=11 + i, first=first)
        context["targets"] = context["targets"].with_columns(
            pl.format("t{}-{}", pl.col("segment"), pl.col("period")).alias("target_id")
        )
        # numpy's choice among strings and None gives an object column: make it text.
        role = context["people"]["role"].to_list()
        context["people"] = context["people"].with_columns(pl.Series("role", role, pl.String))
        pages = {"opportunities": opps, "stage_events": events} | {
            k: v for k, v in context.items() if i == 0 or k not in FIXED
        }
        del opps, events, context
        for entity, frame in pages.items():
            if entity not in reads:
                reads[entity] = store.begin_read("bench", entity)
            store.stage_page(
                reads[entity],
                TypedPage(entity, frame, pl.DataFrame()),
                cursor=AS_OF.isoformat(),
            )
            rows[entity] = rows.get(entity, 0) + frame.height
        del pages
        print(f"  chunk {i + 1}: deals {first:,}-{first + size - 1:,} "
              f"({time.perf_counter() - t:.1f} s)", flush=True)  # fmt: skip
    for entity, read in reads.items():
        t = time.perf_counter()
        store.publish(read, allow_shrink=True)
        print(f"  published {entity} ({time.perf_counter() - t:.1f} s)", flush=True)
    store.record_pull(CONFIG.config_hash, ["bench"])
    (root / "bench_rows.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return rows


def snapshot_for(n: int, chunk: int, rebuild: bool) -> tuple[Path, dict[str, int], float | None]:
    """The snapshot of ``n`` deals (reused when it holds them), its rows, build seconds."""
    root = DATA / f"deals_{n}"
    marker = root / "bench_rows.json"
    if not rebuild and marker.is_file():
        rows = json.loads(marker.read_text(encoding="utf-8"))
        if rows.get("opportunities") == n:
            print(f"reusing {root}", flush=True)
            return root, rows, None
    print(f"building {root} ...", flush=True)
    t = time.perf_counter()
    rows = build_snapshot(n, chunk, root)
    return root, rows, time.perf_counter() - t


#: The child: the CLI, then its own peak RSS (kB) written to $BENCH_PEAK_FILE at exit.
CHILD = """
import atexit, os

def _peak() -> None:
    with open("/proc/self/status") as fh:
        kb = next(x for x in fh if x.startswith("VmHWM:")).split()[1]
    with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(kb)

atexit.register(_peak)
from revgov.cli import run
run()
"""


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(cmd: list[str], rss_max_mb: float) -> dict[str, Any]:
    """Run ``cmd`` (arguments of CHILD) to completion: wall seconds and peak RSS (MB). A
    child passing ``rss_max_mb`` is stopped (so as not to starve the machine) and reported
    as such, with the RSS it had reached."""
    peak_file = DATA / f".peak_{os.getpid()}"
    env = dict(os.environ, BENCH_PEAK_FILE=str(peak_file))
    t = time.perf_counter()
    err_path = DATA / f".err_{os.getpid()}"
    with err_path.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=DATA)
        seen = 0.0
        while proc.poll() is None:
            seen = max(seen, _rss_mb(proc.pid))
            if seen > rss_max_mb:
                proc.kill()
                proc.wait()
                return {
                    "wall_s": round(time.perf_counter() - t, 2),
                    "peak_rss_mb": round(seen, 1),
                    "stopped": f"RSS passed the {rss_max_mb:,.0f} MB ceiling",
                }
            time.sleep(0.2)
    wall = time.perf_counter() - t
    stderr = err_path.read_text(errors="replace")
    err_path.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    peak_kb = int(peak_file.read_text())
    peak_file.unlink()
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak_kb / 1024, 1)}


def snapshot_view(root: Path, into: Path) -> Path:
    """A snapshot at ``into`` made of links to the tables and metadata of ``root``, without
    its run history: a recorded run writes its own ``_runs/`` there."""
    view = into / root.name
    view.mkdir()
    for entry in root.iterdir():
        if entry.name != "_runs":
            (view / entry.name).symlink_to(entry.resolve())
    return view


def measure_once(root: Path, command: str, rss_max_mb: float) -> dict[str, Any]:
    def child(snapshot: Path) -> dict[str, Any]:
        cmd = [sys.executable, "-c", CHILD, *COMMANDS[command]]
        cmd += ["--snapshot", str(snapshot), "--as-of", AS_OF.date().isoformat()]
        return run_child(cmd, rss_max_mb)

    if command not in RECORDING:
        return child(root)
    with tempfile.TemporaryDirectory(prefix="revgov-bench-runs-") as tmp:
        view = snapshot_view(root, Path(tmp))
        result = child(view)
        history = view / "_runs"
        if "stopped" not in result:
            findings = pl.scan_delta(str(history / "findings")).select(pl.len()).collect().item()
            result["recorded_findings"] = int(findings)
        return result


def measure(root: Path, command: str, repeat: int, rss_max_mb: float) -> dict[str, Any]:
    runs = [measure_once(root, command, rss_max_mb) for _ in range(repeat)]
    out: dict[str, Any] = {
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "wall_s": min(r["wall_s"] for r in runs),
        "runs": runs,
    }
    stopped = [r["stopped"] for r in runs if "stopped" in r]
    if stopped:
        out["stopped"] = stopped[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--chunk", type=int, default=600_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=list(COMMANDS))
    parser.add_argument(
        "--rss-max-gb", type=float, default=10.0, help="Stop a child above this RSS."
    )
    parser.add_argument("--rebuild", action="store_true", help="Make the snapshots again.")
    parser.add_argument("--build-only", action="store_true", help="Make the snapshots, stop.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.chunk % 3:
        parser.error("--chunk must be a multiple of 3 (three deals to an account)")
    DATA.mkdir(parents=True, exist_ok=True)

    sizes: dict[str, Any] = {}
    for n in sorted(args.sizes):
        root, rows, built = snapshot_for(n, args.chunk, args.rebuild)
        sizes[str(n)] = {"rows": rows, "build_s": round(built, 1) if built else None}
        if args.build_only:
            continue
        for command in args.commands:
            load = os.getloadavg()[0]
            result = measure(root, command, args.repeat, args.rss_max_gb * 1024)
            sizes[str(n)][command] = result | {"load_average_1min": round(load, 2)}
            print(f"{n:>11,} deals  {command:<8} peak {result['peak_rss_mb']:9,.0f} MB  "
                  f"{result['wall_s']:7.1f} s", flush=True)  # fmt: skip
    if args.build_only:
        return

    ordered = sorted(args.sizes)
    summary: dict[str, Any] = {}
    for command in args.commands:
        peaks = {n: sizes[str(n)][command]["peak_rss_mb"] for n in ordered}
        largest = peaks[ordered[-1]]
        stopped = any("stopped" in sizes[str(n)][command] for n in ordered)
        entry: dict[str, Any] = {
            "peak_mb_at_largest": largest,
            "under_target": largest < TARGET_GB * 1024 and not stopped,
        }
        if stopped:
            entry["stopped_at_ceiling"] = True
        if len(ordered) > 1:
            small, big = ordered[0], ordered[-1]
            entry["peak_ratio"] = round(peaks[big] / peaks[small], 2)
            entry["size_ratio"] = round(big / small, 2)
            entry["at_most_linear"] = not stopped and peaks[big] <= peaks[small] * big / small
        summary[command] = entry
    result = {
        "benchmark": "memory",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "revgov": revgov.__version__,
        },
        "as_of": AS_OF.isoformat(),
        "events_per_deal": EVENTS_PER_DEAL,
        "target_gb": TARGET_GB,
        "sizes": sizes,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for command, entry in summary.items():
        print(f"{command}: {json.dumps(entry)}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
