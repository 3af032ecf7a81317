"""The store through `revgov.pull` on real exports: keys repeated within one read are
quarantined whatever the page size, later pulls update records, `--full-refresh --entity`
rebuilds one entity, and connector notes and deletions reach the snapshot."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from revgov.config import Config, config_from_dict
from revgov.connectors.base import ConnectorContext, Cursor, Page, SourceNote
from revgov.connectors.settings import ConnectorSettings, EntityMapping
from revgov.errors import ShrinkRefusedError
from revgov.model.frames import DUPLICATE_KEY_REASON
from revgov.pull import pull
from revgov.store import SnapshotStore

COLUMNS = {"opportunity_id": "Id", "amount": "Amount", "stage": "Stage"}


def _config(tmp: Path, page_size: int, path: str = "deals.csv") -> Config:
    cfg = config_from_dict(
        {
            "sources": [
                {
                    "name": "crm",
                    "connector": "files",
                    "options": {"page_size": page_size},
                    "entities": {"opportunities": {"path": path, "columns": COLUMNS}},
                }
            ]
        }
    )
    cfg._path = tmp / "revgov.toml"
    return cfg


def _export(n: int, seed: int) -> pl.DataFrame:
    """An export with keys repeated far apart and close together, and untypable amounts."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("006", rng.integers(0, int(n * 0.9), n).astype(str))
    amount = rng.gamma(2, 1000, n).round(2).astype(str)
    amount[rng.random(n) < 0.03] = "n/a"
    return pl.DataFrame({"Id": ids, "Amount": amount, "Stage": rng.choice(["Open", "Won"], n)})


def _expected(export: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Independently, in plain polars: untypable rows are quarantined, then of each key the
    first remaining row is kept and later ones are duplicates."""
    typed = export.with_columns(pl.col("Amount").cast(pl.Float64, strict=False).alias("amount"))
    bad = typed.filter(pl.col("amount").is_null())
    good = typed.filter(pl.col("amount").is_not_null())
    first = good.select(pl.col("Id").is_first_distinct()).to_series()
    kept = good.filter(first).select(pl.col("Id").alias("opportunity_id"), "amount")
    dups = good.filter(~first).select(pl.col("Id").alias("source_id"))
    quarantine = pl.concat(
        [
            bad.select(pl.col("Id").alias("source_id"), pl.lit("not a number").alias("reason")),
            dups.with_columns(pl.lit(DUPLICATE_KEY_REASON).alias("reason")),
        ]
    )
    return kept.sort("opportunity_id"), quarantine.sort("source_id", "reason")


def _state(snap: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    store = SnapshotStore(snap)
    rows = store.scan("opportunities").select("opportunity_id", "amount").collect()
    q = store.scan_quarantine().select("source_id", "reason").collect()
    return rows.sort("opportunity_id"), q.sort("source_id", "reason")


@pytest.mark.parametrize("page_size", [1, 7, 50_000])
def test_repeated_keys_are_quarantined_whatever_the_page_size(
    tmp_path: Path, page_size: int
) -> None:
    export = _export(300, seed=3)
    export.write_csv(tmp_path / "deals.csv")
    result = pull(_config(tmp_path, page_size), tmp_path / "snap", progress=False)
    rows, quarantine = _state(tmp_path / "snap")
    want_rows, want_q = _expected(export)
    assert want_q.filter(reason=DUPLICATE_KEY_REASON).height > 10  # the export has repeats
    assert_frame_equal(rows, want_rows)
    assert_frame_equal(quarantine, want_q)
    assert result.for_entity("opportunities") == (want_rows.height, want_q.height)


def test_repeated_keys_across_pages_of_a_large_export(tmp_path: Path) -> None:
    export = _export(120_000, seed=5)
    export.write_csv(tmp_path / "deals.csv")
    pull(_config(tmp_path, 50_000), tmp_path / "snap", progress=False)
    rows, quarantine = _state(tmp_path / "snap")
    want_rows, want_q = _expected(export)
    assert_frame_equal(rows, want_rows)
    assert_frame_equal(quarantine, want_q)


def test_a_changed_export_updates_records_and_history_counts(tmp_path: Path) -> None:
    first = pl.DataFrame({"Id": ["a", "b", "c"], "Amount": ["1", "2", "3"], "Stage": ["Open"] * 3})
    first.write_csv(tmp_path / "deals.csv")
    pull(_config(tmp_path, 2), tmp_path / "snap", progress=False)
    second = first.with_columns(
        pl.when(pl.col("Id") == "b").then(pl.lit("20")).otherwise("Amount").alias("Amount")
    ).vstack(pl.DataFrame({"Id": ["d"], "Amount": ["4"], "Stage": ["Won"]}))
    second.write_csv(tmp_path / "deals.csv")
    pull(_config(tmp_path, 2), tmp_path / "snap", progress=False)
    rows, _ = _state(tmp_path / "snap")
    assert dict(rows.rows()) == {"a": 1.0, "b": 20.0, "c": 3.0, "d": 4.0}
    last = SnapshotStore(tmp_path / "snap").history()[-1]
    assert (last.entity, last.rows_added, last.rows_updated, last.rows_deleted) == (
        "opportunities",
        1,
        3,
        0,
    )


def test_full_refresh_of_one_entity(tmp_path: Path) -> None:
    pl.DataFrame({"Id": ["a", "b"], "Amount": ["1", "2"], "Stage": ["Open", "Won"]}).write_csv(
        tmp_path / "deals.csv"
    )
    cfg = _config(tmp_path, 10)
    pull(cfg, tmp_path / "snap", progress=False)
    again = pull(
        cfg, tmp_path / "snap", progress=False, full_refresh=True, entities=["opportunities"]
    )
    assert [(e.entity, e.status) for e in again.entities] == [("opportunities", "refreshed")]
    with pytest.raises(Exception, match="did you mean 'opportunities'"):
        pull(cfg, tmp_path / "snap", progress=False, entities=["oportunities"])


# -- a connector that reports deletions and notes ---------------------------------------------


class _Settings(ConnectorSettings):
    pass


class _Mapping(EntityMapping):
    pass


class ScriptedConnector:
    """Replays scripted reads: each fetch yields the next script's pages."""

    name = "scripted"
    settings_model = _Settings
    entity_settings_model = _Mapping
    script: ClassVar[list[list[Page]]] = []

    def __init__(self, source: Any, context: ConnectorContext | None = None) -> None:
        self.source = source

    def entities(self) -> Sequence[str]:
        return ["opportunities"]

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        yield from ScriptedConnector.script.pop(0)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedConnector]:
    from revgov.connectors import registry

    module = types.ModuleType("revgov_test_scripted")
    module.ScriptedConnector = ScriptedConnector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(
        registry.BUILTIN_CONNECTORS, "scripted", f"{module.__name__}:ScriptedConnector"
    )
    ScriptedConnector.script = []
    return ScriptedConnector


def test_deletions_and_notes_from_a_connector(
    tmp_path: Path, scripted: type[ScriptedConnector]
) -> None:
    cfg = config_from_dict(
        {"sources": [{"name": "sf", "connector": "scripted", "entities": {"opportunities": {}}}]}
    )
    cfg._path = tmp_path / "revgov.toml"
    hidden = SourceNote("hidden_field", "opportunities", "Amount is not visible", field="amount")
    recs = [{"opportunity_id": k, "amount": "1"} for k in "abc"]
    scripted.script = [
        [Page("opportunities", recs, cursor="t1", notes=[hidden])],
        [Page("opportunities", [{"opportunity_id": "d"}], cursor="t2", deletions=["a", "c"])],
    ]
    first = pull(cfg, tmp_path / "snap", progress=False)
    assert first.notes == [hidden]
    store = SnapshotStore(tmp_path / "snap")
    assert store.notes().select("source", "kind", "field").rows() == [
        ("sf", "hidden_field", "amount")
    ]
    second = pull(cfg, tmp_path / "snap", progress=False)
    assert second.entities[0].rows_deleted == 2
    store = SnapshotStore(tmp_path / "snap")
    assert sorted(store.scan("opportunities").collect()["opportunity_id"]) == ["b", "d"]
    assert store.cursor("sf", "opportunities") == "t2"
    # The latest read of the source's entity had no notes: the earlier one is gone.
    assert store.notes().height == 0
    # The first version still has the deleted records.
    assert SnapshotStore(tmp_path / "snap", version=1).row_count("opportunities") == 3


def test_keys_are_analysed_in_buckets_when_they_do_not_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads larger than a bucket are hash-partitioned on disk: same result, bounded memory."""
    import revgov.store._publish as publish

    monkeypatch.setattr(publish, "BUCKET_ROWS", 37)
    monkeypatch.setattr(publish, "HASH_BUCKET_ROWS", 23)
    export = _export(300, seed=11)
    export.write_csv(tmp_path / "deals.csv")
    pull(_config(tmp_path, 50), tmp_path / "snap", progress=False)
    want_rows, want_q = _expected(export)
    rows, quarantine = _state(tmp_path / "snap")
    assert_frame_equal(rows, want_rows)
    assert_frame_equal(quarantine, want_q)
    # A refresh that drops most keys is counted across buckets, and refused.
    export.head(40).write_csv(tmp_path / "deals.csv")
    with pytest.raises(ShrinkRefusedError, match=f"of its {want_rows.height} stored rows"):
        pull(_config(tmp_path, 50), tmp_path / "snap", progress=False)


def test_keys_sharing_a_hash_are_told_apart_by_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeated keys are found by their hashes, then compared by value: with a hash that
    collides all the time (the key's length), only true repeats are quarantined."""
    import revgov.store._publish as publish

    def colliding(keys: list[str]) -> pl.Expr:
        return pl.col(keys[0]).str.len_bytes().cast(pl.UInt64).alias("_hash")

    monkeypatch.setattr(publish, "_key_hash", colliding)
    monkeypatch.setattr(publish, "BUCKET_ROWS", 29)
    monkeypatch.setattr(publish, "HASH_BUCKET_ROWS", 41)
    export = _export(300, seed=13)
    export.write_csv(tmp_path / "deals.csv")
    pull(_config(tmp_path, 17), tmp_path / "snap", progress=False)
    want_rows, want_q = _expected(export)
    rows, quarantine = _state(tmp_path / "snap")
    assert_frame_equal(rows, want_rows)
    assert_frame_equal(quarantine, want_q)


def test_a_reread_record_replaces_its_earlier_quarantine_rows(
    tmp_path: Path, scripted: type[ScriptedConnector]
) -> None:
    """Incremental reads: a record read again brings its own quarantine rows (or none, once it
    types) in place of those of the earlier read; records not read again keep theirs."""
    cfg = config_from_dict(
        {"sources": [{"name": "sf", "connector": "scripted", "entities": {"opportunities": {}}}]}
    )
    cfg._path = tmp_path / "revgov.toml"

    def recs(**amounts: str) -> list[dict[str, str]]:
        return [{"opportunity_id": k, "amount": v} for k, v in amounts.items()]

    scripted.script = [
        # b and c cannot be typed; d is delivered twice (the second is a duplicate key).
        [
            Page("opportunities", recs(a="1", b="x", c="y", d="4"), cursor="t1"),
            Page("opportunities", recs(d="5"), cursor="t1b"),
        ],
        [Page("opportunities", recs(a="2", b="z", d="6"), cursor="t2")],  # b still bad
        [Page("opportunities", recs(b="3"), cursor="t3")],  # b types now
    ]

    def quarantine() -> list[tuple[str, str | None, str]]:
        q = SnapshotStore(tmp_path / "snap").scan_quarantine().collect()
        return sorted(q.select("source_id", "raw_value", "reason").rows())

    def amounts() -> dict[str, float]:
        rows = SnapshotStore(tmp_path / "snap").scan("opportunities").collect()
        return dict(rows.select("opportunity_id", "amount").rows())

    first = pull(cfg, tmp_path / "snap", progress=False)
    assert first.for_entity("opportunities") == (2, 3)
    assert [(s, r) for s, _, r in quarantine()] == [
        ("b", "not a number"),
        ("c", "not a number"),
        ("d", DUPLICATE_KEY_REASON),
    ]
    pull(cfg, tmp_path / "snap", progress=False)
    assert quarantine() == [("b", "z", "not a number"), ("c", "y", "not a number")]
    assert amounts() == {"a": 2.0, "d": 6.0}
    pull(cfg, tmp_path / "snap", progress=False)
    assert quarantine() == [("c", "y", "not a number")]
    assert amounts() == {"a": 2.0, "b": 3.0, "d": 6.0}
    store = SnapshotStore(tmp_path / "snap")
    assert store.quarantine_counts() == {"opportunities": 1}
    # Time travel: the first version still shows the first read's quarantine.
    assert SnapshotStore(tmp_path / "snap", version=1).scan_quarantine().collect().height == 3
