"""The statistics by hand: difference-in-differences, the bootstrap, the pre-trend, n."""

from __future__ import annotations

import math

import numpy as np
import pytest

from revgov.plays.stats import MAX_DISTINCT, Sample, estimate, pre_trend, records_needed


def test_difference_in_differences_by_hand() -> None:
    # play: 1/4 met before, 3/4 after; comparison: 2/5 before, 3/5 after.
    play_after, play_before = Sample.of([1, 1, 1, 0]), Sample.of([1, 0, 0, 0])
    ctrl_after, ctrl_before = Sample.of([1, 1, 1, 0, 0]), Sample.of([1, 1, 0, 0, 0])
    est = estimate(
        [play_after, play_before],
        [ctrl_after, ctrl_before],
        confidence=0.9,
        resamples=2000,
        rng=np.random.default_rng(1),
    )
    assert est.lift == pytest.approx((0.75 - 0.25) - (0.6 - 0.4))
    assert est.lower < est.lift < est.upper


def test_lower_is_better_flips_the_sign() -> None:
    fast, slow = Sample.of([1.0, 2.0, 3.0]), Sample.of([4.0, 5.0, 6.0])
    rng = np.random.default_rng(0)
    est = estimate([fast], [slow], confidence=0.95, resamples=500, rng=rng, lower_is_better=True)
    assert est.lift == pytest.approx(3.0) and est.probability_positive == 1.0


def test_bootstrap_spread_matches_the_standard_error() -> None:
    rng = np.random.default_rng(5)
    a = Sample.of(rng.random(4000) < 0.3)
    b = Sample.of(rng.random(4000) < 0.3)
    est = estimate([a], [b], confidence=0.95, resamples=4000, rng=rng)
    se = math.sqrt(a.variance / a.n + b.variance / b.n)
    assert float(np.std(est.draws)) == pytest.approx(se, rel=0.05)


def test_many_distinct_values_are_grouped_keeping_the_mean() -> None:
    values = np.random.default_rng(2).exponential(30.0, 50_000)
    s = Sample.of(values)
    assert len(s.values) == MAX_DISTINCT and s.n == 50_000
    assert s.mean == pytest.approx(values.mean())
    assert s.variance == pytest.approx(values.var(ddof=1), rel=1e-3)


def test_pre_trend_flags_a_moving_gap_and_passes_a_flat_one() -> None:
    flat = pre_trend([0.01, -0.02, 0.0, 0.015, -0.01, 0.005], confidence=0.95)
    moving = pre_trend([0.0, 0.02, 0.041, 0.06, 0.079, 0.1], confidence=0.95)
    assert flat.passed is True and moving.passed is False
    assert moving.slope == pytest.approx(0.02, abs=0.001)
    assert pre_trend([0.1, 0.2], confidence=0.95).passed is None


def test_records_needed_by_the_formula() -> None:
    # (1.96 + 0.8416)^2 * 0.16 * (1/0.5 + 1/0.5) / 0.05^2 = 2009.6 -> 2010
    assert records_needed(0.16, 0.05, confidence=0.95, power=0.8, share=0.5) == 2010
