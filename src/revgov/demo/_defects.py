"""Which governance defects the demo plants, at what rate, and on which records.

Each kind's id equals the id of the built-in rule that must find it (see the demo contract in
docs/demo.md). :class:`Planter` picks the records of each kind at random from the records that
are eligible for it and not yet carrying another kind, so kinds sit on disjoint records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["DEFECTS", "DefectKind", "Planter", "ground_truth_frame"]

Idx = npt.NDArray[np.int64]


class DefectKind(NamedTuple):
    entity: str
    rate: float
    what: str


DEFECTS: dict[str, DefectKind] = {
    kind: DefectKind(kind.split(".")[0], rate, what)
    for kind, rate, what in (
        ("people.email_missing", 0.02, "email is null"),
        ("people.email_format", 0.01, "email present but not a valid address"),
        ("people.duplicate_email", 0.005, "two or more people share an email (every one listed)"),
        ("people.phone_format", 0.01, "phone present but not E.164"),
        ("people.country_format", 0.005, "country typed as a name, not an ISO alpha-2 code"),
        ("people.owner_missing", 0.01, "owner_id is null"),
        ("people.owner_inactive", 0.005, "owner is a deactivated user"),
        ("people.misrouted", 0.01, "active owner other than the routing table's"),
        ("people.utm_case_drift", 0.02, "utm_source or utm_medium not lowercase"),
        ("people.utm_vocabulary", 0.01, "lowercase utm_source or utm_medium off-vocabulary"),
        ("people.utm_required_by_channel", 0.01, "paid medium without utm_campaign"),
        ("people.converted_without_account", 0.005, "converted lead with no account"),
        ("people.account_missing", 0.003, "account_id names no account"),
        ("people.speed_to_lead_breach", 0.03, "MQL first touched after the SLA"),
        ("people.lifecycle_regression", 0.005, "lifecycle history moves backwards"),
        ("accounts.duplicate_domain", 0.01, "two accounts share a normalized domain"),
        ("accounts.domain_format", 0.005, "domain is not a host name"),
        ("accounts.industry_missing", 0.02, "industry is null"),
        ("accounts.owner_missing", 0.01, "owner_id is null"),
        ("opportunities.amount_missing_late_stage", 0.02, "no amount in Proposal/Negotiation"),
        ("opportunities.amount_negative", 0.005, "amount < 0"),
        ("opportunities.close_before_created", 0.005, "close date before the creation date"),
        ("opportunities.stage_unknown", 0.005, "stage not in the pipeline"),
        ("opportunities.stale_in_stage", 0.03, "open deal stuck in its stage"),
        ("opportunities.past_close_date", 0.02, "open deal with a close date in the past"),
        ("opportunities.account_missing", 0.005, "account_id null or names no account"),
        ("opportunities.owner_unknown", 0.005, "owner_id is not a user"),
        ("opportunities.stage_regression", 0.01, "stage history moves back to an open stage"),
        ("opportunities.skipped_stage", 0.01, "stage history skips Qualification"),
        ("opportunities.closed_won_without_amount", 0.005, "won with amount 0"),
        ("campaigns.naming", 0.1, "name does not parse against the naming template"),
    )
}


@dataclass
class Planter:
    """Picks disjoint records per defect kind for one entity of ``n`` rows."""

    rng: np.random.Generator
    entity: str
    n: int
    taken: npt.NDArray[np.bool_] = field(init=False)
    planted: dict[str, Idx] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.taken = np.zeros(self.n, dtype=bool)

    def target(self, kind: str, *, group: int = 1) -> int:
        """Records to plant: the rate times the rows, at least one group."""
        want = max(group, round(DEFECTS[kind].rate * self.n))
        return want - want % group

    def pick(
        self, kind: str, eligible: npt.NDArray[np.bool_] | None = None, *, group: int = 1
    ) -> Idx:
        """Pick the records of ``kind`` (sorted) among eligible, untaken rows."""
        if DEFECTS[kind].entity != self.entity:
            raise ValueError(f"{kind} is not a defect of {self.entity}")
        pool = ~self.taken if eligible is None else eligible & ~self.taken
        candidates = np.flatnonzero(pool)
        k = min(self.target(kind, group=group), len(candidates))
        k -= k % group
        chosen = (
            np.sort(self.rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]
        )
        self.taken[chosen] = True
        self.planted[kind] = chosen.astype(np.int64)
        return self.planted[kind]

    def mask(self, kind: str) -> npt.NDArray[np.bool_]:
        out = np.zeros(self.n, dtype=bool)
        out[self.planted.get(kind, np.empty(0, dtype=np.int64))] = True
        return out


def ground_truth_frame(planters: list[Planter], ids: dict[str, pl.Series]) -> pl.DataFrame:
    """One row per planted defect: entity, record_id, defect_kind (sorted)."""
    parts = [
        pl.DataFrame({"record_id": ids[p.entity].gather(idx)}).select(
            entity=pl.lit(p.entity, pl.String), record_id="record_id", defect_kind=pl.lit(kind)
        )
        for p in planters
        for kind, idx in p.planted.items()
    ]
    schema = pl.Schema(
        {"entity": pl.String(), "record_id": pl.String(), "defect_kind": pl.String()}
    )
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).cast(schema).sort("entity", "defect_kind", "record_id")
