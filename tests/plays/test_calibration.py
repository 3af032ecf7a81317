"""Calibration over seeded simulated plays: the 95% interval holds the true lift in 93-97%
of them, null plays are scaled in at most 5%, and the planned duration detects the planned
lift with at least the planned power (within simulation error). Statistical tests with
fixed seeds: the figures are the same on every run (docs/plays.md quotes them)."""

from __future__ import annotations

import math
from datetime import timedelta

from tests.plays.simulate import START_AT, sim_play, simulate

from revgov.plays import plan_play, play_lift

HOLDOUT_PLAYS = 1000
DID_PLAYS = 400
POWER_PLAYS = 400


def test_holdout_interval_coverage_and_null_plays_not_scaled() -> None:
    play = sim_play(min_lift=0.04)
    covered = scaled_nulls = nulls = 0
    for seed in range(HOLDOUT_PLAYS):
        lift = 0.0 if seed % 2 == 0 else 0.08
        sim = simulate(play, seed=seed, lift=lift, per_week=120)
        result = play_lift(play, sim.frames, as_of=sim.as_of, resamples=500)
        p = result.primary
        covered += p.lower <= sim.true_lift <= p.upper
        if lift == 0.0:
            nulls += 1
            scaled_nulls += result.verdict == "scale"
    coverage = covered / HOLDOUT_PLAYS
    print(f"holdout coverage {coverage:.1%}; null plays scaled {scaled_nulls / nulls:.1%}")
    assert 0.93 <= coverage <= 0.97
    assert scaled_nulls / nulls <= 0.05


def test_difference_in_differences_coverage() -> None:
    play = sim_play(control={"kind": "comparison", "where": {"segment": "mid"}})
    covered = 0
    for seed in range(DID_PLAYS):
        sim = simulate(play, seed=10_000 + seed, lift=0.06, per_week=200)
        p = play_lift(play, sim.frames, as_of=sim.as_of, resamples=500).primary
        covered += p.lower <= sim.true_lift <= p.upper
    coverage = covered / DID_PLAYS
    print(f"difference-in-differences coverage {coverage:.1%}")
    assert 0.93 <= coverage <= 0.97


def test_the_planned_duration_detects_the_planned_lift() -> None:
    play = sim_play(min_lift=0.06)
    history = simulate(play, seed=99, per_week=150, weeks_before=30, as_of=START_AT)
    plan = plan_play(play, history.frames)
    assert plan.weeks_needed is not None and plan.read_on is not None
    read_at = START_AT + timedelta(days=math.ceil(plan.weeks_needed * 7) + play.window_days)
    detected = 0
    for seed in range(POWER_PLAYS):
        sim = simulate(play, seed=20_000 + seed, lift=0.06, per_week=150, as_of=read_at)
        p = play_lift(play, sim.frames, as_of=read_at, resamples=500).primary
        detected += p.lower > 0
    power = detected / POWER_PLAYS
    error = math.sqrt(0.8 * 0.2 / POWER_PLAYS)
    print(f"planned {plan.weeks_needed:.1f} weeks; power {power:.1%} (planned 80%)")
    assert power >= 0.8 - 2 * error
