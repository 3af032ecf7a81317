"""Column names as Delta stores them.

Delta (like Spark and DuckDB) treats column names case-insensitively, while a config may keep a
custom field ``Region`` beside the canonical ``region``. Such a custom field is stored under an
escaped name (``^region``: ``^`` before a letter that was upper case, ``^^`` for a ``^``) and
read back under its own name. Every other column keeps its name, so engines that read the
tables directly see the names they expect.
"""

from __future__ import annotations

import re

import polars as pl

from revgov.errors import SchemaMismatchError
from revgov.model.frames import field_types

__all__ = ["logical", "physical", "physical_schema"]

_ESCAPED = re.compile(r"\^(\^|[a-z])")


def _needs_escape(entity: str, name: str) -> bool:
    canonical = field_types(entity)
    if name in canonical:
        return False
    return "^" in name or name.lower() in {c.lower() for c in canonical}


def physical(entity: str, name: str) -> str:
    """The stored name of column ``name`` of ``entity``."""
    if not _needs_escape(entity, name):
        return name
    escaped = name.replace("^", "^^")
    return re.sub(r"[A-Z]", lambda m: "^" + m.group().lower(), escaped)


def logical(name: str) -> str:
    """The column name a stored name stands for."""
    if "^" not in name:
        return name
    return _ESCAPED.sub(lambda m: "^" if m.group(1) == "^" else m.group(1).upper(), name)


def physical_schema(entity: str, schema: pl.Schema) -> pl.Schema:
    """``schema`` under stored names; two custom fields that differ only in case are refused."""
    out: dict[str, pl.DataType] = {}
    seen: dict[str, str] = {}
    for name, dtype in schema.items():
        stored = physical(entity, name)
        clash = seen.get(stored.lower())
        if clash is not None:
            raise SchemaMismatchError(
                f"{entity}: the custom fields {clash!r} and {name!r} differ only in case, and "
                "Delta tables (like Spark and DuckDB) do not tell such columns apart",
                hint="rename one of them in the source's custom_fields",
            )
        seen[stored.lower()] = name
        out[stored] = dtype
    return pl.Schema(out)
