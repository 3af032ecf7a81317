"""Concurrent writers, as real `revgov pull` processes on one snapshot, many rounds: pulls of
different sources both land; two pulls of the same source both land or one stops with a clear
error (RG304), and the snapshot is never missing what a pull reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from revgov.store import SnapshotStore, verify_snapshot

pytestmark = pytest.mark.slow

CONFIG = """\
[[sources]]
name = "{a}"
connector = "files"
options = {{ page_size = 150 }}
[sources.entities.opportunities]
path = "a_deals.csv"
[sources.entities.accounts]
path = "a_accounts.csv"

[[sources]]
name = "{b}"
connector = "files"
options = {{ page_size = 150 }}
[sources.entities.opportunities]
path = "b_deals.csv"
"""
ROUNDS = 4


def _exports(root: Path, round_: int) -> dict[str, float]:
    """Each round's exports: more rows than the last, every amount the round's number."""
    want: dict[str, float] = {}
    for src, n in (("a", 1500 + 100 * round_), ("b", 1200 + 100 * round_)):
        ids = [f"{src}-{i}" for i in range(n)]
        pl.DataFrame({"opportunity_id": ids, "amount": [str(round_)] * n}).write_csv(
            root / f"{src}_deals.csv"
        )
        want |= dict.fromkeys(ids, float(round_))
    pl.DataFrame({"account_id": [f"acc-{i}-{round_}" for i in range(300 + round_)]}).write_csv(
        root / "a_accounts.csv"
    )
    return want


def _start(toml: Path, snap: Path, source: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from revgov.cli import main; sys.exit(main())",
            "pull",
            "--config",
            str(toml),
            "--snapshot",
            str(snap),
            "--source",
            source,
            "--no-progress",
            "--allow-shrink",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _amounts(snap: Path) -> dict[str, float]:
    got = SnapshotStore(snap).scan("opportunities").select("opportunity_id", "amount").collect()
    assert got["opportunity_id"].is_unique().all()
    return dict(got.rows())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "revgov.toml").write_text(CONFIG.format(a="A", b="B"), encoding="utf-8")
    return tmp_path


def test_pulls_of_different_sources_at_once_both_land(project: Path) -> None:
    snap = project / "snap"
    for round_ in range(1, ROUNDS + 1):
        want = _exports(project, round_)
        procs = [_start(project / "revgov.toml", snap, s) for s in ("A", "B")]
        results = [_finish(p) for p in procs]
        assert [code for code, _ in results] == [0, 0], results
        assert _amounts(snap) == want
        store = SnapshotStore(snap)
        assert store.row_count("accounts") == 300 + round_
        cursors = store.cursors()
        assert set(cursors) >= {"A", "B"} and '"done":true' in str(cursors["B"]["opportunities"])
    assert not [p for c in verify_snapshot(snap) for p in c.problems]


def test_two_pulls_of_one_source_land_or_one_stops_clearly(project: Path) -> None:
    snap = project / "snap"
    outcomes = []
    for round_ in range(1, ROUNDS + 1):
        want = _exports(project, round_)
        procs = [_start(project / "revgov.toml", snap, "A") for _ in range(2)]
        results = [_finish(p) for p in procs]
        codes = sorted(code for code, _ in results)
        outcomes.append(codes)
        assert codes in ([0, 0], [0, 3]), results
        for code, err in results:
            if code == 3:
                assert "[RG304]" in err and "another pull" in err and "Traceback" not in err
        # Whatever happened, source A's rows are this round's, complete.
        got = {k: v for k, v in _amounts(snap).items() if k.startswith("a-")}
        assert got == {k: v for k, v in want.items() if k.startswith("a-")}
        assert SnapshotStore(snap).open_reads() == []
    assert not [p for c in verify_snapshot(snap) for p in c.problems]
