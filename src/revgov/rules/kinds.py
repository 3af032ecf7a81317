"""Rule kinds: constructors for the common shapes of governance rule.

Each returns a :class:`~revgov.rules.base.Rule`; the built-in pack and the rules declared in
``revgov.toml`` are made with them, and so can yours::

    from revgov.rules import kinds
    kinds.required("accounts.industry_missing", "accounts", ["industry"])
    kinds.allowed_values("opportunities.type_unknown", "opportunities", "type",
                         ["new business", "renewal", "expansion"], severity="warn")
    kinds.formatted("people.email_format", "people", "email", "email")
    kinds.in_range("opportunities.amount_negative", "opportunities", "amount", min=0)
    kinds.compare("opportunities.close_after_created", "opportunities",
                  "close_date", ">=", "created_at")
    kinds.unique("people.duplicate_email", "people", "email", normalize="email")
    kinds.references("opportunities.account_missing", "opportunities", "account_id", "accounts")

Common keyword arguments: ``severity``, ``dimension``, ``description``, ``owner``,
``remediation``, ``threshold`` (see :class:`~revgov.rules.base.Rule`).
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Literal, get_args

import narwhals as nw

from revgov.errors import RuleDefinitionError
from revgov.model.frames import ENTITIES
from revgov.rules._derive import duplicate_groups, reference
from revgov.rules._expr import is_in, join_words, lit_str, not_null, text
from revgov.rules._iso import ISO_COUNTRIES
from revgov.rules._regex import check_regex
from revgov.rules.base import Check, Derivation, DeriveContext, Dimension, Frame, Rule

__all__ = [
    "COMPARE_OPS",
    "FORMATS",
    "NORMALIZERS",
    "CompareOp",
    "allowed_values",
    "compare",
    "formatted",
    "in_range",
    "normalized",
    "pattern",
    "references",
    "required",
    "unique",
]

#: Named formats: a regular expression, or a closed list of codes.
FORMATS: dict[str, str | frozenset[str]] = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "e164": r"^\+[1-9][0-9]{7,14}$",
    "domain": r"(?i)^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "iso_country": ISO_COUNTRIES,
    "iso_currency": r"^[A-Z]{3}$",
}

_FORMAT_WORDS = {
    "email": "a valid email address",
    "e164": "an E.164 phone number (+ then 8 to 15 digits)",
    "domain": "a host name such as acme.com (no scheme, path or spaces)",
    "iso_country": "an ISO 3166-1 alpha-2 country code (e.g. US, DE)",
    "iso_currency": "an ISO 4217 currency code (three capital letters)",
}

Normalize = Literal["none", "lower", "email", "domain"]
NORMALIZERS: tuple[Normalize, ...] = ("none", "lower", "email", "domain")


def _entity_key(entity: str) -> str | None:
    model = ENTITIES.get(entity)
    return model.primary_key[0] if model is not None and len(model.primary_key) == 1 else None


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


def formatted(
    id: str,
    entity: str,
    field: str,
    fmt: str,
    *,
    regex: str | None = None,
    dimension: Dimension = "conformity",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """``field``, when present, has the named format (see :data:`FORMATS`); ``regex``
    replaces a regex-based format's pattern."""
    spec = FORMATS.get(fmt)
    if spec is None:
        raise RuleDefinitionError(
            f"rule {id}: unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}"
        )
    words = _FORMAT_WORDS[fmt]
    desc = description or f"{field}, when present, is {words}."
    if isinstance(spec, frozenset):
        bad = ~is_in(nw.col(field), sorted(spec))
    else:
        pat = check_regex(regex or spec, where=f"rule {id}: {fmt} regex")
        bad = ~nw.col(field).str.contains(pat)
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=desc,
        checks=(
            Check(violation=not_null(field) & bad, field=field, message=f"{field} is not {words}"),
        ),
        present=field,
        columns=(field,),
        kind="format",
        **meta,
    )


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
    tkey = target_key or _entity_key(target)
    if tkey is None:
        if target not in ENTITIES:
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
