"""Benchmark: pulling a large CSV export through the files connector into a snapshot.

DESIGN.md asks that memory stay flat while pulling: pages stream from the export to Parquet,
nothing holds the whole file. This writes a synthetic opportunities export of ``--rows`` rows
(1% bad amounts, so quarantine is exercised), pulls it in a fresh child process with
``page_size`` rows per page, and reports rows per second and the child's peak memory (Linux /proc: VmHWM, which includes the
export's memory-mapped pages, and sampled RssAnon, the memory the process itself holds). Running it
at two sizes shows whether peak memory grows with the file (it should not, beyond the page).

    python benchmarks/bench_pull_files.py [--rows 2000000] [--page-size 100000]

``--baseline-src DIR`` (the ``src`` folder of another checkout) also pulls each export with that
revgov, in turns with this one, so that a change is measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

RESULTS = Path(__file__).parent / "results" / "pull_files.json"

CONFIG = """\
[[pipelines]]
name = "sales"
[[pipelines.stages]]
name = "Open"
order = 1
probability = 0.3
[[pipelines.stages]]
name = "Closed Won"
order = 2
probability = 1.0
is_closed = true
is_won = true
[[pipelines.stages]]
name = "Closed Lost"
order = 3
probability = 0.0
is_closed = true

[[sources]]
name = "bench"
connector = "files"
options = {{ page_size = {page_size} }}
[sources.entities.opportunities]
path = "deals.csv"
[sources.entities.opportunities.columns]
opportunity_id = "Id"
account_id = "AccountId"
owner_id = "OwnerId"
stage = "StageName"
amount = "Amount"
close_date = "CloseDate"
created_at = "CreatedDate"
"""

CHILD = textwrap.dedent(
    """
    import json, sys, threading, time
    from revgov.config import load_config
    from revgov.pull import pull

    def status(key):
        with open("/proc/self/status") as fh:
            return int(next(x for x in fh if x.startswith(key + ":")).split()[1]) / 1024

    # Peak anonymous memory, sampled: the part the process holds, unlike the export's pages
    # that the CSV reader maps (file-backed, counted in RSS, reclaimable by the kernel).
    peak_anon = [0.0]

    def sample():
        while True:
            peak_anon[0] = max(peak_anon[0], status("RssAnon"))
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    cfg = load_config(sys.argv[1])
    t0, c0 = time.perf_counter(), time.process_time()
    result = pull(cfg, sys.argv[2], progress=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "cpu_seconds": time.process_time() - c0,
        "rows_typed": result.rows_typed,
        "rows_quarantined": result.rows_quarantined,
        # VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak over.
        "peak_rss_mb": status("VmHWM"),
        "peak_anon_mb": peak_anon[0],
    }))
    """
)


def write_export(path: Path, n: int, seed: int = 11, ragged: bool = False) -> None:
    """``ragged``: 0.01% of the records lose their last field and 0.01% gain one, so that the
    exact (pyarrow) reader reads the file and quarantines them with their line."""
    rng = np.random.default_rng(seed)
    stages = np.array(["Open", "Closed Won", "Closed Lost"])
    amount = rng.gamma(2, 20000, n).round(2).astype(str)
    amount[rng.random(n) < 0.01] = "n/a"
    days = rng.integers(0, 900, n)
    frame = pl.DataFrame(
        {
            "Id": np.char.add("006", np.arange(n).astype(str)),
            "AccountId": np.char.add("001", rng.integers(0, n // 10 + 1, n).astype(str)),
            "OwnerId": np.char.add("005", rng.integers(0, 200, n).astype(str)),
            "StageName": stages[rng.integers(0, 3, n)],
            "Amount": amount,
            "CloseDate": (np.datetime64("2024-01-01") + days).astype(str),
            "CreatedDate": (np.datetime64("2023-06-01T09:00:00") + days * 3600).astype(str),
        }
    )
    if not ragged:
        frame.write_csv(path)
        return
    text = frame.write_csv().splitlines()
    for i in rng.choice(np.arange(1, n + 1), size=max(n // 5000, 2), replace=False):
        text[i] = text[i].rsplit(",", 1)[0] if i % 2 else text[i] + ",extra"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


def run(
    rows: int, page_size: int, baseline: str | None = None, *, ragged: bool = False
) -> list[dict[str, Any]]:
    """The pull of one export; with ``baseline``, that revgov's pull first, then this one's."""
    here = str(Path(__file__).resolve().parents[1] / "src")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_export(root / "deals.csv", rows, ragged=ragged)
        (root / "revgov.toml").write_text(CONFIG.format(page_size=page_size), encoding="utf-8")
        for i, src in enumerate([baseline, here] if baseline else [here]):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(root / "revgov.toml"), str(root / f"snap{i}")],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": src},
            )
            stats: dict[str, Any] = json.loads(out.stdout)
            stats["export_mb"] = (root / "deals.csv").stat().st_size / 2**20
            stats["rows"] = rows
            stats["rows_per_second"] = rows / float(stats["seconds"])
            stats["revgov"] = "baseline" if src == baseline else "current"
            stats["ragged"] = ragged
            runs.append(stats)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--page-size", type=int, default=100_000)
    parser.add_argument("--baseline-src", default=None)
    parser.add_argument("--ragged", action="store_true", help="plant records with wrong widths")
    args = parser.parse_args()
    # The baseline may not read a ragged export at all (it stopped at the first long record).
    baseline = None if args.ragged else args.baseline_src
    runs = run(args.rows // 4, args.page_size, baseline, ragged=args.ragged)
    runs += run(args.rows, args.page_size, baseline, ragged=args.ragged)
    report = {
        "machine": f"{platform.machine()}, {platform.processor() or '?'}, "
        f"python {platform.python_version()}, polars {pl.__version__}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "page_size": args.page_size,
        "runs": runs,
    }
    for r in runs:
        print(
            f"{r['revgov']:>8} {int(r['rows']):>10,} rows ({float(r['export_mb']):.0f} MB CSV): "
            f"{float(r['seconds']):.1f} s, {float(r['rows_per_second']):,.0f} rows/s, "
            f"cpu {float(r['cpu_seconds']):.1f} s, "
            f"peak RSS {float(r['peak_rss_mb']):.0f} MB (anonymous {float(r['peak_anon_mb']):.0f} MB), "
            f"quarantined {int(r['rows_quarantined']):,}"
        )
    out = RESULTS.with_stem(RESULTS.stem + "_ragged") if args.ragged else RESULTS
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
