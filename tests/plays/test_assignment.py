"""The holdout hash: the same record always lands in the same arm, on every engine."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
from tests.plays.simulate import sim_play, simulate

from revgov.plays import assignment_unit, in_holdout, play_records, stable_unit


# FNV-1a 64 of b"smb\x1fP-1" then splitmix64, worked out independently (plain Python ints).
def _reference(record_id: str, play: str) -> float:
    h = 0xCBF29CE484222325
    for b in f"{play}\x1f{record_id}".encode():
        h = ((h ^ b) * 0x100000001B3) % 2**64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) % 2**64
    h ^= h >> 31
    return (h >> 11) / 2**53


def test_vectorised_hash_equals_the_reference_on_awkward_ids() -> None:
    ids = ["P-1", "", "é-ü-漢字", "a" * 64, "00Q5e00000AbCdE", "1", "01"]
    got = assignment_unit(ids, "smb-meetings")
    want = [_reference(i, "smb-meetings") for i in ids]
    assert got.tolist() == want
    assert [stable_unit(i, "smb-meetings") for i in ids] == want


def test_the_arm_depends_on_the_play_and_the_share_holds() -> None:
    ids = pl.Series([f"00Q{i:07d}" for i in range(50_000)])
    a, b = in_holdout(ids, "one", 0.2), in_holdout(ids, "two", 0.2)
    assert abs(a.mean() - 0.2) < 0.01
    # Two plays hold out (nearly) independent records.
    assert abs((a & b).mean() - 0.04) < 0.005
    # A slice of a longer series (an Arrow offset) hashes the same as the ids alone.
    assert np.array_equal(in_holdout(ids[100:200], "one", 0.2), a[100:200])


def test_same_arms_in_every_run_and_engine() -> None:
    play = sim_play()
    sim = simulate(play, seed=3)
    runs = []
    for frames in (
        sim.frames,
        {k: v.lazy() for k, v in sim.frames.items()},
        {k: duckdb.from_arrow(v.to_arrow()) for k, v in sim.frames.items()},
        {k: v.sample(fraction=1.0, shuffle=True, seed=9) for k, v in sim.frames.items()},
    ):
        records, _, _ = play_records(play, frames, as_of=sim.as_of)
        runs.append(dict(zip(records["person_id"], records["__control"], strict=True)))
    assert runs[0] and all(r == runs[0] for r in runs[1:])
    held = [i for i, control in runs[0].items() if control]
    assert held and all(_reference(i, play.name) < 0.3 for i in held)
