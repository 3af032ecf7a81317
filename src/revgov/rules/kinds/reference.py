"""Kind ``reference``: a field names an existing record of another entity."""

from __future__ import annotations

from typing import Any, Literal

import narwhals as nw
from pydantic import Field

from revgov._typing import Entity
from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.errors import RuleDefinitionError
from revgov.model.frames import ENTITIES
from revgov.rules._derive import reference
from revgov.rules._expr import lit_str, not_null, text
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._meta import entity_key
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "ReferenceRule", "references"]


def references(
    id: str,
    entity: str,
    field: str,
    target: str,
    *,
    target_key: str | None = None,
    required: bool = False,
    dimension: Dimension = "integrity",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """``field`` names an existing ``target`` record (by its primary key, or ``target_key``);
    with ``required`` a blank ``field`` is a violation too."""
    tkey = target_key or entity_key(target)
    if tkey is None:
        if target not in ENTITIES:
            import difflib

            close = difflib.get_close_matches(target, list(ENTITIES), n=1, cutoff=0.5)
            raise RuleDefinitionError(
                f"rule {id}: {target!r} is not an entity of the canonical model",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "or pass target_key for an entity of your own",
            )
        raise RuleDefinitionError(
            f"rule {id}: {target!r} has no single-column key; pass target_key"
        )
    found = f"__ref_{field}"
    missing = ~nw.col(found).fill_null(False)
    bad = missing if required else not_null(field) & missing
    blank = nw.when(nw.col(field).is_null()).then(lit_str(f"{field} is empty"))
    message = blank.otherwise(text(f"{field} '", nw.col(field), f"' is not a known {target} id"))
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description
        or f"{field} names an existing {target} record"
        + (" (and is filled in)." if required else "."),
        checks=(Check(violation=bad, field=field, message=message),),
        columns=(field,),
        derivations=(reference(entity, field, target, tkey),),
        kind="reference",
        **meta,
    )


class ReferenceRule(CustomRuleBase):
    """``kind = "reference"``: the field names an existing record of ``references``."""

    kind: Literal["reference"] = "reference"
    field: Column
    references: Entity = Field(description="The entity whose records the field names.")
    target_key: str | None = Field(None, description="Default: its primary key.")
    required: bool = Field(False, description="A blank field is a violation too.")

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: ReferenceRule, ctx: KindContext) -> Rule:
    return references(
        spec.id,
        spec.target,
        spec.field,
        spec.references,
        target_key=spec.target_key,
        required=spec.required,
        **ctx.meta,
    )


KIND = RuleKind(
    name="reference",
    settings=ReferenceRule,
    build=_build,
    summary="`field` names an existing record of the entity `references` (by its key, or "
    "`target_key`); with `required` a blank field is a violation too.",
    example='id = "opportunities.campaign_known"\nkind = "reference"\n'
    'field = "primary_campaign_id"\nreferences = "campaigns"',
)
