"""Fixtures for the KPI tests: the example CRM, the public datasets pulled through the files
connector, and frames on each engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from revgov.config import Config, load_config
from revgov.metrics._examples import example_config, example_frames
from revgov.pull import pull
from revgov.store import SnapshotStore

ENGINES = ("polars", "lazy", "duckdb")


def on_engine(frame: pl.DataFrame, engine: str) -> Any:
    """``frame`` as the native frame of ``engine``."""
    if engine == "polars":
        return frame
    if engine == "lazy":
        return frame.lazy()
    if engine == "duckdb":
        return duckdb.from_arrow(frame.to_arrow())
    raise ValueError(engine)


def to_polars(result: Any) -> pl.DataFrame:
    """Any KPI result as a polars DataFrame."""
    if isinstance(result, pl.DataFrame):
        return result
    if isinstance(result, pl.LazyFrame):
        return result.collect()
    if isinstance(result, duckdb.DuckDBPyRelation):
        return result.pl()
    raise TypeError(type(result))


@pytest.fixture(scope="session")
def ex() -> dict[str, pl.DataFrame]:
    return example_frames()


@pytest.fixture(scope="session")
def ex_config() -> Config:
    return example_config()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def eng(engine: str) -> Callable[[pl.DataFrame], Any]:
    return lambda frame: on_engine(frame, engine)


def _pulled(repo_root: Path, tmp: Path, example: str) -> tuple[Config, dict[str, pl.LazyFrame]]:
    cfg = load_config(repo_root / "examples" / example / "revgov.toml")
    pull(cfg, tmp, progress=False)
    return cfg, SnapshotStore(tmp).frames()


@pytest.fixture(scope="session")
def maven(
    datasets_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Config, dict[str, pl.LazyFrame]]:
    """The Maven CRM pulled through the files connector and its example config."""
    return _pulled(repo_root, tmp_path_factory.mktemp("maven"), "maven_crm")


@pytest.fixture(scope="session")
def olist(
    datasets_dir: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Config, dict[str, pl.LazyFrame]]:
    """The Olist funnel pulled through the files connector and its example config."""
    return _pulled(repo_root, tmp_path_factory.mktemp("olist"), "olist_funnel")


# The example CRM's definitions (revgov.metrics._examples) as a revgov.toml.
EXAMPLE_TOML = """
[company]
name = "Acme Analytics"
currency = "USD"

[[pipelines]]
name = "new_business"
stages = [
  { name = "Discovery", order = 1, probability = 0.1 },
  { name = "Demo", order = 2, probability = 0.3 },
  { name = "Proposal", order = 3, probability = 0.6 },
  { name = "Won", order = 4, probability = 1.0, is_closed = true, is_won = true },
  { name = "Lost", order = 5, probability = 0.0, is_closed = true },
]

[qualified]
opportunity_min_stage = "Demo"

[icp]
industries = ["software"]
employees_min = 50
employees_max = 2000

[sla]
timezone = "America/New_York"
holidays = [2024-01-15]
speed_to_lead_hours = { default = 4.0, enterprise = 2.0 }
"""


@pytest.fixture(scope="session")
def example_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example CRM's snapshot, with its revgov.toml beside it."""
    root = tmp_path_factory.mktemp("example-cli")
    (root / "revgov.toml").write_text(EXAMPLE_TOML, encoding="utf-8")
    assert load_config(root / "revgov.toml").config_hash == example_config().config_hash
    snap = root / "snapshot"
    SnapshotStore.create(snap, config_hash=example_config().config_hash).commit(example_frames())
    return snap
