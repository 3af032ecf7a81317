"""The fast CSV reader parses an export a block of whole records at a time: records cut by a
block boundary, newlines and quotes inside fields, and resumed reads give exactly what polars
reads from the whole file, in pages of the asked size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import revgov.connectors.files._csv as csv_module
from revgov.connectors.files._csv import count_records, csv_pages, read_header
from revgov.connectors.files.settings import ExportFormat
from revgov.model._numbers import NumberFormat

FMT = ExportFormat(separator=",", encoding="utf8", numbers=NumberFormat())


def _export(path: Path, n: int, seed: int) -> pl.DataFrame:
    """Text with separators, doubled quotes, newlines (LF and CRLF) and non-ASCII, written
    with polars' quoting; the last column is never empty (an empty one sends a block to the
    exact reader, which other tests cover)."""
    rng = np.random.default_rng(seed)
    words = np.array(["plain", "a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "Müller", ""])
    frame = pl.DataFrame(
        {
            "Id": [f"006{i}" for i in range(n)],
            "Note": words[rng.integers(0, len(words), n)],
            "Name": [f"deal {i} {w}" for i, w in enumerate(words[rng.integers(0, 6, n)])],
        }
    )
    frame.write_csv(path)
    return pl.read_csv(path, schema=dict.fromkeys(frame.columns, pl.String()))


@pytest.mark.parametrize("block", [16, 61, 4096])
@pytest.mark.parametrize(("start", "page_size"), [(0, 1), (0, 7), (3, 50), (137, 1000)])
def test_blocks_give_the_records_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int, start: int, page_size: int
) -> None:
    path = tmp_path / "deals.csv"
    want = _export(path, 400, seed=block + start)
    monkeypatch.setattr(csv_module, "_FAST_BLOCK", block)

    def no_exact_reader(*args: object) -> None:
        raise AssertionError("a regular export is read by the fast reader to its end")

    monkeypatch.setattr(csv_module, "_ExactReader", no_exact_reader)
    export = read_header(path, path, FMT, where="test")
    pages = list(csv_pages(export, start, page_size))
    assert all(p.height == page_size for p in pages[:-1])
    assert_frame_equal(pl.concat(pages), want.slice(start))
    assert count_records(export) == want.height


def test_a_record_cut_short_at_the_end_goes_to_the_exact_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quote that never closes leaves the fast reader without a record end: the exact
    reader takes over where the given pages stop, and rejects that record with its line."""
    path = tmp_path / "deals.csv"
    want = _export(path, 120, seed=1)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('006999,"never closed,x\n')
    monkeypatch.setattr(csv_module, "_FAST_BLOCK", 64)
    export = read_header(path, path, FMT, where="test")
    pages = list(csv_pages(export, 0, 50))
    got = pl.concat(pages, how="diagonal_relaxed")
    assert_frame_equal(got.head(want.height).select(want.columns), want)
    assert count_records(export) is None
    reasons = got[csv_module.REJECT_COLUMN].drop_nulls().struct.field("reason").to_list()
    assert got.height == want.height + 1
    assert reasons == [f"too few fields (2 of 3) on line {_lines(path)} of the export"]


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n")
