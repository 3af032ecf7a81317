"""Kind ``allowed``: a field, when present, is one of a picklist of values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
from pydantic import Field

from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.rules._expr import is_in, join_words, not_null
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "AllowedRule", "allowed_values"]


def allowed_values(
    id: str,
    entity: str,
    field: str,
    values: Sequence[str],
    *,
    ignore_case: bool = False,
    dimension: Dimension = "conformity",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """``field``, when present, must be one of ``values`` (a picklist)."""
    col = nw.col(field)
    if ignore_case:
        bad = ~is_in(col.str.to_lowercase(), [v.lower() for v in values])
    else:
        bad = ~is_in(col, values)
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"{field} is one of the allowed values.",
        checks=(
            Check(
                violation=not_null(field) & bad,
                field=field,
                message=f"{field} is not an allowed value (allowed: {join_words(values)})",
            ),
        ),
        present=field,
        columns=(field,),
        kind="allowed_values",
        **meta,
    )


class AllowedRule(CustomRuleBase):
    """``kind = "allowed"``: the field's value is one of ``values``."""

    kind: Literal["allowed"] = "allowed"
    field: Column
    values: list[str] = Field(min_length=1, description="The picklist.")
    ignore_case: bool = False

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: AllowedRule, ctx: KindContext) -> Rule:
    return allowed_values(
        spec.id, spec.target, spec.field, spec.values, ignore_case=spec.ignore_case, **ctx.meta
    )


KIND = RuleKind(
    name="allowed",
    settings=AllowedRule,
    build=_build,
    summary="`field`, when present, is one of `values` (a picklist; `ignore_case` optional).",
    example='id = "opportunities.type_unknown"\nkind = "allowed"\nfield = "type"\n'
    'values = ["new business", "renewal", "expansion"]',
)
