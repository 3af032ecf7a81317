"""Kind ``range``: a field, when present, lies between a minimum and a maximum."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import narwhals as nw
from pydantic import model_validator

from revgov.config.schema._base import invalid
from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.errors import RuleDefinitionError
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "Bound", "RangeRule", "in_range"]

Bound = float | int | date | datetime


def in_range(
    id: str,
    entity: str,
    field: str,
    *,
    min: Bound | None = None,
    max: Bound | None = None,
    dimension: Dimension = "conformity",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """``field``, when present, lies in ``[min, max]`` (either bound optional)."""
    if min is None and max is None:
        raise RuleDefinitionError(f"rule {id}: a range needs min, max or both")
    col = nw.col(field)
    checks = []
    lo, hi = _bound_text(min), _bound_text(max)
    if min is not None:
        checks.append(
            Check(violation=col < nw.lit(min), field=field, message=f"{field} is below {lo}")
        )
    if max is not None:
        checks.append(
            Check(violation=col > nw.lit(max), field=field, message=f"{field} is above {hi}")
        )
    bounds = " and ".join(
        b
        for b in (f">= {lo}" if min is not None else "", f"<= {hi}" if max is not None else "")
        if b
    )
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"{field}, when present, is {bounds}.",
        checks=tuple(checks),
        present=field,
        columns=(field,),
        kind="range",
        **meta,
    )


def _bound_text(bound: Bound | None) -> str:
    """A bound as the config wrote it: 1000 (not 1000.0), dates in ISO."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    if isinstance(bound, date):
        return bound.isoformat()
    return str(bound)


class RangeRule(CustomRuleBase):
    """``kind = "range"``: the field's value is at least ``min`` and at most ``max``."""

    kind: Literal["range"] = "range"
    field: Column
    # int first: a bound written 1000 stays 1000 in messages (not 1000.0).
    min: int | float | date | datetime | None = None
    max: int | float | date | datetime | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise invalid("a range needs min, max or both", at=("min",), hint="e.g. min = 0")
        return self

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: RangeRule, ctx: KindContext) -> Rule:
    return in_range(spec.id, spec.target, spec.field, min=spec.min, max=spec.max, **ctx.meta)


KIND = RuleKind(
    name="range",
    settings=RangeRule,
    build=_build,
    summary="`field`, when present, is `>= min` and `<= max` (numbers, dates or datetimes; "
    "either bound may be left out).",
    example='id = "accounts.employees_positive"\nkind = "range"\nfield = "employees"\nmin = 1',
)
