"""The same KPI on polars, DuckDB and PySpark gives the same answer, in the same kind of
frame it was given."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl
import pytest
from tests.metrics.conftest import to_polars

import revgov.metrics as metrics
from revgov.config import Config
from revgov.metrics import KPIS
from revgov.metrics._examples import EXAMPLE_AS_OF


def assert_same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Equal up to row order and float rounding (engines sum in different orders)."""
    assert a.columns == b.columns
    assert a.height == b.height
    keys = [c for c, t in a.schema.items() if not t.is_float()]
    sa, sb = a.sort(keys, nulls_last=True), b.sort(keys, nulls_last=True)
    for col in a.columns:
        for x, y in zip(sa[col].to_list(), sb[col].to_list(), strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (col, x, y)
            else:
                assert x == y, (col, x, y)


def _run(example: str, frames: dict[str, Any], config: Config) -> Any:
    ns = {n: getattr(metrics, n) for n in metrics.__all__} | frames
    ns |= {"config": config, "as_of": EXAMPLE_AS_OF}
    return eval(example, ns)


@pytest.mark.parametrize("name", list(KPIS))
def test_duckdb_matches_polars(name: str, ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    example = KPIS[name].example
    polars_out = _run(example, dict(ex), ex_config)
    duck_in = {k: duckdb.from_arrow(v.to_arrow()) for k, v in ex.items()}
    duck_out = _run(example, duck_in, ex_config)
    assert isinstance(duck_out, duckdb.DuckDBPyRelation)
    assert_same(to_polars(polars_out), to_polars(duck_out))


def test_mixing_engines_is_an_error(ex: dict[str, pl.DataFrame]) -> None:
    from revgov.errors import MetricInputError

    with pytest.raises(MetricInputError, match="same engine"):
        metrics.lead_to_opportunity(ex["people"], duckdb.from_arrow(ex["opportunities"].to_arrow()))


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


SPARK_EXAMPLES = [
    'pipeline_created(opportunities, by="segment", every="1mo")',
    "win_rate_by_count(opportunities)",
    'bookings(opportunities, every="1w")',
    "sales_cycle_days(opportunities)",
    "stage_conversion(stage_events, stages=config.pipelines, opportunities=opportunities)",
    "lead_to_opportunity(people, opportunities)",
    "sales_velocity(opportunities, as_of=as_of)",
    'speed_to_lead(people, activities, sla=config.sla, by="segment")',
    "cac(spend, opportunities)",
]


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::FutureWarning")  # pyspark on pandas 3
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pyspark_matches_polars(spark: Any, ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    spark_in = {k: spark.createDataFrame(v.to_arrow()) for k, v in ex.items()}
    for example in SPARK_EXAMPLES:
        out = _run(example, spark_in, ex_config)
        assert type(out).__module__.startswith("pyspark"), example
        got = pl.from_arrow(out.toArrow())
        assert isinstance(got, pl.DataFrame)
        expected = to_polars(_run(example, dict(ex), ex_config))
        # Spark hands dates and times back with its own units; compare the values.
        got = got.cast({c: t for c, t in expected.schema.items() if c in got.columns})
        assert_same(expected, got)
