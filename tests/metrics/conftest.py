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
