"""Reading a CSV export in pages, every record accounted for.

Two readers share the work. The fast one is polars' CSV parser, given the export a block of
whole records at a time (cut after the last newline outside quotes, so memory holds a block and
a page however large the file): it reads every block of a regular export, but cannot say which
records had too few fields (it pads them with nulls) and stops at a record with too many. So a
block is taken from it only when it proves the block regular: no error, a row for each record
end, and no null in the last column (where a short record's padding would show). At the first
block it cannot prove, the exact reader takes over for the rest of the file:
pyarrow's streaming CSV reader, whose invalid-row handler reports each record whose field
count is wrong, with its text. Those records go to quarantine (``REJECT_COLUMN``) with their
line, the pull goes on; a record whose extra fields are all empty (a trailing separator) loses
nothing and is kept.

Both readers number records the same way (one row per record, blank lines included), so a
cursor's row count resumes either. Line numbers are exact: the exact reader counts the newlines
inside quoted fields, so a record after a multi-line field still gets its physical line. At the
end, every line of the file must have been read, and a quote that never closes is said.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from revgov.connectors.files._sniff import encoding_error, undecodable
from revgov.connectors.files.settings import ExportFormat
from revgov.errors import ExportFormatError
from revgov.model import REJECT_COLUMN, REJECT_DTYPE

__all__ = ["RECORD_FIELD", "CsvExport", "csv_pages", "read_header"]

#: The quarantine's ``field`` for a record that could not be split into fields.
RECORD_FIELD = "(record)"
#: Separators a one-column header is checked for, most common first.
_SEPARATORS = (";", ",", "\t", "|")
#: pyarrow parses this much at a time: a record must fit (memory grows with it, time does not).
_BLOCK = 4 << 20
_RAW_LIMIT = 1000
_CHUNK = 1 << 20
#: The fast reader parses this much at a time (whole records: up to the last record end).
_FAST_BLOCK = 8 << 20
_NEWLINE, _QUOTE = ord("\n"), ord('"')


@dataclass(frozen=True)
class CsvExport:
    """A UTF-8 CSV export ready to page: its file, separator and checked header."""

    path: Path
    shown: Path  # the user's file, for messages (``path`` may be a transcoded copy)
    fmt: ExportFormat
    header: tuple[str, ...]
    header_newlines: int
    where: str

    @property
    def separator(self) -> str:
        return self.fmt.separator


def read_header(path: Path, shown: Path, fmt: ExportFormat, *, where: str) -> CsvExport:
    """The export's header, refused if it names a column twice or is one column holding
    another separator. Unnamed columns are called ``column_N`` (their position)."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        try:
            header = next(csv.reader(fh, delimiter=fmt.separator, quotechar='"'), None)
        except UnicodeDecodeError:
            raise encoding_error(shown, fmt, where=where) from None
        except csv.Error as exc:
            raise ExportFormatError(
                f"{where}: the header of {str(shown)!r} cannot be read as CSV ({exc})",
                hint="check the export's separator and quoting",
            ) from exc
    if not header:
        raise ExportFormatError(
            f"{where}: {str(shown)!r} has no header row", hint="re-export it with a header"
        )
    names = [name or f"column_{i}" for i, name in enumerate(header, start=1)]
    first: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in first:
            raise ExportFormatError(
                f"{where}: columns {first[name]} and {i} of {str(shown)!r} are both named {name!r}",
                hint="rename one of them in the export: revgov never renames columns, so a "
                "mapping always means one column",
            )
        first[name] = i
    if len(names) == 1:
        _check_separator(names[0], fmt.separator, shown, where)
    newlines = sum(name.count("\n") for name in header)
    return CsvExport(path, shown, fmt, tuple(names), newlines, where)


def _check_separator(name: str, separator: str, shown: Path, where: str) -> None:
    counts = {s: name.count(s) for s in _SEPARATORS if s != separator}
    best = max(counts, key=lambda s: counts[s])
    if counts[best]:
        raise ExportFormatError(
            f"{where}: the header of {str(shown)!r} is one column containing {best!r} "
            f"{counts[best]} times: the export is separated by {best!r}, not {separator!r}",
            hint=f"set separator = {json.dumps(best)} for the entity (or in the source's options)",
        )


def count_records(export: CsvExport) -> int | None:
    """How many records the export holds (for progress, and to refuse an export that is only
    a header), or None if that cannot be told (a quote that never closes).

    Counted the way both readers number records: newlines outside quotes, the header's
    excepted, and a last record without one. The file is read in chunks rather than handed
    to polars, which maps the whole export into memory to count it (1.2 GB of RSS at 16M
    records)."""
    newlines, open_quote, ends_with_newline = 0, False, True
    with export.path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            count, open_quote = _record_ends(chunk, open_quote)
            newlines += count
            ends_with_newline = chunk.endswith(b"\n")
    if open_quote:
        return None
    return max(newlines - 1, 0) if ends_with_newline else newlines


def _record_ends(data: bytes, open_quote: bool) -> tuple[int, bool]:
    """How many newlines of ``data`` end a record (are outside quotes), given whether a
    quote was open before it; and whether one is open after it. A doubled quote inside a
    quoted field closes and reopens, so parity is enough."""
    ends = _unquoted_newlines(data, open_quote)
    return ends.size, open_quote ^ bool(data.count(b'"') % 2)


def _unquoted_newlines(data: bytes, open_quote: bool) -> np.ndarray:
    """Offsets of the newlines of ``data`` outside quotes."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if b'"' not in data:  # most blocks of most exports: no quote to place them against
        return np.flatnonzero(raw == _NEWLINE) if not open_quote else np.empty(0, np.intp)
    newlines = np.flatnonzero(raw == _NEWLINE)
    quotes = np.flatnonzero(raw == _QUOTE)
    before = np.searchsorted(quotes, newlines) + int(open_quote)
    found: np.ndarray = newlines[before % 2 == 0]
    return found


class _IrregularError(Exception):
    """The fast reader cannot prove a block regular: the exact reader takes over."""


def csv_pages(export: CsvExport, start: int, page_size: int) -> Iterator[pl.DataFrame]:
    """Pages of ``page_size`` records from record ``start`` (0: the first after the header),
    as text columns named by the header; rejected records carry ``REJECT_COLUMN``."""
    fast = _FastReader(export, start, page_size)
    try:
        yield from fast
        return
    except (_IrregularError, pl.exceptions.PolarsError):
        pass  # a record with too many fields, broken quoting, bad bytes: the exact reader says
    yield from _ExactReader(export, fast.offset, page_size)


class _FastReader:
    """The regular records of an export from ``start`` on, parsed by polars a block of whole
    records at a time (see the module docstring).

    The file is read in blocks of :data:`_FAST_BLOCK` bytes, cut after the last newline
    outside quotes, and each piece is parsed on its own, so memory holds a block and a page
    whatever the size of the export (polars' streaming reader reads ahead of a slow consumer
    by hundreds of MB). A block is proven regular when it parses, has as many rows as it has
    record ends, and no null in the last column (a short record's padding); otherwise
    :class:`_IrregularError` is raised before any of its rows are given, and ``offset`` is where
    the exact reader resumes."""

    def __init__(self, export: CsvExport, start: int, page_size: int) -> None:
        self.export = export
        self.start = start
        self.page_size = page_size
        self.offset = start  # records given so far (pages yielded), counted from 0
        self.schema = dict.fromkeys(export.header, pl.String())

    def __iter__(self) -> Iterator[pl.DataFrame]:
        held: pl.DataFrame | None = None
        for frame in self._blocks():
            held = frame if held is None else pl.concat([held, frame])
            while held.height >= self.page_size:
                page, held = held.head(self.page_size), held.slice(self.page_size)
                self.offset += page.height
                yield page
        if held is not None and held.height:
            self.offset += held.height
            yield held

    def _blocks(self) -> Iterator[pl.DataFrame]:
        """The records from ``start`` on, a proven block at a time."""
        seen = 0  # records of the file before the current block
        with self.export.path.open("rb") as fh:
            rest = self._skip_header(fh)
            while True:
                chunk = fh.read(_FAST_BLOCK)
                data = rest + chunk if rest else chunk
                if chunk:
                    ends = _unquoted_newlines(data, False)  # data starts at a record
                    if ends.size == 0:
                        if len(data) > _BLOCK:  # a record larger than a block, or a quote
                            raise _IrregularError  # that never closes: the exact reader says
                        rest = data
                        continue
                    cut = int(ends[-1]) + 1
                    piece, rest, records = data[:cut], data[cut:], int(ends.size)
                else:
                    piece, rest = data, b""
                    count, open_quote = _record_ends(piece, False)
                    if open_quote:
                        raise _IrregularError
                    records = count + (1 if piece and not piece.endswith(b"\n") else 0)
                if seen + records > self.start:
                    yield self._parse(piece, records, max(self.start - seen, 0))
                seen += records
                if not chunk:
                    return

    def _skip_header(self, fh: BinaryIO) -> bytes:
        """Read past the header record (which may hold quoted newlines); the bytes read
        beyond it."""
        open_quote = False
        while chunk := fh.read(_CHUNK):
            ends = _unquoted_newlines(chunk, open_quote)
            if ends.size:
                return chunk[int(ends[0]) + 1 :]
            open_quote = _record_ends(chunk, open_quote)[1]
        return b""  # the header is the whole file

    def _parse(self, piece: bytes, records: int, skip: int) -> pl.DataFrame:
        frame = pl.read_csv(
            io.BytesIO(piece),
            has_header=False,
            schema=self.schema,
            separator=self.export.separator,
            quote_char='"',
            raise_if_empty=False,
        )
        last = self.export.header[-1]
        if frame.height != records or frame[last].null_count():
            raise _IrregularError  # a blank line, a short record padded with nulls
        return frame.slice(skip) if skip else frame


class _ExactReader:
    """The records of an export from ``start`` on, through pyarrow, in pages (see module)."""

    def __init__(self, export: CsvExport, start: int, page_size: int) -> None:
        self.export = export
        self.start = start
        self.page_size = page_size
        self.invalid: list[pacsv.InvalidRow] = []
        self.records = 0  # data records parsed so far (blank lines included)
        self.newlines = export.header_newlines  # newlines inside fields parsed so far
        self.last_newlines = 0  # of the last record
        self.last_line = 0  # where the last record starts

    def _handler(self, row: pacsv.InvalidRow) -> str:
        self.invalid.append(row)
        return "skip"

    def _reader(self) -> pacsv.CSVStreamingReader:
        names = list(self.export.header)
        return pacsv.open_csv(
            self.export.path,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=_BLOCK, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.export.separator,
                quote_char='"',
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=self._handler,
            ),
            # Blanks as the fast reader has them: an unquoted empty field is null, a quoted one
            # is "", and no other text ("NA", "null") is taken for a null.
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )

    def __iter__(self) -> Iterator[pl.DataFrame]:
        pending: list[pl.DataFrame] = []
        held = 0
        try:
            for batch in self._reader():
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)  # a record batch is a frame
                piece = self._records(frame, multiline=_has_newline(batch))
                pending.append(piece)
                held += piece.height
                # Keep one record back: the end-of-file checks may still reject the last one.
                while held > self.page_size:
                    page = pl.concat(pending, how="diagonal_relaxed")
                    yield page.head(self.page_size).drop("__rec")
                    pending, held = [page.slice(self.page_size)], held - self.page_size
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            raise self._unparsable() from exc
        if self.invalid:  # after the last valid row: they are the last records
            empty = pl.DataFrame(schema=dict.fromkeys(self.export.header, pl.String()))
            pending.append(self._records(empty, final=True))
        tail = pl.concat(pending, how="diagonal_relaxed") if pending else pl.DataFrame()
        tail = self._end_of_file(tail)
        if tail.height:
            yield tail.drop("__rec")

    def _records(
        self, frame: pl.DataFrame, *, multiline: bool = True, final: bool = False
    ) -> pl.DataFrame:
        """The records of one parsed batch in file order, with ``__rec`` (record index): its
        valid rows and the invalid rows among them, rejected. pyarrow may report an invalid
        row while parsing ahead, never later than the batch that holds it; so the batch's
        valid rows take the first free indices, and the invalid rows before its last one are
        its own (``final``: every invalid row left is). ``multiline``: a field of the batch
        may hold a newline (False spares counting them row by row)."""
        first = self.records
        invalid = sorted(self.invalid, key=lambda row: row.number)
        known = np.array([row.number - 2 for row in invalid], dtype=np.int64)
        slots = np.arange(first, first + frame.height + known.size, dtype=np.int64)
        valid_idx = slots[~np.isin(slots, known)][: frame.height]
        end = int(valid_idx[-1]) + 1 if valid_idx.size else first
        if final:
            end = max(end, int(known.max()) + 1 if known.size else end)
        taken = [row for row in invalid if row.number - 2 < end]
        self.invalid = [row for row in invalid if row.number - 2 >= end]
        n = end - first
        counts = np.zeros(n, dtype=np.int64)
        # Most batches hold no newline inside a field; in those that do, count them by record.
        if multiline and frame.height:
            found = frame.select(pl.any_horizontal(pl.all().str.contains("\n", literal=True)))
            rows_with = found.to_series().fill_null(False).arg_true()
            inside = pl.sum_horizontal(pl.all().str.count_matches("\n", literal=True))
            spans = frame[rows_with].select(inside).to_series().to_numpy()
            counts[valid_idx[rows_with.to_numpy()] - first] = spans
        for row in taken:
            counts[row.number - 2 - first] = row.text.count("\n")
        before = self.newlines + np.cumsum(counts) - counts
        self.newlines += int(counts.sum())
        self.records = first + len(taken) + frame.height  # a gap is caught at the end
        if n:
            self.last_newlines = int(counts[-1])
            self.last_line = 2 + end - 1 + int(before[-1])
        valid = frame.with_columns(pl.Series("__rec", valid_idx))
        # A record's line: its number (the header is record 1) plus the newlines inside
        # the fields before it.
        rows = [self._row(row, row.number + int(before[row.number - 2 - first])) for row in taken]
        out = valid
        if rows:
            schema: dict[str, pl.DataType] = dict.fromkeys(self.export.header, pl.String())
            schema |= {"__rec": pl.Int64(), REJECT_COLUMN: REJECT_DTYPE}
            rejected = pl.DataFrame(rows, schema=schema, orient="row")
            out = pl.concat([valid, rejected], how="diagonal_relaxed").sort("__rec")
        return out if first >= self.start else out.filter(pl.col("__rec") >= self.start)

    def _row(self, row: pacsv.InvalidRow, line: int) -> list[object]:
        """A record with the wrong number of fields: its fields as far as they go, and its
        rejection (none when the only extra fields are empty: a trailing separator)."""
        fields = next(csv.reader(io.StringIO(row.text), delimiter=self.export.separator), [])
        width = len(self.export.header)
        values: list[object] = [*fields[:width], *([None] * (width - len(fields)))]
        extra = fields[width:]
        reject = None
        if not extra or any(extra):
            span = row.text.count("\n")
            lines = f"line {line}" if not span else f"lines {line}-{line + span}"
            kind = "too few" if row.actual_columns < row.expected_columns else "too many"
            reject = {
                "field": RECORD_FIELD,
                "raw": _clip(row.text),
                "reason": f"{kind} fields ({row.actual_columns} of {row.expected_columns}) "
                f"on {lines} of the export",
            }
        return [*values, row.number - 2, reject]

    def _end_of_file(self, tail: pl.DataFrame) -> pl.DataFrame:
        """Every line of the file was read; a last record spanning lines did not swallow the
        rest of the file through a quote that never closes."""
        newlines, ends_with_newline = _count_bytes(self.export.path, b"\n")
        lines = newlines + (0 if ends_with_newline else 1)
        read = 1 + self.records + self.newlines
        if read < lines:
            raise ExportFormatError(
                f"{self.export.where}: lines {read + 1}-{lines} of {str(self.export.shown)!r} "
                "were not read as records: a quoted field that never closes?",
                hint="check the quoting of the export around that line",
            )
        if self.last_newlines and tail.height and _count_bytes(self.export.path, b'"')[0] % 2:
            line = self.last_line
            reject = {
                "field": RECORD_FIELD,
                "raw": None,
                "reason": f'a quote (") that never closes: the record on line {line} runs '
                "to the end of the export",
            }
            last = tail.height - 1
            column = tail[REJECT_COLUMN] if REJECT_COLUMN in tail.columns else None
            values = column.to_list() if column is not None else [None] * tail.height
            values[last] = values[last] or reject
            tail = tail.with_columns(pl.Series(REJECT_COLUMN, values, dtype=REJECT_DTYPE))
        return tail

    def _unparsable(self) -> Exception:
        """The error for a file pyarrow gave up on: bad bytes, or quoting it cannot follow."""
        fmt = self.export.fmt
        if undecodable(self.export.path, fmt.codec) is not None:
            return encoding_error(self.export.shown, fmt, where=self.export.where)
        line = 2 + self.records + self.newlines
        return ExportFormatError(
            f"{self.export.where}: {str(self.export.shown)!r} cannot be parsed after record "
            f"{self.records} (from about line {line}): a quoted field that never closes, or a "
            "record larger than 4 MiB",
            hint="check the quoting of the export around that line",
        )


def _has_newline(batch: pa.RecordBatch) -> bool:
    """Whether any text of ``batch`` may hold a newline: one scan of each column's bytes."""
    for column in batch.columns:
        data = column.buffers()[2]  # validity, offsets, then the bytes of every value
        if data is not None and (np.frombuffer(data, dtype=np.uint8) == 10).any():
            return True
    return False


def _clip(text: str) -> str:
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "…"


def _count_bytes(path: Path, byte: bytes) -> tuple[int, bool]:
    """How often ``byte`` occurs in ``path``, and whether the file ends with a newline."""
    count = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            count += chunk.count(byte)
            last = chunk[-1:]
    return count, last == b"\n"
