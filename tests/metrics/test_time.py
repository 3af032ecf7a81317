"""Period strings, including fiscal quarters and years."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from tests.metrics.conftest import to_polars

from revgov.errors import MetricInputError
from revgov.metrics import pipeline_created
from revgov.metrics._time import fiscal_every, parse_every

Eng = Callable[[pl.DataFrame], Any]


def test_parse_every_fiscal_forms() -> None:
    assert parse_every("1q@2") == "1q@2"
    assert parse_every("1Y@10") == "1y@10"
    assert parse_every("1q@1") == "1q"  # a fiscal year from January is the calendar
    for bad in ("1mo@2", "1q@13", "1q@0", "1w@3"):
        with pytest.raises(MetricInputError, match="unsupported period"):
            parse_every(bad)


def test_fiscal_every_changes_only_quarters_and_years() -> None:
    assert fiscal_every("1q", 4) == "1q@4"
    assert fiscal_every("quarter", 4) == "1q@4"
    assert fiscal_every("1y", 7) == "1y@7"
    assert fiscal_every("1mo", 4) == "1mo"
    assert fiscal_every(None, 4) is None


def test_fiscal_periods_on_every_engine(eng: Eng) -> None:
    opps = pl.DataFrame(
        {
            "created_at": [
                datetime(2024, 1, 31),
                datetime(2024, 2, 29),
                datetime(2024, 4, 30),
                datetime(2024, 5, 1),
                datetime(2024, 12, 31),
            ],
            "amount": [1.0] * 5,
        }
    )
    quarters = to_polars(pipeline_created(eng(opps), every="1q@2"))
    got = dict(zip(quarters["period"], quarters["opportunities"], strict=True))
    # Fiscal quarters Nov-Jan, Feb-Apr, May-Jul, Aug-Oct.
    assert got == {
        date(2023, 11, 1): 1,
        date(2024, 2, 1): 2,
        date(2024, 5, 1): 1,
        date(2024, 11, 1): 1,
    }
    years = to_polars(pipeline_created(eng(opps), every="1y@4"))
    assert dict(zip(years["period"], years["opportunities"], strict=True)) == {
        date(2023, 4, 1): 2,
        date(2024, 4, 1): 3,
    }
