"""The snapshot store: commits, lazy reads, de-duplication, cursors, quarantine, vacuum, and
atomicity under a writer killed with SIGKILL (a real subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from revgov.errors import SchemaMismatchError, SnapshotCorruptError, SnapshotNotFoundError
from revgov.model import polars_schema, type_records
from revgov.store import MANIFEST, SnapshotStore


def _opps(ids: list[str], amounts: list[float], source_system: str = "test") -> pl.DataFrame:
    page = type_records(
        "opportunities",
        [{"opportunity_id": i, "amount": a} for i, a in zip(ids, amounts, strict=True)],
        source_system=source_system,
    )
    assert page.quarantine.height == 0
    return page.frame


def test_open_missing_and_create_twice(tmp_path: Path) -> None:
    with pytest.raises(SnapshotNotFoundError) as err:
        SnapshotStore(tmp_path / "nope")
    assert err.value.code == "RG301" and "revgov pull" in str(err.value)
    SnapshotStore.create(tmp_path / "s")
    with pytest.raises(SnapshotCorruptError):
        SnapshotStore.create(tmp_path / "s")
    assert SnapshotStore.open_or_create(tmp_path / "s").entities() == []


def test_corrupt_manifest_is_reported(tmp_path: Path) -> None:
    SnapshotStore.create(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(SnapshotCorruptError) as err:
        SnapshotStore(tmp_path)
    assert err.value.code == "RG302"


def test_empty_entity_scans_with_canonical_schema(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    lf = store.scan("accounts")
    assert lf.collect_schema() == polars_schema("accounts")
    assert lf.collect().height == 0
    assert set(store.frames()) >= {"accounts", "people", "opportunities", "pipeline_stages"}


def test_commit_scan_roundtrip_and_reopen(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path, config_hash="abc")
    frame = _opps(["o1", "o2"], [10.0, 20.0])
    store.commit({"opportunities": frame}, cursors={("crm", "opportunities"): "c1"})
    reopened = SnapshotStore(tmp_path)
    assert isinstance(reopened.scan("opportunities"), pl.LazyFrame)
    assert_frame_equal(reopened.scan("opportunities").collect(), frame)
    assert reopened.cursor("crm", "opportunities") == "c1"
    assert reopened.cursor("crm", "people") is None
    assert reopened.config_hash == "abc"
    assert reopened.updated_at is not None
    assert [(i.entity, i.rows, i.parts) for i in reopened.info()] == [("opportunities", 2, 1)]


def test_reads_keep_the_latest_row_per_key(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a", "b"], [1.0, 2.0])})
    store.commit({"opportunities": _opps(["b", "c"], [20.0, 30.0])})
    store.commit({"opportunities": _opps(["a"], [100.0])})
    got = store.scan("opportunities").collect().sort("opportunity_id")
    assert got.select("opportunity_id", "amount").rows() == [("a", 100.0), ("b", 20.0), ("c", 30.0)]
    assert store.scan("opportunities", deduplicate=False).collect().height == 5
    assert store.row_count("opportunities") == 3


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pages=st.lists(
        st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 1000), min_size=1),
        min_size=1,
        max_size=5,
    )
)
def test_dedupe_matches_last_write_wins(pages: list[dict[str, int]]) -> None:
    expected: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SnapshotStore.create(tmp)
        for page in pages:
            store.commit({"opportunities": _opps(list(page), [float(v) for v in page.values()])})
            expected.update({k: float(v) for k, v in page.items()})
        got = store.scan("opportunities").select("opportunity_id", "amount").collect()
    assert dict(got.rows()) == expected
    assert got.height == len(expected)


def test_page_commit_carries_cursor_and_quarantine(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    page = type_records(
        "opportunities",
        [
            {"opportunity_id": "o1", "amount": "5"},
            {"opportunity_id": "o2", "amount": "five"},
            {"opportunity_id": "", "amount": "1"},
        ],
        source_system="crm",
    )
    store.commit_page(page, source="crm", cursor="2024-01-01")
    assert store.row_count("opportunities") == 1
    assert store.cursor("crm", "opportunities") == "2024-01-01"
    q = store.scan_quarantine().collect().sort("field")
    assert q["reason"].to_list() == ["not a number", "missing primary key"]
    assert store.quarantine_counts() == {"opportunities": 2}


def test_replace_drops_only_that_sources_rows_and_quarantine(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    bad = {"opportunity_id": "x", "amount": "NaN?"}
    a1 = type_records("opportunities", [{"opportunity_id": "a1"}, bad], source_system="files")
    b1 = type_records("opportunities", [{"opportunity_id": "b1"}, bad], source_system="crm")
    store.commit_page(a1, source="A", cursor="1")
    store.commit_page(b1, source="B", cursor="1")
    assert store.quarantine_counts() == {"opportunities": 2}

    a2 = type_records("opportunities", [{"opportunity_id": "a2"}], source_system="files")
    store.commit_page(a2, source="A", cursor="2", replace=True)
    ids = sorted(store.scan("opportunities").collect()["opportunity_id"].to_list())
    assert ids == ["a2", "b1"]
    assert store.quarantine_counts() == {"opportunities": 1}
    assert store.scan_quarantine().collect()["source_system"].to_list() == ["crm"]
    # A replacing commit with an empty page empties the entity for that source.
    empty = type_records("opportunities", [], source_system="files")
    store.commit_page(empty, source="A", cursor="3", replace=True)
    assert store.scan("opportunities").collect()["opportunity_id"].to_list() == ["b1"]


def test_custom_field_first_seen_in_a_later_part_is_read(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a"], [1.0])})
    page = type_records(
        "opportunities",
        [{"opportunity_id": "b", "sdr": "s1"}],
        source_system="t",
        extras={"sdr": "string"},
    )
    store.commit_page(page, extras={"sdr": "string"})
    got = store.scan("opportunities").collect().sort("opportunity_id")
    assert got["sdr"].to_list() == [None, "s1"]
    assert store.extras("opportunities") == {"sdr": "string"}


def test_commit_conforms_dtypes_or_refuses(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": pl.DataFrame({"opportunity_id": ["a"], "amount": [3]})})
    assert store.scan("opportunities").collect()["amount"].dtype == pl.Float64
    with pytest.raises(SchemaMismatchError):
        store.commit({"opportunities": pl.DataFrame({"opportunity_id": ["b"], "amount": ["x"]})})
    assert store.row_count("opportunities") == 1


def test_vacuum_removes_unnamed_files_only(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a"], [1.0])})
    store.commit({"opportunities": _opps(["b"], [2.0])}, replace=True)
    orphan_tmp = tmp_path / "entities" / "opportunities" / "part-dead.parquet.tmp"
    orphan_tmp.write_bytes(b"partial")
    manifest_tmp = tmp_path / f"{MANIFEST}.dead.tmp"
    manifest_tmp.write_text("{", encoding="utf-8")
    before = store.scan("opportunities").collect()
    removed = store.vacuum()
    # The replaced part, the torn part and the torn manifest go; the live part stays.
    assert len(removed) == 3 and orphan_tmp in removed and manifest_tmp in removed
    assert len(list((tmp_path / "entities" / "opportunities").iterdir())) == 1
    assert_frame_equal(SnapshotStore(tmp_path).scan("opportunities").collect(), before)


# -- a writer killed with SIGKILL -------------------------------------------------------------

_STALLING_WRITER = textwrap.dedent(
    """
    import sys, time
    import polars as pl
    from revgov.store import SnapshotStore

    root, n = sys.argv[1], int(sys.argv[2])
    store = SnapshotStore(root)

    def stall(*args, **kwargs):
        # The new parts are written and fsynced; the manifest is not yet swapped.
        print("PARTS_WRITTEN", flush=True)
        time.sleep(300)

    SnapshotStore._write_manifest = staticmethod(stall)
    frame = pl.DataFrame(
        {"opportunity_id": [f"new-{i}" for i in range(n)], "amount": [float(i) for i in range(n)]}
    )
    store.commit({"opportunities": frame}, replace=True, cursors={("crm", "opportunities"): "new"})
    """
)

_LOOPING_WRITER = textwrap.dedent(
    """
    import sys
    import polars as pl
    from revgov.store import SnapshotStore

    root, n = sys.argv[1], int(sys.argv[2])
    store = SnapshotStore(root)
    for g in range(1, 10_000):
        frame = pl.DataFrame(
            {
                "opportunity_id": [f"{g}-{i}" for i in range(n)],
                "amount": [float(i + g) for i in range(n)],
                "stage": [f"gen{g}"] * n,
            }
        )
        store.commit(
            {"opportunities": frame}, replace=True, cursors={("crm", "opportunities"): str(g)}
        )
        print(f"COMMITTED {g}", flush=True)
    """
)


def _spawn(tmp_path: Path, code: str, root: Path, rows: int) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), str(root), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen[str], marker: str) -> None:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            stderr = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"writer exited ({proc.returncode}) before {marker!r}:\n{stderr}")
        if line.strip() == marker:
            return


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_writer_killed_before_manifest_swap_leaves_previous_state(tmp_path: Path) -> None:
    root = tmp_path / "snap"
    store = SnapshotStore.create(root)
    good = _opps([f"old-{i}" for i in range(1000)], [float(i) for i in range(1000)])
    store.commit({"opportunities": good}, cursors={("crm", "opportunities"): "old"})

    proc = _spawn(tmp_path, _STALLING_WRITER, root, 300_000)
    _wait_for(proc, "PARTS_WRITTEN")
    _kill(proc)

    # The killed writer's part is on disk, but no manifest names it.
    assert len(list((root / "entities" / "opportunities").glob("part-*.parquet"))) == 2
    after = SnapshotStore(root)
    assert_frame_equal(after.scan("opportunities").collect(), good)
    assert after.cursor("crm", "opportunities") == "old"
    removed = after.vacuum()
    assert len(removed) == 1
    assert_frame_equal(SnapshotStore(root).scan("opportunities").collect(), good)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.13, 0.31])
def test_writer_killed_at_any_instant_leaves_one_whole_commit(tmp_path: Path, delay: float) -> None:
    rows = 200_000
    root = tmp_path / "snap"
    SnapshotStore.create(root)
    proc = _spawn(tmp_path, _LOOPING_WRITER, root, rows)
    _wait_for(proc, "COMMITTED 1")
    time.sleep(delay)  # land the kill somewhere inside a later commit
    _kill(proc)

    store = SnapshotStore(root)
    got = store.scan("opportunities").collect()
    generation = int(store.cursor("crm", "opportunities") or 0)
    assert generation >= 1
    # Exactly the rows of the commit the cursor names: nothing torn, nothing mixed.
    assert got["stage"].unique().to_list() == [f"gen{generation}"]
    expected = pl.DataFrame(
        {
            "opportunity_id": [f"{generation}-{i}" for i in range(rows)],
            "amount": [float(i + generation) for i in range(rows)],
        }
    )
    assert_frame_equal(got.select("opportunity_id", "amount"), expected)
    store.vacuum()
    assert len(list((root / "entities" / "opportunities").glob("part-*"))) == 1
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    assert len(manifest["parts"]["opportunities"]) == 1
