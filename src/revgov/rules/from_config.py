"""Rules declared in ``revgov.toml``: ``[[required_fields]]``, ``[[rules.custom]]``, and the
``[rules]`` settings (``disabled`` and per-rule overrides) applied to every rule.

The tables were validated when the config was loaded (:mod:`revgov.config.schema.rules`, each
custom rule by its kind's model); this module builds the rules. Only what needs the packs is
checked here: a rule id in ``disabled`` or an override that no rule has names the closest id,
with the file and line.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from typing import Any

import narwhals as nw

from revgov.config import Config, CustomRuleBase, RequiredFields, RulesSettings
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import all_of, is_in, join_words
from revgov.rules._routing import segment_derivation
from revgov.rules.base import Derivation, Rule
from revgov.rules.kinds import KindContext, get_kind, required

__all__ = [
    "apply_settings",
    "config_location",
    "config_rules",
    "custom_rule",
    "required_field_rules",
]


def config_location(config: Config, *path: str | int) -> str:
    """``revgov.toml:LINE: rules.x[0].y`` when the config came from a file, else the key."""
    from revgov.config._errors import dotted_key, key_lines

    dotted = dotted_key(path)
    cfg_path = config.path
    if cfg_path is None or not cfg_path.is_file():
        return dotted

    lines = key_lines(cfg_path.read_text(encoding="utf-8"))
    for i in range(len(path), 0, -1):
        line = lines.get(tuple(path[:i]))
        if line is not None:
            return f"{cfg_path.name}:{line}: {dotted}"
    return f"{cfg_path.name}: {dotted}"


_TYPE_COLUMN = {"people": "kind", "opportunities": "type"}


def required_field_rules(config: Config) -> list[Rule]:
    """One rule per ``[[required_fields]]`` entry (ids: ``id``, else ``<field>_missing``)."""
    out: list[Rule] = []
    for i, rf in enumerate(config.required_fields):
        out += _required_entry(config, i, rf)
    return out


def _required_entry(config: Config, index: int, rf: RequiredFields) -> list[Rule]:
    conds: list[nw.Expr] = []
    cols: list[str] = []
    words: list[str] = []
    derivations: list[Derivation] = []
    if rf.when_stage:
        conds.append(is_in(nw.col("stage"), rf.when_stage))
        cols.append("stage")
        words.append(f"stage is {join_words(rf.when_stage)}")
    if rf.when_lifecycle_stage:
        conds.append(is_in(nw.col("lifecycle_stage"), rf.when_lifecycle_stage))
        cols.append("lifecycle_stage")
        words.append(f"lifecycle stage is {join_words(rf.when_lifecycle_stage)}")
    if rf.when_segment:
        conds.append(is_in(nw.col("__segment"), rf.when_segment))
        derivations.append(segment_derivation(rf.entity))
        words.append(f"segment is {join_words(rf.when_segment)}")
    if rf.when_type:
        tcol = _TYPE_COLUMN.get(rf.entity, "type")
        conds.append(is_in(nw.col(tcol), rf.when_type))
        cols.append(tcol)
        words.append(f"{tcol} is {join_words(rf.when_type)}")
    when = all_of(conds).fill_null(False) if conds else None
    when_text = "while " + " and ".join(words) if words else ""
    meta: dict[str, Any] = {
        "severity": rf.severity,
        "origin": "config",
        "settings": (f"required_fields[{index}]",),
        "remediation": "Fill in the field at the source (make it required in the CRM layout "
        "for these records) and backfill the existing ones.",
        "owner": "revops",
    }
    ids = [rf.rule_id()] if rf.id else [rf.rule_id(f) for f in rf.fields]
    fields = [[*rf.fields]] if rf.id else [[f] for f in rf.fields]
    return [
        required(
            rid, rf.entity, cols_, when=when, when_columns=cols, when_text=when_text, **meta
        ).replace(derivations=tuple(derivations))
        for rid, cols_ in zip(ids, fields, strict=True)
    ]


def config_rules(config: Config) -> list[Rule]:
    """Every rule the config declares: required fields and ``[[rules.custom]]``."""
    out = required_field_rules(config)
    for i, spec in enumerate(config.rules.custom_rules):
        out.append(custom_rule(config, i, spec))
    return out


def custom_rule(config: Config, index: int, spec: CustomRuleBase) -> Rule:
    """The rule of one validated ``[[rules.custom]]`` table, built by its kind."""
    where = config_location(config, "rules", "custom", index)
    meta: dict[str, Any] = {
        "severity": spec.severity,
        "threshold": spec.threshold,
        "owner": spec.owner,
        "remediation": spec.remediation,
        "origin": "config",
        "settings": (f"rules.custom[{index}]",),
    }
    if spec.dimension:
        meta["dimension"] = spec.dimension
    if spec.description:
        meta["description"] = spec.description
    try:
        rule = get_kind(spec.kind).build(spec, KindContext(config, where, meta))
    except RuleDefinitionError as exc:
        if exc.message.startswith(where):
            raise
        raise RuleDefinitionError(f"{where}: {exc.message}", hint=exc.hint) from None
    if spec.when:
        when = all_of([is_in(nw.col(c), vals) for c, vals in spec.when.items()]).fill_null(False)
        scope = when if rule.scope is None else rule.scope & when
        rule = rule.replace(scope=scope, columns=(*rule.columns, *spec.when))
    return rule


def apply_settings(
    rules: Sequence[Rule], settings: RulesSettings, config: Config, *, known_only: bool = False
) -> list[Rule]:
    """Apply ``disabled`` and per-rule overrides; unknown rule ids name the closest one
    (with ``known_only``, settings of rules not among ``rules`` are left aside: an audit of
    a few rules of your own)."""
    ids = [r.id for r in rules]
    known = set(ids)
    for rid in [*settings.disabled, *settings.overrides]:
        if rid not in known and not known_only:
            close = difflib.get_close_matches(rid, ids, n=1)
            key = ("disabled",) if rid in settings.disabled else (rid,)
            raise RuleDefinitionError(
                f"{config_location(config, 'rules', *key)}: no rule has the id {rid!r}",
                hint=f"did you mean {close[0]!r}?" if close else "see docs/rules.md for rule ids",
            )
    out = []
    for r in rules:
        if r.id in settings.disabled:
            continue
        ov = settings.overrides.get(r.id)
        if ov is not None:
            if not ov.enabled:
                continue
            changes: dict[str, Any] = {}
            for name in ("severity", "threshold", "owner", "remediation"):
                val = getattr(ov, name)
                if val is not None:
                    changes[name] = val
            if ov.severity is not None:
                # The rule's severity, set in so many words, is every check's.
                changes["checks"] = tuple(dataclasses.replace(c, severity=None) for c in r.checks)
            r = r.replace(**changes)
        out.append(r)
    return out
