"""The field types a model or a custom field may use, and their polars dtypes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import polars as pl

FieldType = Literal["string", "int", "float", "bool", "date", "datetime"]

DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us", "UTC"),
}

PY_TYPES: dict[type, FieldType] = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    date: "date",
    datetime: "datetime",
}

EXPECTED: dict[str, str] = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true/false",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a timestamp (ISO 8601 or epoch milliseconds)",
}
