"""Kind ``format``: a field, when present, has a named format (email, E.164, ISO code...)."""

from __future__ import annotations

from typing import Any, Literal

import narwhals as nw
from pydantic import field_validator

from revgov.config.schema._base import did_you_mean, invalid
from revgov.config.schema.rules import Column, CustomRuleBase
from revgov.definitions._regex import check_regex
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import is_in, not_null
from revgov.rules._iso import ISO_COUNTRIES
from revgov.rules.base import Check, Dimension, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["FORMATS", "KIND", "FormatRule", "formatted"]

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


class FormatRule(CustomRuleBase):
    """``kind = "format"``: the field's value has a named format."""

    kind: Literal["format"] = "format"
    field: Column
    format: str

    @field_validator("format")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in FORMATS:
            raise invalid(
                f"unknown format {value!r}", hint=did_you_mean(value, FORMATS, "use one of")
            )
        return value

    def columns(self) -> tuple[str, ...]:
        return (self.field, *self.when)


def _build(spec: FormatRule, ctx: KindContext) -> Rule:
    return formatted(spec.id, spec.target, spec.field, spec.format, **ctx.meta)


KIND = RuleKind(
    name="format",
    settings=FormatRule,
    build=_build,
    summary="`field`, when present, has a named `format` (see *Named formats* below).",
    example='id = "accounts.currency_code"\nkind = "format"\nfield = "currency"\n'
    'format = "iso_currency"',
)
