"""Rule kinds: the common shapes of governance rule, one module each, in a registry.

Each kind module holds the constructor (for rules written in Python), the model of its
``[[rules.custom]]`` table and its :class:`RuleKind` (registered in
:mod:`revgov.rules.kinds._registry`; plugins add kinds through the ``revgov.rule_kinds``
entry-point group). The built-in pack and the rules declared in ``revgov.toml`` are made with
the constructors, and so can yours::

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

from revgov.rules.kinds._registry import (
    BUILTIN_KINDS,
    ENTRY_POINT_GROUP,
    KindContext,
    RuleKind,
    available_kinds,
    get_kind,
    validate_custom_rules,
)
from revgov.rules.kinds.allowed import allowed_values
from revgov.rules.kinds.compare import COMPARE_OPS, CompareOp, compare
from revgov.rules.kinds.format import FORMATS, formatted
from revgov.rules.kinds.pattern import pattern
from revgov.rules.kinds.range import in_range
from revgov.rules.kinds.reference import references
from revgov.rules.kinds.required import required
from revgov.rules.kinds.required_on_entry import required_on_entry
from revgov.rules.kinds.unique import NORMALIZERS, Normalize, normalized, unique

__all__ = [
    "BUILTIN_KINDS",
    "COMPARE_OPS",
    "ENTRY_POINT_GROUP",
    "FORMATS",
    "NORMALIZERS",
    "CompareOp",
    "KindContext",
    "Normalize",
    "RuleKind",
    "allowed_values",
    "available_kinds",
    "compare",
    "formatted",
    "get_kind",
    "in_range",
    "normalized",
    "pattern",
    "references",
    "required",
    "required_on_entry",
    "unique",
    "validate_custom_rules",
]
