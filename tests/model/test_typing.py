"""Bulk typing: vectorized casts, quarantine of untypable rows, nothing dropped."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from math import inf, nan

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revgov.errors import SchemaMismatchError
from revgov.model import (
    QUARANTINE_SCHEMA,
    REJECT_COLUMN,
    REJECT_DTYPE,
    FieldType,
    polars_schema,
    type_records,
)
from revgov.model._casting import DATE_HOLDS_TIME
from revgov.model._numbers import NOT_FINITE

PULLED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_types_the_spellings_vendors_send() -> None:
    page = type_records(
        "opportunities",
        [
            {"opportunity_id": "a", "amount": "1,5", "close_date": "2024-02-03"},
            {"opportunity_id": "b", "amount": 12, "created_at": "2024-01-15T10:20:30.000+0000"},
            {"opportunity_id": "c", "amount": " 7.25 ", "created_at": "2024-01-15T10:20:30.123Z"},
            {"opportunity_id": "d", "created_at": 1700000000000, "is_won": True},
            {"opportunity_id": "e", "created_at": "2024-01-15 10:20:30", "is_won": "FALSE"},
            {"opportunity_id": "f", "created_at": "2024-01-15T12:00:00+02:00", "close_date": ""},
        ],
        source_system="test",
        pulled_at=PULLED,
    )
    assert page.frame.schema == polars_schema("opportunities")
    rows = {r["opportunity_id"]: r for r in page.frame.iter_rows(named=True)}
    assert set(rows) == {"b", "c", "d", "e", "f"}
    assert rows["b"]["amount"] == 12.0
    assert rows["b"]["created_at"] == datetime(2024, 1, 15, 10, 20, 30, tzinfo=UTC)
    assert rows["c"]["amount"] == 7.25
    assert rows["c"]["created_at"] == datetime(2024, 1, 15, 10, 20, 30, 123000, tzinfo=UTC)
    assert rows["d"]["created_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert rows["d"]["is_won"] is True
    assert rows["e"]["is_won"] is False
    assert rows["f"]["created_at"] == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    assert rows["f"]["close_date"] is None  # blank is a null, not an error
    assert rows["b"]["source_id"] == "b"
    assert rows["b"]["pulled_at"] == PULLED
    (bad,) = page.quarantine.iter_rows(named=True)
    assert (bad["source_id"], bad["field"], bad["raw_value"]) == ("a", "amount", "1,5")
    # "1,5" is a number only with a decimal comma: the reason names the format that reads it.
    assert bad["reason"].startswith('a number written with decimal = ","')
    assert "amount" in bad["detail"]
    assert json.loads(bad["raw_record"])["close_date"] == "2024-02-03"


def test_missing_and_duplicate_keys_are_quarantined() -> None:
    page = type_records(
        "people",
        [
            {"person_id": "p1", "email": "a@x.io"},
            {"person_id": "  ", "email": "b@x.io"},
            {"person_id": None, "email": "c@x.io"},
            {"person_id": "p1", "email": "d@x.io"},
        ],
        source_system="test",
    )
    assert page.frame["email"].to_list() == ["a@x.io"]
    reasons = page.quarantine.select("field", "reason").rows()
    assert reasons.count(("person_id", "missing primary key")) == 2
    assert ("person_id", "duplicate key in source") in reasons
    assert page.rows_in == 4


def test_a_typed_frame_passes_through_unchanged() -> None:
    frame = pl.DataFrame(
        {
            "account_id": ["a1", "a2"],
            "employees": [10, None],
            "created_at": [date(2024, 1, 1), date(2024, 1, 2)],
        }
    )
    page = type_records("accounts", frame, source_system="parquet")
    assert page.quarantine.is_empty()
    assert page.frame["employees"].to_list() == [10, None]
    assert page.frame["created_at"].to_list()[0] == datetime(2024, 1, 1, tzinfo=UTC)


def test_source_id_column_is_lineage_when_present() -> None:
    page = type_records(
        "users", [{"user_id": "u1", "source_id": "005XYZ"}], source_system="salesforce"
    )
    assert page.frame["source_id"].to_list() == ["005XYZ"]


def test_custom_fields_are_typed_and_quarantined_like_model_fields() -> None:
    page = type_records(
        "opportunities",
        [{"opportunity_id": "1", "arr": "10.5"}, {"opportunity_id": "2", "arr": "n/a"}],
        source_system="t",
        extras={"arr": "float"},
    )
    assert page.frame["arr"].to_list() == [10.5]
    assert page.quarantine["field"].to_list() == ["arr"]


def test_page_without_key_column_is_a_clear_error() -> None:
    with pytest.raises(SchemaMismatchError) as info:
        type_records("opportunities", [{"Id": "1"}], source_system="t")
    assert "opportunity_id" in str(info.value)
    assert info.value.code == "RG202"


def test_empty_page() -> None:
    page = type_records("accounts", [], source_system="t")
    assert page.frame.is_empty() and page.quarantine.is_empty()
    assert page.quarantine.schema == QUARANTINE_SCHEMA


# -- property: rows in = rows typed + rows quarantined, on arbitrary messy input ---------------

_messy_text = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "2024-02-30", "2024-01-01", "12", "-3.5", "1e3", "true", "NaN"]),
)
_messy_value = st.one_of(
    _messy_text, st.integers(-(10**12), 10**13), st.floats(allow_nan=True), st.booleans()
)
_record = st.fixed_dictionaries(
    {
        "opportunity_id": st.one_of(
            st.none(), st.sampled_from(["", "1", "2", "3", "4"]), st.text(max_size=4)
        )
    },
    optional={
        "amount": _messy_value,
        "close_date": _messy_value,
        "created_at": _messy_value,
        "is_won": _messy_value,
        "stage": _messy_value,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_record, max_size=30))
def test_nothing_is_silently_dropped(records: list[dict[str, object]]) -> None:
    page = type_records("opportunities", records, source_system="h", pulled_at=PULLED)
    assert page.frame.height + page.quarantine.height == len(records)
    # Keys of typed rows are present and unique; every quarantined row says why.
    keys = page.frame["opportunity_id"]
    assert keys.null_count() == 0 and keys.n_unique() == keys.len()
    assert page.quarantine["reason"].null_count() == 0
    assert page.quarantine["field"].null_count() == 0
    # A typed non-key value is never invented: where every record of a key had no amount,
    # the typed row has none (records are matched by key: a quarantined one has no row).
    for row in page.frame.iter_rows(named=True):
        same = [
            r
            for r in records
            if str(r.get("opportunity_id") or "").strip() == row["opportunity_id"]
        ]
        if same and all(r.get("amount") is None for r in same):
            assert row["amount"] is None


def test_python_objects_in_api_pages_are_typed() -> None:
    page = type_records(
        "opportunities",
        [
            {
                "opportunity_id": 7,
                "created_at": datetime(2024, 1, 1, 9, tzinfo=UTC),
                "close_date": date(2024, 2, 1),
            }
        ],
        source_system="t",
    )
    row = page.frame.row(0, named=True)
    assert row["opportunity_id"] == "7"
    assert row["created_at"] == datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert row["close_date"] == date(2024, 2, 1)


def test_explanations_are_bounded_per_field_but_reasons_are_not() -> None:
    records = [{"opportunity_id": str(i), "amount": "x", "close_date": "bad"} for i in range(50)]
    records += [{"opportunity_id": f"d{i}", "close_date": "2024-02-30"} for i in range(5)]
    page = type_records("opportunities", records, source_system="t", explain=3)
    q = page.quarantine
    assert q.height == 55 and q["reason"].null_count() == 0
    explained = q.filter(pl.col("detail").is_not_null())
    assert explained.group_by("field").len().sort("field").rows() == [
        ("amount", 3),
        ("close_date", 3),
    ]
    assert (
        type_records("opportunities", records, source_system="t", explain=0)
        .quarantine["detail"]
        .null_count()
        == 55
    )


# -- typing that never guesses (issue 12) -------------------------------------------------------


def test_nan_and_infinity_are_quarantined_as_text_and_as_floats() -> None:
    text = [
        {"opportunity_id": "a", "amount": "NaN"},
        {"opportunity_id": "b", "amount": "inf"},
        {"opportunity_id": "c", "amount": "-Infinity"},
        {"opportunity_id": "d", "amount": "12.5"},
    ]
    floats = pl.DataFrame(
        {"opportunity_id": ["a", "b", "c", "d"], "amount": [nan, inf, -inf, 12.5]}
    )
    for raw, shown in ((text, ["NaN", "inf", "-Infinity"]), (floats, ["NaN", "inf", "-inf"])):
        page = type_records("opportunities", raw, source_system="t", pulled_at=PULLED)
        # The typed amounts sum to a number: one NaN can no longer poison every KPI.
        assert page.frame["amount"].to_list() == [12.5]
        assert page.frame["amount"].sum() == 12.5
        q = page.quarantine.sort("source_id")
        assert q["field"].to_list() == ["amount"] * 3
        assert q["reason"].to_list() == [NOT_FINITE] * 3
        assert q["raw_value"].to_list() == shown


def test_non_finite_values_in_whole_number_fields() -> None:
    page = type_records(
        "accounts",
        pl.DataFrame({"account_id": ["a", "b", "c"], "employees": [nan, 2.5, 40.0]}),
        source_system="parquet",
    )
    assert page.frame["employees"].to_list() == [40]  # 2.5 is not truncated to 2
    reasons = dict(page.quarantine.select("source_id", "reason").rows())
    assert reasons == {"a": NOT_FINITE, "b": "not a whole number"}


def test_a_date_with_an_offset_is_not_silently_the_utc_date() -> None:
    page = type_records(
        "opportunities",
        [
            {"opportunity_id": "offset", "close_date": "2024-03-01T23:30-0500"},
            {"opportunity_id": "offset-midnight", "close_date": "2024-03-01T00:00+01:00"},
            {"opportunity_id": "date", "close_date": "2024-03-01"},
            {"opportunity_id": "naive", "close_date": "2024-03-01 23:30:00"},
            {"opportunity_id": "zulu", "close_date": "2024-03-01T23:30:00Z"},
            {"opportunity_id": "utc", "close_date": "2024-03-01T00:00:00.000+0000"},
            {"opportunity_id": "epoch", "close_date": "1709251200000"},
        ],
        source_system="t",
    )
    # In UTC (naive timestamps are UTC everywhere in revgov) the date is the written one.
    typed = dict(page.frame.select("opportunity_id", "close_date").rows())
    assert typed == dict.fromkeys(["date", "naive", "zulu", "utc", "epoch"], date(2024, 3, 1))
    q = dict(page.quarantine.select("source_id", "reason").rows())
    assert q == {"offset": DATE_HOLDS_TIME, "offset-midnight": DATE_HOLDS_TIME}


def test_datetime_fields_keep_reading_offsets() -> None:
    page = type_records(
        "opportunities",
        [
            {"opportunity_id": "a", "created_at": "2024-03-01T23:30-0500"},
            {"opportunity_id": "b", "created_at": "2024-03-01 23:30+01:00"},
        ],
        source_system="t",
    )
    assert page.frame["created_at"].to_list() == [
        datetime(2024, 3, 2, 4, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 22, 30, tzinfo=UTC),
    ]


def test_aware_parquet_timestamps_in_a_date_field() -> None:
    stamps = [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, 23, 30, tzinfo=UTC)]
    frame = pl.DataFrame({"opportunity_id": ["a", "b"], "close_date": stamps})
    in_utc = type_records("opportunities", frame, source_system="parquet")
    assert in_utc.frame["close_date"].to_list() == [date(2024, 3, 1)] * 2
    # In New York the same instants are Feb 29 19:00 and Mar 1 18:30: the offset makes the
    # date a question of time zone, so neither is taken.
    new_york = frame.with_columns(pl.col("close_date").dt.convert_time_zone("America/New_York"))
    aware = type_records("opportunities", new_york, source_system="parquet")
    assert aware.frame.is_empty()
    assert aware.quarantine["reason"].to_list() == [DATE_HOLDS_TIME] * 2
    # Without a zone a timestamp is read as UTC, as everywhere: its date is as written.
    naive = new_york.with_columns(pl.col("close_date").dt.replace_time_zone(None))
    plain = type_records("opportunities", naive, source_system="parquet")
    assert plain.frame["close_date"].to_list() == [date(2024, 2, 29), date(2024, 3, 1)]


def test_numbers_are_not_booleans_beyond_zero_and_one() -> None:
    page = type_records(
        "opportunities",
        pl.DataFrame({"opportunity_id": ["a", "b", "c"], "is_won": [0, 1, 2]}),
        source_system="t",
    )
    assert page.frame["is_won"].to_list() == [False, True]
    assert page.quarantine.select("source_id", "reason").rows() == [("c", "not true/false")]


def test_thousands_dots_are_ambiguous_where_the_column_uses_a_decimal_comma() -> None:
    page = type_records(
        "opportunities",
        [
            {"opportunity_id": "a", "amount": "1.234,56"},
            {"opportunity_id": "b", "amount": "1.200"},
            {"opportunity_id": "c", "amount": "7"},
        ],
        source_system="t",
    )
    assert page.frame["opportunity_id"].to_list() == ["c"]
    reasons = dict(page.quarantine.select("source_id", "reason").rows())
    assert 'written with decimal = ",", thousands = "."' in reasons["a"]
    assert reasons["b"].startswith("ambiguous: 1.2 with a decimal point")
    # Without decimal-comma evidence in the column, 1.200 is the number 1.2.
    alone = type_records(
        "opportunities", [{"opportunity_id": "b", "amount": "1.200"}], source_system="t"
    )
    assert alone.frame["amount"].to_list() == [1.2]


def test_connector_rejections_are_quarantined_first_and_are_no_earlier_twin() -> None:
    reject = {"field": "(record)", "raw": "d1,ann", "reason": "too few fields (2 of 3) on line 2"}
    frame = pl.DataFrame(
        {
            "opportunity_id": ["d1", "d1", None],
            "amount": ["x", "5", "1"],
            REJECT_COLUMN: [reject, None, {**reject, "raw": ",1"}],
        },
        schema_overrides={REJECT_COLUMN: REJECT_DTYPE},
    )
    page = type_records("opportunities", frame, source_system="files")
    # The rejected d1 does not make the good d1 a duplicate.
    assert page.frame.select("opportunity_id", "amount").rows() == [("d1", 5.0)]
    q = page.quarantine
    assert q.select("field", "raw_value", "reason").rows() == [
        ("(record)", "d1,ann", "too few fields (2 of 3) on line 2"),
        ("(record)", ",1", "too few fields (2 of 3) on line 2"),
    ]
    assert REJECT_COLUMN not in q["raw_record"][0]
    assert q.schema == QUARANTINE_SCHEMA


_ODD_COLUMNS = {
    "binary": pl.Series([b"12", b"x"], dtype=pl.Binary),
    "decimal": pl.Series(["1.5", "2.00"]).cast(pl.Decimal(10, 2)),
    "time": pl.Series([time(1, 2), time(3, 4)]),
    "categorical": pl.Series(["12", "b"], dtype=pl.Categorical),
    "uint64": pl.Series([2**64 - 1, 1709251200000], dtype=pl.UInt64),
    "null": pl.Series([None, None], dtype=pl.Null),
    "float": pl.Series([1.0, 0.5]),
}


@pytest.mark.parametrize("kind", list(_ODD_COLUMNS))
@pytest.mark.parametrize(
    ("field", "ftype"),
    [
        ("name", "string"),
        ("amount", "float"),
        ("is_won", "bool"),
        ("close_date", "date"),
        ("created_at", "datetime"),
        ("seats", "int"),
    ],
)
def test_any_scalar_column_dtype_is_typed_or_quarantined(kind: str, field: str, ftype: str) -> None:
    frame = pl.DataFrame({"opportunity_id": ["a", "b"], field: _ODD_COLUMNS[kind]})
    extras: dict[str, FieldType] = {"seats": "int"} if field == "seats" else {}
    page = type_records("opportunities", frame, source_system="parquet", extras=extras)
    assert page.rows_in == 2
    assert page.quarantine["reason"].null_count() == 0
    # Numbers are never taken for days or microseconds since 1970.
    if ftype in ("date", "datetime") and kind in ("decimal", "float"):
        assert page.frame.is_empty()


def test_epoch_milliseconds_as_integers_are_instants_not_day_counts() -> None:
    frame = pl.DataFrame({"opportunity_id": ["a"], "created_at": [1709251200000]})
    page = type_records("opportunities", frame, source_system="parquet")
    assert page.frame["created_at"].to_list() == [datetime(2024, 3, 1, tzinfo=UTC)]
    big = type_records(
        "opportunities",
        pl.DataFrame({"opportunity_id": ["a"], "seats": pl.Series([2**64 - 1], dtype=pl.UInt64)}),
        source_system="parquet",
        extras={"seats": "int"},
    )
    assert big.quarantine["reason"].to_list() == ["a whole number out of range (beyond ±9.2e18)"]


@pytest.mark.parametrize(
    "column",
    [pl.Series([["a"], ["b"]]), pl.Series([{"x": 1}, {"x": 2}]), pl.Series([timedelta(1)] * 2)],
)
def test_columns_of_lists_structs_or_durations_are_a_clear_error(column: pl.Series) -> None:
    frame = pl.DataFrame({"opportunity_id": ["a", "b"], "name": column})
    with pytest.raises(SchemaMismatchError, match=r"opportunities\.name is a column of"):
        type_records("opportunities", frame, source_system="parquet")
    undecodable = pl.DataFrame(
        {"opportunity_id": ["a"], "name": pl.Series([b"\xff\xfe"], dtype=pl.Binary)}
    )
    with pytest.raises(SchemaMismatchError, match="not UTF-8 text"):
        type_records("opportunities", undecodable, source_system="parquet")
