"""Kind ``pattern``: a field, when present, matches a regular expression."""

from __future__ import annotations

from typing import Any, Literal

import narwhals as nw
from pydantic import Field

from revgov.config.schema.rules import Column, CustomRuleBase, Regex
from revgov.definitions._regex import check_regex
from revgov.rules._expr import not_null
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "PatternRule", "pattern"]


def pattern(
    id: str,
    entity: str,
    field: str,
    regex: str,
    *,
    dimension: Dimension = "conformity",
    description: str | None = None,
    message: str | None = None,
    **meta: Any,
) -> Rule:
    """``field``, when present, must match the regular expression ``regex`` (searched; anchor
    it with ``^...$`` for a whole-value match)."""
    check_regex(regex, where=f"rule {id}: regex")
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"{field} matches {regex}.",
        checks=(
            Check(
                violation=not_null(field) & ~nw.col(field).str.contains(regex),
                field=field,
                message=message or f"{field} does not match {regex}",
            ),
        ),
        present=field,
        columns=(field,),
        kind="pattern",
        **meta,
    )


class PatternRule(CustomRuleBase):
    """``kind = "pattern"``: the field's value matches ``pattern``."""

    kind: Literal["pattern"] = "pattern"
    field: Column
    pattern: Regex = Field(description="A regular expression (searched; anchor with ^...$).")

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: PatternRule, ctx: KindContext) -> Rule:
    return pattern(spec.id, spec.target, spec.field, spec.pattern, **ctx.meta)


KIND = RuleKind(
    name="pattern",
    settings=PatternRule,
    build=_build,
    summary="`field`, when present, matches the regular expression `pattern` (checked at "
    "load on every engine's dialect).",
    example='id = "people.title_capitalised"\nkind = "pattern"\nfield = "title"\n'
    'pattern = "^[A-Z]"',
)
