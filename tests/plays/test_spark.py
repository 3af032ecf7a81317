"""play_lift on PySpark frames says what it says on polars (same arms, lift and interval)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.plays.simulate import sim_play, simulate

from revgov.plays import play_lift


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark on pandas 3
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pyspark_gives_the_polars_answer(spark: Any) -> None:
    for play in (sim_play(), sim_play(control={"kind": "comparison", "where": {"segment": "mid"}})):
        sim = simulate(play, seed=21, lift=0.08)
        on_spark = {k: spark.createDataFrame(v.to_arrow()) for k, v in sim.frames.items()}
        expected = play_lift(play, sim.frames, as_of=sim.as_of).to_dict()
        assert play_lift(play, on_spark, as_of=sim.as_of).to_dict() == expected
