"""Kind ``compare``: two columns of a record compare as declared (``close_date >= created_at``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Literal, get_args

import narwhals as nw
from pydantic import Field

from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import not_null
from revgov.rules.base import Check, Derivation, DeriveContext, Dimension, Frame, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["COMPARE_OPS", "KIND", "CompareOp", "CompareRule", "compare"]

CompareOp = Literal["<", "<=", ">", ">=", "==", "!="]
COMPARE_OPS: tuple[CompareOp, ...] = get_args(CompareOp)
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_OP_NAMES = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_OP_WORDS = {
    "<": "before / less than",
    "<=": "at most",
    ">": "after / greater than",
    ">=": "not before / at least",
    "==": "equal to",
    "!=": "different from",
}


def compare(
    id: str,
    entity: str,
    field: str,
    op: CompareOp,
    other: str,
    *,
    dimension: Dimension = "conformity",
    description: str | None = None,
    message: str | nw.Expr | None = None,
    **meta: Any,
) -> Rule:
    """``field op other`` holds where both columns are present (``close_date >= created_at``).

    A date compared with a datetime is compared with the datetime's date, so a deal closing
    the day it was created passes. Columns of kinds that do not compare (text with a date)
    are a :class:`~revgov.errors.RuleDefinitionError` when the audit starts.
    """
    if op not in _OPERATORS:
        raise RuleDefinitionError(
            f"rule {id}: unknown comparison {op!r}", hint=f"use one of: {', '.join(COMPARE_OPS)}"
        )
    flag = f"__cmp_{field}_{_OP_NAMES[op]}_{other}"
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description or f"{field} is {_OP_WORDS[op]} {other} ({field} {op} {other}).",
        checks=(
            Check(
                violation=nw.col(flag),
                field=field,
                message=message if message is not None else f"{field} is not {op} {other}",
            ),
        ),
        scope=(not_null(field) & not_null(other)).fill_null(False),
        columns=(field, other),
        derivations=(_comparison(id, entity, field, op, other, flag),),
        kind="compare",
        **meta,
    )


def _comparison(
    rule_id: str, entity: str, field: str, op: str, other: str, flag: str
) -> Derivation:
    """``flag``: ``field op other`` does not hold, compared as the columns' types allow."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        schema = frame.collect_schema()
        left, right = nw.col(field), nw.col(other)
        lt, rt = schema[field], schema[other]
        kinds_ = (_kind_of(lt), _kind_of(rt))
        if kinds_[0] != kinds_[1] or kinds_[0] is None:
            raise RuleDefinitionError(
                f"rule {rule_id}: cannot compare {entity}.{field} ({lt}) with {other} ({rt})",
                hint="compare two numbers, two dates or datetimes, or two texts",
            )
        if lt == nw.Date and rt != nw.Date:
            right = right.dt.date()
        elif rt == nw.Date and lt != nw.Date:
            left = left.dt.date()
        return frame.with_columns((~_OPERATORS[op](left, right)).alias(flag))

    return Derivation(
        name=f"{entity}.compare.{field}.{op}.{other}",
        build=build,
        provides=(flag,),
        columns=(field, other),
    )


def _kind_of(dtype: Any) -> str | None:
    if dtype.is_numeric():
        return "number"
    if dtype == nw.Date or dtype == nw.Datetime:
        return "time"
    if dtype == nw.String:
        return "text"
    if dtype == nw.Boolean:
        return "bool"
    return None


class CompareRule(CustomRuleBase):
    """``kind = "compare"``: ``field op other`` holds where both are present."""

    kind: Literal["compare"] = "compare"
    field: Column
    op: CompareOp
    other: str = Field(description="The other column.")

    def columns(self) -> tuple[str, ...]:
        return (self.field, self.other, *self.when)


def _build(spec: CompareRule, ctx: KindContext) -> Rule:
    return compare(spec.id, spec.target, spec.field, spec.op, spec.other, **ctx.meta)


KIND = RuleKind(
    name="compare",
    settings=CompareRule,
    build=_build,
    summary="`field op other` holds where both columns are present (`op`: "
    + ", ".join(f"`{o}`" for o in COMPARE_OPS)
    + "); a date compared with a datetime is compared with its day.",
    example='id = "opportunities.close_after_created"\nkind = "compare"\nfield = "close_date"\n'
    'op = ">="\nother = "created_at"',
)
