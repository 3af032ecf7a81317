"""Opportunities of the demo: outcome, stage path, stage timeline, amounts and defects.

Every deal walks the pipeline from its first stage one stage at a time (clean deals never
skip or regress); its timeline is laid out backwards from the moment it entered its current
stage, so open deals sit inside the stale window and closed deals close before ``as_of``.
Deal paths come from a few dozen templates (outcome x path defect), gathered per deal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from revgov.config import Config, PipelineConfig
from revgov.demo._defects import Planter
from revgov.demo._time import days

__all__ = ["Deals", "StageLayout", "make_deals", "plant_deal_fields", "stage_layout"]

Idx = npt.NDArray[np.int64]
_OPEN_MIX = (0.30, 0.30, 0.22, 0.18)  # current stage of open deals, by stage position
_LOST_FROM = (0.45, 0.35, 0.20)  # lost after reaching Qualification / Proposal / Negotiation
_AMOUNT_MEDIAN = (12_000.0, 50_000.0, 180_000.0)  # by segment index


@dataclass(frozen=True)
class StageLayout:
    """The pipeline the generator walks: open stages in order, then won and lost."""

    names: list[str]  # by position: open stages..., won, lost
    n_open: int
    stale_min: npt.NDArray[np.float64]  # per open stage: the strictest stale limit (days)
    stale_max: npt.NDArray[np.float64]  # per open stage: the most lenient stale limit

    @property
    def won(self) -> int:
        return self.n_open

    @property
    def lost(self) -> int:
        return self.n_open + 1


def stage_layout(config: Config) -> StageLayout:
    pipe: PipelineConfig = config.pipeline()
    ordered = pipe.ordered()
    open_ = [s for s in ordered if not s.is_closed]
    won = [s for s in ordered if s.is_won]
    lost = [s for s in ordered if s.is_closed and not s.is_won]
    if len(open_) != 4 or len(won) != 1 or len(lost) != 1:
        raise ValueError("the demo pipeline needs four open stages, one won and one lost stage")
    default = float(config.sla.stale_days_default)
    limits = [float(pipe.stale_days.get(s.name, default)) for s in open_]
    return StageLayout(
        names=[s.name for s in (*open_, *won, *lost)],
        n_open=len(open_),
        stale_min=np.minimum(np.array(limits), default),
        stale_max=np.maximum(np.array(limits), default),
    )


@dataclass
class Deals:
    account: Idx  # original account (company index)
    segment: Idx
    path: Idx  # [n, width] stage positions, -1 padded
    length: Idx
    entered: npt.NDArray[np.datetime64]  # [n, width] entry time of each path step
    created_at: npt.NDArray[np.datetime64]
    closed_at: npt.NDArray[np.datetime64]  # NaT while open
    stage: Idx  # current stage position
    is_open: npt.NDArray[np.bool_]
    is_won: npt.NDArray[np.bool_]
    close_date: npt.NDArray[np.datetime64]  # datetime64[D]
    amount: npt.NDArray[np.float64]  # NaN = null
    planter: Planter

    def __len__(self) -> int:
        return len(self.account)


def _templates(layout: StageLayout) -> tuple[Idx, Idx, dict[tuple[str, int, str], int]]:
    """Stage-position paths for every (outcome, last open stage, path defect) combination."""
    qual, proposal = 1, 2
    paths: list[list[int]] = []
    index: dict[tuple[str, int, str], int] = {}
    bases = [("open", k, list(range(k + 1))) for k in range(layout.n_open)]
    bases += [("lost", k, [*range(k + 1), layout.lost]) for k in range(1, layout.n_open)]
    bases += [("won", layout.n_open - 1, [*range(layout.n_open), layout.won])]
    for outcome, k, base in bases:
        variants = {"none": base}
        if proposal in base:
            at = base.index(proposal) + 1
            variants["regression"] = [*base[:at], qual, proposal, *base[at:]]
            variants["skip"] = [s for s in base if s != qual]
        for name, path in variants.items():
            index[(outcome, k, name)] = len(paths)
            paths.append(path)
    width = max(len(p) for p in paths)
    matrix = np.full((len(paths), width), -1, dtype=np.int64)
    for i, p in enumerate(paths):  # a few dozen templates, not rows
        matrix[i, : len(p)] = p
    return matrix, np.array([len(p) for p in paths], dtype=np.int64), index


def make_deals(
    rng: np.random.Generator,
    n: int,
    *,
    account_segment: Idx,
    layout: StageLayout,
    as_of: np.datetime64,
) -> Deals:
    n_accounts = len(account_segment)
    account = rng.integers(n_accounts, size=n)
    segment = account_segment[account]
    u = rng.random(n)
    # 0 open, 1 lost, 2 won: a 40% win rate, and open deals about what a quarter creates.
    outcome = np.where(u < 0.34, 2, np.where(u < 0.85, 1, 0))
    open_stage = rng.choice(layout.n_open, size=n, p=_OPEN_MIX)
    lost_from = 1 + rng.choice(layout.n_open - 1, size=n, p=_LOST_FROM)
    last_open = np.where(
        outcome == 0, open_stage, np.where(outcome == 1, lost_from, layout.n_open - 1)
    )
    is_open = outcome == 0
    reaches_proposal = last_open >= 2

    planter = Planter(rng, "opportunities", n)
    planter.pick("opportunities.stage_regression", reaches_proposal)
    planter.pick("opportunities.skipped_stage", reaches_proposal)
    planter.pick("opportunities.stale_in_stage", is_open)
    regress = planter.mask("opportunities.stage_regression")
    skip = planter.mask("opportunities.skipped_stage")
    stale = planter.mask("opportunities.stale_in_stage")

    matrix, lengths, index = _templates(layout)
    tid = np.full(n, -1, dtype=np.int64)
    for (kind, k, variant), t in index.items():  # one vectorized pass per template
        code = {"open": 0, "lost": 1, "won": 2}[kind]
        sel = (outcome == code) & (last_open == k)
        sel &= {"none": ~regress & ~skip, "regression": regress, "skip": skip}[variant]
        tid[sel] = t
    path, length = matrix[tid], lengths[tid]
    stage = path[np.arange(n), length - 1]

    # When the current stage was entered: fresh or stale for open deals, in the past if closed.
    cur = np.minimum(stage, layout.n_open - 1)
    fresh = as_of - days(rng.uniform(0.5, layout.stale_min[cur] - 2.0))
    stuck = as_of - days(layout.stale_max[cur] + rng.uniform(5.0, 120.0, n))
    closed = as_of - days(rng.uniform(1.0, 600.0, n))
    last = np.where(is_open, np.where(stale, stuck, fresh), closed)
    width = path.shape[1]
    steps = np.arange(width)[None, :]
    gaps = days(rng.uniform(1.0, 20.0, (n, width)))
    gaps[(steps >= length[:, None]) | (steps == 0)] = np.timedelta64(0, "us")
    after = gaps[:, ::-1].cumsum(axis=1)[:, ::-1]  # time from each step to the last one
    after = np.concatenate([after[:, 1:], np.zeros((n, 1), dtype=after.dtype)], axis=1)
    entered = last[:, None] - after
    entered[steps >= length[:, None]] = np.datetime64("NaT")
    created = entered[:, 0]

    median = np.array(_AMOUNT_MEDIAN)[segment]
    amount = (median * rng.lognormal(0.0, 0.45, n) / 100).round() * 100
    today = as_of.astype("datetime64[D]")
    close_date = np.where(
        is_open,
        today + rng.integers(7, 121, n).astype("timedelta64[D]"),
        last.astype("datetime64[D]"),
    )
    return Deals(
        account=account.astype(np.int64),
        segment=segment,
        path=path,
        length=length,
        entered=entered,
        created_at=created,
        closed_at=np.where(is_open, np.datetime64("NaT"), last),
        stage=stage,
        is_open=is_open,
        is_won=outcome == 2,
        close_date=close_date,
        amount=amount,
        planter=planter,
    )


def plant_deal_fields(
    deals: Deals, rng: np.random.Generator, as_of: np.datetime64
) -> dict[str, Idx]:
    """Plant the field-level deal defects; returns the picks by kind (also on the planter)."""
    p = deals.planter
    today = as_of.astype("datetime64[D]")
    created_day = deals.created_at.astype("datetime64[D]")
    won = p.pick("opportunities.closed_won_without_amount", deals.is_won)
    deals.amount[won] = 0.0
    cbc = p.pick("opportunities.close_before_created", ~deals.is_open)
    deals.close_date[cbc] = created_day[cbc] - rng.integers(2, 41, len(cbc)).astype(
        "timedelta64[D]"
    )
    late = deals.is_open & np.isin(deals.stage, [2, 3])
    missing = p.pick("opportunities.amount_missing_late_stage", late)
    deals.amount[missing] = np.nan
    old_enough = deals.is_open & (deals.created_at <= as_of - days(10))
    past = p.pick("opportunities.past_close_date", old_enough)
    back = today - rng.integers(2, 61, len(past)).astype("timedelta64[D]")
    deals.close_date[past] = np.maximum(back, created_day[past])
    unknown = p.pick("opportunities.stage_unknown", deals.is_open)
    neg = p.pick("opportunities.amount_negative")
    deals.amount[neg] = -deals.amount[neg]
    acct = p.pick("opportunities.account_missing")
    owner = p.pick("opportunities.owner_unknown")
    return {"stage_unknown": unknown, "account_missing": acct, "owner_unknown": owner}
