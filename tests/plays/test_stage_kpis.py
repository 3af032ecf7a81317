"""Stage conversion and time in stage as play KPIs: each deal's value, recomputed from the
stage history in plain polars, gives the arms' means that play_lift reports."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from revgov.config import Config, config_from_dict
from revgov.demo import generate
from revgov.errors import ConfigValidationError, PlayError
from revgov.plays import play_lift

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won"]


def _config(config: Config, kpi: str, stage: str = "Proposal") -> Config:
    data = config.model_dump(mode="json")
    data["plays"] = [
        {
            "name": "deal-desk",
            "owner": "Sales",
            "start": "2026-01-01",
            "primary_kpi": kpi,
            "stage": stage,
            "window_days": 45,
            "population": {"entity": "opportunities"},
            "control": {"kind": "holdout", "share": 0.5},
            "decision": {"min_lift": 0.05, "confidence": 0.95},
        }
    ]
    return Config.model_validate(data)


@pytest.fixture(scope="module")
def demo():  # type: ignore[no-untyped-def]
    return generate(scale=0.3, seed=11)


def _arms_mean(values: pl.DataFrame, lift, rel: float = 1e-9) -> None:  # type: ignore[no-untyped-def]
    """Both arms' records, weighted: the mean over every readable deal of the play."""
    p = lift.primary
    pooled = (p.play_value * p.play_records + p.control_value * p.control_records) / (
        p.play_records + p.control_records
    )
    assert p.play_records + p.control_records == values.height
    assert pooled == pytest.approx(values["value"].mean(), rel=rel)


def _events(demo, start: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:  # type: ignore[no-untyped-def]
    naive = {"created_at", "changed_at"}
    opps, ev = (
        f.with_columns(
            pl.col(c).dt.replace_time_zone(None).cast(pl.Datetime("us"))
            for c in naive & set(f.columns)
        )
        for f in (demo.frames["opportunities"], demo.frames["stage_events"])
    )
    opps = opps.filter(pl.col("created_at") >= start)
    ev = ev.filter((pl.col("record_entity") == "opportunities") & (pl.col("field") == "stage"))
    return opps, ev.filter(pl.col("record_id").is_in(opps["opportunity_id"].implode()))


def test_stage_conversion_is_the_share_of_deals_reaching_the_stage_in_the_window(demo) -> None:  # type: ignore[no-untyped-def]
    config = _config(demo.config, "stage_conversion")
    as_of = datetime.fromisoformat(str(demo.manifest["as_of"])).replace(tzinfo=None)
    lift = play_lift("deal-desk", demo.frames, config=config, as_of=as_of)
    opps, ev = _events(demo, datetime(2026, 1, 1))
    # Independent: a deal reached Proposal when any stage event (or its current stage) is at
    # Proposal or later, within 45 days of its creation; deals not yet 45 days old are unread.
    rank = {s.casefold(): i for i, s in enumerate(STAGES)}
    at = rank["proposal"]
    ev = ev.join(
        opps.select("opportunity_id", "created_at"), left_on="record_id", right_on="opportunity_id"
    )
    reached_by_events = ev.filter(
        pl.col("to_value").str.to_lowercase().replace_strict(rank, default=-1) >= at,
        pl.col("changed_at") - pl.col("created_at") <= timedelta(days=45),
    )["record_id"].unique()
    readable = opps.filter(pl.col("created_at") + timedelta(days=45) <= as_of)
    values = readable.select(
        pl.col("opportunity_id").is_in(reached_by_events.implode()).cast(pl.Float64).alias("value")
    )
    assert lift.primary.kpi == "stage_conversion" and 0 < values["value"].mean() < 1
    _arms_mean(values, lift)


def test_time_in_stage_is_each_deals_days_in_the_stage(demo) -> None:  # type: ignore[no-untyped-def]
    config = _config(demo.config, "time_in_stage", stage="qualification")
    as_of = datetime.fromisoformat(str(demo.manifest["as_of"])).replace(tzinfo=None)
    lift = play_lift("deal-desk", demo.frames, config=config, as_of=as_of)
    assert lift.primary.lower_is_better
    opps, ev = _events(demo, datetime(2026, 1, 1))
    # Independent: each stay runs from the event into the stage to the deal's next event
    # (or as_of); a deal's value is the mean of its stays in Qualification. A deal is read
    # once its window has passed (45 days after creation), like every play KPI.
    readable = opps.filter(pl.col("created_at") + timedelta(days=45) <= as_of)
    ev = ev.filter(pl.col("record_id").is_in(readable["opportunity_id"].implode()))
    ev = ev.sort("record_id", "changed_at").with_columns(
        pl.col("changed_at").shift(-1).over("record_id").alias("next")
    )
    stays = ev.filter(pl.col("to_value").str.to_lowercase() == "qualification").with_columns(
        (
            (pl.col("next").fill_null(as_of) - pl.col("changed_at")).dt.total_seconds() / 86_400
        ).alias("days")
    )
    values = stays.group_by("record_id").agg(pl.col("days").mean().alias("value"))
    # Days are summed in another order (and the KPI rounds times to the microsecond).
    _arms_mean(values, lift, rel=1e-6)


def test_a_stage_kpi_needs_a_known_stage() -> None:
    base = Config().model_dump(mode="json")
    play = {
        "name": "p",
        "owner": "o",
        "start": "2026-01-01",
        "primary_kpi": "time_in_stage",
        "population": {"entity": "opportunities"},
        "decision": {"min_lift": 0.05, "confidence": 0.95},
    }
    with pytest.raises(ConfigValidationError, match="needs the stage"):
        config_from_dict({**base, "plays": [play]})
    demo = generate(scale=0.02, seed=3)
    config = _config(demo.config, "stage_conversion", stage="Proposl")
    with pytest.raises(PlayError, match="did you mean 'Proposal'"):
        play_lift("deal-desk", demo.frames, config=config, as_of=datetime(2026, 7, 1))
