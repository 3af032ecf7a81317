"""Benchmark: the Delta Lake snapshot store against the store it replaced, side by side in one
run.

For each store, in a fresh child process each (so peaks are the step's own):

* a full pull of a CSV export of 1M and of 16M rows through the files connector (time, peak
  RSS from /proc VmHWM, peak anonymous memory sampled from RssAnon);
* an incremental pull that updates 1% of the 1M rows (10,000 changed records delivered as one
  page, as a CRM connector delivers changes since its cursor);
* a full scan of the entity after that update (the earlier store de-duplicates on every read).

The earlier store is ``benchmarks/_legacy_store.py`` (a copy kept for this comparison and the
migration test); its pull loop is the earlier ``revgov.pull`` loop (fetch, map, type, commit
each page). Both type and map with today's code, so the difference is the store.

    python benchmarks/bench_store.py [--sizes 1000000 16000000] [--page-size 100000] [--repeat 3]
        [--repeat-large 1]

At the smallest size the two stores take turns ``--repeat`` times, at the others
``--repeat-large`` times, and the median is reported (the lower of two; every sample is kept in
the JSON). Exports are written once under ``benchmarks/_data/store`` and reused.
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
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from bench_pull_files import CONFIG, write_export

import revgov

RESULTS = Path(__file__).parent / "results" / "store.json"
LEGACY = Path(__file__).parent / "_legacy_store.py"
#: Exports are kept here between runs (a 16M-row export takes minutes to write).
EXPORTS = Path(__file__).parent / "_data" / "store"

PRELUDE = textwrap.dedent(
    """
    import importlib.util, json, sys, threading, time
    from datetime import UTC, datetime

    def status(key):
        with open("/proc/self/status") as fh:
            return int(next(x for x in fh if x.startswith(key + ":")).split()[1]) / 1024

    peak_anon = [0.0]

    def sample():
        while True:
            peak_anon[0] = max(peak_anon[0], status("RssAnon"))
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()

    def legacy_store():
        spec = importlib.util.spec_from_file_location("legacy_store", sys.argv[1])
        module = importlib.util.module_from_spec(spec)
        sys.modules["legacy_store"] = module
        spec.loader.exec_module(module)
        return module.SnapshotStore

    def report(seconds, **extra):
        print(json.dumps({"seconds": seconds, "peak_rss_mb": status("VmHWM"),
                          "peak_anon_mb": peak_anon[0], **extra}))
    """
)

FULL = PRELUDE + textwrap.dedent(
    """
    from revgov.config import load_config
    from revgov.connectors.base import ConnectorContext
    from revgov.connectors.mapping import apply_definitions
    from revgov.connectors.registry import create_connector
    from revgov.model.frames import type_records
    from revgov.pull import pull

    kind, toml, snap = sys.argv[2], sys.argv[3], sys.argv[4]
    cfg = load_config(toml)
    t0 = time.perf_counter()
    if kind == "delta":
        pull(cfg, snap, progress=False)
    else:  # the earlier pull loop on the earlier store
        store = legacy_store().open_or_create(snap, config_hash=cfg.config_hash)
        source = cfg.sources[0]
        connector = create_connector(source, ConnectorContext(cfg.path.parent))
        now = datetime.now(UTC)
        for entity in connector.entities():
            for page in connector.fetch(entity, store.cursor(source.name, entity)):
                raw = apply_definitions(entity, page.records, cfg)
                typed = type_records(entity, raw, source_system=connector.name,
                                     pulled_at=now, extras=page.extras)
                store.commit_page(typed, source=source.name, cursor=page.cursor,
                                  extras=dict(page.extras), replace=page.replace)
        store.commit(config_hash=cfg.config_hash)
    report(time.perf_counter() - t0)
    """
)

INCREMENTAL = PRELUDE + textwrap.dedent(
    """
    import polars as pl
    from revgov.model.frames import type_records
    from revgov.store import SnapshotStore

    kind, snap, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
    ids = [f"006{i}" for i in range(0, n, 100)]  # 1% of the records changed at the source
    changes = [{"opportunity_id": i, "amount": "123.45", "stage": "Closed Won"} for i in ids]
    t0 = time.perf_counter()
    typed = type_records("opportunities", changes, source_system="files",
                         pulled_at=datetime.now(UTC))
    if kind == "delta":
        store = SnapshotStore(snap)
        read = store.begin_read("bench", "opportunities")
        store.stage_page(read, typed, cursor="changes-1")
        store.publish(read)
    else:
        store = legacy_store()(snap)
        store.commit_page(typed, source="bench", cursor="changes-1")
    report(time.perf_counter() - t0, changed=len(ids))
    """
)

SCAN = PRELUDE + textwrap.dedent(
    """
    kind, snap = sys.argv[2], sys.argv[3]
    t0 = time.perf_counter()
    if kind == "delta":
        from revgov.store import SnapshotStore
        frame = SnapshotStore(snap).scan("opportunities").collect()
    else:
        frame = legacy_store()(snap).scan("opportunities").collect()
    won = int(frame.filter(frame["stage"] == "Closed Won").height)
    report(time.perf_counter() - t0, rows_read=frame.height, closed_won=won)
    """
)


def _export(n: int) -> Path:
    """The export of ``n`` rows, written once under ``benchmarks/_data/store`` and reused
    (``write_export`` is seeded: the same rows every time)."""
    path = EXPORTS / f"n{n}" / "deals.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        write_export(partial, n)
        partial.rename(path)
    return path.resolve()


def _child(code: str, *args: str) -> dict[str, Any]:
    # The machine may be shared: the 1-minute load average before and after says how much.
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, "-c", code, str(LEGACY), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return result


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the lower median of an even count); every sample's time
    is kept beside it."""
    ordered = sorted(samples, key=lambda r: float(r["seconds"]))
    median = ordered[(len(ordered) - 1) // 2]
    return median | {"samples_s": [round(r["seconds"], 3) for r in samples]}


def run(
    sizes: list[int], page_size: int, work: Path, repeat: int, repeat_large: int = 1
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    base = min(sizes)
    for n in sizes:
        root = work / f"n{n}"
        root.mkdir()
        (root / "deals.csv").symlink_to(_export(n))
        toml = root / "revgov.toml"
        toml.write_text(CONFIG.format(page_size=page_size), encoding="utf-8")
        export_mb = (root / "deals.csv").stat().st_size / 2**20
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(repeat if n == base else repeat_large):
            # The stores take turns, so that load on the machine falls on both alike.
            for kind in ("legacy", "delta"):
                snap = root / f"snap-{kind}"
                shutil.rmtree(snap, ignore_errors=True)
                full = _child(FULL, kind, str(toml), str(snap))
                samples.setdefault(("full pull", kind), []).append(full)
                if n == base:
                    inc = _child(INCREMENTAL, kind, str(snap), str(n))
                    samples.setdefault(("incremental 1%", kind), []).append(inc)
                    scan = _child(SCAN, kind, str(snap))
                    samples.setdefault(("full scan", kind), []).append(scan)
        for (step, kind), got in samples.items():
            row = {"step": step, "store": kind, "rows": n, "export_mb": export_mb}
            runs.append(row | _median(got))
            print(_line(runs[-1]), flush=True)
        shutil.rmtree(root)
    return {
        "machine": f"{platform.machine()}, python {platform.python_version()}, "
        f"polars {pl.__version__}, revgov {revgov.__version__}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "page_size": page_size,
        "runs": runs,
    }


def _line(r: dict[str, Any]) -> str:
    extra = f", {r['rows_read']:,} rows read" if r["step"] == "full scan" else ""
    if len(r.get("samples_s", [])) > 1:
        extra += f" (samples {r['samples_s']})"
    return (
        f"{r['step']:>15} {r['store']:>6} {r['rows']:>11,} rows: {r['seconds']:7.2f} s, "
        f"peak RSS {r['peak_rss_mb']:6.0f} MB, anonymous {r['peak_anon_mb']:6.0f} MB{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 16_000_000])
    parser.add_argument("--page-size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds at the smallest size.")
    parser.add_argument("--repeat-large", type=int, default=1, help="Rounds at larger sizes.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="revgov-bench-store-") as tmp:
        report = run(sorted(args.sizes), args.page_size, Path(tmp), args.repeat, args.repeat_large)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
