"""Publishing a finished read into the snapshot: duplicates, deletions, the shrink guard, and
one commit per table.

The analysis goes over the read's primary keys (and the entity's live keys) in hash buckets of
at most :data:`BUCKET_ROWS` keys, so memory stays flat however large the read. It finds

* keys repeated within the read: every row after the first goes to quarantine with reason
  ``duplicate key in source`` (whatever the page boundaries);
* upserts superseded by a later deletion of the same key in the read, and deletions that hit
  nothing;
* how many rows a full refresh would remove from the source's earlier rows (the shrink guard),
  and whether any key is already stored under another source.

Then, in this order, each step idempotent (a re-run after a crash repeats nothing):

1. the quarantine table: the read's quarantined rows, in one commit carrying the read's id;
   the rows earlier reads left for records this read delivers again are removed in it (a
   full refresh replaces the source's rows of the entity);
2. the notes table: the source's notes about the entity replace the earlier ones;
3. the entity table, in one commit carrying the read's id and the cursor: a full refresh
   replaces the source's partition with the read's files, new records are added as they were
   written, and anything that changes stored rows (updates, deletions, a key of another source)
   is a merge on the primary key, written copy-on-write: the stored files holding those keys
   are rewritten without them in the same commit.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from deltalake import CommitProperties, DeltaTable, Field, Transaction
from deltalake.transaction import RemoveAction

from revgov.errors import ShrinkRefusedError
from revgov.model.frames import DUPLICATE_KEY_REASON, QUARANTINE_SCHEMA, model_for
from revgov.store._location import Location
from revgov.store._names import logical
from revgov.store._reads import OpenRead, PageRow, source_slug
from revgov.store._tables import (
    SOURCE_COLUMN,
    StagedFile,
    add_files,
    arrow_schema,
    committed,
    delta_errors,
    file_list,
)

__all__ = [
    "BUCKET_ROWS",
    "QUARANTINE_DIR",
    "Published",
    "publish",
    "quarantine_file",
    "sql_string",
    "write_parquet",
]

#: Keys held in memory at once by the analysis (per hash bucket).
BUCKET_ROWS = 1_000_000
#: Key hashes (8 bytes each) held at once when looking for keys repeated within a read.
HASH_BUCKET_ROWS = 4_000_000
QUARANTINE_DIR = "_revgov/quarantine"
QUARANTINE_PARTITIONS = ("entity", SOURCE_COLUMN)
_SEED = 0x5EED
#: Stored files rewritten at once by an update (each one file's read, join and write).
_REWRITERS = 4


def sql_string(value: str) -> str:
    """A SQL string literal for delta-rs predicates."""
    return "'" + value.replace("'", "''") + "'"


def write_parquet(
    loc: Location,
    table_rel: str,
    partition_dir: str,
    frame: pl.DataFrame,
    tag: str,
    *,
    unique: bool = True,
) -> StagedFile:
    """Write ``frame`` as a new Parquet file in a table's directory (not yet committed).

    Without ``unique`` the name is ``tag`` alone: two writers publishing the same read write
    the same file, and a table names it once."""
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", statistics=True)
    data = buf.getvalue()
    suffix = f"-{uuid.uuid4().hex[:12]}" if unique else ""
    rel = f"{partition_dir}/part-{tag}{suffix}.parquet"
    loc.put(f"{table_rel}/{rel}", data)
    parts = dict(p.split("=", 1) for p in partition_dir.split("/"))
    return StagedFile(rel, len(data), frame.height, parts)


def quarantine_file(
    loc: Location, source: str, entity: str, frame: pl.DataFrame, tag: str, *, unique: bool = True
) -> StagedFile:
    """Stage quarantined rows of ``entity`` from ``source`` (partition columns live in the log)."""
    staged = write_parquet(
        loc,
        QUARANTINE_DIR,
        f"entity={entity}/{SOURCE_COLUMN}={source_slug(source)}",
        frame.cast(QUARANTINE_SCHEMA).drop("entity"),
        tag,
        unique=unique,
    )
    return StagedFile(staged.path, staged.size, staged.rows, {"entity": entity, "_source": source})


@dataclass(frozen=True)
class Published:
    """What publishing a read did to its entity."""

    rows_added: int
    rows_updated: int
    rows_deleted: int
    rows_quarantined: int
    duplicates: int


@dataclass
class _Analysis:
    survivors: int = 0
    matched_own: int = 0
    matched_other: int = 0
    live_own: int = 0
    removed: int = 0
    deletes_hit: int = 0
    excluded: pl.DataFrame | None = None  # _file, _row: not published (duplicates, superseded)
    duplicates: pl.DataFrame | None = None  # _file, _row
    deletions: pl.DataFrame | None = None  # effective deletions (key columns)


def _bucketed(lf: pl.LazyFrame, keys: Sequence[str], b: int, n: int) -> pl.LazyFrame:
    if n == 1:
        return lf
    return lf.filter((pl.struct(*keys).hash(_SEED) % n) == b)


def _deletions_frame(pages: Sequence[PageRow], keys: Sequence[str]) -> pl.DataFrame:
    rows = [
        [*(str(v) for v in (key if isinstance(key, list) else [key])), p.seq]
        for p in pages
        for key in p.deletions
    ]
    schema = dict.fromkeys(keys, pl.String()) | {"_seq": pl.Int64()}
    return pl.DataFrame(rows, schema=schema, orient="row")


class _Reader:
    """Scans of a read's staged files and of the entity table's stored keys."""

    def __init__(
        self, loc: Location, read: OpenRead, live: DeltaTable | None, skip: set[str]
    ) -> None:
        self.loc = loc
        self.skip = skip
        self.read = read
        self.keys = list(model_for(read.entity).primary_key)
        self.files = [(i, p) for i, p in enumerate(read.pages) if p.data_path and p.data_rows]
        self.live = live

    def staged_uri(self, page: PageRow) -> str:
        return self.loc.join(self.read.entity, str(page.data_path))

    def staged_keys(self) -> pl.LazyFrame:
        scans = [
            pl.scan_parquet(self.staged_uri(p), storage_options=self.loc.polars_options())
            .select(self.keys)
            .with_row_index("_row")
            .with_columns(pl.lit(i, pl.Int64).alias("_file"), pl.lit(p.seq).alias("_seq"))
            for i, p in self.files
        ]
        if not scans:
            empty = dict.fromkeys(self.keys, pl.String()) | {
                "_row": pl.UInt32(),
                "_file": pl.Int64(),
                "_seq": pl.Int64(),
            }
            return pl.LazyFrame(schema=empty)
        return pl.concat(scans, how="vertical_relaxed")

    def live_keys(self) -> pl.LazyFrame | None:
        if self.live is None:
            return None
        files = file_list(self.live)
        if files.height == 0:
            return None
        scans = [
            pl.scan_parquet(
                self.loc.join(self.read.entity, path), storage_options=self.loc.polars_options()
            )
            .select(self.keys)
            .with_columns(pl.lit(src, pl.String).alias(SOURCE_COLUMN))
            for path, src in files.select("path", SOURCE_COLUMN).iter_rows()
            if path not in self.skip
        ]
        return pl.concat(scans, how="vertical_relaxed") if scans else None


def _spill(lf: pl.LazyFrame, keys: Sequence[str], n: int, where: Path) -> Path:
    """Write ``lf`` to local files, one directory per hash bucket, in one streaming pass."""
    bucket = (pl.struct(*keys).hash(_SEED) % n).alias("_bucket")
    lf.with_columns(bucket).sink_parquet(
        pl.PartitionBy(str(where), key="_bucket", include_key=False), mkdir=True
    )
    return where


def _bucket(
    source: pl.LazyFrame | Path, keys: Sequence[str], b: int, n: int, schema: pl.Schema
) -> pl.DataFrame:
    """Bucket ``b`` of ``n``: filtered in memory (one bucket), or read from its spilled files."""
    if isinstance(source, pl.LazyFrame):
        return _bucketed(source, keys, b, n).collect()
    files = sorted((source / f"_bucket={b}").glob("*.parquet"))
    if not files:
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(files).select(schema.names())


def _analyse(reader: _Reader, refresh: bool) -> _Analysis:
    """Go over the read's keys (and the stored ones) bucket by bucket; see the module doc."""
    staged_rows = sum(p.data_rows for _, p in reader.files)
    live = reader.live_keys()
    if live is None and not any(p.deletions for p in reader.read.pages):
        # Nothing stored to meet and nothing deleted (a first pull, a new source): only the
        # keys repeated within the read are to be found, and their hashes find them.
        empty = pl.DataFrame(schema=dict.fromkeys(reader.keys, pl.String()))
        duplicates = _repeated_rows(reader, staged_rows)
        survivors = staged_rows - duplicates.height
        return _Analysis(survivors, excluded=duplicates, duplicates=duplicates, deletions=empty)
    live_rows = 0
    if live is not None and reader.live is not None:
        rows = file_list(reader.live)["rows"]
        live_rows = int(rows.sum()) if rows.null_count() == 0 else BUCKET_ROWS + 1
    n = max(1, math.ceil(max(staged_rows, live_rows) / BUCKET_ROWS))
    what = f"the staged pages of {reader.read.entity} ({reader.read.source})"
    with tempfile.TemporaryDirectory(prefix="revgov-keys-") as tmp, delta_errors(what):
        staged: pl.LazyFrame | Path = reader.staged_keys()
        stored: pl.LazyFrame | Path | None = live
        if n > 1:  # more keys than a bucket holds: hash-partition them on local disk once
            staged = _spill(reader.staged_keys(), reader.keys, n, Path(tmp) / "staged")
            if live is not None:
                stored = _spill(live, reader.keys, n, Path(tmp) / "live")
        return _analyse_buckets(reader, refresh, n, staged, stored)


def _key_hash(keys: Sequence[str]) -> pl.Expr:
    key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(*keys)
    return key.hash(_SEED).alias("_hash")


def _repeated_rows(reader: _Reader, staged_rows: int) -> pl.DataFrame:
    """``_file`` and ``_row`` of every staged row whose key an earlier row of the read has.

    The keys' 64-bit hashes are spilled to local files by hash bucket (8 bytes a key, in one
    pass over the staged pages), and each bucket is sorted to find the hashes that repeat;
    only the rows with such a hash are then compared by their keys, so that a collision
    quarantines nothing. Memory holds one page's hashes and one bucket's, however large the
    read; time is a hash and a sort of integers rather than a hash join of strings."""
    keys = reader.keys
    n = max(1, math.ceil(staged_rows / HASH_BUCKET_ROWS))
    repeated: list[np.ndarray] = []
    rows_repeated = 0
    what = f"the staged pages of {reader.read.entity} ({reader.read.source})"
    opts = reader.loc.polars_options()
    with tempfile.TemporaryDirectory(prefix="revgov-keys-") as tmp, delta_errors(what):
        spills = [Path(tmp) / f"{b}.u64" for b in range(n)]
        held: list[np.ndarray] = []
        for _, page in reader.files:
            scan = pl.scan_parquet(reader.staged_uri(page), storage_options=opts)
            hashes = scan.select(_key_hash(keys)).collect().to_series().to_numpy()
            if n == 1:
                held.append(hashes)
                continue
            buckets = hashes % np.uint64(n)
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(n + 1, dtype=np.uint64))
            ordered = hashes[order]
            for b in range(n):
                if bounds[b] < bounds[b + 1]:
                    with spills[b].open("ab") as fh:
                        fh.write(ordered[bounds[b] : bounds[b + 1]].tobytes())
        for b in range(n):
            if n == 1:
                bucket = np.concatenate(held) if held else np.empty(0, dtype=np.uint64)
            elif spills[b].exists():
                bucket = np.fromfile(spills[b], dtype=np.uint64)
            else:
                continue
            bucket.sort()
            same = bucket[1:] == bucket[:-1]
            if same.any():
                repeated.append(np.unique(bucket[1:][same]))
                rows_repeated += int(same.sum()) + repeated[-1].size
    if not repeated:
        return pl.DataFrame(schema={"_file": pl.Int64(), "_row": pl.UInt32()})
    candidates = pl.Series("_hash", np.concatenate(repeated), dtype=pl.UInt64())
    # The rows with a repeated hash, compared by key, in groups a bucket can hold.
    groups = max(1, math.ceil(rows_repeated / BUCKET_ROWS))
    out = []
    key_expr = pl.col(keys[0]) if len(keys) == 1 else pl.struct(*keys)
    with delta_errors(what):
        for g in range(groups):
            picked = candidates.filter(candidates % groups == g) if groups > 1 else candidates
            rows = (
                reader.staged_keys()
                .with_columns(_key_hash(keys))
                .filter(pl.col("_hash").is_in(picked))
                .collect()
                .sort("_file", "_row")
            )
            out.append(rows.filter(~key_expr.is_first_distinct()).select("_file", "_row"))
    return pl.concat(out)


def _analyse_buckets(
    reader: _Reader,
    refresh: bool,
    n: int,
    staged: pl.LazyFrame | Path,
    stored: pl.LazyFrame | Path | None,
) -> _Analysis:
    keys, source = reader.keys, reader.read.source
    staged_schema = reader.staged_keys().collect_schema()
    dels = _deletions_frame(reader.read.pages, keys).lazy()
    out = _Analysis()
    excluded: list[pl.DataFrame] = []
    duplicates: list[pl.DataFrame] = []
    deletions: list[pl.DataFrame] = []
    has_dels = any(p.deletions for p in reader.read.pages)
    key_expr = pl.col(keys[0]) if len(keys) == 1 else pl.struct(*keys)
    for b in range(n):
        s = _bucket(staged, keys, b, n, staged_schema)
        if isinstance(staged, Path):  # spilled files keep each page's order, not the pages'
            s = s.sort("_file", "_row")
        first = s.select(key_expr.is_first_distinct()).to_series()
        duplicates.append(s.filter(~first).select("_file", "_row"))
        uniq = s.filter(first)
        if not has_dels:
            surv = uniq.select(keys)
            eff = pl.DataFrame(schema=dict.fromkeys(keys, pl.String()))
            out.survivors += surv.height
            _match(out, surv, eff, stored, keys, source, refresh, (b, n), deletions)
            continue
        last_del = (
            _bucketed(dels, keys, b, n)
            .collect()
            .group_by(keys)
            .agg(pl.col("_seq").max().alias("_dseq"))
        )
        joined = uniq.join(last_del, on=keys, how="left")
        gone = pl.col("_dseq").is_not_null() & (pl.col("_dseq") >= pl.col("_seq"))
        excluded.append(joined.filter(gone).select("_file", "_row"))
        surv = joined.filter(~gone).select(keys)
        eff = (
            last_del.join(uniq.select(*keys, "_seq"), on=keys, how="left")
            .filter(pl.col("_seq").is_null() | (pl.col("_dseq") >= pl.col("_seq")))
            .select(keys)
        )
        out.survivors += surv.height
        _match(out, surv, eff, stored, keys, source, refresh, (b, n), deletions)
    out.duplicates = pl.concat(duplicates)
    out.excluded = pl.concat([out.duplicates, *excluded])
    empty = pl.DataFrame(schema=dict.fromkeys(keys, pl.String()))
    out.deletions = pl.concat(deletions) if deletions else empty
    return out


def _match(
    out: _Analysis,
    surv: pl.DataFrame,
    eff: pl.DataFrame,
    stored: pl.LazyFrame | Path | None,
    keys: Sequence[str],
    source: str,
    refresh: bool,
    bucket: tuple[int, int],
    deletions: list[pl.DataFrame],
) -> None:
    """Count how a bucket of the read meets the stored keys of the same bucket."""
    if stored is None:
        return
    schema = pl.Schema(dict.fromkeys(keys, pl.String()) | {SOURCE_COLUMN: pl.String()})
    lk = _bucket(stored, keys, bucket[0], bucket[1], schema)
    mine = pl.col(SOURCE_COLUMN) == source
    own = lk.filter(mine).select(keys)
    other = lk.filter(~mine).select(keys)
    out.live_own += own.height
    out.matched_own += surv.join(own, on=keys, how="semi").height
    if other.height:
        out.matched_other += surv.join(other, on=keys, how="semi").height
    if refresh:
        out.removed += own.join(surv, on=keys, how="anti").height
    elif eff.height:
        hit = eff.join(lk.select(keys), on=keys, how="semi")
        out.deletes_hit += hit.height
        deletions.append(hit)


def _check_shrink(read: OpenRead, a: _Analysis, *, allow: bool, share: float) -> None:
    if allow or not read.refresh or a.live_own == 0:
        return
    if a.removed == 0 or (a.survivors > 0 and a.removed / a.live_own <= share):
        return
    raise ShrinkRefusedError(
        f"the full refresh of {read.entity} from source {read.source!r} would remove "
        f"{a.removed:,} of its {a.live_own:,} stored rows ({a.removed / a.live_own:.0%}; "
        f"{a.survivors:,} rows delivered); nothing was changed",
        hint="check the export or the source; if the source really shrank, pull again with "
        f"--allow-shrink (the limit is {share:.0%} of a source's rows)",
    )


def _published_files(reader: _Reader, a: _Analysis) -> list[StagedFile]:
    """The read's data files, rewritten without excluded rows where there are any."""
    assert a.excluded is not None
    out = []
    by_file = a.excluded.group_by("_file").agg(pl.col("_row")) if a.excluded.height else None
    drops = {int(f): rows for f, rows in by_file.iter_rows()} if by_file is not None else {}
    part = {SOURCE_COLUMN: reader.read.source}
    for i, page in reader.files:
        if i not in drops:
            out.append(StagedFile(str(page.data_path), page.data_size, page.data_rows, part))
            continue
        frame = pl.read_parquet(
            reader.staged_uri(page), storage_options=reader.loc.polars_options()
        )
        keep = ~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(drops[i])
        kept = frame.filter(keep)
        if kept.height:
            directory = str(page.data_path).rsplit("/", 1)[0]
            tag = f"{reader.read.read_id}-{page.seq:06d}-dedup"
            staged = write_parquet(
                reader.loc, reader.read.entity, directory, kept, tag, unique=False
            )
            out.append(StagedFile(staged.path, staged.size, staged.rows, part))
    return out


def _duplicate_rows(reader: _Reader, a: _Analysis) -> pl.DataFrame:
    """Quarantine rows for the repeated keys, with the whole typed row as the raw record."""
    assert a.duplicates is not None
    frames = []
    key = reader.keys[0]
    for (i,), rows in a.duplicates.partition_by("_file", as_dict=True).items():
        page = dict(reader.files)[int(str(i))]
        frame = pl.read_parquet(
            reader.staged_uri(page), storage_options=reader.loc.polars_options()
        )
        picked = frame.with_row_index("_row").join(rows, on="_row", how="semi").drop("_row")
        picked.columns = [logical(c) for c in picked.columns]
        frames.append(
            picked.select(
                pl.lit(reader.read.entity).alias("entity"),
                pl.col("source_system"),
                pl.col("source_id"),
                pl.lit(key).alias("field"),
                pl.col(key).cast(pl.String).alias("raw_value"),
                pl.lit(DUPLICATE_KEY_REASON).alias("reason"),
                pl.lit("an earlier row of the same read has this key; the first is kept").alias(
                    "detail"
                ),
                # The row as the read delivered it (typed), without this run's timestamp.
                pl.struct(pl.all().exclude("pulled_at")).struct.json_encode().alias("raw_record"),
                pl.col("pulled_at"),
            )
        )
    return pl.concat(frames).cast(QUARANTINE_SCHEMA)


def _read_ids(reader: _Reader) -> pl.DataFrame:
    """The ``source_id`` of every record the read delivered, typed or quarantined."""
    loc, read = reader.loc, reader.read
    opts = loc.polars_options()
    scans = [pl.scan_parquet(reader.staged_uri(p), storage_options=opts) for _, p in reader.files]
    scans += [
        pl.scan_parquet(loc.join(QUARANTINE_DIR, str(p.quarantine_path)), storage_options=opts)
        for p in read.pages
        if p.quarantine_path
    ]
    if not scans:
        return pl.DataFrame(schema={"source_id": pl.String()})
    with delta_errors(f"the staged pages of {read.entity} ({read.source})"):
        ids = pl.concat([s.select(pl.col("source_id").cast(pl.String)) for s in scans])
        return ids.drop_nulls().unique().collect()


def _superseded_quarantine(
    reader: _Reader, quarantine: DeltaTable
) -> tuple[list[RemoveAction], list[StagedFile]]:
    """An incremental read delivers each of its records whole: the quarantine rows earlier
    reads left for those records (by ``source_id``) are stale, whether the record types now
    or fails again (its new rows come with this read). The stored quarantine files of the
    source's entity that hold any are removed, and rewritten without them, in the same
    commit that adds the read's rows. Rows of records not read again stay."""
    read, loc = reader.read, reader.loc
    files = file_list(quarantine)
    if files.height == 0 or "entity" not in files.columns:
        return [], []
    mine = files.filter((pl.col("entity") == read.entity) & (pl.col(SOURCE_COLUMN) == read.source))
    if mine.height == 0:
        return [], []
    ids = _read_ids(reader)
    if ids.height == 0:
        return [], []
    part = {"entity": read.entity, SOURCE_COLUMN: read.source}
    removed: dict[str, str | None] = dict(part)
    removes: list[RemoveAction] = []
    kept_files: list[StagedFile] = []
    now = int(time.time() * 1000)
    opts = loc.polars_options()
    for path, size in mine.select("path", "size").iter_rows():
        uri = loc.join(QUARANTINE_DIR, str(path))
        with delta_errors(f"the quarantine of {loc.uri!r}"):
            frame = pl.read_parquet(uri, storage_options=opts)
        kept = frame.join(ids, on="source_id", how="anti", nulls_equal=False)
        if kept.height == frame.height:
            continue
        removes.append(RemoveAction(str(path), True, now, int(size), removed))
        if kept.height:
            directory = str(path).rsplit("/", 1)[0]
            tag = f"{read.read_id}-rq-{uuid.uuid5(uuid.NAMESPACE_URL, str(path)).hex[:12]}"
            staged = write_parquet(loc, QUARANTINE_DIR, directory, kept, tag, unique=False)
            kept_files.append(StagedFile(staged.path, staged.size, staged.rows, part))
    return removes, kept_files


def _ensure_columns(table: DeltaTable, schema: pl.Schema) -> None:
    """Add custom fields the table lacks (their earlier rows read as null)."""
    have = set(arrow_schema_names(table))
    missing = [c for c in schema.names() if c not in have]
    if not missing:
        return
    arrow = arrow_schema(pl.Schema({c: schema[c] for c in missing}))
    from deltalake import Schema as DeltaSchema

    fields = DeltaSchema.from_arrow(arrow).fields
    table.alter.add_columns([Field(f.name, f.type, nullable=True) for f in fields])
    table.update_incremental()


def arrow_schema_names(table: DeltaTable) -> list[str]:
    return [f.name for f in table.schema().fields]


def publish(
    loc: Location,
    read: OpenRead,
    live: DeltaTable,
    quarantine: DeltaTable,
    notes_writer: Any,
    *,
    schema: pl.Schema,
    config_hash: str | None,
    allow_shrink: bool,
    shrink_share: float,
    pulled_at: datetime,
    skip: set[str],
) -> Published:
    """Publish ``read`` (see the module docstring); ``live`` is the entity table, ``skip`` its
    damaged files that this full refresh replaces without reading them."""
    txn = f"revgov.read.{read.read_id}"
    reader = _Reader(loc, read, live, skip)
    a = _analyse(reader, read.refresh)
    _check_shrink(read, a, allow=allow_shrink, share=shrink_share)
    entity, source = read.entity, read.source
    q_files = [
        StagedFile(
            str(p.quarantine_path),
            p.quarantine_size,
            p.quarantine_rows,
            {"entity": entity, SOURCE_COLUMN: source},
        )
        for p in read.pages
        if p.quarantine_path
    ]
    assert a.duplicates is not None and a.deletions is not None
    if a.duplicates.height:
        dup = _duplicate_rows(reader, a)
        q_files.append(
            quarantine_file(loc, source, entity, dup, f"{read.read_id}-dups", unique=False)
        )
    quarantined = sum(f.rows for f in q_files)
    if not committed(quarantine, txn):
        removes: list[RemoveAction] = []
        if not read.refresh:  # a full refresh replaces the source's whole partition anyway
            removes, kept = _superseded_quarantine(reader, quarantine)
            q_files += kept
        add_files(
            quarantine,
            q_files,
            schema=arrow_schema(QUARANTINE_SCHEMA, QUARANTINE_PARTITIONS),
            partitions=QUARANTINE_PARTITIONS,
            overwrite={"entity": entity, SOURCE_COLUMN: source} if read.refresh else None,
            removes=removes,
            metadata={
                "revgov.source": source,
                "revgov.entity": entity,
                "revgov.read": read.read_id,
            },
            txn=txn,
            what=f"the quarantine of {loc.uri!r}",
        )
    notes = [n for p in read.pages for n in p.notes]
    notes_writer(source, entity, notes, pulled_at)

    files = _published_files(reader, a)
    _ensure_columns(live, schema)
    added = a.survivors - a.matched_own - a.matched_other
    meta: dict[str, Any] = {
        "revgov.source": source,
        "revgov.entity": entity,
        "revgov.read": read.read_id,
        "revgov.cursor": json.dumps(read.cursor),
        "revgov.config_hash": config_hash,
        "revgov.refresh": read.refresh,
        "revgov.pages": len(read.pages),
        "revgov.rows_quarantined": quarantined,
    }
    what = f"the {entity} table of {loc.uri!r}"
    rewrites = (a.matched_other > 0) if read.refresh else (a.matched_own + a.matched_other > 0)
    if rewrites or a.deletes_hit:
        result = _rewrite(reader, files, a, live, schema, meta, txn, what)
    else:
        deleted = a.removed if read.refresh else 0
        updated = a.matched_own if read.refresh else 0
        result = Published(added, updated, deleted, quarantined, a.duplicates.height)
        meta |= _counts(result)
        add_files(
            live,
            files,
            schema=arrow_schema(schema, [SOURCE_COLUMN]),
            partitions=[SOURCE_COLUMN],
            overwrite={SOURCE_COLUMN: source} if read.refresh else None,
            metadata=meta,
            txn=txn,
            what=what,
        )
    return Published(
        result.rows_added,
        result.rows_updated,
        result.rows_deleted,
        quarantined,
        a.duplicates.height,
    )


def _counts(p: Published) -> dict[str, int]:
    return {
        "revgov.rows_added": p.rows_added,
        "revgov.rows_updated": p.rows_updated,
        "revgov.rows_deleted": p.rows_deleted,
    }


def _rewrite(
    reader: _Reader,
    files: list[StagedFile],
    a: _Analysis,
    live: DeltaTable,
    schema: pl.Schema,
    meta: dict[str, Any],
    txn: str,
    what: str,
) -> Published:
    """Upserts and deletions by primary key where stored rows change, as copy-on-write in one
    commit: each stored file holding a key that the read updates or deletes is rewritten
    without those rows, the read's files are added, and (for a full refresh) the source's
    earlier files are removed. delta-rs's MERGE operator does the same with a join over the
    whole table and was several times slower here (see docs/benchmarks.md)."""
    assert a.deletions is not None
    read, keys, loc = reader.read, reader.keys, reader.loc
    opts = loc.polars_options()
    scans = [pl.scan_parquet(loc.join(read.entity, f.path), storage_options=opts) for f in files]
    with delta_errors(f"the staged pages of {read.entity} ({read.source})"):
        upserted = pl.concat([s.select(keys) for s in scans]).collect() if scans else None
    changed = [d for d in (upserted, a.deletions) if d is not None]
    dropped = pl.concat(changed).unique().with_columns(pl.lit(True).alias("__dropped"))
    removes: list[RemoveAction] = []
    adds = list(files)
    now = int(time.time() * 1000)
    stored = file_list(live)

    def rewrite(path: str, size: int, source: str) -> tuple[bool, StagedFile | None]:
        """Whether the stored file at ``path`` loses rows, and the file it becomes."""
        part = {SOURCE_COLUMN: source}
        uri = loc.join(read.entity, path)
        with delta_errors(f"the {read.entity} table of {loc.uri!r}"):
            # The keys alone say whether the file is touched; most files of a large table
            # are not, and are not read whole.
            # One join on the keys: which rows stay, in the file's own row order.
            keep = (
                pl.read_parquet(uri, columns=keys, storage_options=opts)
                .join(dropped, on=keys, how="left", maintain_order="left")
                .get_column("__dropped")
                .is_null()
            )
            if keep.all():
                return False, None
            kept = pl.read_parquet(uri, storage_options=opts).filter(keep)
        if not kept.height:
            return True, None
        directory = str(path).rsplit("/", 1)[0]
        tag = f"{read.read_id}-rw-{uuid.uuid5(uuid.NAMESPACE_URL, str(path)).hex[:12]}"
        staged = write_parquet(loc, read.entity, directory, kept, tag, unique=False)
        return True, StagedFile(staged.path, staged.size, staged.rows, part)

    todo = []
    for path, size, source in stored.select("path", "size", SOURCE_COLUMN).iter_rows():
        if read.refresh and source == read.source:
            removes.append(RemoveAction(path, True, now, size, {SOURCE_COLUMN: source}))
        else:
            todo.append((path, size, source))
    # Files are rewritten side by side: reading, joining and compressing one file leaves
    # cores idle that the next can use (polars and the Parquet writer release the GIL).
    with ThreadPoolExecutor(max_workers=_REWRITERS) as pool:
        done = list(pool.map(lambda args: rewrite(*args), todo))
    for (path, size, source), (touched, staged) in zip(todo, done, strict=True):
        if touched:
            removes.append(RemoveAction(path, True, now, size, {SOURCE_COLUMN: source}))
        if staged is not None:
            adds.append(staged)
    updated = a.matched_own + a.matched_other
    deleted = a.removed if read.refresh else a.deletes_hit
    result = Published(a.survivors - updated, updated, deleted, 0, 0)
    props = CommitProperties(
        custom_metadata=meta | _counts(result), app_transactions=[Transaction(txn, 1)]
    )
    with delta_errors(what):
        live.create_write_transaction(
            [*removes, *(f.action() for f in adds)],
            "append",
            arrow_schema(schema, [SOURCE_COLUMN]),
            partition_by=[SOURCE_COLUMN],
            commit_properties=props,
        )
    return result
