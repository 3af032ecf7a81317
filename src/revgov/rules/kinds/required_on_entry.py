"""Kind ``required_on_entry``: a record did not enter a stage while a field was empty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
from pydantic import Field, model_validator

from revgov.config import Config
from revgov.config.schema._base import invalid
from revgov.config.schema.rules import CustomRuleBase
from revgov.definitions.history import (
    HISTORY_ENTITY_NAMES,
    STAGE_EVENT_COLUMNS,
    HistoryEntity,
    events_of,
    record_entity_is,
)
from revgov.definitions.lifecycle import LifecycleStages
from revgov.definitions.stages import PipelineStages
from revgov.errors import RuleDefinitionError
from revgov.rules._expr import is_in, join_words, not_null
from revgov.rules.base import Check, Derivation, DeriveContext, Dimension, Frame, Rule
from revgov.rules.kinds._registry import KindContext, RuleKind

__all__ = ["KIND", "RequiredOnEntryRule", "required_on_entry"]


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
    history: HistoryEntity = "opportunities" if entity == "opportunities" else "people"
    key = "opportunity_id" if entity == "opportunities" else "person_id"
    checks = []
    derivations = []
    for i, f in enumerate(fields):
        d = _entry_value(id, history, key, list(stages), f, i)
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


def _entered(entity: HistoryEntity, config: Config, stages: list[str]) -> nw.Expr:
    """A stage event's ``to_value`` names one of ``stages`` (any spelling of them)."""
    value = nw.col("to_value")
    if entity == "opportunities":
        pipelines = PipelineStages.of(config)
        wanted = [getattr(pipelines.stage(s), "name", s) for s in stages]
        return is_in(pipelines.canonical(value), wanted).fill_null(False)
    return LifecycleStages.of(config).is_one_of(value, stages)


def _value_at(joined: Frame, at: str) -> tuple[Frame, Frame]:
    """Per record, the field's value when it entered: the last change at or before entry
    (``__before_value``), and the value before the first later change (``__after_value``)."""
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
    return before, after


def _entry_value(
    rule_id: str,
    entity: HistoryEntity,
    key: str,
    stages: list[str],
    field: str,
    i: int,
) -> Derivation:
    at, stage_col, value = f"__entry_{i}_at", f"__entry_{i}_stage", f"__entry_{i}_value"

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        ev = ctx.frame("stage_events").filter(
            record_entity_is(entity) & ~nw.col("record_id").is_null()
        )
        entries = (
            ev.filter(events_of(entity) & _entered(entity, ctx.config, stages))
            .group_by("record_id")
            .agg(nw.col("changed_at").min().alias(at), nw.col("to_value").min().alias(stage_col))
        )
        hist = ev.filter(nw.col("field") == field).select(
            "record_id", "from_value", "to_value", "changed_at"
        )
        before, after = _value_at(hist.join(entries, on="record_id", how="inner"), at)
        facts = (
            entries.join(before, on="record_id", how="left")
            .join(after, on="record_id", how="left")
            .rename({"record_id": key})
        )
        current = nw.col(field).cast(nw.String())
        val = (
            nw.when(~nw.col("__has_before").is_null())
            .then(nw.col("__before_value"))
            .when(~nw.col("__has_after").is_null())
            .then(nw.col("__after_value"))
            .otherwise(current)
        )
        return (
            frame.join(facts, on=key, how="left")
            .with_columns(val.alias(value))
            .drop("__before_value", "__has_before", "__after_value", "__has_after")
        )

    return Derivation(
        name=f"{rule_id}.entry.{field}",
        build=build,
        provides=(at, stage_col, value),
        columns=(key, field),
        requires={"stage_events": STAGE_EVENT_COLUMNS},
    )


class RequiredOnEntryRule(CustomRuleBase):
    """``kind = "required_on_entry"``: entering one of ``stages`` with a field empty."""

    kind: Literal["required_on_entry"] = "required_on_entry"
    fields: list[str] = Field(min_length=1, description="Fields required on entry.")
    stages: list[str] = Field(min_length=1, description="Entering these stages.")

    @model_validator(mode="after")
    def _has_history(self) -> RequiredOnEntryRule:
        if self.target not in HISTORY_ENTITY_NAMES:
            raise invalid(
                f"required_on_entry works on {', '.join(HISTORY_ENTITY_NAMES)}, "
                f"not {self.target!r}",
                at=("entity",) if self.entity else ("id",),
                hint="stage history exists for opportunities (stage) and people (lifecycle_stage)",
            )
        return self

    def columns(self) -> tuple[str, ...]:
        return (*self.fields, *self.when)


def _build(spec: RequiredOnEntryRule, ctx: KindContext) -> Rule:
    return required_on_entry(spec.id, spec.target, spec.fields, spec.stages, **ctx.meta)


KIND = RuleKind(
    name="required_on_entry",
    settings=RequiredOnEntryRule,
    build=_build,
    summary="A record entered one of `stages` (per `stage_events`) while a field of `fields` "
    "was empty; only records that entered are checked.",
    example='id = "opportunities.proposal_without_amount"\nkind = "required_on_entry"\n'
    'fields = ["amount"]\nstages = ["Proposal"]',
)
