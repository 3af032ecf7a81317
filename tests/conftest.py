"""Shared fixtures: where the public datasets are, and small helpers."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# Property tests draw the same examples on every run: CI starts from a clean clone with no
# example database to replay a failure from, so a random draw could fail one run and pass the
# next (a won deal of 1e-308 did, once). HYPOTHESIS_PROFILE=explore draws new examples.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
# The vendor emulators are imported as `tests.emulator` (also by benchmarks and subprocesses).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def _shared_dir() -> Path:
    override = os.environ.get("REVGOV_SHARED")
    return Path(override) if override else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """../shared/datasets beside the clone; tests that need it skip, saying why, if absent."""
    path = _shared_dir() / "datasets"
    if not path.is_dir():
        pytest.skip(f"public datasets not found at {path} (set REVGOV_SHARED to ../shared)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--live",
        action="store_true",
        default=False,
        help="also run the tests marked `live`, which talk to real CRMs (credentials from "
        "the environment); `-m live` runs only those",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``live`` are deselected (not skipped) unless ``--live`` or a ``-m``
    expression that names ``live`` asks for them."""
    expression = str(config.getoption("markexpr") or "")
    if config.getoption("--live") or re.search(r"(?<!not )\blive\b", expression):
        return
    live = [item for item in items if item.get_closest_marker("live") is not None]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if item.get_closest_marker("live") is None]
