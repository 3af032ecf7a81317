"""The model and config reference pages (docs/model.md, docs/config.md)."""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from revgov.config import Config
from revgov.connectors.registry import BUILTIN_CONNECTORS, get_connector_spec
from revgov.model.frames import ENTITIES, LINEAGE_COLUMNS, field_types, polars_schema


def model_reference() -> str:
    """Markdown reference of every canonical entity, from the pydantic models."""
    out = [
        "# Canonical model reference",
        "",
        "Generated from `revgov.model` by `python -m revgov.docgen model`; do not edit by hand.",
        "",
        "Every entity is a pydantic model; its polars schema is derived from it",
        "(`revgov.model.polars_schema(entity)`). Every row carries lineage:",
        ", ".join(f"`{c}`" for c in LINEAGE_COLUMNS) + ". Custom CRM fields named in a",
        "source's `custom_fields` table are kept as extra typed columns before the lineage.",
        "",
    ]
    for entity, model in ENTITIES.items():
        schema = polars_schema(entity)
        ftypes = field_types(entity)
        out += [
            f"## `{entity}`",
            "",
            f"{_first_line(sys.modules[model.__module__].__doc__)}"
            f" Model `revgov.model.{model.__name__}`; primary key "
            + ", ".join(f"`{k}`" for k in model.primary_key)
            + ".",
            "",
            "| column | type | polars dtype | description |",
            "|---|---|---|---|",
        ]
        for name in schema.names():
            desc = (model.model_fields[name].description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {ftypes[name]} | `{schema[name]}` | {desc} |")
        out.append("")
    return "\n".join(out)


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc else ""


def type_name(annotation: Any) -> str:
    """A field's type in words for a Markdown table."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if annotation is typing.Any:
        return "any value"
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(type_name(a) for a in args)
    if origin is list:
        return f"list[{type_name(args[0])}]"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    if annotation is type(None):
        return "none"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{_table_name(annotation)}](#{_table_name(annotation).lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _table_name(model: type[BaseModel]) -> str:
    return model.__name__


def default_text(info: FieldInfo) -> str:
    """A field's default for a Markdown table (``**required**`` when it has none)."""
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(table defaults)"
        return f"`{value!r}`"
    if info.default is PydanticUndefined:
        return "**required**"
    return f"`{info.default!r}`"


def _nested_models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            ann = stack.pop()
            stack.extend(typing.get_args(ann))
            if isinstance(ann, type) and issubclass(ann, BaseModel) and ann.__name__ not in seen:
                seen[ann.__name__] = ann
                _nested_models(ann, seen)


def config_reference() -> str:
    """Markdown reference of ``revgov.toml``, from the pydantic config models."""
    out = [
        "# `revgov.toml` reference",
        "",
        "Generated from `revgov.config` by `python -m revgov.docgen config`; do not edit by hand.",
        "See [config-guide.md](config-guide.md) for a worked example of each table.",
        "",
        "Unknown keys are errors (with a suggestion of the closest valid key), so a typo never",
        "silently falls back to a default. `revgov config check FILE` validates a file.",
        "",
    ]
    models: dict[str, type[BaseModel]] = {"Config": Config}
    _nested_models(Config, models)
    for name, model in models.items():
        out += _model_table("top level" if name == "Config" else name, model)
    out += [
        "# Connector settings",
        "",
        "Each connector validates a source's `options` and its `[sources.entities.NAME]` tables",
        "with models it owns, when the config is loaded.",
        "",
    ]
    for name in BUILTIN_CONNECTORS:
        spec = get_connector_spec(name)
        out += _model_table(f"`{name}` options", spec.settings_model, level="##")
        out += _model_table(f"`{name}` entity settings", spec.entity_settings_model, level="##")
        # Tables nested in a connector's settings (e.g. the files connector's `history`),
        # so that the links of the tables above resolve.
        nested = dict(models)
        for settings in (spec.settings_model, spec.entity_settings_model):
            _nested_models(settings, nested)
        for nested_name, model in nested.items():
            if nested_name not in models:
                models[nested_name] = model
                out += _model_table(nested_name, model, level="###")
    return "\n".join(out)


def _model_table(title: str, model: type[BaseModel], *, level: str = "##") -> list[str]:
    out = [f"{level} {title}", ""]
    if model.__doc__ and model is not Config:
        out += [_first_line(model.__doc__), ""]
    out += ["| key | type | default | description |", "|---|---|---|---|"]
    for key, info in model.model_fields.items():
        desc = (info.description or "").replace("|", "\\|")
        out.append(f"| `{key}` | {type_name(info.annotation)} | {default_text(info)} | {desc} |")
    out.append("")
    return out
