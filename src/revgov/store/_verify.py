"""``revgov snapshot verify``: check every table of a snapshot and name what is broken.

For each Delta table (the entities, the quarantine, the notes, the pull runs and the page logs
of reads in progress): its log loads, and each data file its current version names exists,
has the size the log recorded, is a readable Parquet file, and holds the number of rows the
log's statistics say.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow.parquet as pq

from revgov.errors import StoreError
from revgov.model.frames import ENTITIES
from revgov.store._location import Location
from revgov.store._tables import file_list, load_table

__all__ = ["Problem", "TableCheck", "verify"]


@dataclass(frozen=True)
class Problem:
    table: str
    path: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.table}/{self.path}" if self.path else self.table
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class TableCheck:
    table: str
    version: int | None
    files: int
    rows: int
    problems: tuple[Problem, ...]


def _tables(loc: Location, meta: tuple[str, ...]) -> list[str]:
    found = [e for e in loc.list_dirs() if e in ENTITIES]
    found += [m for m in meta if loc.exists(f"{m}/_delta_log")]
    for entity in loc.list_dirs("_revgov/reads"):
        found += [f"_revgov/reads/{entity}/{s}" for s in loc.list_dirs(f"_revgov/reads/{entity}")]
    return found


def _check_file(loc: Location, rel: str, path: str, size: int, rows: int | None) -> str | None:
    actual = loc.size(f"{rel}/{path}")
    if actual is None:
        return "missing"
    if actual != size:
        return f"{actual:,} bytes, the log says {size:,}"
    try:
        fs, full = loc._fs(loc.join(rel, path))
        with fs.open_input_file(full) as fh:
            stored = pq.ParquetFile(fh).metadata.num_rows
    except Exception as exc:  # any failure to parse is the finding itself
        return f"not a readable Parquet file ({type(exc).__name__})"
    if rows is not None and stored != rows:
        return f"holds {stored:,} rows, the log says {rows:,}"
    return None


def verify(loc: Location, meta: tuple[str, ...]) -> list[TableCheck]:
    """Check every table of the snapshot at ``loc`` (``meta``: its non-entity tables)."""
    out = []
    for rel in _tables(loc, meta):
        if not loc.exists(f"{rel}/_delta_log"):
            out.append(TableCheck(rel, None, 0, 0, (Problem(rel, None, "no _delta_log"),)))
            continue
        try:
            table = load_table(loc, rel)
            if table is None:
                raise StoreError("the log names no table")
            files = file_list(table)
        except StoreError as exc:
            out.append(TableCheck(rel, None, 0, 0, (Problem(rel, "_delta_log", exc.message),)))
            continue
        problems = []
        for path, size, rows in files.select("path", "size", "rows").iter_rows():
            problem = _check_file(loc, rel, path, int(size), rows)
            if problem:
                problems.append(Problem(rel, path, problem))
        total = int(files["rows"].fill_null(0).sum())
        out.append(TableCheck(rel, table.version(), files.height, total, tuple(problems)))
    return out
