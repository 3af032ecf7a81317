"""Before launch: how many records and weeks a play needs to detect the smallest lift worth
scaling, from the segment's own history; which other plays cover the same records; and,
while it runs, its lift week by week."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import NormalDist
from typing import Any

import narwhals as nw
import polars as pl

from revgov._typing import PlayKPI
from revgov.config.schema import Config, PlayConfig
from revgov.metrics import naive_utc
from revgov.plays.lift import find_play, play_lift, play_records
from revgov.plays.outcomes import entry_column, lazy_frame, matches, naive_time
from revgov.plays.stats import Sample, records_needed, variance_with_lift, z_of

__all__ = ["PlayPlan", "overlapping_plays", "plan_play", "running_lifts"]

#: Weeks of history a plan reads by default.
DEFAULT_HISTORY_WEEKS = 12


@dataclass(frozen=True)
class PlayPlan:
    """What :func:`plan_play` says: the history it read and the records and weeks needed."""

    play: str
    kpi: PlayKPI
    history_weeks: int
    base_rate: float
    std_dev: float
    records_per_week: float
    control_records_per_week: float | None
    min_lift: float
    confidence: float
    power: float
    records_needed: int | None
    weeks_needed: float | None
    read_on: date | None
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            if isinstance(v, float) and math.isnan(v):
                v = None
            out[k] = v.isoformat() if isinstance(v, date) else v
        out["warnings"] = list(self.warnings)
        return out


def plan_play(
    play: PlayConfig | str,
    frames: Mapping[str, Any],
    *,
    config: Config | None = None,
    as_of: datetime | date | str | None = None,
    history_weeks: int = DEFAULT_HISTORY_WEEKS,
) -> PlayPlan:
    """The records and weeks ``play`` needs, from the ``history_weeks`` before its start (or
    before ``as_of``, if earlier) whose outcomes could be read by then.

    Holdout: ``n = (z_(1-alpha/2) + z_power)^2 * var * (1/share + 1/(1-share)) / min_lift^2``
    records in all; weeks = n / records per week. Comparison or pre-period:
    difference-in-differences with the pre-period fixed at ``pre_weeks`` of volume, weeks =
    ``(var_T / vol_T + var_C / vol_C) / (target - var_T / pre_T - var_C / pre_C)`` with
    ``target = (min_lift / (z_(1-alpha/2) + z_power))^2``. Records are read ``window_days``
    after the last one enters, so the play is read on ``start + weeks + window_days``.
    """
    play = find_play(play, config)
    start = datetime.combine(play.start, datetime.min.time())
    ref = min(start, naive_utc(as_of)) if as_of is not None else start
    last = ref - timedelta(days=play.window_days)
    first = last - timedelta(weeks=history_weeks)
    history = play.model_copy(
        update={"start": first.date(), "end": (last - timedelta(days=1)).date()}
    )
    records, _, _ = play_records(
        history, frames, config=config, as_of=ref, kpis=(play.primary_kpi,)
    )
    kpi = play.primary_kpi
    after = records.filter(pl.col("__after"))
    if play.control.kind == "holdout":
        treated, control = after, None
    else:
        treated = after.filter(~pl.col("__control"))
        control = after.filter(pl.col("__control"))
    t = Sample.of(treated[kpi].drop_nulls().to_numpy())
    weeks_read = history_weeks
    vol_t = t.n / weeks_read
    d = play.decision
    warnings = list(overlapping_plays(play, frames, config=config))
    needed: int | None = None
    weeks: float | None = None
    vol_c: float | None = None
    if t.n < 2:
        warnings.append(
            f"{t.n} records of the population in the {history_weeks} weeks read: nothing to "
            "plan from"
        )
    elif control is None:
        needed = records_needed(
            t.variance,
            d.min_lift,
            confidence=d.confidence,
            power=d.power,
            share=play.control.share,
            play_variance=variance_with_lift(t, d.min_lift),
        )
        weeks = needed / vol_t
    else:
        c = Sample.of(control[kpi].drop_nulls().to_numpy())
        vol_c = c.n / weeks_read
        if c.n < 2:
            warnings.append(f"{c.n} records of the control in the weeks read: nothing to plan from")
        else:
            target = (d.min_lift / (z_of(d.confidence) + NormalDist().inv_cdf(d.power))) ** 2
            pre = play.control.pre_weeks or 8
            # The play's records after the start carry the lift (a rate's spread moves with it).
            fixed = t.variance / (pre * vol_t) + c.variance / (pre * vol_c)
            if fixed >= target:
                warnings.append(
                    f"{pre} pre-period weeks are too few to ever detect {d.min_lift:g}: "
                    "raise control.pre_weeks"
                )
            else:
                lifted = variance_with_lift(t, d.min_lift)
                weeks = (lifted / vol_t + c.variance / vol_c) / (target - fixed)
                needed = math.ceil(weeks * (vol_t + vol_c))
    read_on = None
    if weeks is not None:
        read_on = play.start + timedelta(days=math.ceil(weeks * 7) + play.window_days)
        if play.end is not None and play.start + timedelta(days=math.ceil(weeks * 7)) > play.end:
            warnings.append(
                f"the play ends on {play.end}, before the {weeks:.1f} weeks it needs: "
                "extend it, widen the population or raise min_lift"
            )
    return PlayPlan(
        play=play.name,
        kpi=kpi,
        history_weeks=history_weeks,
        base_rate=t.mean,
        std_dev=math.sqrt(t.variance) if t.n >= 2 else math.nan,
        records_per_week=vol_t,
        control_records_per_week=vol_c,
        min_lift=d.min_lift,
        confidence=d.confidence,
        power=d.power,
        records_needed=needed,
        weeks_needed=weeks,
        read_on=read_on,
        warnings=tuple(warnings),
    )


def overlapping_plays(
    play: PlayConfig, frames: Mapping[str, Any], *, config: Config | None
) -> list[str]:
    """One line per other play of ``config`` that runs on some of the same days, on the same
    entity, and covers some of the same records (counted among the records entering while
    both run)."""
    if config is None:
        return []
    out: list[str] = []
    lf = lazy_frame(frames, play.population.entity, needed_by=f"play {play.name!r}")
    for other in config.plays:
        if other.name == play.name or other.population.entity != play.population.entity:
            continue
        lo = max(play.start, other.start)
        ends = [e for e in (play.end, other.end) if e is not None]
        hi = min(ends) if ends else None
        if hi is not None and hi < lo:
            continue
        entered = naive_time(lf, entry_column(play))
        in_dates = entered >= datetime.combine(lo, datetime.min.time())
        if hi is not None:
            in_dates = in_dates & (
                entered < datetime.combine(hi + timedelta(days=1), datetime.min.time())
            )
        both = matches(lf, play.population.where, what="population.where") & matches(
            lf, other.population.where, what=f"population.where of {other.name}"
        )
        count = lf.filter(in_dates & both).select(nw.len()).collect().item()
        if count:
            out.append(
                f"play {other.name!r} runs on the same days and covers {count} of the same "
                f"{play.population.entity}: their lifts are not independent"
            )
    return out


def running_lifts(
    play: PlayConfig | str,
    frames: Mapping[str, Any],
    *,
    config: Config | None = None,
    as_of: datetime | date | str | None = None,
    every_days: int = 7,
    resamples: int = 1000,
) -> pl.DataFrame:
    """The play's lift as it was read each ``every_days`` from its start to ``as_of``: one
    row per reading with ``as_of, lift, lower, upper, probability_positive, play_records,
    control_records, verdict`` (the weekly cadence's view, and the report's chart)."""
    play = find_play(play, config)
    last = naive_utc(as_of)
    step = timedelta(days=every_days)
    moment = datetime.combine(play.start, datetime.min.time()) + step
    rows: list[dict[str, Any]] = []
    while True:
        moment = min(moment, last)
        lift = play_lift(play, frames, config=config, as_of=moment, resamples=resamples)
        p = lift.primary
        rows.append(
            {
                "as_of": moment,
                "lift": p.lift,
                "lower": p.lower,
                "upper": p.upper,
                "probability_positive": p.probability_positive,
                "play_records": p.play_records,
                "control_records": p.control_records,
                "verdict": lift.verdict,
            }
        )
        if moment >= last:
            break
        moment += step
    return pl.DataFrame(rows, schema_overrides={"as_of": pl.Datetime("us")}).with_columns(
        pl.col("lift", "lower", "upper", "probability_positive").fill_nan(None)
    )
