"""Benchmark: the ten anchor checks through revgov, side by side with hand-written polars,
pandera and Great Expectations; and the whole baseline pack on the default demo data.

Targets (issue 3): revgov within 1.2x of hand-written polars at 1M and 10M rows; at least
1.5x faster than pandera; at least 25x faster than Great Expectations; the baseline pack on
the default demo data under 2 s; peak RSS at 10M rows under 6 GB.

    python benchmarks/bench_rules.py [--sizes 1000000 10000000] [--repeat 5] [--gx-max 1000000]

How it measures, the same way for everyone:

* Data: ``gen.py N`` from ../shared/benchmarks/anchor_checks (``REVGOV_SHARED`` overrides
  where ../shared is), written once to benchmarks/_data/.
* Each implementation is its own script run as a subprocess: the three baselines as they
  are in the shared folder, revgov as benchmarks/_anchor_revgov.py (the ten checks as revgov
  rules, row-level findings plus per-rule counts). Every script prints the number of failing
  (id, check) pairs and the seconds it measured itself: from after its imports to the
  result (Great Expectations' script starts its clock before importing GX and pandas, so
  its import time, measured separately, is subtracted in ``inproc_adj``).
* One warm-up run per implementation and size, then ``--repeat`` rounds in which the
  implementations take turns (so that machine noise hits all of them alike). We report the
  median and the minimum of the in-process seconds and of the whole-process wall time, and
  the peak RSS of the process (``wait4``).
* Ratios use in-process medians (the check work, not interpreter start-up and imports);
  whole-process ratios are listed too. Great Expectations runs only up to ``--gx-max`` rows:
  at 10M rows its pandas COMPLETE result (5.6M unexpected ids) takes minutes and far more
  memory than the machine should spend on a baseline known to be ~40x slower.

Results go to benchmarks/results/rules.json and a Markdown table to
benchmarks/results/rules.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks" / "_data"
RESULTS = REPO / "benchmarks" / "results"
PAIRS_AT_1M = 563_939


def shared_dir() -> Path:
    override = os.environ.get("REVGOV_SHARED")
    return Path(override) if override else REPO.parent / "shared"


def anchor_dir() -> Path:
    path = shared_dir() / "benchmarks" / "anchor_checks"
    if not (path / "gen.py").is_file():
        sys.exit(f"anchor checks not found at {path} (set REVGOV_SHARED to ../shared)")
    return path


def data_file(n: int) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"opps_{n}.parquet"
    if not path.is_file():
        print(f"generating {path.name} ...", flush=True)
        subprocess.run([sys.executable, str(anchor_dir() / "gen.py"), str(n)], cwd=DATA, check=True)
    return path


def implementations(path: Path) -> dict[str, list[str]]:
    a = anchor_dir()
    py = sys.executable
    return {
        "polars_hand": [py, str(a / "polars_hand.py"), str(path)],
        "revgov": [py, str(REPO / "benchmarks" / "_anchor_revgov.py"), str(path)],
        "pandera": [py, str(a / "pandera_pl.py"), str(path)],
        "great_expectations": [py, str(a / "gx_pd.py"), str(path)],
    }


_ROWS = re.compile(r"rows (\d+)")
_SECS = re.compile(r"secs ([0-9.]+)")


def run_measured(cmd: list[str]) -> dict[str, float]:
    """Run one process: wall seconds, self-reported seconds, pairs, peak RSS (MB)."""
    t = time.perf_counter()
    out_path = DATA / f".out_{os.getpid()}.txt"
    with out_path.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    text = out_path.read_text()
    out_path.unlink()
    if status != 0:
        raise RuntimeError(f"{cmd[1]} failed (status {status}):\n{text[-2000:]}")
    rows = _ROWS.findall(text)
    secs = _SECS.findall(text)
    return {
        "wall": wall,
        "inproc": float(secs[-1]),
        "pairs": int(rows[-1]),
        "rss_mb": usage.ru_maxrss / 1024,
    }


def gx_import_seconds(repeat: int = 3) -> float:
    """Median time to import pandas and Great Expectations, which GX's script counts.

    Run from a script file, not ``python -c``: pyspark (pulled in by GX) exits when
    ``__main__`` has no file.
    """
    script = DATA / "_gx_import.py"
    script.write_text(
        "import time, warnings\n"
        "warnings.filterwarnings('ignore')\n"
        "t = time.perf_counter()\n"
        "import pandas, great_expectations, great_expectations.expectations\n"
        "print('rows 0 secs', time.perf_counter() - t)\n"
    )
    times = [run_measured([sys.executable, str(script)])["inproc"] for _ in range(repeat)]
    script.unlink()
    return statistics.median(times)


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    walls = [r["wall"] for r in runs]
    inproc = [r["inproc"] for r in runs]
    return {
        "runs": len(runs),
        "wall_median": round(statistics.median(walls), 3),
        "wall_min": round(min(walls), 3),
        "inproc_median": round(statistics.median(inproc), 3),
        "inproc_min": round(min(inproc), 3),
        "peak_rss_mb": round(max(r["rss_mb"] for r in runs), 1),
        "pairs": int(runs[0]["pairs"]),
    }


def bench_size(n: int, repeat: int, gx: bool, gx_repeat: int) -> dict[str, Any]:
    path = data_file(n)
    impls = implementations(path)
    if not gx:
        impls.pop("great_expectations")
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in impls}
    for name, cmd in impls.items():
        print(f"  {n:>11,} {name:<20} warm-up", flush=True)
        run_measured(cmd)
    for i in range(repeat):
        for name, cmd in impls.items():
            if name == "great_expectations" and i >= gx_repeat:
                continue
            res = run_measured(cmd)
            runs[name].append(res)
            print(
                f"  {n:>11,} {name:<20} round {i + 1}: {res['inproc']:.3f} s in-process, "
                f"{res['wall']:.3f} s wall, {res['rss_mb']:.0f} MB",
                flush=True,
            )
    out = {name: summarize(r) for name, r in runs.items()}
    pairs = {name: s["pairs"] for name, s in out.items()}
    if len(set(pairs.values())) != 1:
        raise AssertionError(f"implementations disagree on the failing pairs: {pairs}")
    if n == 1_000_000 and pairs["revgov"] != PAIRS_AT_1M:
        raise AssertionError(f"expected {PAIRS_AT_1M} pairs at 1M rows, got {pairs['revgov']}")
    return out


def bench_demo(repeat: int) -> dict[str, Any]:
    """The whole baseline pack on the default demo data (scale 1), in-process."""
    from revgov.demo import generate
    from revgov.rules import audit

    demo = generate()
    as_of = datetime.fromisoformat(demo.manifest["as_of"])
    frames = {e: f.lazy() for e, f in demo.frames.items()}
    report = audit(frames, config=demo.config, as_of=as_of)  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        report = audit(frames, config=demo.config, as_of=as_of)
        times.append(time.perf_counter() - t)
    return {
        "rows": demo.row_counts(),
        "rules": len(report.results),
        "findings": report.findings_df.height,
        "seconds_median": round(statistics.median(times), 3),
        "seconds_min": round(min(times), 3),
        "runs": repeat,
    }


def ratios(size: dict[str, Any]) -> dict[str, float | None]:
    rev = size["revgov"]

    def r(name: str, key: str, inverse: bool = False) -> float | None:
        if name not in size:
            return None
        a, b = size[name][key], rev[key]
        return round(a / b, 2) if inverse else round(b / a, 3)

    out: dict[str, float | None] = {
        "revgov_vs_polars_hand": r("polars_hand", "inproc_median"),
        "revgov_vs_polars_hand_wall": r("polars_hand", "wall_median"),
        "pandera_over_revgov": r("pandera", "inproc_median", inverse=True),
        "pandera_over_revgov_wall": r("pandera", "wall_median", inverse=True),
        "gx_over_revgov": None,
        "gx_over_revgov_wall": r("great_expectations", "wall_median", inverse=True),
    }
    if "great_expectations" in size:
        gx = size["great_expectations"]
        out["gx_over_revgov"] = round(gx["inproc_adj_median"] / rev["inproc_median"], 1)
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Measured {result['measured_at']} on {result['machine']['cpus']} CPUs "
        f"({result['machine']['platform']}), python {result['machine']['python']}, "
        f"polars {result['versions']['polars']}, narwhals {result['versions']['narwhals']}.",
        "",
        "| rows | implementation | in-process median (s) | min (s) | whole process median (s) "
        "| peak RSS (MB) | failing (id, check) pairs |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, size in result["sizes"].items():
        for name, s in size["implementations"].items():
            inproc = s.get("inproc_adj_median", s["inproc_median"])
            low = s.get("inproc_adj_min", s["inproc_min"])
            note = " (minus import)" if "inproc_adj_median" in s else ""
            lines.append(
                f"| {int(n):,} | {name} | {inproc}{note} | {low} | "
                f"{s['wall_median']} | {s['peak_rss_mb']:,.0f} | {s['pairs']:,} |"
            )
    lines += [
        "",
        "| rows | revgov / hand polars | pandera / revgov | GX / revgov |",
        "|---|---|---|---|",
    ]
    for n, size in result["sizes"].items():
        rt = size["ratios"]
        gx = rt["gx_over_revgov"] if rt["gx_over_revgov"] is not None else "not run"
        lines.append(
            f"| {int(n):,} | {rt['revgov_vs_polars_hand']}x | {rt['pandera_over_revgov']}x | "
            f"{gx}{'x' if rt['gx_over_revgov'] is not None else ''} |"
        )
    d = result["demo"]
    lines += [
        "",
        f"Baseline pack ({d['rules']} rules) on the default demo data "
        f"({d['rows']['people']:,} people, {d['rows']['opportunities']:,} opportunities, "
        f"{d['rows']['activities']:,} activities, {d['rows']['stage_events']:,} stage events): "
        f"median {d['seconds_median']} s (min {d['seconds_min']} s) over {d['runs']} runs, "
        f"{d['findings']:,} findings.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gx-max", type=int, default=1_000_000)
    parser.add_argument("--gx-repeat", type=int, default=2)
    parser.add_argument("--demo-repeat", type=int, default=7)
    args = parser.parse_args()

    sizes: dict[str, Any] = {}
    gx_import = None
    for n in args.sizes:
        print(f"{n:,} rows", flush=True)
        impls = bench_size(n, args.repeat, gx=n <= args.gx_max, gx_repeat=args.gx_repeat)
        if "great_expectations" in impls:
            if gx_import is None:
                gx_import = gx_import_seconds()
            gx = impls["great_expectations"]
            gx["import_seconds"] = round(gx_import, 3)
            gx["inproc_adj_median"] = round(gx["inproc_median"] - gx_import, 3)
            gx["inproc_adj_min"] = round(gx["inproc_min"] - gx_import, 3)
        sizes[str(n)] = {"implementations": impls}
        sizes[str(n)]["ratios"] = ratios(impls)
    print("demo", flush=True)
    demo = bench_demo(args.demo_repeat)

    rss_10m = sizes.get("10000000", {}).get("implementations", {}).get("revgov", {})
    targets = {
        "revgov_within_1.2x_of_polars_hand": {
            n: s["ratios"]["revgov_vs_polars_hand"] <= 1.2 for n, s in sizes.items()
        },
        "revgov_1.5x_faster_than_pandera": {
            n: s["ratios"]["pandera_over_revgov"] >= 1.5 for n, s in sizes.items()
        },
        "revgov_25x_faster_than_gx": {
            n: s["ratios"]["gx_over_revgov"] >= 25
            for n, s in sizes.items()
            if s["ratios"]["gx_over_revgov"] is not None
        },
        "demo_pack_under_2s": demo["seconds_median"] < 2.0,
        "peak_rss_10m_under_6gb": (rss_10m.get("peak_rss_mb", 0) < 6 * 1024) if rss_10m else None,
    }
    result = {
        "benchmark": "anchor checks (10 checks, row-level findings) + baseline pack on the demo",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            p: version(p)
            for p in ("polars", "narwhals", "pandera", "great-expectations", "pandas", "duckdb")
        },
        "method": (
            "subprocess per implementation; 1 warm-up then rounds taking turns; in-process "
            "seconds are each script's own clock (after imports; GX minus its measured "
            "import time); ratios from in-process medians; peak RSS from wait4"
        ),
        "repeat": args.repeat,
        "sizes": sizes,
        "demo": demo,
        "targets": targets,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "rules.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "rules.md").write_text(markdown(result) + "\n", encoding="utf-8")
    print(markdown(result))
    print(json.dumps(targets, indent=2))


if __name__ == "__main__":
    main()
