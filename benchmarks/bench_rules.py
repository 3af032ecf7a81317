"""Benchmark: the ten anchor checks through revgov, side by side with hand-written polars,
pandera and Great Expectations; and the whole baseline pack on the default demo data.

Targets (issue 3): revgov within 1.2x of hand-written polars at 1M and 10M rows; at least
1.5x faster than pandera; at least 25x faster than Great Expectations; the baseline pack on
the default demo data under 2 s; peak RSS at 10M rows under 6 GB.

    python benchmarks/bench_rules.py [--sizes 1000000 10000000] [--repeat 5] [--gx-max 1000000]
        [--gx-once-at 10000000] [--wait-quiet 0.5]

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
  median, minimum and spread ((max - min) / median) of the in-process seconds and of the
  whole-process wall time, and the peak RSS of the process (``wait4``).
* Ratios are given both ways: in-process medians (the check work) and whole-process medians
  (interpreter start-up and imports included: what a scheduled job pays).
* Every process runs with bytecode caching on (``PYTHONPYCACHEPREFIX`` under
  benchmarks/_data/), as an installed package would, even where the environment sets
  ``PYTHONDONTWRITEBYTECODE``: otherwise revgov's own modules, unlike the installed
  libraries, would be compiled from source at every start.
* Great Expectations runs ``--gx-repeat`` rounds up to ``--gx-max`` rows, and once at
  ``--gx-once-at`` rows under a time limit (``--gx-timeout``) and an RSS ceiling
  (``--gx-rss-max-gb``); if it does not finish, the results say so and why.
* ``--wait-quiet L`` waits (up to 30 minutes) for the 1-minute load average to drop below
  L before starting; the load averages at start and end are recorded.

Results go to benchmarks/results/rules.json and a Markdown table to
benchmarks/results/rules.md (``--out NAME`` for other names). benchmarks/_data/ is created
when missing (a fresh clone has none).
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
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
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


class AbortedError(RuntimeError):
    """A run stopped by its time limit or RSS ceiling."""


def bench_env() -> dict[str, str]:
    """The environment of every measured process: bytecode caching on (see the docstring)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(DATA / "pycache")
    return env


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_measured(
    cmd: list[str], *, timeout: float | None = None, rss_max_mb: float | None = None
) -> dict[str, float]:
    """Run one process: wall seconds, self-reported seconds, pairs, peak RSS (MB). With a
    ``timeout`` or ``rss_max_mb`` the process is killed (``AbortedError``) when it passes one."""
    t = time.perf_counter()
    out_path = DATA / f".out_{os.getpid()}.txt"
    with out_path.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=bench_env())
        abort = None
        watch = timeout is not None or rss_max_mb is not None
        # wait4 (not Popen.poll, which would reap the child and lose its rusage).
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if watch else 0)
        while pid == 0:
            if timeout is not None and time.perf_counter() - t > timeout:
                abort = f"still running after {timeout:.0f} s"
            elif rss_max_mb is not None and _rss_mb(proc.pid) > rss_max_mb:
                abort = f"RSS passed {rss_max_mb:,.0f} MB"
            if abort:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.5)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    wall = time.perf_counter() - t
    text = out_path.read_text()
    out_path.unlink()
    if abort:
        raise AbortedError(f"{abort} (peak RSS {usage.ru_maxrss / 1024:,.0f} MB, {wall:.0f} s)")
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


def import_seconds(module: str, repeat: int = 5) -> float:
    """Median seconds to import ``module`` in a fresh interpreter (bytecode cached)."""
    code = f"import time; t = time.perf_counter(); import {module}; "
    code += "print('rows 0 secs', time.perf_counter() - t)"
    times = [run_measured([sys.executable, "-c", code])["inproc"] for _ in range(repeat + 1)]
    return statistics.median(times[1:])  # the first run writes the bytecode cache


def _spread(values: list[float]) -> float:
    return round((max(values) - min(values)) / statistics.median(values), 3)


def summarize(runs: list[dict[str, float]]) -> dict[str, float]:
    walls = [r["wall"] for r in runs]
    inproc = [r["inproc"] for r in runs]
    return {
        "runs": len(runs),
        "wall_median": round(statistics.median(walls), 3),
        "wall_min": round(min(walls), 3),
        "wall_max": round(max(walls), 3),
        "wall_spread": _spread(walls),
        "inproc_median": round(statistics.median(inproc), 3),
        "inproc_min": round(min(inproc), 3),
        "inproc_max": round(max(inproc), 3),
        "inproc_spread": _spread(inproc),
        "peak_rss_mb": round(max(r["rss_mb"] for r in runs), 1),
        "pairs": int(runs[0]["pairs"]),
    }


def bench_size(
    n: int,
    repeat: int,
    gx: bool,
    gx_repeat: int,
    gx_once: dict[str, float] | None,
    without: Sequence[str] = (),
) -> dict[str, Any]:
    """Every implementation at ``n`` rows. ``gx_once`` (timeout, rss_max_mb): Great
    Expectations runs once, no warm-up, under those limits, after the others."""
    path = data_file(n)
    impls = {k: v for k, v in implementations(path).items() if k not in without}
    gx_cmd = impls.pop("great_expectations", None)
    if gx_cmd is None:
        gx, gx_once = False, None
    if gx:
        impls["great_expectations"] = gx_cmd
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
    out: dict[str, Any] = {name: summarize(r) for name, r in runs.items()}
    if gx_once is not None:
        print(f"  {n:>11,} great_expectations   once (limits {gx_once})", flush=True)
        try:
            res = run_measured(gx_cmd, timeout=gx_once["timeout"], rss_max_mb=gx_once["rss_max_mb"])
        except AbortedError as exc:
            out["great_expectations_not_run"] = (
                f"Great Expectations at {n:,} rows was stopped: {exc}; limits were "
                f"{gx_once['timeout']:.0f} s and {gx_once['rss_max_mb'] / 1024:.0f} GB RSS"
            )
            print(f"  {n:>11,} great_expectations   {out['great_expectations_not_run']}")
        else:
            out["great_expectations"] = summarize([res])
            print(f"  {n:>11,} great_expectations   {res['inproc']:.1f} s in-process", flush=True)
    pairs = {name: s["pairs"] for name, s in out.items() if isinstance(s, dict)}
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
        "spread": _spread(times),
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
        "revgov_vs_polars_hand_min": r("polars_hand", "inproc_min"),
        "pandera_over_revgov": r("pandera", "inproc_median", inverse=True),
        "pandera_over_revgov_wall": r("pandera", "wall_median", inverse=True),
        "gx_over_revgov": None,
        "gx_over_revgov_wall": r("great_expectations", "wall_median", inverse=True),
    }
    if "great_expectations" in size:
        gx = size["great_expectations"]
        out["gx_over_revgov"] = round(gx["inproc_adj_median"] / rev["inproc_median"], 1)
    return out


def _x(value: float | None) -> str:
    return "not run" if value is None else f"{value}x"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"Measured {result['measured_at']} on {m['cpus']} CPUs ({m['platform']}), python "
        f"{m['python']}, polars {result['versions']['polars']}, narwhals "
        f"{result['versions']['narwhals']}; load average (1, 5, 15 min) at start "
        f"{m['load_average_at_start']}, at end {m['load_average_at_end']}. "
        f"{result['repeat']} rounds after a warm-up; bytecode cached.",
        "",
        "| rows | implementation | runs | in-process median (s) | min | spread "
        "| whole process median (s) | min | spread | peak RSS (MB) | failing pairs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for n, size in result["sizes"].items():
        for name, s in size["implementations"].items():
            if not isinstance(s, dict):
                notes.append(s)
                continue
            adj = "inproc_adj_median" in s
            med = s["inproc_adj_median"] if adj else s["inproc_median"]
            low = s["inproc_adj_min"] if adj else s["inproc_min"]
            lines.append(
                f"| {int(n):,} | {name} | {s['runs']} | {med}{' (minus import)' if adj else ''} "
                f"| {low} | {s['inproc_spread']:.0%} | {s['wall_median']} | {s['wall_min']} | "
                f"{s['wall_spread']:.0%} | {s['peak_rss_mb']:,.0f} | {s['pairs']:,} |"
            )
    lines += [
        "",
        "Spread is (max - min) / median over the runs. Ratios from medians, in-process (the "
        "check work) and whole process (start-up and imports included):",
        "",
        "| rows | revgov / hand polars, in-process | whole process | pandera / revgov, "
        "in-process | whole process | GX / revgov, in-process | whole process |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, size in result["sizes"].items():
        rt = size["ratios"]
        lines.append(
            f"| {int(n):,} | {_x(rt['revgov_vs_polars_hand'])} | "
            f"{_x(rt['revgov_vs_polars_hand_wall'])} | {_x(rt['pandera_over_revgov'])} | "
            f"{_x(rt['pandera_over_revgov_wall'])} | {_x(rt['gx_over_revgov'])} | "
            f"{_x(rt['gx_over_revgov_wall'])} |"
        )
    imp = result["imports"]
    first_n, first = next(iter(result["sizes"].items()))
    impls = first["implementations"]
    gap = impls["revgov"]["wall_median"] - impls["polars_hand"]["wall_median"]
    lines += [
        "",
        f"Import in a fresh interpreter (median of 5): `import polars` {imp['polars']} s, "
        f"`import revgov.rules` {imp['revgov.rules']} s (polars, narwhals, pydantic and the "
        f"config and model layers): {imp['revgov.rules'] - imp['polars']:.3f} s more, against "
        f"a whole-process gap of {gap:.3f} s between revgov and hand-written polars at "
        f"{int(first_n):,} rows.",
    ]
    if any(
        s.get("runs") == 1
        for size in result["sizes"].values()
        for s in size["implementations"].values()
        if isinstance(s, dict)
    ):
        lines += ["", "A row with 1 run was measured once, without a warm-up run."]
    for note in notes:
        lines += ["", f"**Not run:** {note}"]
    lines += ["", "Targets (issue 3):", ""]
    for name, verdict in result["target_summary"].items():
        lines.append(f"- {name}: {verdict}")
    d = result["demo"]
    lines += [
        "",
        f"Baseline pack ({d['rules']} rules) on the default demo data "
        f"({d['rows']['people']:,} people, {d['rows']['opportunities']:,} opportunities, "
        f"{d['rows']['activities']:,} activities, {d['rows']['stage_events']:,} stage events), "
        f"in-process: median {d['seconds_median']} s (min {d['seconds_min']} s, spread "
        f"{d['spread']:.0%}) over {d['runs']} runs, {d['findings']:,} findings.",
    ]
    return "\n".join(lines)


def _installed(package: str) -> str | None:
    """The installed version of ``package`` (None when a left-out baseline is not installed)."""
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def wait_for_quiet(threshold: float | None, limit_s: float = 1800) -> None:
    if threshold is None:
        return
    t = time.monotonic()
    while os.getloadavg()[0] >= threshold and time.monotonic() - t < limit_s:
        print(f"waiting for a quiet machine: load {os.getloadavg()[0]:.2f}", flush=True)
        time.sleep(30)


def _target_summary(sizes: dict[str, Any], demo: dict[str, Any]) -> dict[str, str]:
    def both(key: str, good: Any) -> str:
        parts = []
        for n, s in sizes.items():
            rt = s["ratios"]
            a, b = rt[key], rt[f"{key}_wall"]
            if a is None:
                parts.append(f"{int(n):,}: not run")
                continue
            parts.append(
                f"{int(n):,}: in-process {a}x ({'met' if good(a) else 'NOT met'}), whole "
                f"process {b}x ({'met' if good(b) else 'NOT met'})"
            )
        return "; ".join(parts)

    rss = sizes.get("10000000", {}).get("implementations", {}).get("revgov", {})
    return {
        "revgov within 1.2x of hand-written polars": both(
            "revgov_vs_polars_hand", lambda v: v <= 1.2
        ),
        "at least 1.5x faster than pandera": both("pandera_over_revgov", lambda v: v >= 1.5),
        "at least 25x faster than Great Expectations": both("gx_over_revgov", lambda v: v >= 25),
        "baseline pack on the default demo under 2 s": (
            f"{demo['seconds_median']} s median ({'met' if demo['seconds_median'] < 2 else 'NOT met'})"
        ),
        "peak RSS at 10M rows under 6 GB": (
            f"{rss['peak_rss_mb']:,.0f} MB ({'met' if rss['peak_rss_mb'] < 6 * 1024 else 'NOT met'})"
            if rss
            else "10M not run"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gx-max", type=int, default=1_000_000)
    parser.add_argument("--gx-repeat", type=int, default=2)
    parser.add_argument("--demo-repeat", type=int, default=7)
    parser.add_argument("--gx-once-at", type=int, nargs="*", default=[10_000_000])
    parser.add_argument("--gx-timeout", type=float, default=600.0)
    parser.add_argument("--gx-rss-max-gb", type=float, default=14.0)
    parser.add_argument("--wait-quiet", type=float, default=None)
    parser.add_argument(
        "--without",
        nargs="*",
        default=[],
        choices=["pandera", "great_expectations"],
        help="Leave out these baselines (e.g. when their packages are not installed).",
    )
    parser.add_argument(
        "--out",
        default="rules",
        help="Name of the results files (benchmarks/results/OUT.json and .md); a partial run "
        "(e.g. --sizes 1000000 --gx-max 0 --gx-once-at) can keep the full run's files.",
    )
    parser.add_argument("--render", action="store_true", help="Only rewrite OUT.md from OUT.json.")
    args = parser.parse_args()
    json_path, md_path = RESULTS / f"{args.out}.json", RESULTS / f"{args.out}.md"
    if args.render:
        saved = json.loads(json_path.read_text(encoding="utf-8"))
        md_path.write_text(markdown(saved) + "\n", encoding="utf-8")
        return

    # A fresh clone has no _data/ yet: every process writes its output (and bytecode) there.
    DATA.mkdir(parents=True, exist_ok=True)
    wait_for_quiet(args.wait_quiet)
    load_start = [round(x, 2) for x in os.getloadavg()]
    imports = {m: round(import_seconds(m), 3) for m in ("polars", "revgov.rules")}
    sizes: dict[str, Any] = {}
    gx_import = None
    for n in args.sizes:
        print(f"{n:,} rows", flush=True)
        once = (
            {"timeout": args.gx_timeout, "rss_max_mb": args.gx_rss_max_gb * 1024}
            if n in args.gx_once_at and n > args.gx_max
            else None
        )
        impls = bench_size(
            n,
            args.repeat,
            gx=n <= args.gx_max,
            gx_repeat=args.gx_repeat,
            gx_once=once,
            without=args.without,
        )
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
    target_summary = _target_summary(sizes, demo)
    targets = {
        "revgov_within_1.2x_of_polars_hand": {
            n: s["ratios"]["revgov_vs_polars_hand"] <= 1.2 for n, s in sizes.items()
        },
        "revgov_1.5x_faster_than_pandera": {
            n: s["ratios"]["pandera_over_revgov"] >= 1.5
            for n, s in sizes.items()
            if s["ratios"]["pandera_over_revgov"] is not None
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
            "load_average_at_start": load_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            p: _installed(p)
            for p in ("polars", "narwhals", "pandera", "great-expectations", "pandas", "duckdb")
        },
        "method": (
            "subprocess per implementation, bytecode cached; 1 warm-up then rounds taking "
            "turns; in-process seconds are each script's own clock (after imports; GX minus "
            "its measured import time); ratios from medians, in-process and whole process; "
            "spread = (max - min) / median; peak RSS from wait4"
        ),
        "repeat": args.repeat,
        "sizes": sizes,
        "imports": imports,
        "demo": demo,
        "targets": targets,
        "target_summary": target_summary,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(result) + "\n", encoding="utf-8")
    print(markdown(result))
    print(json.dumps(targets, indent=2))


if __name__ == "__main__":
    main()
