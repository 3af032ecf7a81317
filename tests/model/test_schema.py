"""The polars schema of every entity is derived from its pydantic model."""

from __future__ import annotations

import typing
from datetime import date, datetime

import polars as pl
import pytest

from revgov.errors import UnknownEntityError
from revgov.model import ENTITIES, LINEAGE_COLUMNS, model_for, polars_schema

EXPECTED_DTYPE = {
    str: pl.String(),
    int: pl.Int64(),
    float: pl.Float64(),
    bool: pl.Boolean(),
    date: pl.Date(),
    datetime: pl.Datetime("us", "UTC"),
}


def _base_type(annotation: object) -> type:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation  # type: ignore[return-value]


def test_every_entity_of_the_design_is_modelled() -> None:
    assert set(ENTITIES) == {
        "accounts", "people", "opportunities", "stage_events", "activities", "campaigns",
        "campaign_touches", "users", "pipeline_stages", "spend", "targets",
    }  # fmt: skip


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_schema_matches_model_fields(entity: str) -> None:
    model = model_for(entity)
    schema = polars_schema(entity)
    assert set(schema.names()) == set(model.model_fields)
    for name, info in model.model_fields.items():
        assert schema[name] == EXPECTED_DTYPE[_base_type(info.annotation)], name
    assert schema.names()[-3:] == list(LINEAGE_COLUMNS)
    for key in model.primary_key:
        assert key in schema


def test_custom_fields_become_typed_columns_before_lineage() -> None:
    schema = polars_schema("opportunities", {"sf_region": "string", "arr": "float"})
    assert schema["sf_region"] == pl.String()
    assert schema["arr"] == pl.Float64()
    assert schema.names()[-5:] == ["sf_region", "arr", *LINEAGE_COLUMNS]


def test_unknown_entity_suggests_the_closest() -> None:
    with pytest.raises(UnknownEntityError) as info:
        model_for("oportunities")
    assert info.value.code == "RG201"
    assert "did you mean 'opportunities'" in str(info.value)
