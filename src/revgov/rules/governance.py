"""Where each rule's definition comes from, and what a rule the company never defined counts.

A built-in rule reads its settings from ``revgov.toml`` (its ``settings`` keys). When the
company set at least one of them (or overrode the rule's severity or threshold in
``[rules."<rule id>"]``), the rule is the company's own: ``definition`` names the keys. When
it set none, the rule rests on revgov's defaults only (three follow-up attempts in seven
days, four business hours to first touch, 30 days in a stage): it is *ungoverned*, runs at
severity ``info``, and is left out of the dimension scores, so that a number the company
never agreed to cannot pull its score down. Built-in checks that need no company definition
(an email's format, a deal's close date after its creation) and rules the company declared
(``[[required_fields]]``, ``[[rules.custom]]``, Python rules) are governed.

Keys of the business calendar and the segments (:data:`CONTEXT_KEYS`) shape how a rule is
measured but do not define it: setting the time zone does not adopt the SLA's limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from revgov.config import Config
from revgov.rules.base import Rule

__all__ = ["BUILTIN_CHECK", "CONTEXT_KEYS", "govern", "key_is_set"]

#: Keys that shape how a rule is measured without defining it.
CONTEXT_KEYS = frozenset({"sla.timezone", "sla.business_hours", "sla.holidays", "segments"})

#: The definition of a built-in check that needs no company definition.
BUILTIN_CHECK = "revgov built-in check (no company definition needed)"


def key_is_set(config: Config, key: str) -> bool:
    """``key`` (``sla.follow_up_attempts``, ``pipelines.stale_days``) is written in the
    company's revgov.toml (not a default). A key under a list of tables (``pipelines``) is
    set when any entry sets it."""
    return _set(config, key.split("."))


def _set(model: Any, parts: Sequence[str]) -> bool:
    if isinstance(model, list):
        return any(_set(item, parts) for item in model)
    if isinstance(model, dict):
        return parts[0] in model and (len(parts) == 1 or _set(model[parts[0]], parts[1:]))
    if not isinstance(model, BaseModel):
        return False
    name = parts[0]
    if name not in model.model_fields_set:
        return False
    value = getattr(model, name, None)
    if len(parts) == 1:
        return bool(value) if isinstance(value, list) else True
    return _set(value, parts[1:])


def _provenance(rule: Rule, config: Config) -> tuple[str, bool]:
    if rule.origin == "config":
        return "revgov.toml: " + ", ".join(rule.settings or (rule.id,)), True
    if rule.origin == "python":
        return "Python rule", True
    override = config.rules.overrides.get(rule.id)
    adopted = override is not None and (
        override.severity is not None or override.threshold is not None
    )
    defining = [k for k in rule.settings if k not in CONTEXT_KEYS]
    if not defining:
        return BUILTIN_CHECK, True
    written = [k for k in rule.settings if key_is_set(config, k)]
    if adopted:
        written.append(f'rules."{rule.id}"')
    if any(k not in CONTEXT_KEYS for k in written):
        return "revgov.toml: " + ", ".join(written), True
    return "revgov default: " + ", ".join(defining) + " (not set in revgov.toml)", False


def govern(rules: Sequence[Rule], config: Config) -> list[Rule]:
    """``rules`` with their ``definition`` and ``governed`` set; ungoverned rules run at
    severity info (their checks too)."""
    out = []
    for r in rules:
        definition, governed = _provenance(r, config)
        if governed:
            out.append(r.replace(definition=definition, governed=True))
            continue
        checks = tuple(
            c if c.severity is None else dataclasses.replace(c, severity="info") for c in r.checks
        )
        out.append(r.replace(definition=definition, governed=False, severity="info", checks=checks))
    return out
