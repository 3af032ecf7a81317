"""Kind ``required``: each listed field is filled in (not null), on the rows checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
from pydantic import Field

from revgov.config.schema.rules import CustomRuleBase
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import join_words, lit_str
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "RequiredRule", "required"]


def required(
    id: str,
    entity: str,
    fields: Sequence[str],
    *,
    when: nw.Expr | None = None,
    when_columns: Sequence[str] = (),
    when_text: str = "",
    dimension: Dimension = "completeness",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """Each of ``fields`` must be present (not null), on rows where ``when`` holds."""
    if not fields:
        raise RuleDefinitionError(f"rule {id}: required fields list is empty")
    cond = f" {when_text}" if when_text else ""
    checks = tuple(
        # The value of a missing field is null: no need to read the column again.
        Check(
            violation=nw.col(f).is_null(),
            field=f,
            value=lit_str(None),
            message=f"{f} is empty{cond}",
        )
        for f in fields
    )
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"{join_words(fields)} must be filled in{cond}.",
        checks=checks,
        scope=when,
        columns=(*fields, *when_columns),
        kind="required",
        **meta,
    )


class RequiredRule(CustomRuleBase):
    """``kind = "required"``: the fields must be filled in."""

    kind: Literal["required"] = "required"
    fields: list[str] = Field(min_length=1, description="The fields that must be filled in.")

    def columns(self) -> tuple[str, ...]:
        return (*self.fields, *self.when)


def _build(spec: RequiredRule, ctx: KindContext) -> Rule:
    return required(spec.id, spec.target, spec.fields, **ctx.meta)


KIND = RuleKind(
    name="required",
    settings=RequiredRule,
    build=_build,
    summary="Each of `fields` is filled in (not null) on the rows checked.",
    example='id = "opportunities.next_step_missing"\nkind = "required"\n'
    'fields = ["next_step"]\nwhen = { stage = ["Proposal", "Negotiation"] }',
)
