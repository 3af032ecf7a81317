"""play_lift and plan_play on small frames worked out by hand, and their honesty: too few
records, records in both arms, overlapping plays and guardrails are said."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest
from tests.plays.simulate import AS_OF, START_AT, sim_play, simulate

from revgov.config import config_from_dict
from revgov.errors import PlayError
from revgov.plays import plan_play, play_lift, running_lifts


def _people(rows: list[tuple[str, str, int, bool]]) -> dict[str, pl.DataFrame]:
    """(id, segment, days from the start, met) -> people and their meetings (2 days later)."""
    created = [START_AT + timedelta(days=d) for _, _, d, _ in rows]
    people = pl.DataFrame(
        {"person_id": [r[0] for r in rows], "segment": [r[1] for r in rows], "created_at": created}
    )
    met = [(r[0], c + timedelta(days=2)) for r, c in zip(rows, created, strict=True) if r[3]]
    activities = pl.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(len(met))],
            "type": ["Meeting"] * len(met),
            "person_id": [m[0] for m in met],
            "occurred_at": [m[1] for m in met],
        }
    )
    return {"people": people, "activities": activities}


def _hand_rows() -> list[tuple[str, str, int, bool]]:
    # smb: 1 of 4 met before the start, 3 of 4 after; mid: 2 of 5 before, 3 of 5 after.
    smb = [
        (f"s{i}", "smb", d, m)
        for i, (d, m) in enumerate(
            [
                (-20, True),
                (-15, False),
                (-9, False),
                (-3, False),
                (3, True),
                (10, True),
                (17, True),
                (24, False),
            ]
        )
    ]
    mid = [
        (f"m{i}", "mid", d, m)
        for i, (d, m) in enumerate(
            [
                (-21, True),
                (-14, True),
                (-10, False),
                (-6, False),
                (-2, False),
                (2, True),
                (8, True),
                (15, True),
                (20, False),
                (25, False),
            ]
        )
    ]
    return smb + mid


def test_difference_in_differences_on_a_hand_computed_crm() -> None:
    play = sim_play(control={"kind": "comparison", "where": {"segment": "mid"}})
    frames = _people(_hand_rows())
    for engine in (frames, {k: duckdb.from_arrow(v.to_arrow()) for k, v in frames.items()}):
        result = play_lift(play, engine, as_of=START_AT + timedelta(days=60))
        assert result.primary.lift == pytest.approx((0.75 - 0.25) - (0.6 - 0.4))
        assert result.primary.play_value == 0.75 and result.primary.control_value == 0.6
        # 4 records in the smallest cell: said, and never a "scale".
        assert result.verdict == "keep_running"
        assert "too few records to decide: 4 in the smallest arm" in result.reasons[0]
        assert result.pre_trend is not None and "pre-trend" in result.pre_trend.reason


def test_records_in_both_arms_and_not_yet_readable_are_said() -> None:
    rows = _hand_rows()
    frames = _people(rows)
    # The comparison segment is "mid" or "smb" people created on odd days: 4 overlap.
    frames["people"] = frames["people"].with_columns(
        pl.when(pl.col("person_id").is_in(["s0", "s4", "s5", "s6"]))
        .then(pl.lit("smb_mid"))
        .otherwise(pl.col("segment"))
        .alias("tier")
    )
    play = sim_play(
        population={"entity": "people", "where": {"segment": "smb"}},
        control={"kind": "comparison", "where": {"tier": ["mid", "smb_mid"]}},
    )
    result = play_lift(play, frames, as_of=START_AT + timedelta(days=30))
    assert result.records_in_both_arms == 4
    assert any("4 records match both the play and the comparison" in w for w in result.warnings)
    # Entered in the last 14 days (window_days) of the 30 (s7 on day 24, m8 and m9 on days
    # 20 and 25): read later, and said.
    assert result.records_not_yet_readable == 3
    assert any("not read yet" in w for w in result.warnings)


def test_a_missing_column_and_an_unknown_play_name_the_fix() -> None:
    play = sim_play(population={"entity": "people", "where": {"segmnt": "smb"}})
    with pytest.raises(PlayError, match="no column 'segmnt'") as info:
        play_lift(play, _people(_hand_rows()), as_of=AS_OF)
    assert "did you mean 'segment'?" in str(info.value)
    cfg = config_from_dict({"plays": [sim_play().model_dump()]})
    with pytest.raises(PlayError, match="did you mean 'sim'"):
        play_lift("sin", {}, config=cfg)


def test_a_harmed_guardrail_stops_the_play() -> None:
    play = sim_play(guardrails=[{"kpi": "pipeline_created", "max_harm": 100.0}])
    sim = simulate(play, seed=4, per_week=400, lift=0.15)
    people = sim.frames["people"]
    # Deals worth 10k for held-out smb people, 1k for the play's: the play costs pipeline.
    from revgov.plays import in_holdout

    held = in_holdout(people["person_id"], play.name, play.control.share)
    opps = people.with_columns(pl.Series("held", held)).select(
        pl.format("O{}", "person_id").alias("opportunity_id"),
        pl.col("person_id").alias("primary_person_id"),
        (pl.col("created_at") + pl.duration(days=1)).alias("created_at"),
        pl.when(pl.col("held")).then(10_000.0).otherwise(1_000.0).alias("amount"),
    )
    result = play_lift(play, {**sim.frames, "opportunities": opps}, as_of=sim.as_of)
    assert result.primary.lower > 0  # the primary KPI alone would scale
    (guard,) = result.guardrails
    assert guard.lift == pytest.approx(-9000.0) and guard.harmed
    assert result.verdict == "stop" and "guardrail pipeline_created harmed" in result.reasons[0]


def test_overlapping_plays_are_warned_in_the_plan() -> None:
    one = sim_play().model_dump()
    two = {
        **one,
        "name": "other",
        "population": {"entity": "people", "where": {"segment": ["smb", "mid"]}},
    }
    cfg = config_from_dict({"plays": [one, two]})
    sim = simulate(sim_play(), seed=5, weeks_before=20)
    plan = plan_play("sim", sim.frames, config=cfg)
    overlap = [w for w in plan.warnings if "'other'" in w]
    smb_after = (
        sim.frames["people"]
        .filter((pl.col("segment") == "smb") & (pl.col("created_at") >= START_AT))
        .height
    )
    assert overlap and f"covers {smb_after} of the same people" in overlap[0]


def test_plan_reads_the_segment_history() -> None:
    play = sim_play(min_lift=0.05)
    sim = simulate(play, seed=6, per_week=400, weeks_before=30)
    plan = plan_play(play, sim.frames)
    history = sim.frames["people"].filter(
        (pl.col("segment") == "smb")
        & (pl.col("created_at") >= START_AT - timedelta(days=14, weeks=12))
        & (pl.col("created_at") < START_AT - timedelta(days=14))
    )
    assert plan.records_per_week == pytest.approx(history.height / 12)
    assert plan.base_rate == pytest.approx(0.2, abs=0.03)
    p = plan.base_rate
    n = history.height
    var_c = p * (1 - p) * n / (n - 1)  # the history's sample variance
    var_p = (p + 0.05) * (0.95 - p) * n / (n - 1)  # a rate's variance once lifted
    expected = (1.959964 + 0.841621) ** 2 * (var_c / 0.3 + var_p / 0.7) / 0.05**2
    assert plan.records_needed == pytest.approx(expected, rel=0.01)
    assert plan.weeks_needed == pytest.approx(plan.records_needed / plan.records_per_week)


def test_running_lifts_narrow_week_by_week() -> None:
    play = sim_play()
    sim = simulate(play, seed=7, per_week=300, lift=0.1)
    weekly = running_lifts(play, sim.frames, as_of=sim.as_of, resamples=300)
    assert weekly["as_of"].to_list()[-1] == datetime(2026, 6, 1)
    read = weekly.drop_nulls("lift")
    widths = (read["upper"] - read["lower"]).to_list()
    assert widths[-1] < widths[0] / 2
    assert read["play_records"].is_sorted()


def test_the_pre_period_compares_with_everyone_outside_the_population() -> None:
    # Outside the smb population there is only mid here: the same answer as comparing with mid.
    play = sim_play(control={"kind": "pre_period", "pre_weeks": 4})
    result = play_lift(play, _people(_hand_rows()), as_of=START_AT + timedelta(days=60))
    assert result.primary.lift == pytest.approx((0.75 - 0.25) - (0.6 - 0.4))
    assert result.control == "pre_period"


def test_records_listed_twice_count_once_and_are_said() -> None:
    frames = _people(_hand_rows())
    frames["people"] = pl.concat([frames["people"], frames["people"].head(3)])
    play = sim_play(control={"kind": "comparison", "where": {"segment": "mid"}})
    result = play_lift(play, frames, as_of=START_AT + timedelta(days=60))
    assert result.primary.lift == pytest.approx(0.3)
    assert any("3 records are listed more than once" in w for w in result.warnings)
