"""Simulated CRMs with a play of known true lift: people in two segments, meetings drawn at a
known rate per arm; the ground truth each test checks the estimates against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from revgov.config.schema import PlayConfig
from revgov.plays import in_holdout

START = date(2026, 3, 2)
START_AT = datetime(2026, 3, 2)
AS_OF = datetime(2026, 6, 1)


def sim_play(*, min_lift: float = 0.05, **extra: Any) -> PlayConfig:
    """A meeting-rate play on the ``smb`` segment (a 30% holdout unless ``control`` says)."""
    spec: dict[str, Any] = {
        "name": "sim",
        "owner": "test",
        "start": START,
        "primary_kpi": "meeting_rate",
        "window_days": 14,
        "population": {"entity": "people", "where": {"segment": "smb"}},
        "control": {"kind": "holdout", "share": 0.3},
        "decision": {"min_lift": min_lift, "confidence": 0.95},
    }
    spec.update(extra)
    return PlayConfig.model_validate(spec)


@dataclass(frozen=True)
class Simulated:
    frames: dict[str, pl.DataFrame]
    true_lift: float
    as_of: datetime


def simulate(
    play: PlayConfig,
    *,
    seed: int,
    per_week: float = 100.0,
    base: float = 0.2,
    lift: float = 0.0,
    other_base: float = 0.25,
    trend_per_week: float = 0.0,
    weeks_before: float = 8,
    as_of: datetime = AS_OF,
) -> Simulated:
    """People created at random from ``weeks_before`` weeks before the start to ``as_of``
    (``per_week`` a week), half in the play's segment ``smb`` (meeting rate ``base``) and half
    in ``mid`` (``other_base``). After the start the play's records (those not held out, for
    a holdout) meet at ``base + lift``. ``trend_per_week`` moves the smb rate before the
    start only (a broken parallel trend). Meetings fall within 13 days of creation."""
    rng = np.random.default_rng(seed)
    first = START_AT - timedelta(weeks=weeks_before)
    span_s = (as_of - first).total_seconds()
    people = int(rng.poisson(per_week * span_s / (7 * 86400)))
    offset_us = np.sort(rng.uniform(0, span_s, people)) * 1e6
    created = pl.lit(first) + pl.Series(offset_us.astype(np.int64)).cast(pl.Duration("us"))
    ids = pl.Series("person_id", [f"P{seed}-{i}" for i in range(people)])
    smb = rng.random(people) < 0.5
    weeks_to_start = (offset_us / 1e6 - weeks_before * 7 * 86400) / (7 * 86400)
    after = weeks_to_start >= 0
    if play.control.kind == "holdout":
        treated = smb & after & ~in_holdout(ids, play.name, play.control.share)
    else:
        treated = smb & after
    rate = np.where(smb, base, other_base)
    rate = rate + np.where(smb & ~after, trend_per_week * weeks_to_start, 0.0)
    rate = np.clip(rate + np.where(treated, lift, 0.0), 0, 1)
    met = rng.random(people) < rate
    delay_us = (rng.uniform(0, 13, people) * 86400 * 1e6).astype(np.int64)
    base_frame = pl.DataFrame({"person_id": ids, "segment": np.where(smb, "smb", "mid")})
    people_df = base_frame.with_columns(pl.select(created).to_series().alias("created_at"))
    activities = (
        people_df.with_columns(pl.Series("__delay", delay_us).cast(pl.Duration("us")))
        .filter(pl.Series(met))
        .select(
            pl.format("A{}", pl.col("person_id")).alias("activity_id"),
            pl.lit("meeting").alias("type"),
            "person_id",
            (pl.col("created_at") + pl.col("__delay")).alias("occurred_at"),
        )
    )
    return Simulated({"people": people_df, "activities": activities}, lift, as_of)
