"""A real ``revgov pull`` killed (SIGKILL) at many points and run again ends with exactly the
records of an uninterrupted pull. The emulated org runs in its own process and outlives every
pull; each kill lands after a chosen number of commits or at a chosen moment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from tests.emulator.process import RunningEmulator, spawn
from tests.emulator.salesforce import login_environment

from revgov.store import SnapshotStore

pytestmark = pytest.mark.slow

ORG = {"leads": 2_400, "contacts": 500, "opportunities": 200, "tasks": 500, "seed": 11}
CONFIG = """\
[[pipelines]]
name = "sales"
[[pipelines.stages]]
name = "Prospecting"
order = 1
probability = 0.1
[[pipelines.stages]]
name = "Closed Won"
order = 2
probability = 1.0
is_closed = true
is_won = true

[[sources]]
name = "sf"
connector = "salesforce"
[sources.options]
page_size = 400
rest_batch_size = 200
bulk_threshold = 1000
retry_max_wait = 0.01
bulk_poll_seconds = 0.01
"""
ENTITIES = (
    "users",
    "accounts",
    "people",
    "opportunities",
    "stage_events",
    "activities",
    "campaign_touches",
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with spawn("tests.emulator.salesforce:build", tmp_path_factory.mktemp("sf-org"), ORG) as emu:
        yield emu


@pytest.fixture(scope="module")
def project(
    running: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("project")
    (root / "revgov.toml").write_text(CONFIG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESFORCE_")}
    return root, env | login_environment(running.url, running.ca)


def _command(root: Path, snapshot: Path) -> list[str]:
    script = Path(sys.executable).with_name("revgov")  # the installed command
    return [
        str(script), "pull", "--config", str(root / "revgov.toml"),
        "--snapshot", str(snapshot), "--source", "sf", "--no-progress",
    ]  # fmt: skip


def _progress(snapshot: Path) -> int:
    """Commits so far, over every Delta table of the snapshot: each staged page (its page
    log), each published read, the quarantine, notes and runs. A commit file appears whole
    (written aside, then renamed), so a count never sees half a commit."""
    return sum(1 for _ in snapshot.glob("**/_delta_log/[0-9]*.json"))


def _run(root: Path, env: dict[str, str], snapshot: Path) -> None:
    done = subprocess.run(_command(root, snapshot), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def _kill(
    root: Path, env: dict[str, str], snapshot: Path, *, parts: int | None, seconds: float | None
) -> bool:
    """Start a pull and SIGKILL it after ``parts`` commits or ``seconds``; whether it was
    killed before finishing."""
    proc = subprocess.Popen(
        _command(root, snapshot), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    started = time.monotonic()
    try:
        while proc.poll() is None:
            if parts is not None and _progress(snapshot) >= parts:
                break
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            time.sleep(0.002)
        killed = proc.poll() is None
        proc.kill()
    finally:
        proc.wait()
    return killed


def _frames(snapshot: Path) -> dict[str, pl.DataFrame]:
    store = SnapshotStore(snapshot)
    out = {}
    for entity in ENTITIES:
        lf = store.scan(entity)
        out[entity] = lf.drop("pulled_at").collect().sort(pl.all())
    return out


@pytest.fixture(scope="module")
def reference(
    project: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pl.DataFrame]:
    root, env = project
    snapshot = tmp_path_factory.mktemp("reference") / "snap"
    _run(root, env, snapshot)
    frames = _frames(snapshot)
    assert frames["people"].height > 2_000 and frames["stage_events"].height > 0
    return frames


#: Kill after this many commits (the pull makes some 75: a page log commit per page, and per
#: entity its publish, quarantine and notes), or after this many seconds (anywhere:
#: mid-request, mid-commit). Some runs are killed a second time on the way.
KILLS = [
    *[{"parts": n, "seconds": None} for n in (1, 2, 3, 4, 6, 8, 10, 12, 15, 25, 40, 55, 70)],
    *[{"parts": None, "seconds": s} for s in (1.5, 2.5)],
]
TWICE = {2, 8}


@pytest.mark.parametrize(
    "kill",
    KILLS,
    ids=[f"parts={k['parts']}" if k["parts"] else f"t={k['seconds']}s" for k in KILLS],
)
def test_a_killed_pull_resumes_to_the_same_records(
    kill: dict[str, float | None],
    project: tuple[Path, dict[str, str]],
    reference: dict[str, pl.DataFrame],
    tmp_path: Path,
) -> None:
    root, env = project
    snapshot = tmp_path / "snap"
    parts = int(kill["parts"]) if kill["parts"] is not None else None
    killed = _kill(root, env, snapshot, parts=parts, seconds=kill["seconds"])
    if parts is not None:
        assert killed, "the pull finished before the kill point"
    if parts in TWICE:
        assert _kill(root, env, snapshot, parts=_progress(snapshot) + 3, seconds=None)
    _run(root, env, snapshot)
    got = _frames(snapshot)
    for entity in ENTITIES:
        assert got[entity].equals(reference[entity]), entity
