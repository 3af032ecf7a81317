""":func:`play_lift`: a play's primary KPI in the play and in its control, the lift with its
interval, the guardrails, and the verdict of the decision rule (docs/plays.md)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import NormalDist
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from revgov._typing import PlayControl, PlayKPI, PlayVerdict
from revgov.config.schema import Config, PlayConfig
from revgov.config.schema.plays import LOWER_IS_BETTER
from revgov.errors import PlayError
from revgov.metrics import naive_utc
from revgov.plays.assignment import in_holdout
from revgov.plays.outcomes import (
    ENTERED,
    ID_COLUMNS,
    entry_column,
    lazy_frame,
    matches,
    naive_time,
    per_record,
)
from revgov.plays.stats import PreTrend, Sample, estimate, pre_trend, z_of
from revgov.plays.units import fmt_value

__all__ = ["DEFAULT_PRE_WEEKS", "KPILift", "PlayLift", "find_play", "play_lift", "play_records"]

#: Weeks before the start read as the pre-period when ``control.pre_weeks`` is not set.
DEFAULT_PRE_WEEKS = 8

_CONTROL = "__control"
_AFTER = "__after"
_READABLE = "__readable"
_IN_PLAY = "__in_play"
_IN_CONTROL = "__in_control"


@dataclass(frozen=True)
class KPILift:
    """One KPI of a play: its mean in each arm after the start, and the lift (positive is
    better: for speed to lead, the hours saved) with its interval."""

    kpi: PlayKPI
    lower_is_better: bool
    play_value: float
    control_value: float
    lift: float
    lower: float
    upper: float
    probability_positive: float
    play_records: int
    control_records: int
    left_out: int
    max_harm: float | None = None

    @property
    def relative_lift(self) -> float:
        """The lift as a share of the control's value (nan when the control is 0)."""
        if not self.control_value or math.isnan(self.control_value):
            return math.nan
        return self.lift / abs(self.control_value)

    @property
    def harmed(self) -> bool:
        """A guardrail whose whole interval is worse than ``-max_harm``."""
        return self.max_harm is not None and self.upper < -self.max_harm

    def to_dict(self) -> dict[str, Any]:
        out = {k: _json(v) for k, v in self.__dict__.items()}
        out["relative_lift"] = _json(self.relative_lift)
        if self.max_harm is not None:
            out["harmed"] = self.harmed
        return out


@dataclass(frozen=True)
class PlayLift:
    """What :func:`play_lift` says of a play on ``as_of``."""

    play: str
    owner: str
    control: PlayControl
    as_of: datetime
    start: date
    end: date | None
    confidence: float
    min_lift: float
    resamples: int
    primary: KPILift
    guardrails: tuple[KPILift, ...]
    pre_trend: PreTrend | None
    verdict: PlayVerdict
    reasons: tuple[str, ...]
    days_needed: int | None
    records_in_both_arms: int
    records_not_yet_readable: int
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON values (intervals, counts, verdict and its reasons)."""
        trend = None
        if self.pre_trend is not None:
            trend = {
                "gaps": [_json(g) for g in self.pre_trend.gaps],
                "slope": _json(self.pre_trend.slope),
                "std_error": _json(self.pre_trend.std_error),
                "passed": self.pre_trend.passed,
                "reason": self.pre_trend.reason,
            }
        return {
            "play": self.play,
            "owner": self.owner,
            "control": self.control,
            "as_of": self.as_of.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "confidence": self.confidence,
            "min_lift": self.min_lift,
            "resamples": self.resamples,
            "primary": self.primary.to_dict(),
            "guardrails": [g.to_dict() for g in self.guardrails],
            "pre_trend": trend,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "days_needed": self.days_needed,
            "records_in_both_arms": self.records_in_both_arms,
            "records_not_yet_readable": self.records_not_yet_readable,
            "warnings": list(self.warnings),
        }


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def find_play(play: PlayConfig | str, config: Config | None) -> PlayConfig:
    """``play`` itself, or the ``[[plays]]`` entry of ``config`` it names."""
    if isinstance(play, PlayConfig):
        return play
    names = [p.name for p in config.plays] if config is not None else []
    if config is not None and play in names:
        return config.play(play)
    close = difflib.get_close_matches(play, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise PlayError(
        f"no play named {play!r} in revgov.toml",
        hint=hint + (f"plays: {', '.join(names)}" if names else "define it under [[plays]]"),
    )


def _day(d: date) -> datetime:
    return datetime.combine(d, time())


@dataclass(frozen=True)
class _Window:
    """The dates a play is read over, as naive UTC datetimes."""

    start: datetime
    stop: datetime  # entries up to here are in the play (end of the last day, or as_of)
    readable: datetime  # entries before here have had window_days to show their outcome
    pre_start: datetime | None

    @property
    def readable_days(self) -> float:
        return max((self.readable - self.start).total_seconds() / 86400, 0.0)


def _window(play: PlayConfig, as_of: datetime) -> _Window:
    start = _day(play.start)
    stop = as_of if play.end is None else min(as_of, _day(play.end) + timedelta(days=1))
    readable = min(stop, as_of - timedelta(days=play.window_days))
    pre_start = None
    if play.control.kind != "holdout":
        pre_start = start - timedelta(weeks=play.control.pre_weeks or DEFAULT_PRE_WEEKS)
    return _Window(start, stop, max(readable, start), pre_start)


def play_records(
    play: PlayConfig,
    frames: Mapping[str, Any],
    *,
    config: Config | None = None,
    as_of: datetime,
    kpis: tuple[PlayKPI, ...] | None = None,
) -> tuple[pl.DataFrame, int, int]:
    """The play's records with their arm, period and per-KPI values, as polars: the id,
    ``__entered``, ``__control`` (in the control arm, else the play's), ``__after`` (entered after the
    start), ``__readable`` (had ``window_days`` to show the outcome) and one column per KPI.

    Also returns the records in both arms (left out) and the ids listed more than once.
    """
    window = _window(play, as_of)
    entity = play.population.entity
    id_col = ID_COLUMNS[entity]
    lf = lazy_frame(frames, entity, needed_by=f"play {play.name!r}")
    entered = entry_column(play)
    names = lf.collect_schema().names()
    for col in (id_col, entered):
        if col not in names:
            raise PlayError(
                f"{entity} has no column {col!r}, which play {play.name!r} reads",
                hint="map it in the source, or set population.entered_at to a time column",
            )
    lf = lf.with_columns(naive_time(lf, entered).alias(ENTERED))
    lo = window.pre_start or window.start
    in_dates = (nw.col(ENTERED) >= lo) & (nw.col(ENTERED) < window.stop)
    in_play = matches(lf, play.population.where, what=f"{entity} (population.where)")
    if play.control.kind == "comparison":
        in_control = matches(lf, play.control.where, what=f"{entity} (control.where)")
    elif play.control.kind == "pre_period":
        in_control = ~in_play
    else:
        in_control = nw.lit(False)
    lf = lf.filter(in_dates).with_columns(in_play.alias(_IN_PLAY), in_control.alias(_IN_CONTROL))
    lf = lf.filter(nw.col(_IN_PLAY) | nw.col(_IN_CONTROL))
    wanted = kpis or (play.primary_kpi, *(g.kpi for g in play.guardrails))
    records = per_record(
        wanted, lf, frames, play=play, config=config, as_of=as_of, keep=(_IN_PLAY, _IN_CONTROL)
    )
    duplicates = 0
    # Distinct 64-bit hashes prove distinct ids at a fraction of the cost of comparing the
    # strings; only when some hashes repeat are the ids themselves compared and deduplicated.
    if records[id_col].hash().n_unique() < records.height:
        # Ids that appear more than once (their rows also multiply in the joins).
        duplicates = records.filter(pl.col(id_col).is_duplicated())[id_col].n_unique()
        records = records.unique(subset=[id_col], keep="first", maintain_order=True)
    both = records.filter(pl.col(_IN_PLAY) & pl.col(_IN_CONTROL)).height
    if both:
        records = records.filter(~(pl.col(_IN_PLAY) & pl.col(_IN_CONTROL)))
    if play.control.kind == "holdout":
        held = pl.Series(_CONTROL, in_holdout(records[id_col], play.name, play.control.share))
    else:
        held = (~records[_IN_PLAY]).alias(_CONTROL)
    records = records.with_columns(
        held,
        (pl.col(ENTERED) >= window.start).alias(_AFTER),
        (pl.col(ENTERED) < window.readable).alias(_READABLE),
    ).drop(_IN_PLAY, _IN_CONTROL)
    return records, both, duplicates


def _sample(records: pl.DataFrame, kpi: str, arm: str, after: bool) -> tuple[Sample, int]:
    rows = records.filter((pl.col(_CONTROL) == (arm == "control")) & (pl.col(_AFTER) == after))[kpi]
    return Sample.of(rows.drop_nulls().to_numpy()), rows.null_count()


def _kpi_lift(
    records: pl.DataFrame,
    kpi: PlayKPI,
    play: PlayConfig,
    rng: np.random.Generator,
    resamples: int,
    max_harm: float | None = None,
) -> tuple[KPILift, list[Sample]]:
    did = play.control.kind != "holdout"
    (t1, lt), (c1, lc) = _sample(records, kpi, "play", True), _sample(records, kpi, "control", True)
    treated, control = [t1], [c1]
    if did:
        treated.append(_sample(records, kpi, "play", False)[0])
        control.append(_sample(records, kpi, "control", False)[0])
    est = estimate(
        treated,
        control,
        confidence=play.decision.confidence,
        resamples=resamples,
        rng=rng,
        lower_is_better=kpi in LOWER_IS_BETTER,
    )
    lift = KPILift(
        kpi=kpi,
        lower_is_better=kpi in LOWER_IS_BETTER,
        play_value=t1.mean,
        control_value=c1.mean,
        lift=est.lift,
        lower=est.lower,
        upper=est.upper,
        probability_positive=est.probability_positive,
        play_records=t1.n,
        control_records=c1.n,
        left_out=lt + lc,
        max_harm=max_harm,
    )
    return lift, [*treated, *control]


def _pre_trend(records: pl.DataFrame, play: PlayConfig, window: _Window) -> PreTrend:
    kpi = play.primary_kpi
    pre = records.filter(~pl.col(_AFTER) & pl.col(kpi).is_not_null())
    assert window.pre_start is not None
    weekly = (
        pre.with_columns(((pl.col(ENTERED) - window.pre_start).dt.total_days() // 7).alias("__w"))
        .with_columns(
            pl.when(pl.col(_CONTROL))
            .then(pl.lit("control"))
            .otherwise(pl.lit("play"))
            .alias("__arm")
        )
        .group_by("__w", "__arm")
        .agg(pl.col(kpi).mean())
        .pivot(on="__arm", index="__w", values=kpi)
        .sort("__w")
    )
    if "play" not in weekly.columns or "control" not in weekly.columns:
        return pre_trend([], confidence=play.decision.confidence)
    gaps = weekly.select((pl.col("play") - pl.col("control")).alias("gap"))["gap"]
    return pre_trend(gaps.drop_nulls().to_list(), confidence=play.decision.confidence)


def _days_needed(
    samples: list[Sample], play: PlayConfig, window: _Window, as_of: datetime
) -> int | None:
    """Days from ``as_of`` until the play has the records to detect ``min_lift`` at the
    planned power: the post-start cells grow with the days the play runs (the pre-period
    cells of a difference-in-differences do not), and the last entries need ``window_days``
    more to be read."""
    if any(s.n < 2 for s in samples) or window.readable_days <= 0:
        return None
    half = len(samples) // 2
    after = [samples[0], samples[half]]
    before = [samples[1], samples[half + 1]] if half == 2 else []
    d = play.decision
    target = (d.min_lift / (z_of(d.confidence) + _z_power(d.power))) ** 2
    fixed = sum(s.variance / s.n for s in before)
    if fixed >= target:
        return None
    growth = sum(s.variance / s.n for s in after) / (target - fixed)
    entry_days = window.readable_days * growth
    until = window.start + timedelta(days=entry_days + play.window_days)
    return max(0, math.ceil((until - as_of).total_seconds() / 86400))


def _z_power(power: float) -> float:
    return NormalDist().inv_cdf(power)


def play_lift(
    play: PlayConfig | str,
    frames: Mapping[str, Any],
    *,
    config: Config | None = None,
    as_of: datetime | date | str | None = None,
    resamples: int = 1000,
    seed: int | None = None,
) -> PlayLift:
    """Measure a play: its primary KPI in the play and in the control, the lift with its
    interval, the probability the lift is positive, the guardrails and the verdict.

    ``play`` is a :class:`~revgov.config.PlayConfig` or the name of one in ``config``;
    ``frames`` maps entity names to frames of one engine (polars, DuckDB, PySpark), as
    ``SnapshotStore(...).frames()`` gives them. A holdout play is read by a bootstrap over
    records (``resamples`` times); a comparison or pre-period play by difference-in-differences
    against the ``pre_weeks`` before its start, with the pre-trend check. The bootstrap is
    seeded from the play's name (or ``seed``), so the same data give the same interval.

    Formulas (docs/plays.md): ``lift = mean(play) - mean(control)`` (holdout) or
    ``(play_after - play_before) - (control_after - control_before)``, sign flipped for KPIs
    where less is better; the interval is the bootstrap's percentiles at
    ``decision.confidence``; ``P(lift > 0)`` the share of bootstrap lifts above 0.

    The verdict: *scale* when the interval excludes 0 and reaches ``decision.min_lift``, no
    guardrail is harmed and the pre-trend (if any) held; *stop* when the interval rules out
    ``min_lift``, a guardrail's interval lies wholly beyond its ``max_harm``, or the play ended
    without showing lift; else *keep running*, with the days still needed. Too few records in
    an arm (under ``decision.min_records``) is always *keep running*, and said.
    """
    play = find_play(play, config)
    moment = naive_utc(as_of)
    window = _window(play, moment)
    records, both, duplicates = play_records(play, frames, config=config, as_of=moment)
    readable = records.filter(pl.col(_READABLE))
    not_yet = records.filter(pl.col(_AFTER) & ~pl.col(_READABLE)).height
    rng = np.random.default_rng(seed if seed is not None else list(play.name.encode()))
    primary, samples = _kpi_lift(readable, play.primary_kpi, play, rng, resamples)
    guardrails = tuple(
        _kpi_lift(readable, g.kpi, play, rng, resamples, max_harm=g.max_harm)[0]
        for g in play.guardrails
    )
    trend = _pre_trend(readable, play, window) if play.control.kind != "holdout" else None
    warnings: list[str] = []
    if both:
        warnings.append(
            f"{both} records match both the play and the comparison segment: left out of both"
        )
    if duplicates:
        warnings.append(f"{duplicates} records are listed more than once: each counted once")
    if trend is not None and trend.passed is not True:
        warnings.append(trend.reason)
    if not_yet:
        warnings.append(
            f"{not_yet} records entered in the last {play.window_days} days: not read yet "
            "(their outcome window is still open)"
        )
    if primary.left_out:
        warnings.append(f"{primary.left_out} records have no {play.primary_kpi} value: left out")
    verdict, reasons, days = _decide(play, primary, guardrails, trend, samples, window, moment)
    return PlayLift(
        play=play.name,
        owner=play.owner,
        control=play.control.kind,
        as_of=moment,
        start=play.start,
        end=play.end,
        confidence=play.decision.confidence,
        min_lift=play.decision.min_lift,
        resamples=resamples,
        primary=primary,
        guardrails=guardrails,
        pre_trend=trend,
        verdict=verdict,
        reasons=tuple(reasons),
        days_needed=days,
        records_in_both_arms=both,
        records_not_yet_readable=not_yet,
        warnings=tuple(warnings),
    )


def _decide(
    play: PlayConfig,
    primary: KPILift,
    guardrails: tuple[KPILift, ...],
    trend: PreTrend | None,
    samples: list[Sample],
    window: _Window,
    as_of: datetime,
) -> tuple[PlayVerdict, list[str], int | None]:
    d = play.decision
    level = f"{d.confidence:.0%}"
    kpi = primary.kpi

    def v(value: float) -> str:
        return fmt_value(kpi, value, signed=True)

    fewest = min(s.n for s in samples)
    days = _days_needed(samples, play, window, as_of)
    ended = play.end is not None and as_of >= _day(play.end) + timedelta(days=play.window_days + 1)
    if fewest < d.min_records:
        return (
            "keep_running",
            [f"too few records to decide: {fewest} in the smallest arm, {d.min_records} needed"],
            days,
        )
    harmed = [g for g in guardrails if g.harmed]
    if harmed:
        return (
            "stop",
            [
                f"guardrail {g.kpi} harmed: lift {fmt_value(g.kpi, g.lift, signed=True)} "
                f"({level} interval up to {fmt_value(g.kpi, g.upper, signed=True)}), beyond "
                f"the {fmt_value(g.kpi, -(g.max_harm or 0.0), signed=True)} tolerated"
                for g in harmed
            ],
            None,
        )
    if primary.lower > 0 and primary.upper >= d.min_lift:
        if trend is not None and trend.passed is False:
            return "keep_running", [f"lift shown but {trend.reason}: not safe to scale"], days
        return (
            "scale",
            [
                f"lift {v(primary.lift)} with {level} interval [{v(primary.lower)}, "
                f"{v(primary.upper)}]: above 0 and reaching the {v(d.min_lift)} worth scaling"
            ],
            None,
        )
    if primary.upper < d.min_lift:
        return (
            "stop",
            [
                f"the {level} interval [{v(primary.lower)}, {v(primary.upper)}] rules out "
                f"the {v(d.min_lift)} lift worth scaling"
            ],
            None,
        )
    if ended:
        return (
            "stop",
            [f"the play ended on {play.end} without showing lift (interval spans 0)"],
            None,
        )
    reason = (
        f"the {level} interval [{v(primary.lower)}, {v(primary.upper)}] spans 0 and "
        f"the {v(d.min_lift)} worth scaling"
    )
    return "keep_running", [reason], days
