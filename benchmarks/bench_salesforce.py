"""Benchmark: pulling Leads from the Salesforce emulator over REST and over Bulk API 2.0.

The emulated org (``tests/emulator/salesforce.py``) runs in its own process, so the client
does not share its interpreter; each pull runs in a fresh child process that types and
commits every page (``revgov.pull.pull``), and reports records per second end to end, the API
calls it used (the org's ``DailyApiRequests`` before and after) and its peak RSS (VmHWM). Each
path is pulled at 100,000 and at 1,000,000 Leads: flat memory means the 1M peak stays within
1.2x of the 100k peak.

Targets (issue 9): Bulk 2.0 at least 50,000 records/s end to end; peak RSS at 1M within 1.2x
of that at 100k.

    python benchmarks/bench_salesforce.py [--sizes 100000 1000000] [--paths bulk rest] [--repeat 3]

With ``--repeat N`` each pull runs N times: the fastest run's time is reported (the machine is
shared) and the highest peak RSS of all runs.
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

import polars as pl

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.emulator.process import spawn  # noqa: E402
from tests.emulator.salesforce import login_environment  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "salesforce.json"
OTHERS = ("users", "accounts", "opportunities", "stage_events", "activities", "campaigns",
          "campaign_touches", "pipeline_stages")  # fmt: skip
#: Each path's options; pages keep the connector's default size (25,000 records).
PATHS = {
    "bulk": {"bulk_threshold": 0},
    "rest": {"bulk": False, "rest_batch_size": 2_000},
}

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from revgov.config import load_config
    from revgov.connectors.salesforce._client import SalesforceClient
    from revgov.pull import pull

    def vm(key):
        with open("/proc/self/status") as fh:
            return int(next(x for x in fh if x.startswith(key + ":")).split()[1]) / 1024

    cfg = load_config(sys.argv[1])
    client = SalesforceClient(cfg.sources[0].settings)

    def used():
        daily = client.call(lambda sf: sf.limits(), what="limits")["DailyApiRequests"]
        return daily["Max"] - daily["Remaining"]

    before = used()
    t0 = time.perf_counter()
    result = pull(cfg, sys.argv[2], progress=False)
    seconds = time.perf_counter() - t0
    calls = used() - before - 1  # the second limits call counts itself
    print(json.dumps({
        "seconds": seconds,
        "records": result.rows_typed + result.rows_quarantined,
        "rows_typed": result.rows_typed,
        "api_calls": calls,
        "peak_rss_mb": vm("VmHWM"),  # starts afresh at exec
    }))
    """
)


def _config(options: dict[str, object]) -> str:
    opts = ", ".join(f"{k} = {json.dumps(v)}" for k, v in options.items())
    lines = ["[[sources]]", 'name = "sf"', 'connector = "salesforce"', f"options = {{ {opts} }}"]
    for entity in OTHERS:
        lines += [f"[sources.entities.{entity}]", "enabled = false"]
    lines += ["[sources.entities.people.objects.Contact]", "enabled = false"]
    return "\n".join(lines) + "\n"


def _org(leads: int) -> dict[str, int]:
    small = {k: 10 for k in ("contacts", "accounts", "opportunities", "tasks", "events", "members")}
    return {"leads": leads, **small, "history_leads": 100, "boundary": 0, "api_limit": 10**9}


def run(path: str, leads: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "revgov.toml").write_text(_config(PATHS[path]), encoding="utf-8")
        with spawn(
            "tests.emulator.salesforce:build", root / "org", _org(leads), timeout=600
        ) as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SALESFORCE_")}
            env |= login_environment(emu.url, emu.ca)
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(root / "revgov.toml"), str(root / "snap")],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
    stats: dict[str, float | int | str] = json.loads(out.stdout)
    stats |= {"path": path, "leads": leads}
    stats["records_per_second"] = float(stats["records"]) / float(stats["seconds"])
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--paths", nargs="+", default=["bulk", "rest"], choices=list(PATHS))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for path in args.paths:
        for leads in args.sizes:
            tries = [run(path, leads) for _ in range(args.repeat)]
            stats = min(tries, key=lambda r: float(r["seconds"]))
            stats["peak_rss_mb"] = max(float(r["peak_rss_mb"]) for r in tries)
            stats["seconds_all_runs"] = [round(float(r["seconds"]), 2) for r in tries]
            stats["load_average"] = list(os.getloadavg())
            runs.append(stats)
            print(
                f"{path:>4} {leads:>9,} leads: {float(stats['seconds']):6.1f} s, "
                f"{float(stats['records_per_second']):>8,.0f} records/s, "
                f"{int(stats['api_calls']):>4} API calls, peak RSS {float(stats['peak_rss_mb']):.0f} MB",
                flush=True,
            )
    ratios = {}
    for path in args.paths:
        rss = {int(r["leads"]): float(r["peak_rss_mb"]) for r in runs if r["path"] == path}
        if len(rss) == 2:
            low, high = sorted(rss)
            ratios[path] = rss[high] / rss[low]
            print(f"{path}: peak RSS at {high:,} / at {low:,} = {ratios[path]:.2f}x")
    # Runs of paths not measured this time are kept from the previous results.
    if RESULTS.is_file():
        earlier = json.loads(RESULTS.read_text(encoding="utf-8"))
        runs = [r for r in earlier.get("runs", []) if r["path"] not in args.paths] + runs
        ratios = {
            k: v for k, v in earlier.get("peak_rss_ratio", {}).items() if k not in ratios
        } | ratios
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, python "
        f"{platform.python_version()}, polars {pl.__version__}",
        "load_average": os.getloadavg(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "paths": PATHS,
        "runs": runs,
        "peak_rss_ratio": ratios,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
