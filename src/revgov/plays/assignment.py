"""Which arm of a holdout a record is in: a stable hash of the play name and the record id.

The hash is 64-bit FNV-1a over the UTF-8 bytes of ``play name + "\\x1f" + record id``, mixed
by the splitmix64 finalizer (FNV alone spreads short, similar ids poorly in its high bits).
The top 53 bits as a fraction in [0, 1) place the record: below ``share`` is the holdout.

It depends on nothing but the two strings, so the same record lands in the same arm in every
run, on every engine (the ids are hashed after the engine returns them), on every machine,
and when the play is re-read a year later. The play name is in the hash so that two plays
on the same records hold out different records.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

__all__ = ["assignment_unit", "in_holdout", "stable_unit"]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1
_SEP = b"\x1f"


def _splitmix64(x: int) -> int:
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)


def stable_unit(record_id: str, play: str) -> float:
    """The record's place in [0, 1) for ``play`` (one record, in plain Python)."""
    h = _FNV_OFFSET
    for byte in play.encode() + _SEP + record_id.encode():
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return (_splitmix64(h) >> 11) / float(1 << 53)


def assignment_unit(record_ids: Sequence[str] | pl.Series, play: str) -> npt.NDArray[np.float64]:
    """:func:`stable_unit` of many records at once, vectorised over the bytes of the ids (one
    pass per byte position over the Arrow buffer of the UTF-8 strings, no Python loop over
    records)."""
    series = record_ids if isinstance(record_ids, pl.Series) else pl.Series(list(record_ids))
    if series.null_count():
        raise ValueError("record ids must not be null")
    arr = series.cast(pl.String).to_arrow().cast(pa.large_string())
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(1, np.uint8)
    )
    starts, lengths = offsets[:-1], np.diff(offsets)
    last = max(len(data) - 1, 0)
    with np.errstate(over="ignore"):
        h = np.uint64(_FNV_OFFSET)
        prime = np.uint64(_FNV_PRIME)
        for byte in play.encode() + _SEP:
            h = (h ^ np.uint64(byte)) * prime
        hs = np.full(n, h, dtype=np.uint64)
        for pos in range(int(lengths.max(initial=0))):
            live = lengths > pos
            byte_at = data[np.minimum(starts + pos, last)].astype(np.uint64)
            hs = np.where(live, (hs ^ byte_at) * prime, hs)
        hs = (hs ^ (hs >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        hs = (hs ^ (hs >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hs = hs ^ (hs >> np.uint64(31))
    return (hs >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def in_holdout(
    record_ids: Sequence[str] | pl.Series, play: str, share: float
) -> npt.NDArray[np.bool_]:
    """Whether each record is held out of ``play`` (a ``share`` of records, by hash)."""
    return assignment_unit(record_ids, play) < share
