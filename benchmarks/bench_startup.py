"""Benchmark: how long revgov takes to start, side by side with ``import polars``.

Target (issue 7): ``revgov --help`` within 0.25 s of ``python -c "import polars"``, whole
process. Also measured: ``revgov --version``, ``import revgov``, ``import revgov.rules``, and
the bare interpreter (``python -c pass``) as the floor.

    python benchmarks/bench_startup.py [--rounds 15] [--wait-quiet 1.0] [--before DIR]

``--before DIR`` also runs ``revgov --help`` and ``--version`` from another source tree (the
``src`` folder of an earlier commit, e.g. ``git archive <commit> src | tar -x -C DIR``) in
the same rounds, through ``revgov.cli.main`` with that folder first on ``PYTHONPATH``.

How it measures: each command is a fresh process, timed from spawn to exit (wall clock),
with bytecode caching on as an installed package has it (see ``bench_rules.bench_env``).
One warm-up run per command (it writes the bytecode cache), then ``--rounds`` rounds in
which the commands take turns, so that machine noise hits all of them alike. Reported per
command: median, minimum, spread ((max - min) / median) and the gap to ``import polars``
(median against median, and minimum against minimum). ``hyperfine`` is not needed.

Results go to benchmarks/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from bench_rules import DATA, RESULTS, bench_env, wait_for_quiet

#: The most ``revgov --help`` may take beyond ``import polars`` (seconds, whole process).
TARGET_GAP = 0.25


Command = tuple[list[str], dict[str, str]]


def commands(before: Path | None) -> dict[str, Command]:
    """The measured commands, each a whole process, with their extra environment. The console
    script is the one installed beside this interpreter (as ``pip install`` puts it)."""
    py = sys.executable
    script = Path(py).with_name("revgov")
    revgov = [str(script)] if script.is_file() else [py, "-m", "revgov.cli"]
    out: dict[str, Command] = {
        "python -c pass": ([py, "-c", "pass"], {}),
        "import polars": ([py, "-c", "import polars"], {}),
        "revgov --help": ([*revgov, "--help"], {}),
        "revgov --version": ([*revgov, "--version"], {}),
        "import revgov": ([py, "-c", "import revgov"], {}),
        "import revgov.rules": ([py, "-c", "import revgov.rules"], {}),
    }
    if before is not None:
        old = {"PYTHONPATH": str(before.resolve())}
        cli = [py, "-c", "import sys; from revgov.cli import main; sys.exit(main(sys.argv[1:]))"]
        out["revgov --help (before)"] = ([*cli, "--help"], old)
        out["revgov --version (before)"] = ([*cli, "--version"], old)
        out["import revgov.rules (before)"] = ([py, "-c", "import revgov.rules"], old)
    return out


def run_once(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run of ``cmd`` (its output discarded; a failure stops the run)."""
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(rounds: int, before: Path | None) -> dict[str, list[float]]:
    env = bench_env()
    env["COLUMNS"] = "100"  # the same help layout in every run
    cmds = {name: (cmd, env | extra) for name, (cmd, extra) in commands(before).items()}
    for cmd, cmd_env in cmds.values():
        run_once(cmd, cmd_env)  # warm-up: writes the bytecode cache
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for i in range(rounds):
        for name, (cmd, cmd_env) in cmds.items():
            times[name].append(run_once(cmd, cmd_env))
        print(f"round {i + 1}: " + ", ".join(f"{n} {t[-1]:.3f}" for n, t in times.items()))
    return times


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    base = times["import polars"]
    out = {}
    for name, values in times.items():
        med = statistics.median(values)
        out[name] = {
            "runs": len(values),
            "median": round(med, 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
            "spread": round((max(values) - min(values)) / med, 3),
            "gap_to_import_polars_median": round(med - statistics.median(base), 4),
            "gap_to_import_polars_min": round(min(values) - min(base), 4),
        }
    return out


def markdown(result: dict[str, object]) -> str:
    stats = result["commands"]
    assert isinstance(stats, dict)
    lines = [
        "| command | median (s) | min (s) | spread | vs `import polars`, median | min |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in stats.items():
        lines.append(
            f"| `{name}` | {s['median']:.3f} | {s['min']:.3f} | {s['spread']:.0%} | "
            f"{s['gap_to_import_polars_median']:+.3f} | {s['gap_to_import_polars_min']:+.3f} |"
        )
    lines += ["", f"Target: {result['target']}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--wait-quiet", type=float, default=None)
    parser.add_argument("--before", type=Path, default=None, help="An earlier src/ to compare.")
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    wait_for_quiet(args.wait_quiet)
    load_start = [round(x, 2) for x in os.getloadavg()]
    stats = summary(measure(args.rounds, args.before))
    gap = stats["revgov --help"]["gap_to_import_polars_median"]
    result = {
        "benchmark": "start-up: revgov --help / --version and imports against import polars",
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": load_start,
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {p: version(p) for p in ("polars", "narwhals", "typer", "pydantic")},
        "hyperfine": shutil.which("hyperfine") is not None,
        "method": (
            "a fresh process per run, wall clock from spawn to exit, bytecode cached; one "
            "warm-up per command, then rounds taking turns; medians, minimums and spread "
            "(max - min) / median"
        ),
        "rounds": args.rounds,
        "before": str(args.before) if args.before is not None else None,
        "commands": stats,
        "target": (
            f"revgov --help within {TARGET_GAP} s of import polars (whole process): "
            f"{gap:+.3f} s median, {'met' if gap <= TARGET_GAP else 'NOT met'}"
        ),
        "target_met": gap <= TARGET_GAP,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
