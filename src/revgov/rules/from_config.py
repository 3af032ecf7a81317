"""Rules declared in ``revgov.toml``: ``[[required_fields]]`` and the ``[rules]`` table.

``[rules]`` holds rule settings::

    [rules]
    packs = ["baseline"]                 # built-in or plugin packs to run (default: baseline)
    disabled = ["people.phone_format"]   # rule ids to leave out

    [rules."people.email_missing"]       # per-rule overrides, keyed by rule id
    severity = "warn"
    threshold = 0.02                     # fail only if more than 2% of rows violate
    owner = "marketing-ops"
    remediation = "..."

    [rules.skipped_stage]                # settings of a built-in rule kind
    required = ["Qualification"]

    [[rules.custom]]                     # rules of your own, of any kind
    id = "opportunities.next_step_missing"
    kind = "required"                    # required | allowed | format | pattern | range |
    fields = ["next_step"]               # compare | unique | reference | required_on_entry
    when = { stage = ["Proposal", "Negotiation"] }

    [[rules.custom]]                     # two columns of a record compared
    id = "opportunities.close_after_created"
    kind = "compare"
    field = "close_date"
    op = ">="
    other = "created_at"                 # a datetime compared with a date: by its day

Everything is validated up front: an unknown key or rule id names the closest valid one, an
invalid regex points at the position, a field that is not a column lists the columns, an
unknown entity names the closest one.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import narwhals as nw
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from revgov._typing import RuleKind
from revgov.config import Config, RequiredFields
from revgov.errors import RuleDefinitionError
from revgov.model.frames import ENTITIES
from revgov.rules import kinds
from revgov.rules._expr import all_of, is_in, join_words, not_null
from revgov.rules._history import HISTORY_ENTITY_NAMES, STAGE_EVENT_COLUMNS
from revgov.rules._regex import check_regex
from revgov.rules._routing import segment_derivation
from revgov.rules.base import (
    DIMENSIONS,
    Check,
    Derivation,
    DeriveContext,
    Dimension,
    Frame,
    Rule,
    Severity,
)

__all__ = [
    "CustomRule",
    "RuleOverride",
    "RulesSettings",
    "apply_settings",
    "config_location",
    "config_rules",
    "required_field_rules",
    "rules_settings",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleOverride(_Strict):
    """``[rules."<rule id>"]``: change a rule without rewriting it."""

    enabled: bool = True
    severity: Severity | None = None
    threshold: float | None = Field(None, ge=0, le=1, description="Fraction of checked rows.")
    owner: str | None = None
    remediation: str | None = None


class SkippedStageSettings(_Strict):
    required: list[str] = Field(
        default_factory=list, description="Stages a deal may not skip on its way forward."
    )


class RoundRobinSettings(_Strict):
    tolerance: float | None = Field(
        None, ge=0, description="Overrides routing.round_robin_tolerance."
    )


class SpeedToLeadSettings(_Strict):
    start: Literal["mql_at", "created_at"] = Field(
        "mql_at", description="When the clock starts: the MQL time or the record's creation."
    )


class FormatSettings(_Strict):
    email: str | None = Field(None, description="Regex replacing the built-in email format.")
    e164: str | None = Field(None, description="Regex replacing the built-in phone format.")
    domain: str | None = Field(None, description="Regex replacing the built-in domain format.")


class CustomRule(_Strict):
    """``[[rules.custom]]``: a rule of one of the built-in kinds, on any entity."""

    id: str
    kind: RuleKind
    entity: str | None = Field(None, description="Default: the id's prefix.")
    fields: list[str] = Field(default_factory=list)
    field: str | None = None
    when: dict[str, list[str]] = Field(
        default_factory=dict, description="Only rows whose column is one of the values."
    )
    values: list[str] = Field(default_factory=list, description="allowed: the picklist.")
    ignore_case: bool = False
    format: str | None = Field(None, description="format: email, e164, domain, iso_country...")
    pattern: str | None = Field(None, description="pattern: a regular expression.")
    # int first: a bound written 1000 stays 1000 in messages (not 1000.0).
    min: int | float | date | datetime | None = None
    max: int | float | date | datetime | None = None
    op: kinds.CompareOp | None = Field(None, description="compare: `field op other` must hold.")
    other: str | None = Field(None, description="compare: the other column.")
    normalize: Literal["none", "lower", "email", "domain"] = "none"
    references: str | None = Field(None, description="reference: the target entity.")
    target_key: str | None = None
    required: bool = False
    stages: list[str] = Field(
        default_factory=list, description="required_on_entry: entering these stages."
    )
    severity: Severity = "error"
    dimension: Dimension | None = None
    threshold: float | None = Field(None, ge=0, le=1)
    description: str | None = None
    owner: str | None = None
    remediation: str = ""

    @field_validator("dimension")
    @classmethod
    def _dim(cls, v: str | None) -> str | None:
        if v is not None and v not in DIMENSIONS:  # pragma: no cover - Literal guards it
            raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
        return v


class RulesSettings(_Strict):
    """The ``[rules]`` table, parsed."""

    packs: list[str] = Field(default_factory=lambda: ["baseline"])
    disabled: list[str] = Field(default_factory=list)
    skipped_stage: SkippedStageSettings = Field(default_factory=SkippedStageSettings)
    round_robin: RoundRobinSettings = Field(default_factory=RoundRobinSettings)
    speed_to_lead: SpeedToLeadSettings = Field(default_factory=SpeedToLeadSettings)
    formats: FormatSettings = Field(default_factory=FormatSettings)
    custom: list[CustomRule] = Field(default_factory=list)
    overrides: dict[str, RuleOverride] = Field(default_factory=dict)


_SETTING_KEYS = tuple(k for k in RulesSettings.model_fields if k != "overrides")


def config_location(config: Config, *path: str | int) -> str:
    """``revgov.toml:LINE: rules.x.y`` when the config came from a file, else the key."""
    dotted = ".".join(f'"{p}"' if isinstance(p, str) and "." in p else str(p) for p in path)
    cfg_path = config.path
    if cfg_path is None or not cfg_path.is_file():
        return dotted
    from revgov.config._errors import key_lines

    lines = key_lines(cfg_path.read_text(encoding="utf-8"))
    for i in range(len(path), 0, -1):
        line = lines.get(tuple(path[:i]))
        if line is not None:
            return f"{cfg_path.name}:{line}: {dotted}"
    return f"{cfg_path.name}: {dotted}"


def rules_settings(config: Config) -> RulesSettings:
    """Parse and validate ``config.rules``; errors name the key, its line and a fix."""
    raw = dict(config.rules)
    data: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        if "." in key:
            overrides[key] = value
        elif key in _SETTING_KEYS:
            data[key] = value
        else:
            close = difflib.get_close_matches(key, _SETTING_KEYS, n=1)
            raise RuleDefinitionError(
                f"{config_location(config, 'rules', key)}: unknown key {key!r} in [rules]",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "rule overrides are keyed by a rule id in quotes, e.g. "
                + '[rules."people.email_missing"]',
            )
    data["overrides"] = overrides
    try:
        settings = RulesSettings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == "overrides":
            loc = loc[1:]
        path: list[str | int] = ["rules", *[int(p) if p.isdigit() else p for p in loc]]
        hint = None
        if err["type"] == "extra_forbidden":
            model = _model_at(loc)
            names = list(model.model_fields) if model else []
            close = difflib.get_close_matches(loc[-1], names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(names)}"
        raise RuleDefinitionError(
            f"{config_location(config, *path)}: {err['msg']}"
            + (f" (got {err.get('input')!r})" if err["type"] != "extra_forbidden" else ""),
            hint=hint,
        ) from None
    for name, rule_id in _FORMAT_RULES.items():
        regex = getattr(settings.formats, name)
        if regex is not None:
            where = config_location(config, "rules", "formats", name)
            check_regex(regex, where=f"{where}: rule {rule_id}")
    return settings


#: The built-in rules each ``[rules.formats]`` regex replaces the pattern of.
_FORMAT_RULES = {
    "email": "people.email_format",
    "e164": "people.phone_format",
    "domain": "accounts.domain_format",
}


def _model_at(loc: Sequence[str]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = RulesSettings
    for part in loc[:-1]:
        if part.isdigit() or model is None:
            continue
        field = model.model_fields.get(part)
        if field is None:
            # overrides are keyed by rule id
            return RuleOverride if "." in part else None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        inner = next(
            (a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        model = inner
    return model


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
    rid = rf.id
    if rid:
        full = rid if "." in rid else f"{rf.entity}.{rid}"
        if full.split(".", 1)[0] != rf.entity:
            raise RuleDefinitionError(
                f"{config_location(config, 'required_fields', index, 'id')}: rule id {rid!r} does not "
                f"start with the entity {rf.entity!r}",
                hint=f"write id = {rid.split('.', 1)[-1]!r} or {rf.entity}.<name>",
            )
        return [
            kinds.required(
                full,
                rf.entity,
                rf.fields,
                when=when,
                when_columns=cols,
                when_text=when_text,
                **meta,
            ).replace(derivations=tuple(derivations))
        ]
    return [
        kinds.required(
            f"{rf.entity}.{f}_missing",
            rf.entity,
            [f],
            when=when,
            when_columns=cols,
            when_text=when_text,
            **meta,
        ).replace(derivations=tuple(derivations))
        for f in rf.fields
    ]


def config_rules(config: Config, settings: RulesSettings | None = None) -> list[Rule]:
    """Every rule the config declares: required fields and ``[[rules.custom]]``."""
    s = settings or rules_settings(config)
    out = required_field_rules(config)
    for i, spec in enumerate(s.custom):
        out.append(_custom(config, i, spec))
    return out


def _custom(config: Config, index: int, spec: CustomRule) -> Rule:
    where = config_location(config, "rules", "custom", index)
    entity = spec.entity or spec.id.split(".", 1)[0]
    if "." not in spec.id:
        raise RuleDefinitionError(
            f"{where}: rule id {spec.id!r} is not of the form <entity>.<name>",
            hint=f"e.g. id = '{entity}.{spec.id}'",
        )
    key = "entity" if spec.entity else "id"
    _check_entity(
        entity, f"{config_location(config, 'rules', 'custom', index, key)}: rule {spec.id}"
    )
    if spec.kind == "reference" and spec.references is not None:
        _check_entity(
            spec.references,
            f"{config_location(config, 'rules', 'custom', index, 'references')}: rule {spec.id}",
        )
    if spec.kind == "pattern" and spec.pattern is not None:
        check_regex(
            spec.pattern,
            where=f"{config_location(config, 'rules', 'custom', index, 'pattern')}: rule {spec.id}",
        )
    fields = list(spec.fields) or ([spec.field] if spec.field else [])
    if spec.kind not in ("required", "required_on_entry") and len(fields) != 1:
        raise RuleDefinitionError(f"{where}: kind {spec.kind!r} needs exactly one `field`")
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
    conds = [is_in(nw.col(c), vals) for c, vals in spec.when.items()]
    when = all_of(conds).fill_null(False) if conds else None
    try:
        rule = _custom_kind(spec, entity, fields, meta, where)
    except RuleDefinitionError as exc:
        if exc.message.startswith(where):
            raise
        raise RuleDefinitionError(f"{where}: {exc.message}", hint=exc.hint) from None
    if when is not None:
        scope = when if rule.scope is None else rule.scope & when
        rule = rule.replace(scope=scope, columns=(*rule.columns, *spec.when))
    return rule


def _check_entity(entity: str, where: str) -> None:
    if entity in ENTITIES:
        return
    close = difflib.get_close_matches(entity, list(ENTITIES), n=1, cutoff=0.5)
    raise RuleDefinitionError(
        f"{where}: {entity!r} is not an entity of the canonical model",
        hint=(f"did you mean {close[0]!r}? " if close else "") + f"entities: {', '.join(ENTITIES)}",
    )


def _custom_kind(
    spec: CustomRule, entity: str, fields: list[str], meta: dict[str, Any], where: str
) -> Rule:
    rid, field = spec.id, fields[0] if fields else ""
    if spec.kind == "required":
        if not fields:
            raise RuleDefinitionError(f"{where}: kind 'required' needs `fields`")
        return kinds.required(rid, entity, fields, **meta)
    if spec.kind == "allowed":
        if not spec.values:
            raise RuleDefinitionError(f"{where}: kind 'allowed' needs `values`")
        return kinds.allowed_values(
            rid, entity, field, spec.values, ignore_case=spec.ignore_case, **meta
        )
    if spec.kind == "format":
        if spec.format is None:
            raise RuleDefinitionError(
                f"{where}: kind 'format' needs `format`",
                hint=f"one of: {', '.join(kinds.FORMATS)}",
            )
        return kinds.formatted(rid, entity, field, spec.format, **meta)
    if spec.kind == "pattern":
        if spec.pattern is None:
            raise RuleDefinitionError(f"{where}: kind 'pattern' needs `pattern`")
        return kinds.pattern(rid, entity, field, spec.pattern, **meta)
    if spec.kind == "range":
        return kinds.in_range(rid, entity, field, min=spec.min, max=spec.max, **meta)
    if spec.kind == "compare":
        if spec.op is None or spec.other is None:
            raise RuleDefinitionError(
                f"{where}: kind 'compare' needs `op` and `other`",
                hint='e.g. field = "close_date", op = ">=", other = "created_at"',
            )
        return kinds.compare(rid, entity, field, spec.op, spec.other, **meta)
    if spec.kind == "unique":
        return kinds.unique(rid, entity, field, normalize=spec.normalize, **meta)
    if spec.kind == "reference":
        if spec.references is None:
            raise RuleDefinitionError(f"{where}: kind 'reference' needs `references` (an entity)")
        return kinds.references(
            rid,
            entity,
            field,
            spec.references,
            target_key=spec.target_key,
            required=spec.required,
            **meta,
        )
    # required_on_entry
    if not spec.stages or not fields:
        raise RuleDefinitionError(f"{where}: kind 'required_on_entry' needs `stages` and `fields`")
    return required_on_entry(rid, entity, fields, spec.stages, **meta)


def required_on_entry(
    id: str,
    entity: str,
    fields: Sequence[str],
    stages: Sequence[str],
    *,
    dimension: Dimension = "completeness",
    description: str | None = None,
    **meta: Any,
) -> Rule:
    """A record entered one of ``stages`` (per ``stage_events``) while a field was empty.

    Only records that entered one of the stages are checked.

    The field's value at entry comes from its own history in ``stage_events`` when there is
    one (the last change at or before entry, else the value before the first later change);
    without history the current value stands in, on the assumption that filled fields are
    not cleared later.
    """
    if entity not in HISTORY_ENTITY_NAMES:
        raise RuleDefinitionError(
            f"rule {id}: required_on_entry works on {', '.join(HISTORY_ENTITY_NAMES)}, "
            f"not {entity!r}"
        )
    stage_field = "stage" if entity == "opportunities" else "lifecycle_stage"
    key = "opportunity_id" if entity == "opportunities" else "person_id"
    checks = []
    derivations = []
    for i, f in enumerate(fields):
        d = _entry_value(id, entity, key, stage_field, list(stages), f, i)
        derivations.append(d)
        checks.append(
            Check(
                violation=~nw.col(f"__entry_{i}_at").is_null()
                & nw.col(f"__entry_{i}_value").is_null(),
                field=f,
                value=nw.col(f"__entry_{i}_stage"),
                message=f"entered {join_words(stages)} while {f} was empty",
            )
        )
    return Rule(
        id=id,
        entity=entity,
        dimension=dimension,
        description=description
        or f"Records do not enter {join_words(stages)} with {join_words(fields)} empty.",
        checks=tuple(checks),
        # Every field's derivation finds the same entry: the first one's time will do.
        scope=not_null("__entry_0_at"),
        columns=(key, *fields),
        derivations=tuple(derivations),
        kind="required_on_entry",
        **meta,
    )


def _entry_value(
    rule_id: str, entity: str, key: str, stage_field: str, stages: list[str], field: str, i: int
) -> Derivation:
    at, stage_col, value = f"__entry_{i}_at", f"__entry_{i}_stage", f"__entry_{i}_value"

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        names = list(HISTORY_ENTITY_NAMES[entity])
        ev = ctx.frame("stage_events").filter(
            nw.col("record_entity").str.to_lowercase().is_in(names) & ~nw.col("record_id").is_null()
        )
        entries = (
            ev.filter((nw.col("field") == stage_field) & is_in(nw.col("to_value"), stages))
            .group_by("record_id")
            .agg(nw.col("changed_at").min().alias(at), nw.col("to_value").min().alias(stage_col))
        )
        hist = ev.filter(nw.col("field") == field).select(
            "record_id", "from_value", "to_value", "changed_at"
        )
        joined = hist.join(entries, on="record_id", how="inner")
        before = joined.filter(nw.col("changed_at") <= nw.col(at)).with_columns(
            nw.col("changed_at").max().over("record_id").alias("__last")
        )
        before = (
            before.filter(nw.col("changed_at") == nw.col("__last"))
            .group_by("record_id")
            .agg(nw.col("to_value").max().alias("__before_value"), nw.len().alias("__has_before"))
        )
        after = joined.filter(nw.col("changed_at") > nw.col(at)).with_columns(
            nw.col("changed_at").min().over("record_id").alias("__first")
        )
        after = (
            after.filter(nw.col("changed_at") == nw.col("__first"))
            .group_by("record_id")
            .agg(nw.col("from_value").max().alias("__after_value"), nw.len().alias("__has_after"))
        )
        facts = entries.join(before, on="record_id", how="left").join(
            after, on="record_id", how="left"
        )
        facts = facts.rename({"record_id": key})
        out = frame.join(facts, on=key, how="left")
        current = nw.col(field).cast(nw.String())
        val = (
            nw.when(~nw.col("__has_before").is_null())
            .then(nw.col("__before_value"))
            .when(~nw.col("__has_after").is_null())
            .then(nw.col("__after_value"))
            .otherwise(current)
        )
        return out.with_columns(val.alias(value)).drop(
            "__before_value", "__has_before", "__after_value", "__has_after"
        )

    return Derivation(
        name=f"{rule_id}.entry.{field}",
        build=build,
        provides=(at, stage_col, value),
        columns=(key, field),
        requires={"stage_events": STAGE_EVENT_COLUMNS},
    )


def apply_settings(rules: Sequence[Rule], settings: RulesSettings, config: Config) -> list[Rule]:
    """Apply ``disabled`` and per-rule overrides; unknown rule ids name the closest one."""
    ids = [r.id for r in rules]
    known = set(ids)
    for rid in [*settings.disabled, *settings.overrides]:
        if rid not in known:
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
            r = r.replace(**changes)
        out.append(r)
    return out
