"""Opportunities: governed pipelines and stages, outcomes, amounts, dates and staleness.

What a stage value means (its pipeline, order, closed and won) is
:mod:`revgov.definitions.stages`: a deal's stage is read under the same case rule and aliases
as the mapping layer and the KPIs read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from revgov.config import Config
from revgov.definitions.spelling import spelling_key_expr
from revgov.definitions.stages import PipelineStages
from revgov.rules import kinds
from revgov.rules._expr import join_words, lit_str, not_null, text
from revgov.rules._history import stage_entered
from revgov.rules.base import Check, Derivation, DeriveContext, Frame, Rule
from revgov.rules.packs.baseline._common import (
    AS_OF_PARAM,
    OPS,
    SOPS,
    TimeParam,
    as_of_column,
    builtin,
)

__all__ = ["DealState", "deal_rules"]


def _stage_key() -> Derivation:
    """``__stage_key``: the spelling key of the deal's stage, computed once for every rule
    that reads the stage (chains of stage attributes would compute it once per branch)."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return frame.with_columns(spelling_key_expr(nw.col("stage")).alias("__stage_key"))

    return Derivation(
        name="opportunities.stage_key", build=build, provides=("__stage_key",), columns=("stage",)
    )


@dataclass(frozen=True)
class DealState:
    """A deal's stage as the governed pipelines read it, as expressions; rules that read
    them name :attr:`keyed` among their derivations."""

    stages: PipelineStages
    pipe: nw.Expr
    stage: nw.Expr
    key: nw.Expr
    known: nw.Expr
    open_known: nw.Expr
    is_open: nw.Expr
    pipe_ok: nw.Expr
    configured: nw.Expr
    keyed: Derivation

    @classmethod
    def of(cls, config: Config) -> DealState:
        p = PipelineStages.of(config)
        pipe, stage, key = p.pipe(), nw.col("stage"), nw.col("__stage_key")
        known = p.known(stage, pipe, key=key)
        open_known = p.open(stage, pipe, key=key)
        # An unknown stage falls back on the record's own is_closed flag.
        is_open = (
            nw.when(known).then(open_known).otherwise(nw.col("is_closed") == False)  # noqa: E712
        ).fill_null(False)
        return cls(
            stages=p,
            pipe=pipe,
            stage=stage,
            key=key,
            known=known,
            open_known=open_known,
            is_open=is_open,
            pipe_ok=(nw.col("pipeline").is_null() | p.pipeline_known()).fill_null(False),
            configured=nw.lit(bool(p.pipelines)),
            keyed=_stage_key(),
        )


def deal_rules(config: Config) -> list[Rule]:
    """The deal's pipeline, stage, account, amount, dates and outcome flags (in the pack's
    order)."""
    d = DealState.of(config)
    return [
        _account_missing(),
        _pipeline_unknown(d),
        _stage_unknown(d),
        _amount_negative(),
        _close_before_created(d),
        _close_date_missing(d),
        _stale_in_stage(config, d),
        _past_close_date(d),
        _closed_won_without_amount(),
        _won_flags_mismatch(d),
    ]


def _account_missing() -> Rule:
    return kinds.references(
        "opportunities.account_missing",
        "opportunities",
        "account_id",
        "accounts",
        required=True,
        description="Every opportunity is linked to an existing account.",
        remediation="Link the deal to its account (create it if needed); make the "
        "account lookup required on deals.",
        owner=OPS,
        **builtin(),
    )


def _pipeline_unknown(d: DealState) -> Rule:
    return Rule(
        id="opportunities.pipeline_unknown",
        entity="opportunities",
        dimension="conformity",
        kind="allowed_values",
        description="pipeline, when present, names a configured [[pipelines]] entry.",
        checks=(
            Check(
                violation=~d.stages.pipeline_known(),
                field="pipeline",
                message=f"not a configured pipeline ({join_words(d.stages.names)})",
            ),
        ),
        scope=(not_null("pipeline") & d.configured).fill_null(False),
        columns=("pipeline",),
        remediation="Add the pipeline to revgov.toml or map the deal to a configured one.",
        owner=OPS,
        settings=("pipelines",),
        **builtin(),
    )


def _stage_unknown(d: DealState) -> Rule:
    return Rule(
        id="opportunities.stage_unknown",
        entity="opportunities",
        dimension="conformity",
        kind="allowed_values",
        description="stage names a stage of the deal's pipeline (the first pipeline when "
        "pipeline is blank), by its name or an alias in any case.",
        checks=(
            Check(
                violation=~d.known,
                field="stage",
                message=text("stage '", d.stage, "' is not a stage of pipeline '", d.pipe, "'"),
            ),
        ),
        scope=(not_null("stage") & d.pipe_ok & d.configured).fill_null(False),
        columns=("stage", "pipeline"),
        derivations=(d.keyed,),
        remediation="Map the value to a pipeline stage (add it to the stage's aliases) "
        "or correct the deal.",
        owner=OPS,
        settings=("pipelines.stages",),
        **builtin(),
    )


def _amount_negative() -> Rule:
    return kinds.in_range(
        "opportunities.amount_negative",
        "opportunities",
        "amount",
        min=0,
        description="amount, when present, is not negative.",
        remediation="Correct the amount; record credits and refunds outside deals.",
        owner=OPS,
        **builtin(),
    )


def _close_before_created(d: DealState) -> Rule:
    return kinds.compare(
        "opportunities.close_before_created",
        "opportunities",
        "close_date",
        ">=",
        "created_at",
        description="close_date is not before the day the deal was created.",
        message=text(
            "close date before creation (", nw.col("created_at").dt.to_string("%Y-%m-%d"), ")"
        ),
        remediation="Correct the close date (imports often swap the two dates).",
        owner=OPS,
        **builtin(),
    )


def _close_date_missing(d: DealState) -> Rule:
    return Rule(
        id="opportunities.close_date_missing",
        entity="opportunities",
        dimension="completeness",
        kind="required",
        description="Open deals have a close date (needed for forecasts and coverage).",
        checks=(
            Check(
                violation=nw.col("close_date").is_null(),
                field="close_date",
                message="open deal without a close date",
            ),
        ),
        scope=d.is_open,
        columns=("close_date", "stage", "pipeline", "is_closed"),
        derivations=(d.keyed,),
        remediation="Set the expected close date; make it required on open deals.",
        owner=SOPS,
        **builtin(),
    )


def _stale_in_stage(config: Config, d: DealState) -> Rule:
    days = _stale_days(config, d)
    stale_at, stale_params = _stale_thresholds(config, days)
    entered = nw.col("__stage_entered_at")
    return Rule(
        id="opportunities.stale_in_stage",
        entity="opportunities",
        dimension="sla",
        kind="sla",
        description="Open deals have not sat in their stage longer than the pipeline's "
        "stale_days for it (else sla.stale_days_default), measured at as_of. When the deal "
        "entered its stage is opportunities.stage_entered_at, else the stage history "
        "(the first stage_events row into the current stage after the last into another).",
        checks=(
            Check(
                violation=entered < stale_at,
                field="stage_entered_at",
                value=entered.dt.to_string("%Y-%m-%d %H:%M:%S"),
                message=text(
                    "in '",
                    d.stage,
                    "' since ",
                    entered.dt.to_string("%Y-%m-%d"),
                    nw.when(nw.col("__stage_entered_from") == "stage history")
                    .then(lit_str(" (per stage history)"))
                    .otherwise(lit_str("")),
                    "; stale after ",
                    days.cast(nw.String()),
                    " days",
                ),
            ),
        ),
        scope=(d.open_known & not_null("__stage_entered_at") & d.pipe_ok).fill_null(False),
        columns=("stage", "pipeline"),
        derivations=(d.keyed, stage_entered(), *stale_params),
        needs="needs when each open deal entered its stage: opportunities.stage_entered_at "
        "([sources.entities.opportunities]), or stage_events rows of field 'stage' with "
        "to_value and changed_at ([sources.entities.stage_events])",
        remediation="Review the deal with its owner: advance it, set a next step, or "
        "close it lost.",
        owner=SOPS,
        severity="warn",
        settings=("pipelines.stale_days", "sla.stale_days_default"),
        **builtin(),
    )


def _past_close_date(d: DealState) -> Rule:
    return Rule(
        id="opportunities.past_close_date",
        entity="opportunities",
        dimension="sla",
        kind="sla",
        description="Open deals do not have a close date before as_of.",
        checks=(
            Check(
                violation=nw.col("close_date") < nw.col(f"{AS_OF_PARAM}_date"),
                field="close_date",
                message="open deal whose close date has passed",
            ),
        ),
        scope=(d.is_open & not_null("close_date")).fill_null(False),
        columns=("close_date", "stage", "pipeline", "is_closed"),
        derivations=(d.keyed, as_of_column("opportunities")),
        remediation="Update the close date or close the deal; review overdue deals in "
        "the weekly pipeline call.",
        owner=SOPS,
        severity="warn",
        **builtin(),
    )


def _closed_won_without_amount() -> Rule:
    return Rule(
        id="opportunities.closed_won_without_amount",
        entity="opportunities",
        dimension="integrity",
        kind="lifecycle",
        description="Won deals have a non-zero amount.",
        checks=(
            Check(
                violation=nw.col("amount").is_null() | (nw.col("amount") == 0),
                field="amount",
                message="won deal without an amount",
            ),
        ),
        scope=(nw.col("is_won") == True).fill_null(False),  # noqa: E712
        columns=("is_won", "amount"),
        remediation="Enter the booked amount; require it when closing won.",
        owner=SOPS,
        **builtin(),
    )


def _won_flags_mismatch(d: DealState) -> Rule:
    return Rule(
        id="opportunities.won_flags_mismatch",
        entity="opportunities",
        dimension="integrity",
        kind="lifecycle",
        description="is_closed and is_won agree with the stage's definition in "
        "[[pipelines.stages]].",
        checks=(
            Check(
                violation=nw.col("is_closed") != d.stages.closed(d.stage, d.pipe, key=d.key),
                field="is_closed",
                message=text("is_closed disagrees with stage '", d.stage, "'"),
            ),
            Check(
                violation=nw.col("is_won") != d.stages.won(d.stage, d.pipe, key=d.key),
                field="is_won",
                message=text("is_won disagrees with stage '", d.stage, "'"),
            ),
        ),
        scope=d.known,
        columns=("stage", "pipeline", "is_closed", "is_won"),
        derivations=(d.keyed,),
        remediation="Fix the stage mapping (is_closed / is_won per stage) or the record.",
        owner=OPS,
        settings=("pipelines.stages",),
        **builtin(),
    )


def _stale_days(config: Config, d: DealState) -> nw.Expr:
    """Days in its stage after which an open deal is stale: its pipeline's ``stale_days``
    for the stage, else ``sla.stale_days_default``."""
    named = d.stages.canonical(d.stage, d.pipe, key=d.key)
    chain: nw.Expr = nw.lit(config.sla.stale_days_default)
    for p in reversed(config.pipelines):
        for st, days in p.stale_days.items():
            chain = nw.when((d.pipe == p.name) & (named == st)).then(nw.lit(days)).otherwise(chain)
    return chain


def _stale_thresholds(config: Config, days: nw.Expr) -> tuple[nw.Expr, tuple[Derivation, ...]]:
    """The instant before which a deal that entered its stage is stale (as_of minus the
    stage's stale days), with the derivations holding those instants."""
    every = {
        config.sla.stale_days_default,
        *(d for p in config.pipelines for d in p.stale_days.values()),
    }
    chain: nw.Expr = nw.lit(None)
    derivations = []
    for n in sorted(every):
        param = TimeParam(-n)
        derivations.append(param.derivation("opportunities"))
        chain = nw.when(days == n).then(nw.col(param.column)).otherwise(chain)
    return chain, tuple(derivations)
