"""Rule kinds: constructors for the common shapes of governance rule.

Each returns a :class:`~revgov.rules.base.Rule`; the built-in pack and the rules declared in
``revgov.toml`` are made with them, and so can yours::

    from revgov.rules import kinds
    kinds.required("accounts.industry_missing", "accounts", ["industry"])
    kinds.allowed_values("opportunities.type_unknown", "opportunities", "type",
                         ["new business", "renewal", "expansion"], severity="warn")
    kinds.formatted("people.email_format", "people", "email", "email")
    kinds.in_range("opportunities.amount_negative", "opportunities", "amount", min=0)
    kinds.unique("people.duplicate_email", "people", "email", normalize="email")
    kinds.references("opportunities.account_missing", "opportunities", "account_id", "accounts")

Common keyword arguments: ``severity``, ``dimension``, ``description``, ``owner``,
``remediation``, ``threshold`` (see :class:`~revgov.rules.base.Rule`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import narwhals as nw

from revgov.errors import RuleDefinitionError
from revgov.model.frames import ENTITIES
from revgov.rules._derive import duplicate_groups, reference
from revgov.rules._expr import is_in, join_words, lit_str, not_null, text
from revgov.rules._iso import ISO_COUNTRIES
from revgov.rules._regex import check_regex
from revgov.rules.base import Check, Dimension, Rule

__all__ = [
    "FORMATS",
    "NORMALIZERS",
    "allowed_values",
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
    check_regex(regex, where=f"rule {id}")
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
        pat = check_regex(regex or spec, where=f"rule {id}")
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
    if min is not None:
        checks.append(
            Check(violation=col < nw.lit(min), field=field, message=f"{field} is below {min}")
        )
    if max is not None:
        checks.append(
            Check(violation=col > nw.lit(max), field=field, message=f"{field} is above {max}")
        )
    bounds = " and ".join(
        b
        for b in (f">= {min}" if min is not None else "", f"<= {max}" if max is not None else "")
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
