"""The files connector and the mapping layer: CSV and Parquet, paging and cursors, mapping
errors, missing files, derivations from the governed definitions, and quarantine end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from revgov.config import Config, SourceConfig, config_from_dict, load_config
from revgov.connectors.base import ConnectorContext
from revgov.connectors.files import FileCursor, FilesConnector
from revgov.errors import (
    ConfigValidationError,
    ConnectorError,
    MappingError,
    ShrinkRefusedError,
    SourceNotFoundError,
)
from revgov.model import model_for
from revgov.pull import pull
from revgov.store import SnapshotStore

PIPELINE: dict[str, Any] = {
    "name": "sales",
    "stages": [
        {"name": "Discovery", "order": 1, "probability": 0.2, "aliases": ["disco"]},
        {"name": "Won", "order": 2, "probability": 1.0, "is_closed": True, "is_won": True},
        {"name": "Lost", "order": 3, "probability": 0.0, "is_closed": True},
    ],
}

DEALS_CSV = """\
Deal Id,Owner,Stage,Value,Created,Closed,Region
d1,ann,Won,100,2024-01-02,2024-02-01,west
d2,bob,disco,,2024-01-03,,east
d3,ann,Lost,0,2024-01-04,2024-01-20,
d4,cy,Mystery,50,2024-01-05,,west
"""

DEAL_COLUMNS = {
    "opportunity_id": "Deal Id",
    "owner_id": "Owner",
    "stage": "Stage",
    "amount": "Value",
    "created_at": "Created",
    "close_date": "Closed",
}


def _config(
    tmp_path: Path,
    entities: dict[str, Any],
    *,
    options: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Config:
    data: dict[str, Any] = {
        "pipelines": [PIPELINE],
        "sources": [
            {"name": "crm", "connector": "files", "entities": entities, "options": options or {}}
        ],
    } | (extra or {})
    cfg = config_from_dict(data)
    cfg._path = tmp_path / "revgov.toml"
    return cfg


def _deals(tmp_path: Path, text: str = DEALS_CSV, name: str = "deals.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _scan(tmp_path: Path, entity: str = "opportunities") -> pl.DataFrame:
    frame = SnapshotStore(tmp_path / "snap").scan(entity).collect()
    return frame.sort(list(model_for(entity).primary_key))


def test_csv_is_mapped_typed_and_derived(tmp_path: Path) -> None:
    _deals(tmp_path)
    spec = {
        "path": "deals.csv",
        "columns": DEAL_COLUMNS,
        "constants": {"currency": "EUR"},
        "values": {"region": {"west": "NA-W", "east": "NA-E"}},
        "custom_fields": {"Region": "string"},
    }
    spec["columns"] = {**DEAL_COLUMNS, "region": "Region"}
    result = pull(_config(tmp_path, {"opportunities": spec}), tmp_path / "snap", progress=False)
    assert result.for_entity("opportunities") == (4, 0)
    got = _scan(tmp_path).sort("opportunity_id")
    assert got["amount"].to_list() == [100.0, None, 0.0, 50.0]
    assert got["amount"].dtype == pl.Float64 and got["close_date"].dtype == pl.Date
    assert got["currency"].to_list() == ["EUR"] * 4
    # A value map applies to the canonical column; the custom field keeps the raw text.
    assert got["region"].to_list() == ["NA-W", "NA-E", None, "NA-W"]
    assert got["Region"].to_list() == ["west", "east", None, "west"]
    # The alias `disco` is the stage Discovery; flags come from the configured stages.
    assert got["stage"].to_list() == ["Won", "Discovery", "Lost", "Mystery"]
    assert got["is_closed"].to_list() == [True, False, True, None]
    assert got["is_won"].to_list() == [True, False, False, None]
    assert got["pipeline"].to_list() == ["sales"] * 4
    assert set(got["source_system"]) == {"files"}


def test_parquet_reads_like_the_csv(tmp_path: Path) -> None:
    _deals(tmp_path)
    typed = pl.read_csv(tmp_path / "deals.csv", try_parse_dates=True)
    assert typed.schema["Created"] == pl.Date and typed.schema["Value"] == pl.Int64
    typed.write_parquet(tmp_path / "deals.parquet")
    spec = {"columns": DEAL_COLUMNS}
    for name in ("deals.csv", "deals.parquet"):
        pull(
            _config(tmp_path, {"opportunities": {"path": name, **spec}}),
            tmp_path / f"snap-{name}",
            progress=False,
        )
    csv_rows = SnapshotStore(tmp_path / "snap-deals.csv").scan("opportunities").collect()
    pq_rows = SnapshotStore(tmp_path / "snap-deals.parquet").scan("opportunities").collect()
    assert_frame_equal(csv_rows.drop("pulled_at"), pq_rows.drop("pulled_at"))


def test_existing_flags_are_kept_and_blanks_derived(tmp_path: Path) -> None:
    _deals(tmp_path, "id,stage,won\na,Won,\nb,Won,false\nc,Lost,\n")
    spec = {"path": "deals.csv", "columns": {"opportunity_id": "id", "is_won": "won"}}
    pull(_config(tmp_path, {"opportunities": spec}), tmp_path / "snap", progress=False)
    got = _scan(tmp_path).sort("opportunity_id")
    assert got["is_won"].to_list() == [True, False, False]
    assert got["is_closed"].to_list() == [True, True, True]


def test_lifecycle_values_map_to_canonical_stages(tmp_path: Path) -> None:
    _deals(tmp_path, "id,life\np1,Marketing Qualified\np2,SQL\np3,weird\np4,\n", "people.csv")
    spec = {"path": "people.csv", "columns": {"person_id": "id", "lifecycle_stage": "life"}}
    extra = {"lifecycle": {"map": {"marketing qualified": "mql"}}}
    pull(_config(tmp_path, {"people": spec}, extra=extra), tmp_path / "snap", progress=False)
    got = _scan(tmp_path, "people").sort("person_id")
    assert got["lifecycle_stage"].to_list() == ["mql", "sql", "weird", None]


def test_constant_fills_only_blanks_of_a_mapped_column(tmp_path: Path) -> None:
    _deals(tmp_path, "id,cur\na,USD\nb,\nc,  \n")
    spec = {
        "path": "deals.csv",
        "columns": {"opportunity_id": "id", "currency": "cur"},
        "constants": {"currency": "EUR"},
    }
    pull(_config(tmp_path, {"opportunities": spec}), tmp_path / "snap", progress=False)
    assert _scan(tmp_path).sort("opportunity_id")["currency"].to_list() == ["USD", "EUR", "EUR"]


def test_auto_map_takes_canonical_names_unless_disabled(tmp_path: Path) -> None:
    _deals(tmp_path, "opportunity_id,amount,stage\na,5,Won\n")
    spec = {"path": "deals.csv"}
    pull(_config(tmp_path, {"opportunities": spec}), tmp_path / "snap", progress=False)
    assert _scan(tmp_path)["amount"].to_list() == [5.0]
    cfg = _config(tmp_path, {"opportunities": spec}, options={"auto_map": False})
    with pytest.raises(MappingError, match=r"primary key opportunities\.opportunity_id"):
        pull(cfg, tmp_path / "snap2", progress=False)


def test_missing_export_column_names_available_and_closest(tmp_path: Path) -> None:
    _deals(tmp_path)
    columns = {**DEAL_COLUMNS, "stage": "Stag"}
    cfg = _config(tmp_path, {"opportunities": {"path": "deals.csv", "columns": columns}})
    with pytest.raises(MappingError) as err:
        pull(cfg, tmp_path / "snap", progress=False)
    text = str(err.value)
    assert err.value.code == "RG403"
    assert "'Stag' (mapped to opportunities.stage)" in text
    assert "available columns: Deal Id, Owner, Stage, Value, Created, Closed, Region" in text
    assert "did you mean 'Stage'?" in text
    # Nothing was committed for the failed entity.
    assert SnapshotStore(tmp_path / "snap").row_count("opportunities") == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"columns": {"ammount": "Value"}}, "did you mean 'amount'?"),
        ({"constants": {"stagee": "Won"}}, "did you mean 'stage'?"),
        ({"values": {"stage": {"a": "b"}}}, "is not mapped"),
        ({"custom_fields": {"amount": "float"}}, "already a canonical opportunities column"),
    ],
)
def test_bad_mappings_are_explained(tmp_path: Path, spec: dict[str, Any], message: str) -> None:
    _deals(tmp_path)
    full = {"path": "deals.csv", "columns": {"opportunity_id": "Deal Id"}}
    full = {**full, **spec, "columns": {**full["columns"], **spec.get("columns", {})}}
    connector = FilesConnector(
        SourceConfig.model_validate(
            {"name": "crm", "connector": "files", "entities": {"opportunities": full}}
        ),
        ConnectorContext(tmp_path),
    )
    with pytest.raises(MappingError, match=message):
        list(connector.fetch("opportunities"))


def test_missing_file_is_source_not_found_with_a_suggestion(tmp_path: Path) -> None:
    _deals(tmp_path)
    cfg = _config(tmp_path, {"opportunities": {"path": "deal.csv", "columns": DEAL_COLUMNS}})
    with pytest.raises(SourceNotFoundError) as err:
        pull(cfg, tmp_path / "snap", progress=False)
    assert err.value.code == "RG402"
    assert str(tmp_path / "deal.csv") in str(err.value)
    assert "did you mean 'deals.csv'?" in str(err.value)


def test_unreadable_and_unknown_format_files(tmp_path: Path) -> None:
    (tmp_path / "deals.parquet").write_bytes(b"this is not parquet")
    (tmp_path / "deals.xlsx").write_bytes(b"x")
    for name, match in (("deals.parquet", "not a Parquet file"), ("deals.xlsx", "cannot tell")):
        cfg = _config(tmp_path, {"opportunities": {"path": name, "columns": DEAL_COLUMNS}})
        with pytest.raises(ConnectorError, match=match):
            pull(cfg, tmp_path / "snap", progress=False)


def test_bad_options_are_refused_when_the_config_is_built(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigValidationError, match=r"options\.page_sise.*did you mean 'page_size'"
    ):
        _config(tmp_path, {}, options={"page_sise": 10})


def test_relative_paths_resolve_against_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports = tmp_path / "project" / "exports"
    exports.mkdir(parents=True)
    _deals(exports)
    toml = tmp_path / "project" / "revgov.toml"
    toml.write_text(
        '[[sources]]\nname = "crm"\nconnector = "files"\n'
        "[sources.entities.opportunities]\n"
        'path = "exports/deals.csv"\n'
        "[sources.entities.opportunities.columns]\n"
        'opportunity_id = "Deal Id"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = pull(load_config(toml), "snap", progress=False)
    assert result.for_entity("opportunities") == (4, 0)
    assert (elsewhere / "snap").is_dir()


# -- paging and cursors -----------------------------------------------------------------------


def _connector(tmp_path: Path, page_size: int) -> FilesConnector:
    source = SourceConfig.model_validate(
        {
            "name": "crm",
            "connector": "files",
            "options": {"page_size": page_size},
            "entities": {"opportunities": {"path": "deals.csv", "columns": DEAL_COLUMNS}},
        }
    )
    return FilesConnector(source, ConnectorContext(tmp_path))


def test_pages_stream_with_resumable_cursors(tmp_path: Path) -> None:
    _deals(tmp_path)
    connector = _connector(tmp_path, page_size=3)
    pages = list(connector.fetch("opportunities"))
    assert [p.records.height for p in pages if isinstance(p.records, pl.DataFrame)] == [3, 1]
    assert [p.replace for p in pages] == [True, False]
    assert all(p.total == 4 for p in pages)
    cursors = [FileCursor.parse(p.cursor) for p in pages]
    assert [(c.rows, c.done) for c in cursors if c] == [(3, False), (4, True)]
    # Done: nothing more. Mid-file: the rest, appended (no replace).
    assert list(connector.fetch("opportunities", pages[-1].cursor)) == []
    rest = list(connector.fetch("opportunities", pages[0].cursor))
    assert len(rest) == 1 and not rest[0].replace
    assert isinstance(rest[0].records, pl.DataFrame)
    assert rest[0].records["opportunity_id"].to_list() == ["d4"]


def test_touched_but_identical_export_is_unchanged(tmp_path: Path) -> None:
    path = _deals(tmp_path)
    connector = _connector(tmp_path, page_size=10)
    done = list(connector.fetch("opportunities"))[-1].cursor
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert list(connector.fetch("opportunities", done)) == []
    _deals(tmp_path, DEALS_CSV.replace("d4,cy", "d5,cy"))
    changed = list(connector.fetch("opportunities", done))
    assert changed[0].replace and changed[-1].cursor != done


def test_changed_export_is_a_full_refresh(tmp_path: Path) -> None:
    _deals(tmp_path, DEALS_CSV + "d9,ann,Won,oops,2024-01-09,,\n")
    cfg = _config(tmp_path, {"opportunities": {"path": "deals.csv", "columns": DEAL_COLUMNS}})
    first = pull(cfg, tmp_path / "snap", progress=False)
    assert first.for_entity("opportunities") == (4, 1)
    unchanged = pull(cfg, tmp_path / "snap", progress=False)
    assert [e.status for e in unchanged.entities] == ["unchanged", "unchanged"]
    _deals(tmp_path, "Deal Id,Owner,Stage,Value,Created,Closed\nn1,ann,Won,1,,\nn2,bob,Lost,,,\n")
    # Every stored row would go: the shrink guard refuses, and nothing changes.
    with pytest.raises(ShrinkRefusedError, match="would remove 4 of its 4 stored rows"):
        pull(cfg, tmp_path / "snap", progress=False)
    assert len(_scan(tmp_path)) == 4
    refreshed = pull(cfg, tmp_path / "snap", progress=False, allow_shrink=True)
    assert refreshed.entities[0].status == "refreshed"
    store = SnapshotStore(tmp_path / "snap")
    assert sorted(store.scan("opportunities").collect()["opportunity_id"]) == ["n1", "n2"]
    # The old export's quarantined row went with it.
    assert store.quarantine_counts() == {}


def test_changed_mapping_is_a_full_refresh(tmp_path: Path) -> None:
    _deals(tmp_path)
    spec = {"path": "deals.csv", "columns": DEAL_COLUMNS}
    pull(_config(tmp_path, {"opportunities": spec}), tmp_path / "snap", progress=False)
    spec2 = {**spec, "constants": {"currency": "EUR"}}
    again = pull(_config(tmp_path, {"opportunities": spec2}), tmp_path / "snap", progress=False)
    assert again.entities[0].status == "refreshed"
    assert set(_scan(tmp_path)["currency"]) == {"EUR"}


def test_interrupted_pull_resumes_to_the_same_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = "\n".join(f"d{i},ann,{'Won' if i % 3 else 'Lost'},{i},2024-01-01,," for i in range(25))
    _deals(tmp_path, "Deal Id,Owner,Stage,Value,Created,Closed,Region\n" + rows + "\n")
    cfg = _config(
        tmp_path,
        {"opportunities": {"path": "deals.csv", "columns": DEAL_COLUMNS}},
        options={"page_size": 4},
    )
    pull(cfg, tmp_path / "whole", progress=False)

    real_stage = SnapshotStore.stage_page
    calls = {"n": 0}

    def dying_stage(self: SnapshotStore, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # the process dies between pages
        real_stage(self, *args, **kwargs)

    monkeypatch.setattr(SnapshotStore, "stage_page", dying_stage)
    with pytest.raises(KeyboardInterrupt):
        pull(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(SnapshotStore, "stage_page", real_stage)
    # Three pages are committed to the read, which is not published until it ends.
    stopped = SnapshotStore(tmp_path / "resumed")
    assert stopped.row_count("opportunities") == 0
    resume_at = FileCursor.parse(stopped.cursor("crm", "opportunities"))
    assert resume_at is not None and resume_at.rows == 12
    second = pull(cfg, tmp_path / "resumed", progress=False)
    # The resumed read finishes the full refresh that the first run began.
    assert second.entities[0].status == "refreshed"
    assert second.for_entity("opportunities") == (13, 0)

    whole = SnapshotStore(tmp_path / "whole").scan("opportunities").collect()
    resumed = SnapshotStore(tmp_path / "resumed").scan("opportunities").collect()
    assert_frame_equal(whole.drop("pulled_at"), resumed.drop("pulled_at"))


# -- quarantine end to end --------------------------------------------------------------------


def test_bad_rows_go_to_quarantine_with_reasons(tmp_path: Path) -> None:
    _deals(
        tmp_path,
        DEALS_CSV
        + "d5,ann,Won,12k,2024-01-05,,\n"  # amount not a number
        + "d6,ann,Won,1,2024-13-45,,\n"  # impossible date
        + ",ann,Won,1,2024-01-01,,\n"  # no id
        + "d1,ann,Won,1,2024-01-01,,\n",  # duplicate id
    )
    cfg = _config(tmp_path, {"opportunities": {"path": "deals.csv", "columns": DEAL_COLUMNS}})
    result = pull(cfg, tmp_path / "snap", progress=False)
    assert result.for_entity("opportunities") == (4, 4)
    assert result.entities[0].rows_in == 8
    store = SnapshotStore(tmp_path / "snap")
    q = store.scan_quarantine().collect().sort("source_id", nulls_last=True)
    assert q.select("source_id", "field", "raw_value").rows() == [
        ("d1", "opportunity_id", "d1"),
        ("d5", "amount", "12k"),
        ("d6", "created_at", "2024-13-45"),
        (None, "opportunity_id", None),
    ]
    assert set(q["entity"]) == {"opportunities"}
    assert all(q["raw_record"].str.contains('"owner_id":"ann"'))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", "", " "]),
            st.sampled_from(["1", "2.5", "", "x", "1e3", "-4"]),
            st.sampled_from(["2024-01-01", "", "yesterday", "2024-02-30", "1700000000000"]),
        ),
        min_size=1,
        max_size=30,
    ),
    page_size=st.integers(1, 7),
)
def test_rows_in_equal_typed_plus_quarantined(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str]],
    page_size: int,
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    body = "".join(f"{i},{a},{c}\n" for i, a, c in rows)
    (tmp / "deals.csv").write_text("id,amount,created\n" + body, encoding="utf-8")
    spec = {
        "path": "deals.csv",
        "columns": {"opportunity_id": "id", "amount": "amount", "created_at": "created"},
    }
    cfg = _config(tmp, {"opportunities": spec}, options={"page_size": page_size})
    result = pull(cfg, tmp / "snap", progress=False)
    typed, quarantined = result.for_entity("opportunities")
    assert typed + quarantined == len(rows)
    store = SnapshotStore(tmp / "snap")
    assert store.quarantine_counts().get("opportunities", 0) == quarantined
    assert store.scan("opportunities").collect().height == typed


def test_paths_expand_environment_variables_with_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from revgov.connectors.files.client import expand_env
    from revgov.errors import SourceNotFoundError

    monkeypatch.delenv("REVGOV_TEST_EXPORTS", raising=False)
    assert expand_env("${REVGOV_TEST_EXPORTS:-../x}/a.csv") == "../x/a.csv"
    monkeypatch.setenv("REVGOV_TEST_EXPORTS", str(tmp_path))
    assert expand_env("${REVGOV_TEST_EXPORTS:-../x}/a.csv") == f"{tmp_path}/a.csv"
    monkeypatch.delenv("REVGOV_TEST_EXPORTS")
    with pytest.raises(SourceNotFoundError, match="REVGOV_TEST_EXPORTS"):
        expand_env("${REVGOV_TEST_EXPORTS}/a.csv")
