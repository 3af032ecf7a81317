"""Kind ``unique``: no two records share a value (after a normalization)."""

from __future__ import annotations

from typing import Any, Literal, get_args

import narwhals as nw

from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.errors import RuleDefinitionError
from revgov.rules._derive import duplicate_groups
from revgov.rules._expr import not_null, text
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "NORMALIZERS", "Normalize", "UniqueRule", "normalized", "unique"]

Normalize = Literal["none", "lower", "email", "domain"]
NORMALIZERS: tuple[Normalize, ...] = get_args(Normalize)


def normalized(field: str, how: Normalize) -> nw.Expr:
    """``field`` normalized for comparison: ``lower`` / ``email`` (trim and lowercase),
    ``domain`` (also drop a leading ``www.``), ``none``."""
    col = nw.col(field)
    if how == "none":
        return col
    low = col.str.strip_chars().str.to_lowercase()
    if how == "domain":
        return low.str.replace_all(r"^www\.", "")
    if how in ("lower", "email"):
        return low
    raise RuleDefinitionError(
        f"unknown normalization {how!r}", hint=f"use one of: {', '.join(NORMALIZERS)}"
    )


def unique(
    id: str,
    entity: str,
    field: str,
    *,
    normalize: Normalize = "none",
    dimension: Dimension = "integrity",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """No two records share ``field`` (after ``normalize``); every record of a duplicate
    group is a finding, with the group size."""
    tag = f"{field}_{normalize}"
    key_col, n_col = f"__dup_{tag}_key", f"__dup_{tag}_n"
    how = "" if normalize == "none" else f" ({normalize}-normalized)"
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"No two {entity} share {field}{how}.",
        checks=(
            Check(
                violation=nw.col(n_col) > 1,
                field=field,
                message=text(f"{field} shared by ", nw.col(n_col).cast(nw.String()), " records"),
            ),
        ),
        scope=not_null(key_col),
        columns=(field,),
        derivations=(duplicate_groups(entity, field, normalized(field, normalize), tag),),
        kind="duplicate",
        **meta,
    )


class UniqueRule(CustomRuleBase):
    """``kind = "unique"``: no two records share the field's (normalized) value."""

    kind: Literal["unique"] = "unique"
    field: Column
    normalize: Normalize = "none"

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: UniqueRule, ctx: KindContext) -> Rule:
    return unique(spec.id, spec.target, spec.field, normalize=spec.normalize, **ctx.meta)


KIND = RuleKind(
    name="unique",
    settings=UniqueRule,
    build=_build,
    summary="No two records share `field` after `normalize` ("
    + ", ".join(f"`{n}`" for n in NORMALIZERS)
    + "); every record of a duplicate group is a finding.",
    example='id = "accounts.duplicate_name"\nkind = "unique"\nfield = "name"\nnormalize = "lower"',
)
