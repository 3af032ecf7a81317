"""Governance maturity: which of three stages the audited CRM has reached, and why.

1. **activity-led** - the CRM records activity, but pipeline and revenue cannot be trusted
   to be connected to accounts, owners and stages.
2. **pipeline-connected** - deals live in governed pipelines, are linked to accounts and
   owned, records are complete, and stage history exists.
3. **revenue-operated** - on top of that, routing, SLAs, attribution (UTM and campaign
   naming) and lifecycle integrity are governed well enough to run revenue on the data.

Each stage has criteria over the audit's results (a rule's pass rate, a dimension score).
The stage is the highest one whose criteria, and every lower stage's, are all met; criteria
that could not be evaluated (rule skipped, nothing checked) count as not met. The criteria
and thresholds are listed in docs/maturity.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["CRITERIA", "STAGES", "Criterion", "CriterionResult", "Maturity", "assess"]

STAGES = {1: "activity-led", 2: "pipeline-connected", 3: "revenue-operated"}


@dataclass(frozen=True)
class Criterion:
    stage: int
    name: str
    description: str
    threshold: float
    #: (pass rates by rule id, scores by dimension, history flag) -> value or None
    measure: Callable[[Mapping[str, float | None], Mapping[str, float | None], bool], float | None]


@dataclass(frozen=True)
class CriterionResult:
    stage: int
    name: str
    description: str
    value: float | None
    threshold: float

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.threshold


@dataclass(frozen=True)
class Maturity:
    stage: int
    name: str
    criteria: tuple[CriterionResult, ...]

    def unmet(self) -> list[CriterionResult]:
        return [c for c in self.criteria if not c.met]


def _rate(*rule_ids: str, also: tuple[str, ...] = ()) -> Callable[..., float | None]:
    """The lowest pass rate among the rules (None if any was not evaluated); rules in
    ``also`` count when they were evaluated (campaign touches, when there are any)."""

    def measure(
        rates: Mapping[str, float | None], _scores: Mapping[str, float | None], _h: bool
    ) -> float | None:
        vals = [rates.get(r) for r in rule_ids]
        if any(v is None for v in vals):
            return None
        vals += [v for r in also if (v := rates.get(r)) is not None]
        return min(v for v in vals if v is not None)

    return measure


def _score(dimension: str) -> Callable[..., float | None]:
    def measure(
        _rates: Mapping[str, float | None], scores: Mapping[str, float | None], _h: bool
    ) -> float | None:
        return scores.get(dimension)

    return measure


def _history(
    _rates: Mapping[str, float | None], _scores: Mapping[str, float | None], has: bool
) -> float:
    return 1.0 if has else 0.0


CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        2,
        "governed pipeline",
        "Deals use configured pipelines and stages (opportunities.stage_unknown and "
        "opportunities.pipeline_unknown pass rate).",
        0.98,
        _rate("opportunities.stage_unknown", "opportunities.pipeline_unknown"),
    ),
    Criterion(
        2,
        "deals linked to accounts",
        "Opportunities name an existing account (opportunities.account_missing pass rate).",
        0.95,
        _rate("opportunities.account_missing"),
    ),
    Criterion(
        2,
        "records owned",
        "People, accounts and deals have owners (the *.owner_missing pass rates).",
        0.95,
        _rate("people.owner_missing", "accounts.owner_missing", "opportunities.owner_missing"),
    ),
    Criterion(
        2,
        "stage history",
        "Stage changes are recorded (1 when stage_events has rows, else 0).",
        1.0,
        _history,
    ),
    Criterion(
        2,
        "complete records",
        "Completeness score (mean pass rate of completeness rules).",
        0.90,
        _score("completeness"),
    ),
    Criterion(
        3,
        "routing governed",
        "Routing score: owners match the routing table, are active, pools are balanced.",
        0.95,
        _score("routing"),
    ),
    Criterion(
        3,
        "SLAs kept",
        "SLA score: speed to lead, follow-up, stale deals, past close dates.",
        0.90,
        _score("sla"),
    ),
    Criterion(
        3,
        "attribution governed",
        "UTM tags and campaign names follow the conventions (lowest pass rate of "
        "people.utm_vocabulary, people.utm_case_drift, people.utm_required_by_channel and "
        "campaigns.naming, and of the same UTM rules on campaign_touches when there are "
        "touches).",
        0.85,
        _rate(
            "people.utm_vocabulary",
            "people.utm_case_drift",
            "people.utm_required_by_channel",
            "campaigns.naming",
            also=(
                "campaign_touches.utm_vocabulary",
                "campaign_touches.utm_case_drift",
                "campaign_touches.utm_required_by_channel",
            ),
        ),
    ),
    Criterion(
        3,
        "lifecycle integrity",
        "Integrity score: references, duplicates, regressions, skipped stages.",
        0.95,
        _score("integrity"),
    ),
    Criterion(
        3,
        "bookings recorded",
        "Won deals carry their amount (opportunities.closed_won_without_amount pass rate).",
        0.99,
        _rate("opportunities.closed_won_without_amount"),
    ),
)


def assess(
    pass_rates: Mapping[str, float | None],
    scores: Mapping[str, float | None],
    *,
    has_stage_history: bool,
) -> Maturity:
    """Evaluate every criterion and place the audit at a stage."""
    results = tuple(
        CriterionResult(
            c.stage,
            c.name,
            c.description,
            c.measure(pass_rates, scores, has_stage_history),
            c.threshold,
        )
        for c in CRITERIA
    )
    stage = 1
    for s in sorted(STAGES)[1:]:
        if all(r.met for r in results if r.stage <= s):
            stage = s
        else:
            break
    return Maturity(stage=stage, name=STAGES[stage], criteria=results)
