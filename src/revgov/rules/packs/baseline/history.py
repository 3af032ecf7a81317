"""Stage history: lifecycle and pipeline stages never move back, nor skip a required stage.

Which events are whose history, and what a stage value means, are
:mod:`revgov.definitions.history`, :mod:`~revgov.definitions.stages` and
:mod:`~revgov.definitions.lifecycle` (see :mod:`revgov.rules._history`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from revgov.config import Config
from revgov.rules._expr import lit_str, not_null, text
from revgov.rules._history import lifecycle_history, stage_history
from revgov.rules.base import Check, Derivation, Rule
from revgov.rules.packs.baseline._common import MOPS, SOPS, builtin

__all__ = ["lifecycle_history_rules", "stage_history_rules"]


def _history_rules(
    entity: str,
    field: str,
    label: str,
    hist: Derivation,
    required: Sequence[str],
    *,
    columns: tuple[str, ...],
    regression: dict[str, Any],
    skipped: dict[str, Any],
) -> list[Rule]:
    """The regression and skipped-stage rules over one stage history (``_history``).

    A regression needs moves (events whose from-value is known or derived from the order
    of the events): a record with no move is not checked, so history without from-values
    and without times is not_applicable, never a pass."""
    has_events = not_null("__hist_events")
    has_moves = (nw.col("__hist_moves").fill_null(0) > 0).fill_null(False)
    history = (
        f"stage_events rows of field '{field}' for {entity}, each with from_value, or with "
        "to_value and changed_at so the from-value is derived (one row per stage entered, as "
        "Salesforce's OpportunityHistory): map the history in [sources.entities.stage_events]"
    )
    skip_checks = tuple(
        Check(
            violation=(nw.col(f"__hist_beyond_{i}").fill_null(0) > 0)
            & (nw.col(f"__hist_seen_{i}").fill_null(0) == 0),
            field=field,
            value=lit_str(stage),
            message=f"moved past '{stage}' without entering it",
        )
        for i, stage in enumerate(required)
    )
    common: dict[str, Any] = {
        "entity": entity,
        "dimension": "integrity",
        "kind": "lifecycle",
        "columns": columns,
        "derivations": (hist,),
        **builtin(),
    }
    return [
        Rule(
            checks=(
                Check(
                    violation=nw.col("__hist_regressions") > 0,
                    field=field,
                    value=nw.col("__hist_first_back"),
                    message=text(
                        f"{label} moved back ",
                        nw.col("__hist_regressions").cast(nw.String()),
                        " time(s), first: ",
                        nw.col("__hist_first_back"),
                    ),
                ),
            ),
            scope=has_moves,
            needs=f"needs moves in the history: {history}",
            **regression,
            **common,
        ),
        Rule(
            checks=skip_checks or (Check(violation=nw.lit(False)),),
            scope=has_events & nw.lit(bool(required)),
            needs=(
                f"needs {history}"
                if required
                else f"names no required stage: set {skipped['settings'][0]} in revgov.toml"
            ),
            **skipped,
            **common,
        ),
    ]


def lifecycle_history_rules(config: Config) -> list[Rule]:
    """People never move back in the lifecycle, nor past a required stage."""
    required = list(config.lifecycle.required_stages)
    return _history_rules(
        "people",
        "lifecycle_stage",
        "lifecycle stage",
        lifecycle_history(required),
        required,
        columns=("person_id",),
        regression={
            "id": "people.lifecycle_regression",
            "description": "Lifecycle history (stage_events of lifecycle_stage; a from_value "
            "the history lacks is the previous event's to_value, by changed_at) never moves a "
            "person back to an earlier stage of [lifecycle].stages.",
            "remediation": "Stop automations that reset lifecycle stages; use a recycle status "
            "instead of moving people back.",
            "owner": MOPS,
            "settings": ("lifecycle.stages", "lifecycle.map"),
        },
        skipped={
            "id": "people.skipped_lifecycle_stage",
            "description": "People do not move past a stage of lifecycle.required_stages "
            "without entering it (per stage_events).",
            "remediation": "Make the lifecycle automation pass through every required stage "
            "(and stamp its date).",
            "owner": MOPS,
            "severity": "warn",
            "settings": ("lifecycle.required_stages",),
        },
    )


def stage_history_rules(config: Config) -> list[Rule]:
    """Deals never move back to an earlier open stage, nor past a required stage."""
    required = list(config.rules.skipped_stage.required)
    return _history_rules(
        "opportunities",
        "stage",
        "stage",
        stage_history(required),
        required,
        columns=("opportunity_id", "pipeline"),
        regression={
            "id": "opportunities.stage_regression",
            "description": "Stage history (stage_events of stage; a from_value the history "
            "lacks is the previous event's to_value, by changed_at) never moves a deal back to "
            "an earlier open stage.",
            "remediation": "Coach reps to keep deals moving forward; use a next-step field "
            "instead of moving stages back.",
            "owner": SOPS,
            "severity": "warn",
            "settings": ("pipelines.stages",),
        },
        skipped={
            "id": "opportunities.skipped_stage",
            "description": "Deals do not move to a later open or won stage without passing "
            "through each stage of [rules.skipped_stage].required.",
            "remediation": "Enforce stage entry criteria (stage gates) so that qualification "
            "is recorded.",
            "owner": SOPS,
            "severity": "warn",
            "settings": ("rules.skipped_stage.required",),
        },
    )
