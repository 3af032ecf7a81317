"""A pull killed with SIGKILL at many points (real subprocesses) and run again ends with
exactly the rows, quarantine and cursors of a pull that was never interrupted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.config import load_config
from revgov.pull import pull
from revgov.store import SnapshotStore, verify_snapshot

pytestmark = pytest.mark.slow

CONFIG = """\
[[sources]]
name = "crm"
connector = "files"
options = { page_size = 1500 }
[sources.entities.opportunities]
path = "deals.csv"
[sources.entities.opportunities.columns]
opportunity_id = "Id"
stage = "Stage"
amount = "Amount"
created_at = "Created"
[sources.entities.opportunities.custom_fields]
Region = "string"
"""

# The real pull, with markers after each committed page and before each publish, so that the
# parent can land its kills all through the pull (at a random instant after a marker).
CHILD = textwrap.dedent(
    """
    import sys
    from revgov.config import load_config
    from revgov.pull import pull
    from revgov.store import SnapshotStore

    real_stage, real_publish = SnapshotStore.stage_page, SnapshotStore.publish

    def stage(self, read, page, **kwargs):
        real_stage(self, read, page, **kwargs)
        print(f"STAGED {len(read.pages)}", flush=True)

    def publish(self, read, **kwargs):
        print("PUBLISHING", flush=True)
        return real_publish(self, read, **kwargs)

    SnapshotStore.stage_page, SnapshotStore.publish = stage, publish
    pull(load_config(sys.argv[1]), sys.argv[2], progress=False)
    print("DONE", flush=True)
    """
)


def _export(path: Path, n: int) -> None:
    rng = np.random.default_rng(7)
    ids = np.char.add("006", rng.integers(0, int(n * 0.95), n).astype(str))  # repeats
    amount = rng.gamma(2, 1000, n).round(2).astype(str)
    amount[rng.random(n) < 0.02] = "n/a"
    pl.DataFrame(
        {
            "Id": ids,
            "Stage": rng.choice(["Open", "Won", "Lost"], n),
            "Amount": amount,
            "Created": (np.datetime64("2024-01-01") + rng.integers(0, 400, n)).astype(str),
            "Region": rng.choice(["west", "east", ""], n),
        }
    ).write_csv(path)


def _state(snap: Path) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, dict[str, str | None]]]:
    store = SnapshotStore(snap)
    rows = store.scan("opportunities").collect().drop("pulled_at").sort("opportunity_id")
    q = store.scan_quarantine().collect().drop("pulled_at")
    q = q.sort(pl.all().exclude("detail"), nulls_last=True)
    return rows, q, store.cursors()


def _run_and_kill(script: Path, toml: Path, snap: Path, rng: random.Random) -> str:
    """Start a pull, kill it at a random point after a marker; return where it was."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(toml), str(snap)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    after = rng.choice(["STAGED", "STAGED", "STAGED", "PUBLISHING"])
    seen = 0
    target = rng.randint(1, 3)
    where = "start"
    for line in proc.stdout:
        marker = line.split()[0] if line.strip() else ""
        if marker == "DONE":
            break
        if marker in ("STAGED", "PUBLISHING"):
            where = line.strip()
        if marker == after or (marker == "PUBLISHING" and after == "STAGED"):
            seen += 1
            if seen >= target or marker == "PUBLISHING":
                time.sleep(rng.uniform(0, 0.25 if marker == "PUBLISHING" else 0.05))
                break
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    assert proc.returncode in (0, -signal.SIGKILL), stderr
    return f"{where} ({'killed' if proc.returncode else 'finished'})"


def test_pull_killed_at_many_points_ends_like_an_uninterrupted_one(tmp_path: Path) -> None:
    _export(tmp_path / "deals.csv", 60_000)
    toml = tmp_path / "revgov.toml"
    toml.write_text(CONFIG, encoding="utf-8")
    pull(load_config(toml), tmp_path / "whole", progress=False)

    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    rng = random.Random(20240611)
    snap = tmp_path / "killed"
    points: list[str] = []
    while len([p for p in points if "killed" in p]) < 24 and len(points) < 80:
        points.append(_run_and_kill(script, toml, snap, rng))
    kills = [p for p in points if "killed" in p]
    assert len(kills) >= 20, points
    # Kills landed while staging pages and while publishing.
    assert any(p.startswith("STAGED") for p in kills), kills
    assert any(p.startswith("PUBLISHING") for p in kills), kills

    pull(load_config(toml), snap, progress=False)  # the re-run
    want_rows, want_q, want_cursors = _state(tmp_path / "whole")
    got_rows, got_q, got_cursors = _state(snap)
    assert_frame_equal(got_rows, want_rows)
    assert_frame_equal(got_q, want_q)
    assert got_cursors == want_cursors
    assert SnapshotStore(snap).open_reads() == []
    assert not [p for c in verify_snapshot(snap) for p in c.problems]
