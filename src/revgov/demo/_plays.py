"""The demo's plays: ``smb-meetings`` with a known true lift in meeting rate, planted as
extra meetings for the play's records, and ``enterprise-fast-follow``, a null play (nothing
planted). Their ground truth goes in the manifest.

The play's records are the SMB people created since its start who are not held out (the
same hash :func:`revgov.plays.play_lift` reads) at stage subscriber or lead, never
marketing-qualified: the SDRs book meetings with the leads marketing did not qualify, so no
SLA clock and no speed-to-lead figure moves. Of those without a meeting in their first ``window_days``, a share
``TRUE_LIFT / (1 - base)`` gets one, ``base`` being that group's meeting rate without the
play: the expected meeting rate of the play's records rises by exactly ``TRUE_LIFT``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from revgov.config import Config
from revgov.plays import in_holdout

__all__ = ["TRUE_LIFT", "plant_plays"]

#: The planted lift of ``smb-meetings`` in meeting rate (share points / 100).
TRUE_LIFT = 0.08
PLAY = "smb-meetings"
NULL_PLAY = "enterprise-fast-follow"


def plant_plays(
    frames: dict[str, pl.DataFrame], config: Config, *, as_of: datetime, seed: int
) -> dict[str, Any]:
    """Add the play's meetings to ``frames["activities"]``; return the ground truth."""
    play = config.play(PLAY)
    rng = np.random.default_rng([seed, 14])
    people, acts = frames["people"], frames["activities"]
    start = datetime.combine(play.start, datetime.min.time(), tzinfo=as_of.tzinfo)
    window = timedelta(days=play.window_days)
    met = (
        people.select("person_id", "created_at")
        .join(acts.filter(pl.col("type") == "meeting"), on="person_id")
        .filter(
            (pl.col("occurred_at") >= pl.col("created_at"))
            & (pl.col("occurred_at") < pl.col("created_at") + window)
        )
        .select("person_id")
        .unique()
    )
    eligible = people.filter(
        (pl.col("segment") == "smb")
        & pl.col("lifecycle_stage").is_in(["subscriber", "lead"])
        & (pl.col("created_at") >= start)
    ).with_columns(pl.col("person_id").is_in(met["person_id"].implode()).alias("__met"))
    held = in_holdout(eligible["person_id"], play.name, play.control.share)
    treated = eligible.filter(~pl.Series(held))
    control_met = eligible.filter(pl.Series(held))["__met"].to_numpy()
    base = float(control_met.mean()) if len(control_met) else 0.0
    share = min(TRUE_LIFT / (1.0 - base), 1.0) if base < 1 else 0.0
    without = treated.filter(~pl.col("__met"))
    chosen = without.filter(pl.Series(rng.random(without.height) < share))
    delay = pl.Series(
        "__delay", (rng.uniform(0.5, play.window_days - 1.0, chosen.height) * 86_400e6)
    ).cast(pl.Int64)
    booked = (
        chosen.with_columns(delay)
        .with_columns(
            (pl.col("created_at") + pl.duration(microseconds=pl.col("__delay"))).alias(
                "occurred_at"
            )
        )
        .filter(pl.col("occurred_at") < as_of - timedelta(hours=1))
    )
    n = booked.height
    ids = [f"act_play_{i:07d}" for i in range(n)]
    template = acts.head(1)
    new = booked.select(
        pl.Series("activity_id", ids, dtype=pl.String),
        pl.lit("meeting").alias("type"),
        "person_id",
        pl.lit(None, dtype=pl.String).alias("opportunity_id"),
        # A person's planted defects (an unknown account, an inactive owner) stay on them.
        _known("account_id", frames["accounts"]),
        _known("owner_id", frames["users"].filter(pl.col("is_active")), "user_id"),
        "occurred_at",
        pl.lit("held").alias("outcome"),
        pl.lit(template["source_system"].item() if template.height else "demo").alias(
            "source_system"
        ),
        pl.Series("source_id", ids, dtype=pl.String),
        pl.lit(as_of).alias("pulled_at"),
    )
    frames["activities"] = pl.concat([acts, new.cast(acts.schema)], how="vertical")
    return {
        PLAY: {
            "kpi": play.primary_kpi,
            "population": "people in segment smb at stage subscriber or lead (never "
            f"marketing-qualified), created since {play.start}",
            "true_lift": TRUE_LIFT,
            "base_rate_without_play": round(base, 4),
            "meetings_planted": n,
        },
        NULL_PLAY: {
            "kpi": config.play(NULL_PLAY).primary_kpi,
            "population": "people in segment enterprise",
            "true_lift": 0.0,
        },
    }


def _known(column: str, referenced: pl.DataFrame, key: str | None = None) -> pl.Expr:
    """``column`` where it names a row of ``referenced`` (by ``key``), else null."""
    ids = referenced[key or column].implode()
    return pl.when(pl.col(column).is_in(ids)).then(pl.col(column)).alias(column)
