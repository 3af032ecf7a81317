"""Benchmark: pulling 200,000 HubSpot contacts with their lifecycle history at the rate limit.

The HubSpot emulator runs in a process of its own (``tests.emulator.hubspot``), enforcing a
rolling limit of ``--burst`` requests per ``--interval-ms`` with HubSpot's headers and 429s.
HubSpot's real limit is 100 per 10 s (Free/Starter); the window is scaled down (see below), so
that 8,000 requests take minutes, not a quarter of an hour: the limiter is sized from the
headers either way. A child process pulls the ``people`` entity (contacts, 100 a page, their
lifecycle history by batch read, 50 a request, and each page's company associations: four
requests per 100 contacts), maps and types every page as ``revgov pull`` does, and drops it: the snapshot store is left out (it is being rebuilt on
Delta Lake), so the figures are the connector's. Measured:

* requests per window achieved, as a share of the limit, from the emulator's own arrival times,
  in the steady state (the first and last two windows left out) — target >= 90%;
* 429s received — target 0;
* the child's peak RSS (VmHWM) at 20,000 and at 200,000 contacts — target within 1.2x.

Side by side, at both sizes, the baseline a script would write: hubspot-api-client's
``crm.contacts.get_all(properties_with_history=...)`` (the client's models, the whole list in
memory, no limiter, one request at a time).

By default the window is scaled down five times (100 per 2 s) and, as a stress run, ten times
(100 per 1 s); at ten times the client needs a core to itself.

    python benchmarks/bench_hubspot.py [--sizes 20000 200000] [--interval-ms 2000 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.emulator.process import spawn  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "hubspot.json"
TOKEN = "pat-na1-bench"

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from revgov.config import config_from_dict
    from revgov.connectors.hubspot import HubSpotConnector
    from revgov.connectors.mapping import apply_definitions
    from revgov.model.frames import type_records

    url, ca = sys.argv[1], sys.argv[2]
    config = config_from_dict({"sources": [{"name": "bench", "connector": "hubspot",
        "options": {"base_url": url, "ca_bundle": ca},
        "entities": {"people": {"columns": {"utm_source": "utm_source_c"}}}}]})
    conn = HubSpotConnector(config.sources[0])
    start = time.perf_counter()
    rows = quarantined = pages = 0
    status = {}
    for page in conn.fetch("people"):
        raw = apply_definitions("people", page.records, config)
        typed = type_records("people", raw, source_system="hubspot", extras=page.extras)
        rows += typed.frame.height
        quarantined += typed.quarantine.height
        pages += 1
        status = dict(page.status)
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as fh:
        hwm = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:")) / 1024
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"rows": rows, "quarantined": quarantined, "pages": pages,
                      "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "peak_rss_mb": hwm, "status": status}))
    """
)

BASELINE = textwrap.dedent(
    """
    import json, sys, time
    from hubspot import HubSpot
    url, ca, token = sys.argv[1], sys.argv[2], sys.argv[3]
    client = HubSpot(access_token=token, host=url, ssl_ca_cert=ca)
    start = time.perf_counter()
    contacts = client.crm.contacts.get_all(
        properties=["email", "lifecyclestage", "utm_source_c"],
        properties_with_history=["lifecyclestage"])
    seconds = time.perf_counter() - start
    with open("/proc/self/status") as fh:
        hwm = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:")) / 1024
    print(json.dumps({"rows": len(contacts), "seconds": seconds, "peak_rss_mb": hwm}))
    """
)


def _stats(url: str, ca: str) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(f"{url}/__emulator/stats", context=context) as reply:
        data: dict[str, Any] = json.load(reply)
        return data


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _windows(arrivals: list[float], interval: float) -> list[int]:
    """Requests per tumbling window, the first and last two windows left out."""
    if not arrivals:
        return []
    counts: dict[int, int] = {}
    for t in arrivals:
        counts[int(t // interval)] = counts.get(int(t // interval), 0) + 1
    last = max(counts)
    return [counts.get(w, 0) for w in range(2, last - 1)]


def _run(code: str, *args: str, env_token: bool = True) -> dict[str, Any]:
    env = {"PATH": "/usr/bin:/bin", "HUBSPOT_ACCESS_TOKEN": TOKEN} if env_token else {}
    env.update({k: v for k, v in os.environ.items() if k.startswith("POLARS_")})
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def measure(contacts: int, burst: int, interval_ms: int, baseline: bool) -> dict[str, Any]:
    options = {
        "contacts": contacts,
        "companies": 2000,
        "deals": 5,
        "engagements": 1,
        "partners": 0,
        "private_token": TOKEN,
        "burst": burst,
        "interval_ms": interval_ms,
        "daily": 50_000_000,
    }
    interval = interval_ms / 1000
    with (
        tempfile.TemporaryDirectory() as state,
        spawn("tests.emulator.hubspot:hubspot", Path(state), options, timeout=300) as emu,
    ):
        assert emu.ca is not None
        before = _cpu_seconds(emu.process.pid)
        pulled = _run(CHILD, emu.url, emu.ca)
        stats = _stats(emu.url, emu.ca)
        emulator_cpu = _cpu_seconds(emu.process.pid) - before
        load = os.getloadavg()[0]
    arrivals = stats["arrivals"]
    windows = _windows(arrivals, interval)
    result = {
        "contacts": contacts,
        "limit": f"{burst} per {interval:g} s",
        "requests": len(arrivals),
        "rows": pulled["rows"],
        "quarantined": pulled["quarantined"],
        "pages": pulled["pages"],
        "seconds": round(pulled["seconds"], 1),
        "client_cpu_seconds": round(pulled["cpu_seconds"], 1),
        "emulator_cpu_seconds": round(emulator_cpu, 1),
        "load_average_1min_after": round(load, 1),
        "rows_per_s": round(pulled["rows"] / pulled["seconds"]),
        "share_of_limit_mean": round(sum(windows) / len(windows) / burst, 3) if windows else None,
        "share_of_limit_min": round(min(windows) / burst, 3) if windows else None,
        "steady_windows": len(windows),
        "max_in_any_window": stats["busiest_window"],
        "rejections_429": stats["rejections"],
        "peak_rss_mb": round(pulled["peak_rss_mb"], 1),
        "status": pulled["status"],
    }
    if baseline:
        with (
            tempfile.TemporaryDirectory() as state,
            spawn("tests.emulator.hubspot:hubspot", Path(state), options, timeout=300) as emu,
        ):
            assert emu.ca is not None
            try:
                base = _run(BASELINE, emu.url, emu.ca, TOKEN)
                base_stats = _stats(emu.url, emu.ca)
                result["baseline_get_all"] = {
                    "rows": base["rows"],
                    "seconds": round(base["seconds"], 1),
                    "peak_rss_mb": round(base["peak_rss_mb"], 1),
                    "requests": len(base_stats["arrivals"]),
                    "rejections_429": base_stats["rejections"],
                }
            except RuntimeError as exc:
                result["baseline_get_all"] = {"failed": str(exc).strip().splitlines()[-1][:300]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument(
        "--interval-ms",
        type=int,
        nargs="+",
        default=[2000, 1000],
        help="HubSpot's window is 10,000 ms; each value is one scaled-down run",
    )
    args = parser.parse_args()
    runs, summary = [], {}
    for n, interval_ms in enumerate(args.interval_ms):
        window = []
        for size in args.sizes:
            run = measure(size, args.burst, interval_ms, baseline=n == 0)
            print(json.dumps(run, indent=2), flush=True)
            window.append(run)
        small, large = window[0], window[-1]
        summary[f"{args.burst} per {interval_ms / 1000:g} s"] = {
            "share_of_limit_mean_large": large["share_of_limit_mean"],
            "share_of_limit_mean_small": small["share_of_limit_mean"],
            "rss_ratio_large_vs_small": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
            "rejections_429": sum(sum(r["rejections_429"].values()) for r in window),
        }
        runs += window
    print(json.dumps(summary, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                },
                "measured": datetime.now(UTC).isoformat(timespec="seconds"),
                "runs": runs,
                "summary": summary,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
