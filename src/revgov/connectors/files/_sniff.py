"""What an export file is before it is parsed: empty, binary, another format, its encoding.

:func:`check_bytes` refuses what no CSV or Parquet reader should be handed (and says what the
file is instead); :func:`utf8_copy` turns an export in another encoding into UTF-8 with flat
memory, chunk by chunk; :func:`encoding_error` locates bytes that are not in the declared
encoding and names the encoding that reads them. Errors never echo a file's contents: a file
that is not a readable export may hold anything.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from revgov.connectors.files.settings import ENCODINGS, ExportFormat
from revgov.errors import ExportEncodingError, ExportFormatError

__all__ = ["check_bytes", "check_parquet", "encoding_error", "undecodable", "utf8_copy"]

_CHUNK = 1 << 20
_PEEK = 1 << 16
_BOMS = {
    codecs.BOM_UTF8: "utf8",
    codecs.BOM_UTF16_LE: "utf-16",
    codecs.BOM_UTF16_BE: "utf-16",
}
#: Leading bytes of formats people hand over instead of a CSV, and what to do about them.
_MAGIC = (
    (b"PAR1", "a Parquet file", 'set format = "parquet" for the entity'),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)", "export it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 (.xls) workbook", "export it as CSV"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first"),
    (b"%PDF", "a PDF document", "export the data as CSV"),
)


def _where(path: Path) -> str:
    return repr(str(path))


def check_bytes(path: Path, fmt: ExportFormat, *, where: str) -> None:
    """Refuse an empty, binary or other-format file, and a byte-order mark that contradicts
    the declared encoding; ``where`` names the source and entity in the message."""
    with path.open("rb") as fh:
        head = fh.read(_PEEK)
    bom = next((b for b in _BOMS if head.startswith(b)), b"")
    if not head[len(bom) :].strip():
        raise ExportFormatError(
            f"{where}: the export {_where(path)} is empty",
            hint="check that the export finished; re-export it with a header row",
        )
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            raise ExportFormatError(f"{where}: {_where(path)} is {what}, not CSV", hint=fix)
    declared = fmt.encoding
    if bom and _BOMS[bom] == "utf-16" and not declared.startswith("utf-16"):
        raise ExportFormatError(
            f"{where}: {_where(path)} starts with a UTF-16 byte-order mark but is read as "
            f"{declared}",
            hint='set encoding = "utf-16" for the entity (or the source)',
        )
    if declared == "utf-16" and not bom:
        raise ExportEncodingError(
            f"{where}: {_where(path)} is read as utf-16 but has no byte-order mark, so its byte "
            "order is unknown",
            hint='set encoding = "utf-16le" (Windows exports) or "utf-16be"',
        )
    if b"\r" in head and b"\n" not in head and not declared.startswith("utf-16"):
        raise ExportFormatError(
            f"{where}: {_where(path)} ends its lines with a bare carriage return (classic Mac "
            "OS), which the CSV readers do not split on",
            hint="convert its line endings to LF or CRLF",
        )
    if not declared.startswith("utf-16") and b"\x00" in head:
        raise ExportFormatError(
            f"{where}: {_where(path)} looks binary (a NUL byte at offset {head.index(0)}), not "
            "a CSV text file",
            hint="point the entity at the CSV export; a UTF-16 file without byte-order mark "
            'reads with encoding = "utf-16le"',
        )


def check_parquet(path: Path, *, where: str) -> None:
    """Refuse a file that does not begin and end with Parquet's magic bytes."""
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(path.stat().st_size - 4, 0))
        tail = fh.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        what = "empty" if not head else "not a Parquet file (no PAR1 magic bytes)"
        raise ExportFormatError(
            f"{where}: {_where(path)} is {what}",
            hint='re-export it as Parquet, or set format = "csv" if it is a CSV file',
        )


@contextmanager
def utf8_copy(path: Path, fmt: ExportFormat, *, where: str) -> Iterator[Path]:
    """``path`` itself if it is UTF-8, else a UTF-8 copy in a temporary directory (removed on
    exit), transcoded chunk by chunk so that memory stays flat however large the export.
    ``utf8-lossy`` is copied with undecodable bytes replaced, so both CSV readers see UTF-8."""
    if fmt.encoding == "utf8":
        yield path
        return
    errors = "replace" if fmt.encoding == "utf8-lossy" else "strict"
    decoder = codecs.getincrementaldecoder(fmt.codec)(errors=errors)
    with tempfile.TemporaryDirectory(prefix="revgov-export-") as tmp:
        out = Path(tmp) / "export.csv"
        with path.open("rb") as src, out.open("wb") as dst:
            first = True
            while True:
                chunk = src.read(_CHUNK)
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    raise encoding_error(path, fmt, where=where) from exc
                if first:
                    text, first = text.removeprefix("\ufeff"), False
                dst.write(text.encode("utf-8"))
                if not chunk:
                    break
        yield out


def undecodable(path: Path, codec: str) -> tuple[int, bytes, int] | None:
    """Where ``path`` first fails to decode with ``codec``: the byte offset, the bad bytes and
    the newlines before them; None if the whole file decodes."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = lines = 0
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object is the bytes still pending from the last chunk plus this one.
                pending = len(exc.object) - len(chunk)
                lines += exc.object[pending : max(exc.start, pending)].count(b"\n")
                return offset + exc.start - pending, exc.object[exc.start : exc.end], lines
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def encoding_error(path: Path, fmt: ExportFormat, *, where: str) -> ExportEncodingError:
    """The error for bytes of ``path`` that ``fmt``'s encoding cannot decode: where they are
    (the line too, for byte-oriented encodings) and the encodings that would read the file."""
    found = undecodable(path, fmt.codec)
    offset, bad, lines = found if found is not None else (0, b"", 0)
    readers = [name for name in _READERS if name != fmt.encoding and _decodes(path, name)]
    hint = (
        f'set encoding = "{readers[0]}" for the entity (the file decodes as '
        f"{' and '.join(readers)}); if it mixes encodings, re-export it as UTF-8"
        if readers
        else "re-export the file as UTF-8"
    )
    shown = " ".join(f"0x{b:02X}" for b in bad[:4]) or "a truncated character"
    line = "" if fmt.codec.startswith("utf-16") else f" on line {lines + 1}"
    return ExportEncodingError(
        f"{where}: {_where(path)} is not {fmt.encoding}: {shown} at byte {offset}{line}",
        hint=hint,
    )


#: Encodings offered when a file does not decode: the strict ones first (latin-1 reads any
#: byte, so it is offered last).
_READERS = ("utf8", "cp1252", "latin-1")


def _decodes(path: Path, encoding: str) -> bool:
    return undecodable(path, ENCODINGS[encoding]) is None
