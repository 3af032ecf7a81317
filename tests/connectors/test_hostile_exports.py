"""Hostile exports through the files connector: each gets a clear answer (issue 12).

Ragged records, quoted newlines, foreign encodings and number formats, duplicate columns, a
wrong separator, binary, empty and header-only files, NaN and offset dates. The exports are
written the way vendors and spreadsheets write them (Salesforce report exports quote every
field and end lines with CRLF; Excel's "Unicode text" is UTF-16 with a BOM and tabs; German
Excel writes cp1252, semicolons and decimal commas), with defects planted at known places.
Expected line numbers and values are computed independently, by the writer that planted them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import Config, config_from_dict
from revgov.connectors.base import ConnectorContext
from revgov.connectors.files import FilesConnector, _csv
from revgov.errors import ExportEncodingError, ExportFormatError, RevgovError
from revgov.metrics import bookings, pipeline_created, win_rate_by_amount
from revgov.pull import PullResult, pull
from revgov.store import SnapshotStore

PIPELINE: dict[str, Any] = {
    "name": "sales",
    "stages": [
        {"name": "Open", "order": 1, "probability": 0.3},
        {"name": "Won", "order": 2, "probability": 1.0, "is_closed": True, "is_won": True},
        {"name": "Lost", "order": 3, "probability": 0.0, "is_closed": True},
    ],
}
COLUMNS = {"opportunity_id": "Id", "amount": "Amount", "stage": "Stage", "name": "Name"}


def _config(
    tmp: Path,
    entities: dict[str, Any],
    *,
    options: dict[str, Any] | None = None,
) -> Config:
    data = {
        "pipelines": [PIPELINE],
        "sources": [
            {"name": "crm", "connector": "files", "entities": entities, "options": options or {}}
        ],
    }
    cfg = config_from_dict(data)
    cfg._path = tmp / "revgov.toml"
    return cfg


def _deals(
    tmp: Path,
    data: str | bytes,
    *,
    name: str = "deals.csv",
    options: dict[str, Any] | None = None,
    columns: dict[str, str] | None = None,
    **entity: Any,
) -> Config:
    path = tmp / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    spec = {"path": name, "columns": columns or COLUMNS, **entity}
    return _config(tmp, {"opportunities": spec}, options=options)


def _pull(cfg: Config, tmp: Path, snap: str = "snap") -> tuple[PullResult, SnapshotStore]:
    result = pull(cfg, tmp / snap, progress=False)
    return result, SnapshotStore(tmp / snap)


def _quarantine(store: SnapshotStore) -> dict[str | None, tuple[str, str, str]]:
    q = store.scan_quarantine().collect()
    return {r["source_id"]: (r["field"], r["raw_value"], r["reason"]) for r in q.to_dicts()}


def _typed(store: SnapshotStore) -> pl.DataFrame:
    return store.scan("opportunities").collect().sort("opportunity_id")


# -- ragged records ------------------------------------------------------------------------


def test_short_and_long_records_go_to_quarantine_with_their_line(tmp_path: Path) -> None:
    text = (
        "Id,Amount,Stage,Name\n"
        "d1,10,Won,Acme\n"
        "d2,20,Open\n"  # line 3: one field short (today padded with a null)
        'd3,30,Won,"Big\ncorp"\n'  # lines 4-5: a quoted newline
        "d4,40,Won,Acme,oops\n"  # line 6: one field too many (today the whole pull fails)
        "d5,50,Lost,Zeta,\n"  # line 7: a trailing separator, nothing lost: kept
        "d6,60\n"  # line 8
        "d7,70,Open,\n"  # line 9: an empty last field is a value, not a missing one
    )
    result, store = _pull(_deals(tmp_path, text), tmp_path)
    assert result.for_entity("opportunities") == (4, 3)
    assert _quarantine(store) == {
        "d2": ("(record)", "d2,20,Open", "too few fields (3 of 4) on line 3 of the export"),
        "d4": (
            "(record)",
            "d4,40,Won,Acme,oops",
            "too many fields (5 of 4) on line 6 of the export",
        ),
        "d6": ("(record)", "d6,60", "too few fields (2 of 4) on line 8 of the export"),
    }
    got = _typed(store)
    assert got.select("opportunity_id", "amount", "name").rows() == [
        ("d1", 10.0, "Acme"),
        ("d3", 30.0, "Big\ncorp"),
        ("d5", 50.0, "Zeta"),
        ("d7", 70.0, None),
    ]


def test_a_record_spanning_lines_is_reported_with_its_lines(tmp_path: Path) -> None:
    text = 'Id,Amount,Stage,Name\n"d1\n",1,Won,"x\ny"\nd2,2,"Open\n\nstill open"\n'
    _, store = _pull(_deals(tmp_path, text), tmp_path)
    # d1 spans lines 2-4 (a newline in its id and one in its name): d2 starts on line 5.
    assert _quarantine(store)["d2"][2] == "too few fields (3 of 4) on lines 5-7 of the export"


def test_salesforce_report_export_with_planted_defects(tmp_path: Path) -> None:
    # Salesforce's "Export details" CSV: every field quoted, CRLF line ends, a footer-less body.
    rows = [
        ["Opportunity ID", "Opportunity Name", "Stage", "Amount", "Close Date"],
        ["0061", "Acme - renewal", "Closed Won", "12000", "2024-03-01"],
        ["0062", 'Beta "pilot", phase 2', "Prospecting", "", "2024-04-01"],
        ["0063", "Gamma", "Closed Won"],  # the export tool cut this record short
        ["0064", "Delta\r\nmulti-line", "Closed Lost", "0", "2024-02-10"],
        ["0065", "Eps", "Closed Won", "5", "2024-03-01", "EXTRA"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    columns = {
        "opportunity_id": "Opportunity ID",
        "name": "Opportunity Name",
        "stage": "Stage",
        "amount": "Amount",
        "close_date": "Close Date",
    }
    result, store = _pull(_deals(tmp_path, buffer.getvalue(), columns=columns), tmp_path)
    assert result.for_entity("opportunities") == (3, 2)
    q = _quarantine(store)
    assert q["0063"][2] == "too few fields (3 of 5) on line 4 of the export"
    assert q["0065"][2] == "too many fields (6 of 5) on line 7 of the export"
    got = _typed(store)
    assert got["name"].to_list() == [
        "Acme - renewal",
        'Beta "pilot", phase 2',
        "Delta\r\nmulti-line",
    ]


@dataclass(frozen=True)
class _Record:
    id: str
    fields: list[str]
    line: int


def _write_ragged(
    specs: list[tuple[int, str]], width: int, *, crlf: bool
) -> tuple[str, list[_Record]]:
    """A CSV whose record i has ``specs[i][0]`` fields (the header has ``width``), written by
    Python's csv module; each record remembers the line it starts on."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["Id", "Amount", "Stage", "Name"][:width])
    records = []
    for i, (count, text) in enumerate(specs):
        line = out.getvalue().count("\n") + 1
        fields = [f"r{i}", str(i), "Won", text, "x", ""][:count]
        if count > width and i % 2:
            fields[width:] = [""] * (count - width)  # trailing separators only
        writer.writerow(fields)
        records.append(_Record(f"r{i}", fields, line))
    return out.getvalue(), records


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(
        st.tuples(
            st.sampled_from([1, 2, 3, 4, 4, 4, 4, 5, 6]),
            st.text(alphabet='ab ,;"\n', max_size=8),
        ),
        min_size=1,
        max_size=25,
    ),
    page_size=st.integers(1, 6),
    crlf=st.booleans(),
    block=st.sampled_from([64, 256, 1 << 20]),
)
def test_every_record_is_typed_or_quarantined_with_its_exact_line(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[tuple[int, str]],
    page_size: int,
    crlf: bool,
    block: int,
) -> None:
    tmp = tmp_path_factory.mktemp("ragged")
    text, records = _write_ragged(specs, 4, crlf=crlf)
    cfg = _deals(tmp, text, options={"page_size": page_size})
    # Small parse blocks make pyarrow report invalid records while parsing ahead.
    with patch.object(_csv, "_BLOCK", block):
        result, store = _pull(cfg, tmp)
    expected_bad = {}
    for rec in records:
        n = len(rec.fields)
        extra_data = n > 4 and any(rec.fields[4:])
        if n < 4 or extra_data:
            span = sum(f.count("\n") for f in rec.fields)
            lines = f"line {rec.line}" if not span else f"lines {rec.line}-{rec.line + span}"
            kind = "too few" if n < 4 else "too many"
            expected_bad[rec.id] = f"{kind} fields ({n} of 4) on {lines} of the export"
    typed, quarantined = result.for_entity("opportunities")
    assert (typed, quarantined) == (len(records) - len(expected_bad), len(expected_bad))
    assert {k: v[2] for k, v in _quarantine(store).items()} == expected_bad
    got = dict(_typed(store).select("opportunity_id", "name").rows())
    for rec in records:
        if rec.id not in expected_bad:
            name = rec.fields[3]
            assert got[rec.id] == (name if name.strip() else None)


def test_a_pull_dying_in_a_ragged_file_resumes_to_the_same_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regular pages first (the fast reader), then ragged ones (the exact reader takes over).
    lines = [f"d{i:02},{i},Won,n{i}" for i in range(40)]
    lines[23] = "d23,23,Won"
    lines[31] = "d31,31,Won,n31,extra"
    cfg = _deals(tmp_path, "Id,Amount,Stage,Name\n" + "\n".join(lines) + "\n")
    cfg = _config(tmp_path, cfg.sources[0].model_dump()["entities"], options={"page_size": 5})
    _pull(cfg, tmp_path, "whole")

    real_stage = SnapshotStore.stage_page
    calls = {"n": 0}

    def dying_stage(self: SnapshotStore, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 6:  # inside the ragged part
            raise KeyboardInterrupt
        real_stage(self, *args, **kwargs)

    monkeypatch.setattr(SnapshotStore, "stage_page", dying_stage)
    with pytest.raises(KeyboardInterrupt):
        pull(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(SnapshotStore, "stage_page", real_stage)
    second = pull(cfg, tmp_path / "resumed", progress=False)
    # The second pull resumed the staged read (it read only what was left), then published it.
    assert second.entities[0].status == "refreshed"
    assert 0 < second.entities[0].rows_in < 40
    whole, resumed = SnapshotStore(tmp_path / "whole"), SnapshotStore(tmp_path / "resumed")
    assert_frame_equal(
        whole.scan("opportunities").collect().drop("pulled_at").sort("opportunity_id"),
        resumed.scan("opportunities").collect().drop("pulled_at").sort("opportunity_id"),
    )
    assert _quarantine(whole) == _quarantine(resumed)
    assert set(_quarantine(resumed)) == {"d23", "d31"}


def test_a_quote_that_never_closes_is_said(tmp_path: Path) -> None:
    text = 'Id,Amount,Stage,Name\nd1,1,Won,a\nd2,2,Won,"runs away\nd3,3,Won,c\nd4,4,Won,d\n'
    result, store = _pull(_deals(tmp_path, text), tmp_path)
    assert result.for_entity("opportunities") == (1, 1)
    reason = _quarantine(store)["d2"][2]
    assert (
        reason
        == 'a quote (") that never closes: the record on line 3 runs to the end of the export'
    )


def test_a_quote_that_never_closes_in_the_first_record_is_said(tmp_path: Path) -> None:
    """Counting records stops at the open quote (the count is unknown), so the export is not
    taken for one with a header and no rows: the record is quarantined with the reason."""
    text = 'Id,Amount,Stage,Name\nd1,1,Won,"runs away\nd2,2,Won,c\n'
    result, store = _pull(_deals(tmp_path, text), tmp_path)
    assert result.for_entity("opportunities") == (0, 1)
    assert (
        _quarantine(store)["d1"][2]
        == 'a quote (") that never closes: the record on line 2 runs to the end of the export'
    )


# -- encodings -----------------------------------------------------------------------------

GERMAN = "Id;Betrag;Phase;Kunde\nd1;1.234,56 €;Won;Müller GmbH\nd2;(12,50 €);Lost;Straße\u2019s\n"
GERMAN_OPTIONS = {"separator": ";", "decimal": ",", "thousands": ".", "currency": "€"}
GERMAN_COLUMNS = {"opportunity_id": "Id", "amount": "Betrag", "stage": "Phase", "name": "Kunde"}


def test_a_german_excel_export_in_cp1252_decodes_exactly(tmp_path: Path) -> None:
    cfg = _deals(
        tmp_path,
        GERMAN.encode("cp1252"),
        columns=GERMAN_COLUMNS,
        negative="parentheses",
        encoding="cp1252",
        **GERMAN_OPTIONS,
    )
    result, store = _pull(cfg, tmp_path)
    assert result.for_entity("opportunities") == (2, 0)
    got = _typed(store).select("opportunity_id", "amount", "name").rows()
    assert got == [("d1", 1234.56, "Müller GmbH"), ("d2", -12.5, "Straße\u2019s")]


@pytest.mark.parametrize(
    ("encoding", "data", "separator"),
    [
        ("latin-1", "Id,Amount,Stage,Name\nd1,5,Won,Müller\n".encode("latin-1"), ","),
        ("cp1252", "Id,Amount,Stage,Name\nd1,5,Won,Müller\u2019s €\n".encode("cp1252"), ","),
        # Excel's "Unicode text": UTF-16 little-endian with a byte-order mark, tab-separated.
        ("utf-16", "Id\tAmount\tStage\tName\r\nd1\t5\tWon\tMüller 東京\r\n".encode("utf-16"), "\t"),
        ("utf-16be", "Id,Amount,Stage,Name\nd1,5,Won,Müller\n".encode("utf-16-be"), ","),
    ],
)
def test_encodings_decode_correctly(
    tmp_path: Path, encoding: str, data: bytes, separator: str
) -> None:
    cfg = _deals(tmp_path, data, name="deals.txt", encoding=encoding, separator=separator)
    result, store = _pull(cfg, tmp_path)
    assert result.for_entity("opportunities") == (1, 0)
    expected = data.decode({"latin-1": "latin-1", "cp1252": "cp1252"}.get(encoding, encoding))
    name = expected.strip().splitlines()[-1].split(separator)[-1]
    assert _typed(store)["name"].to_list() == [name]
    assert "�" not in name


def test_a_latin1_export_read_as_utf8_names_the_byte_line_and_encoding(tmp_path: Path) -> None:
    data = "Id,Amount,Stage,Name\nd1,5,Won,Acme\nd2,6,Won,Müller\n".encode("latin-1")
    with pytest.raises(ExportEncodingError) as err:
        _pull(_deals(tmp_path, data), tmp_path)
    assert err.value.code == "RG405"
    assert "is not utf8: 0xFC at byte 45 on line 3" in err.value.message
    assert err.value.hint is not None and 'set encoding = "cp1252"' in err.value.hint


def test_utf16_read_as_utf8_says_so(tmp_path: Path) -> None:
    data = "Id,Amount,Stage,Name\nd1,5,Won,x\n".encode("utf-16")
    with pytest.raises(ExportFormatError, match="UTF-16 byte-order mark") as err:
        _pull(_deals(tmp_path, data), tmp_path)
    assert err.value.hint == 'set encoding = "utf-16" for the entity (or the source)'
    no_bom = "Id,Amount,Stage,Name\nd1,5,Won,x\n".encode("utf-16-le")
    with pytest.raises(ExportEncodingError, match="no byte-order mark"):
        _pull(_deals(tmp_path, no_bom, encoding="utf-16"), tmp_path)


# -- header, separator and file-level errors ------------------------------------------------


def test_duplicate_column_names_are_an_error_naming_both(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError) as err:
        _pull(_deals(tmp_path, "Id,Amount,Stage,Amount\nd1,1,Won,2\n"), tmp_path)
    assert err.value.code == "RG404"
    assert "columns 2 and 4 of" in err.value.message and "both named 'Amount'" in err.value.message


def test_a_wrong_separator_is_diagnosed_as_such(tmp_path: Path) -> None:
    with pytest.raises(ExportFormatError) as err:
        _pull(_deals(tmp_path, "Id;Amount;Stage;Name\nd1;1;Won;x\n"), tmp_path)
    assert "one column containing ';' 3 times" in err.value.message
    assert err.value.hint is not None and err.value.hint.startswith('set separator = ";"')


def test_separator_encoding_and_numbers_are_set_per_entity(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_bytes(GERMAN.encode("cp1252"))
    (tmp_path / "accounts.csv").write_text('id,name,revenue\na1,Acme,"1,500.5"\n')
    entities = {
        "opportunities": {
            "path": "deals.csv",
            "columns": GERMAN_COLUMNS,
            "encoding": "cp1252",
            "negative": "parentheses",
            **GERMAN_OPTIONS,
        },
        "accounts": {
            "path": "accounts.csv",
            "columns": {"account_id": "id", "name": "name", "annual_revenue": "revenue"},
        },
    }
    # The source's options are the default: accounts inherit its thousands separator.
    result, store = _pull(_config(tmp_path, entities, options={"thousands": ","}), tmp_path)
    assert result.for_entity("opportunities") == (2, 0)
    assert result.for_entity("accounts") == (1, 0)
    assert store.scan("accounts").collect()["annual_revenue"].to_list() == [1500.5]
    # Changing how an export is read reads it again from the start.
    entities["opportunities"]["thousands"] = ""
    again = pull(_config(tmp_path, entities, options={"thousands": ","}), tmp_path / "snap")
    assert [e.status for e in again.entities][:1] == ["refreshed"]
    assert "1.234,56 €" in {v[1] for v in _quarantine(SnapshotStore(tmp_path / "snap")).values()}


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"", "deals.csv", "is empty"),
        (b"\xef\xbb\xbf  \n", "deals.csv", "is empty"),
        (b"Id,Amount,Stage,Name\n", "deals.csv", "has a header but no rows"),
        (b"\x00\x01SECRET=hunter2\x00" * 50, "deals.csv", "looks binary"),
        (b"PK\x03\x04SECRET=hunter2", "deals.csv", "Excel .xlsx workbook"),
        (b"PAR1SECRET=hunter2", "deals.csv", 'set format = "parquet"'),
        (b"SECRET=hunter2,a,b\nc,d,e\n", "deals.parquet", "not a Parquet file"),
        (b"", "deals.parquet", "is empty"),
        (b"Id,Amount,Stage,Name\rd1,1,Won,x\r", "deals.csv", "bare carriage return"),
    ],
)
def test_unreadable_files_are_clear_errors_that_never_echo_them(
    tmp_path: Path, data: bytes, name: str, words: str
) -> None:
    with pytest.raises(ExportFormatError) as err:
        _pull(_deals(tmp_path, data, name=name), tmp_path)
    text = err.value.render()
    assert words in text and "[RG404]" in text
    assert "hunter2" not in text


def test_a_header_only_export_can_be_allowed(tmp_path: Path) -> None:
    result, _ = _pull(_deals(tmp_path, "Id,Amount,Stage,Name\n", allow_empty=True), tmp_path)
    assert result.for_entity("opportunities") == (0, 0)


def test_the_cli_prints_the_fix_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deals.csv").write_text("Id;Amount\nd1;5\n", encoding="utf-8")
    (tmp_path / "revgov.toml").write_text(
        '[[sources]]\nname = "crm"\nconnector = "files"\n'
        '[sources.entities.opportunities]\npath = "deals.csv"\n'
        '[sources.entities.opportunities.columns]\nopportunity_id = "Id"\n',
        encoding="utf-8",
    )
    code = main(["pull", "--config", str(tmp_path / "revgov.toml"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == EXIT_REVGOV_ERROR
    assert "[RG404]" in err and 'set separator = ";"' in err and "Traceback" not in err


# -- values: numbers, NaN, dates -------------------------------------------------------------


def test_decimal_comma_values_in_a_default_export_say_which_option_reads_them(
    tmp_path: Path,
) -> None:
    text = (
        'Id,Amount,Stage,Name\nd1,"1.234,56",Won,a\nd2,"12,5",Won,b\nd3,1.200,Won,c\nd4,7,Won,d\n'
    )
    result, store = _pull(_deals(tmp_path, text), tmp_path)
    assert result.for_entity("opportunities") == (1, 3)
    q = _quarantine(store)
    assert 'a number written with decimal = ",", thousands = "."' in q["d1"][2]
    assert 'decimal = ","' in q["d2"][2]
    # 1.200 is not silently 1.2 in an export whose numbers use the decimal comma.
    assert q["d3"][1:] == (
        "1.200",
        "ambiguous: 1.2 with a decimal point, but other values of this column use a decimal "
        'comma, which makes it 1200: set decimal = "," and thousands = "." in the export\'s '
        "number format",
    )
    fixed = _deals(tmp_path, text, decimal=",", thousands=".")
    result, store = _pull(fixed, tmp_path, "fixed")
    assert result.for_entity("opportunities") == (4, 0)
    assert _typed(store)["amount"].to_list() == [1234.56, 12.5, 1200.0, 7.0]


def test_one_nan_amount_no_longer_turns_the_kpis_into_nan(tmp_path: Path) -> None:
    text = (
        "Id,Amount,Stage,Name,Created,Closed\n"
        "d1,100,Won,a,2024-01-05,2024-02-01\n"
        "d2,NaN,Won,b,2024-01-06,2024-02-02\n"
        "d3,inf,Lost,c,2024-01-07,2024-02-03\n"
        "d4,50,Lost,d,2024-01-08,2024-02-04\n"
    )
    columns = {**COLUMNS, "created_at": "Created", "close_date": "Closed"}
    result, store = _pull(_deals(tmp_path, text, columns=columns), tmp_path)
    assert result.for_entity("opportunities") == (2, 2)
    assert {k: v[2] for k, v in _quarantine(store).items()} == {
        "d2": "not a finite number (NaN and infinity are not values)",
        "d3": "not a finite number (NaN and infinity are not values)",
    }
    deals = _typed(store)
    assert pipeline_created(deals)["pipeline_amount"].to_list() == [150.0]
    assert bookings(deals)["bookings"].to_list() == [100.0]
    rate = win_rate_by_amount(deals)
    assert rate["win_rate"].to_list() == [100.0 / 150.0]


def test_dates_with_an_offset_are_quarantined_and_datetimes_keep_them(tmp_path: Path) -> None:
    # A HubSpot-style export: create dates with an offset are instants, close dates are dates.
    text = (
        "Id,Amount,Stage,Name,Create Date,Close Date\n"
        "d1,1,Won,a,2024-03-01T23:30-0500,2024-03-01\n"
        "d2,1,Won,b,2024-03-01T23:30-0500,2024-03-01T23:30-0500\n"
        "d3,1,Won,c,2024-03-01 08:00,2024-03-01 23:30\n"
    )
    columns = {**COLUMNS, "created_at": "Create Date", "close_date": "Close Date"}
    result, store = _pull(_deals(tmp_path, text, columns=columns), tmp_path)
    assert result.for_entity("opportunities") == (2, 1)
    field, raw, reason = _quarantine(store)["d2"]
    assert (field, raw) == ("close_date", "2024-03-01T23:30-0500")
    assert reason.startswith("a date column holds a time with a UTC offset")
    got = _typed(store)
    assert got["created_at"].to_list() == [
        datetime(2024, 3, 2, 4, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
    ]
    assert got["close_date"].to_list() == [date(2024, 3, 1), date(2024, 3, 1)]


def test_parquet_nan_and_infinity_are_quarantined(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "Id": ["d1", "d2", "d3"],
            "Amount": [10.0, float("nan"), float("-inf")],
            "Stage": ["Won"] * 3,
            "Name": ["a", "b", "c"],
        }
    ).write_parquet(tmp_path / "deals.parquet")
    cfg = _config(tmp_path, {"opportunities": {"path": "deals.parquet", "columns": COLUMNS}})
    result, store = _pull(cfg, tmp_path)
    assert result.for_entity("opportunities") == (1, 2)
    assert {k: v[1] for k, v in _quarantine(store).items()} == {"d2": "NaN", "d3": "-inf"}


def test_every_failure_is_a_revgov_error_with_a_code(tmp_path: Path) -> None:
    """A sample of the cases above through one door: none is an internal error."""
    cases: list[bytes] = [
        b"Id,Id\n1,2\n",
        b"Id;Amount\n",
        "Id,Amount,Stage,Name\nd1,\xfc\n".encode("latin-1"),
        b"\x00" * 100,
    ]
    for data in cases:
        with pytest.raises(RevgovError) as err:
            _pull(_deals(tmp_path, data), tmp_path)
        assert err.value.code in {"RG403", "RG404", "RG405"}


def test_config_check_reports_unusable_exports_before_any_pull(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text("Id;Amount;Stage;Name\nd1;1;Won;x\n", encoding="utf-8")
    (tmp_path / "accounts.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "people.csv").write_bytes(b"\x00\x01" * 40)
    entities = {
        "opportunities": {"path": "deals.csv", "columns": COLUMNS},
        "accounts": {"path": "accounts.parquet", "columns": {"account_id": "id"}},
        "people": {"path": "people.csv", "columns": {"person_id": "id"}},
    }
    cfg = _config(tmp_path, entities)
    connector = FilesConnector(cfg.sources[0], ConnectorContext(tmp_path))
    problems = connector.check()
    assert len(problems) == 3 and all(p.startswith("[RG404]") for p in problems)
    assert 'set separator = ";"' in problems[0]
    assert "not a Parquet file" in problems[1] and "looks binary" in problems[2]
