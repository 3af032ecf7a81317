"""The snapshot store on Delta Lake: commits, upserts and deletions by key, cursors,
quarantine, custom fields, the shrink guard, versions and time travel, notes, compaction and
vacuum. Crashes, concurrency, verify, object storage and migration have their own modules."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from revgov.errors import (
    ConcurrentWriteError,
    SchemaMismatchError,
    ShrinkRefusedError,
    SnapshotCorruptError,
    SnapshotNotFoundError,
    SnapshotVersionError,
)
from revgov.model import polars_schema, type_records
from revgov.store import SnapshotStore


def _opps(ids: list[str], amounts: list[float], source_system: str = "test") -> pl.DataFrame:
    page = type_records(
        "opportunities",
        [{"opportunity_id": i, "amount": a} for i, a in zip(ids, amounts, strict=True)],
        source_system=source_system,
    )
    assert page.quarantine.height == 0
    return page.frame


def _amounts(store: SnapshotStore) -> dict[str, float]:
    got = store.scan("opportunities").select("opportunity_id", "amount").collect()
    assert got["opportunity_id"].is_unique().all(), "reads must need no de-duplication"
    return dict(got.rows())


def test_open_missing_and_create_twice(tmp_path: Path) -> None:
    with pytest.raises(SnapshotNotFoundError) as err:
        SnapshotStore(tmp_path / "nope")
    assert err.value.code == "RG301" and "revgov pull" in str(err.value)
    SnapshotStore.create(tmp_path / "s")
    with pytest.raises(SnapshotCorruptError):
        SnapshotStore.create(tmp_path / "s")
    assert SnapshotStore.open_or_create(tmp_path / "s").entities() == []


def test_a_snapshot_of_the_earlier_format_points_to_migrate(tmp_path: Path) -> None:
    (tmp_path / "_snapshot.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SnapshotNotFoundError, match="snapshot migrate"):
        SnapshotStore(tmp_path)


def test_empty_entity_scans_with_canonical_schema(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    lf = store.scan("accounts")
    assert lf.collect_schema() == polars_schema("accounts")
    assert lf.collect().height == 0
    assert set(store.frames()) >= {"accounts", "people", "opportunities", "pipeline_stages"}
    assert store.version == 0 and store.history() == []


def test_commit_scan_roundtrip_and_reopen(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path, config_hash="abc")
    frame = _opps(["o1", "o2"], [10.0, 20.0])
    store.commit({"opportunities": frame}, cursors={("crm", "opportunities"): "c1"})
    reopened = SnapshotStore(tmp_path)
    assert isinstance(reopened.scan("opportunities"), pl.LazyFrame)
    got = reopened.scan("opportunities").collect().sort("opportunity_id")
    assert_frame_equal(got, frame)
    assert reopened.cursor("crm", "opportunities") == "c1"
    assert reopened.cursor("crm", "people") is None
    assert reopened.config_hash == "abc"
    assert reopened.updated_at is not None
    assert [(i.entity, i.rows, i.parts) for i in reopened.info()] == [("opportunities", 2, 1)]
    # Each entity is a Delta table that other engines can open.
    assert (tmp_path / "opportunities" / "_delta_log").is_dir()


def test_later_commits_update_records_by_key(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a", "b"], [1.0, 2.0])})
    store.commit({"opportunities": _opps(["b", "c"], [20.0, 30.0])})
    store.commit({"opportunities": _opps(["a"], [100.0])})
    assert _amounts(store) == {"a": 100.0, "b": 20.0, "c": 30.0}
    assert store.row_count("opportunities") == 3
    added_updated = [(v.rows_added, v.rows_updated) for v in store.history()]
    assert added_updated == [(2, 0), (1, 1), (0, 1)]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pages=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 1000), max_size=4),
            st.lists(st.sampled_from("abcdefgh"), max_size=2, unique=True),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_upserts_and_deletions_match_a_plain_dict(
    pages: list[tuple[dict[str, int], list[str]]],
) -> None:
    expected: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = SnapshotStore.create(tmp)
        for upserts, deletions in pages:
            frame = _opps(list(upserts), [float(v) for v in upserts.values()])
            store.commit({"opportunities": frame}, deletions={"opportunities": deletions})
            expected.update({k: float(v) for k, v in upserts.items()})
            for key in deletions:
                expected.pop(key, None)
        assert _amounts(store) == expected


def test_deletions_remove_stored_records_of_any_source(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit_page(
        type_records("opportunities", [{"opportunity_id": k} for k in "abc"], source_system="x"),
        source="crm",
        cursor="1",
    )
    empty = type_records("opportunities", [], source_system="x")
    done = store.commit_page(empty, source="crm", cursor="2", deletions=["b", "zz"])
    assert done is not None and done.rows_deleted == 1
    assert sorted(_amounts(store)) == ["a", "c"]
    assert store.cursor("crm", "opportunities") == "2"
    assert store.history()[-1].rows_deleted == 1


def test_a_deletion_then_a_new_record_in_one_read(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a", "b"], [1.0, 2.0])}, source="crm")
    read = store.begin_read("crm", "opportunities")
    empty = type_records("opportunities", [], source_system="x")
    store.stage_page(read, empty, cursor="1", deletions=["a", "b"])
    again = type_records(
        "opportunities", [{"opportunity_id": "a", "amount": "5"}], source_system="x"
    )
    store.stage_page(read, again, cursor="2")
    store.publish(read)
    # a was deleted, then created again later in the read; b stays deleted.
    assert _amounts(store) == {"a": 5.0}


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
    store.commit_page(a2, source="A", cursor="2", replace=True, allow_shrink=True)
    ids = sorted(store.scan("opportunities").collect()["opportunity_id"].to_list())
    assert ids == ["a2", "b1"]
    assert store.quarantine_counts() == {"opportunities": 1}
    assert store.scan_quarantine().collect()["source_system"].to_list() == ["crm"]
    # A replacing commit with an empty page empties the entity for that source.
    empty = type_records("opportunities", [], source_system="files")
    store.commit_page(empty, source="A", cursor="3", replace=True, allow_shrink=True)
    assert store.scan("opportunities").collect()["opportunity_id"].to_list() == ["b1"]


def test_a_key_of_another_source_is_updated_not_doubled(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["k", "b"], [1.0, 2.0])}, source="B")
    store.commit({"opportunities": _opps(["k", "a"], [9.0, 3.0])}, source="A", replace=True)
    assert _amounts(store) == {"k": 9.0, "a": 3.0, "b": 2.0}


def test_custom_fields_first_seen_later_and_differing_only_in_case(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": _opps(["a"], [1.0])})
    page = type_records(
        "opportunities",
        [{"opportunity_id": "b", "region": "NA", "Region": "west", "sdr": "s1"}],
        source_system="t",
        extras={"sdr": "string", "Region": "string"},
    )
    store.commit_page(page, extras={"sdr": "string", "Region": "string"})
    got = store.scan("opportunities").collect().sort("opportunity_id")
    assert got["sdr"].to_list() == [None, "s1"]
    # Delta column names are case-insensitive: Region is stored escaped, read under its name.
    assert got["Region"].to_list() == [None, "west"]
    assert got["region"].to_list() == [None, "NA"]
    assert store.extras("opportunities") == {"sdr": "string", "Region": "string"}


def test_commit_conforms_dtypes_or_refuses(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    store.commit({"opportunities": pl.DataFrame({"opportunity_id": ["a"], "amount": [3]})})
    assert store.scan("opportunities").collect()["amount"].dtype == pl.Float64
    with pytest.raises(SchemaMismatchError):
        store.commit({"opportunities": pl.DataFrame({"opportunity_id": ["b"], "amount": ["x"]})})
    assert store.row_count("opportunities") == 1


# -- the shrink guard --------------------------------------------------------------------------


def _refresh(store: SnapshotStore, ids: list[str], **kwargs: object) -> None:
    page = type_records("opportunities", [{"opportunity_id": i} for i in ids], source_system="f")
    store.commit_page(page, source="crm", cursor=f"n={len(ids)}", replace=True, **kwargs)  # type: ignore[arg-type]


def test_shrink_guard_refuses_and_leaves_the_snapshot_as_it_was(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    _refresh(store, [f"o{i}" for i in range(10)])
    before = store.scan("opportunities").collect()
    version = store.version
    with pytest.raises(ShrinkRefusedError) as err:
        _refresh(store, ["o1", "o2", "o3"])  # would remove 7 of 10
    assert err.value.code == "RG305" and "--allow-shrink" in str(err.value)
    assert "7 of its 10" in str(err.value)
    after = SnapshotStore(tmp_path)
    assert after.version == version
    assert_frame_equal(after.scan("opportunities").collect(), before)
    assert after.cursor("crm", "opportunities") == "n=10"
    # An export that shrinks to nothing is refused too; a small shrink is not.
    with pytest.raises(ShrinkRefusedError):
        _refresh(store, [])
    _refresh(store, [f"o{i}" for i in range(6)])
    assert SnapshotStore(tmp_path).row_count("opportunities") == 6
    # The share is configurable, and --allow-shrink applies anything.
    with pytest.raises(ShrinkRefusedError):
        _refresh(store, [f"o{i}" for i in range(5)], shrink_share=0.1)  # type: ignore[arg-type]
    _refresh(store, ["o1"], allow_shrink=True)
    assert sorted(_amounts(SnapshotStore(tmp_path))) == ["o1"]


def test_shrink_guard_counts_replaced_ids_not_just_sizes(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    _refresh(store, ["a", "b", "c", "d"])
    with pytest.raises(ShrinkRefusedError, match="remove 4 of its 4"):
        _refresh(store, ["w", "x", "y", "z"])  # as many rows, all of them new


# -- versions and time travel ------------------------------------------------------------------


def test_versions_and_time_travel(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path, config_hash="h1")
    store.writer_config_hash = "h1"
    store.commit_page(
        type_records("opportunities", [{"opportunity_id": "a", "amount": "1"}], source_system="x"),
        source="crm",
        cursor="c1",
    )
    store.commit_page(
        type_records("accounts", [{"account_id": "acc"}], source_system="x"),
        source="crm",
        cursor="k1",
    )
    store.writer_config_hash = "h2"
    store.commit_page(
        type_records("opportunities", [{"opportunity_id": "a", "amount": "2"}], source_system="x"),
        source="crm",
        cursor="c2",
    )
    history = SnapshotStore(tmp_path).history()
    assert [(v.version, v.entity, v.cursor, v.config_hash) for v in history] == [
        (1, "opportunities", "c1", "h1"),
        (2, "accounts", "k1", "h1"),
        (3, "opportunities", "c2", "h2"),
    ]
    first = SnapshotStore(tmp_path, version=1)
    assert _amounts(first) == {"a": 1.0}
    assert first.row_count("accounts") == 0
    assert first.cursor("crm", "opportunities") == "c1"
    assert first.config_hash == "h1"
    assert first.stamp()["version"] == 1 and first.stamp()["latest_version"] == 3
    second = SnapshotStore(tmp_path, version=2)
    assert _amounts(second) == {"a": 1.0} and second.row_count("accounts") == 1
    assert _amounts(SnapshotStore(tmp_path)) == {"a": 2.0}
    at = SnapshotStore(tmp_path, at=history[1].timestamp)
    assert at.version == 2
    with pytest.raises(SnapshotVersionError):
        SnapshotStore(tmp_path, version=9)
    with pytest.raises(SnapshotVersionError):
        SnapshotStore(tmp_path, at=history[0].timestamp - timedelta(days=1))
    with pytest.raises(SnapshotVersionError, match="cannot be written"):
        first.commit({"opportunities": _opps(["z"], [1.0])})


def test_compact_keeps_rows_and_vacuum_ends_old_versions(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    for i in range(4):
        store.commit({"opportunities": _opps([f"o{i}"], [float(i)])})
    before = _amounts(store)
    removed = store.compact()
    assert removed["opportunities"] >= 2
    after = SnapshotStore(tmp_path)
    assert _amounts(after) == before and after.info()[0].parts == 1
    # Compaction is no new version: version 4 still reads the same rows.
    assert after.version == 4 and _amounts(SnapshotStore(tmp_path, version=4)) == before
    assert _amounts(SnapshotStore(tmp_path, version=1)) == {"o0": 0.0}
    # Within the retention nothing goes; with none, the files of old versions go.
    assert not [f for f in after.vacuum() if f.startswith("opportunities/")]
    gone = after.vacuum(retention_hours=0)
    assert any(f.startswith("opportunities/") for f in gone)
    assert _amounts(SnapshotStore(tmp_path)) == before
    with pytest.raises(SnapshotVersionError, match="vacuum"):
        SnapshotStore(tmp_path, version=1).scan("opportunities").collect()


def test_notes_are_kept_per_source_and_entity_latest_pull_wins(tmp_path: Path) -> None:
    store = SnapshotStore.create(tmp_path)
    note = {
        "kind": "hidden_field",
        "entity": "opportunities",
        "message": "x hidden",
        "field": "amount",
        "severity": "warn",
    }
    for source in ("crm", "other"):
        read = store.begin_read(source, "opportunities")
        store.stage_page(
            read, type_records("opportunities", [], source_system="x"), cursor="1", notes=[note]
        )
        store.publish(read)
    assert store.notes()[["source", "kind", "field"]].rows() == [
        ("crm", "hidden_field", "amount"),
        ("other", "hidden_field", "amount"),
    ]
    read = store.begin_read("crm", "opportunities")
    store.stage_page(read, type_records("opportunities", [], source_system="x"), cursor="2")
    store.publish(read)
    assert store.notes()["source"].to_list() == ["other"]
    assert SnapshotStore(tmp_path, at=datetime.now(UTC)).notes()["source"].to_list() == ["other"]


def test_a_read_that_found_no_page_log_never_commits_on_another_reads_log(
    tmp_path: Path,
) -> None:
    """Two pulls of one source begin before either has a page log: the first to commit a
    page owns the log; the other stops clearly instead of overwriting that page."""
    store = SnapshotStore.create(tmp_path)
    first = store.begin_read("crm", "opportunities")
    second = store.begin_read("crm", "opportunities")
    page = type_records(
        "opportunities", [{"opportunity_id": "a", "amount": "1"}], source_system="x"
    )
    store.stage_page(first, page, cursor="1")
    with pytest.raises(ConcurrentWriteError, match="started reading opportunities"):
        store.stage_page(second, page, cursor="1")
    store.stage_page(first, page, cursor="2")  # the first read carries on
    store.publish(first)
    assert _amounts(store) == {"a": 1.0}
    assert store.cursor("crm", "opportunities") == "2"
