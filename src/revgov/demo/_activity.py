"""Stage history, activities and campaign touches of the demo (one row per event).

Rows are built by repeating record indices (``numpy.repeat``) and per-step arrays, never by
looping over records. Record references stay integer indices here; the assembler maps them
to ids.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.demo._deals import Deals, StageLayout
from revgov.demo._marketing import Campaigns, quarter_index
from revgov.demo._people import MQL, N_STAGES, PeopleCore, scaled_span
from revgov.demo._time import BusinessCalendar, at_local, days, minutes, roll, utc_series
from revgov.demo._vocab import CHANNELS, CONTENTS, TERMS, UNKNOWN_STAGE

__all__ = ["deal_activities", "deal_events", "lifecycle_events", "people_activities", "touches"]

Idx = npt.NDArray[np.int64]
Times = npt.NDArray[np.datetime64]
_TYPES = ("call", "email", "meeting", "task")
_OUTCOME = {"call": None, "email": "sent", "meeting": "held", "task": "completed"}
_CALL_OUTCOMES = ("connected", "left voicemail", "no answer")


def _event_frame(
    record: Idx, from_code: Idx, to_code: Idx, at: Times, names: list[str]
) -> pl.DataFrame:
    stage = pl.Series(names, dtype=pl.String)
    return (
        pl.DataFrame(
            {
                "record_index": record,
                "from_value": stage.gather(np.maximum(from_code, 0)),
                "from_null": from_code < 0,
                "to_value": stage.gather(to_code),
            }
        )
        .with_columns(
            from_value=pl.when(pl.col("from_null")).then(None).otherwise("from_value"),
            changed_at=utc_series("changed_at", at),
        )
        .drop("from_null")
    )


def lifecycle_events(
    rng: np.random.Generator,
    core: PeopleCore,
    regression: Idx,
    stages: list[str],
    as_of: np.datetime64,
) -> pl.DataFrame:
    """One event per lifecycle step (the first from null), plus a back-and-forth for regressions."""
    rec, frm, to, at = [], [], [], []
    for s in range(N_STAGES):  # six stages, each a vectorized slice of all people
        idx = np.flatnonzero((core.initial <= s) & (core.final >= s))
        rec.append(idx)
        frm.append(np.where(core.initial[idx] == s, -1, s - 1))
        to.append(np.full(len(idx), s))
        at.append(core.stage_at[idx, s])
    top = core.final[regression]
    last = core.stage_at[regression, top]
    room = as_of - last
    t_back = last + scaled_span(room, rng.uniform(0.2, 0.45, len(regression)))
    t_again = last + scaled_span(room, rng.uniform(0.55, 0.9, len(regression)))
    rec += [regression, regression]
    frm += [top, top - 1]
    to += [top - 1, top]
    at += [t_back, t_again]
    return _event_frame(
        np.concatenate(rec), np.concatenate(frm), np.concatenate(to), np.concatenate(at), stages
    )


def deal_events(deals: Deals, layout: StageLayout, unknown: Idx) -> pl.DataFrame:
    """One event per step of each deal's path; stage_unknown deals entered the unknown stage."""
    width = deals.path.shape[1]
    steps = np.arange(width)[None, :]
    valid = steps < deals.length[:, None]
    prev = np.concatenate([np.full((len(deals), 1), -1), deals.path[:, :-1]], axis=1)
    rec = np.broadcast_to(np.arange(len(deals))[:, None], deals.path.shape)[valid]
    names = [*layout.names, *UNKNOWN_STAGE]
    to = deals.path.copy()
    last = deals.length[unknown] - 1
    to[unknown, last] = len(layout.names) + deals.stage[unknown]
    return _event_frame(rec, prev[valid], to[valid], deals.entered[valid], names)


def _expand(counts: Idx) -> tuple[Idx, Idx]:
    """Row owner and step number for ``counts[i]`` rows per record i."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.arange(len(owner)) - starts


def _group_cumsum(values: Idx, counts: Idx) -> Idx:
    """Running sum of ``values`` restarting at each group of ``counts`` consecutive rows."""
    total = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    before = total[starts] - values[starts]
    return np.asarray(total - np.repeat(before, counts), dtype=np.int64)


def _activity_frame(
    rng: np.random.Generator,
    person: Idx,
    deal: Idx,
    account: Idx,
    owner: pl.Series,
    at: Times,
    kind: Idx,
) -> pl.DataFrame:
    calls = pl.Series(_CALL_OUTCOMES).gather(rng.integers(len(_CALL_OUTCOMES), size=len(kind)))
    types = pl.Series(_TYPES).gather(kind)
    return pl.DataFrame(
        {"person_index": person, "opp_index": deal, "account_index": account, "type": types}
    ).with_columns(
        owner_id=owner,
        occurred_at=utc_series("occurred_at", at),
        outcome=pl.when(pl.col("type") == "call")
        .then(calls)
        .otherwise(pl.col("type").replace_strict(_OUTCOME, default=None)),
    )


def people_activities(
    rng: np.random.Generator,
    core: PeopleCore,
    *,
    breach: Idx,
    owner: pl.Series,
    calendar: BusinessCalendar,
    as_of: np.datetime64,
) -> pl.DataFrame:
    """MQLs: a first touch (in minutes, or two business days late if breached) and at least
    two follow-ups within a day of it; others: up to two touches any time after creation."""
    m = np.flatnonzero(core.final >= MQL)
    late = np.isin(m, breach)
    first = core.mql_at[m] + minutes(rng.uniform(3, 50, len(m)))
    late_day = roll(calendar, core.mql_day[m[late]], 2)
    late_minute = core.mql_minute[m[late]] + rng.uniform(0, 30, int(late.sum()))
    first[late] = at_local(calendar, late_day, late_minute)
    counts = 3 + rng.choice(3, size=len(m), p=[0.5, 0.3, 0.2])
    who, step = _expand(counts)
    gap = np.where(step <= 2, rng.uniform(0.05, 0.5, len(who)), rng.uniform(1, 10, len(who)))
    gap[step == 0] = 0.0
    at = first[who] + _group_cumsum(days(gap).astype(np.int64), counts).astype("timedelta64[us]")
    kind = np.where(
        step == 0,
        rng.integers(2, size=len(who)),
        rng.choice(3, size=len(who), p=[0.45, 0.4, 0.15]),
    )
    keep = at < as_of - days(1 / 24)

    other = np.flatnonzero(core.final < MQL)
    who2, _ = _expand(rng.choice(3, size=len(other), p=[0.4, 0.4, 0.2]))
    created = core.created_at[other][who2]
    at2 = created + scaled_span(as_of - days(1 / 24) - created, rng.uniform(0.01, 0.99, len(who2)))
    kind2 = rng.choice([0, 1, 3], size=len(who2), p=[0.3, 0.5, 0.2])

    person = np.concatenate([m[who][keep], other[who2]])
    at_all = np.concatenate([at[keep], at2])
    kind_all = np.concatenate([kind[keep], kind2])
    return _activity_frame(
        rng,
        person,
        np.full(len(person), -1),
        core.account[person],
        owner.gather(person),
        at_all,
        kind_all,
    )


def deal_activities(
    rng: np.random.Generator, deals: Deals, owner: pl.Series, as_of: np.datetime64
) -> pl.DataFrame:
    """Two to six meetings, calls and emails per deal while it is open (person i opened deal i)."""
    count = rng.integers(2, 7, size=len(deals))
    who, _ = _expand(count)
    end = np.where(deals.is_open, as_of - days(1 / 24), deals.closed_at)
    start = deals.created_at[who]
    at = start + scaled_span(end[who] - start, rng.uniform(0.02, 0.98, len(who)))
    kind = rng.choice(3, size=len(who), p=[0.3, 0.3, 0.4])
    return _activity_frame(rng, who, who, deals.account[who], owner.gather(who), at, kind)


def touches(
    rng: np.random.Generator,
    core: PeopleCore,
    *,
    campaign_index: Idx,
    campaigns: Campaigns,
    clean_tags: pl.DataFrame,
    as_of: np.datetime64,
) -> pl.DataFrame:
    """A touch per tagged person on their campaign at creation, with the tags they came in
    with (before any planted tag defect), plus later touches for some people."""
    tagged = np.flatnonzero(campaign_index >= 0)
    first = clean_tags[tagged].with_columns(
        person_index=pl.Series(tagged),
        campaign_index=pl.Series(campaign_index[tagged]),
        touched_at=utc_series("touched_at", core.created_at[tagged]),
    )
    n = len(core)
    again = np.flatnonzero(rng.random(n) < 0.3)
    when = core.created_at[again] + days(rng.uniform(1, 90, len(again)))
    ok = when < as_of - days(1 / 24)
    again, when = again[ok], when[ok]
    k = len(again)
    w = np.array([c.weight for c in CHANNELS])
    ch = rng.choice(len(CHANNELS), size=k, p=w / w.sum())
    camp = campaigns.index(
        quarter_index(campaigns.quarters, when), ch, rng.integers(campaigns.per_block, size=k)
    )
    n_src = np.array([len(c.sources) for c in CHANNELS])
    src_offset = np.concatenate([[0], n_src.cumsum()[:-1]])
    sources = pl.Series([s for c in CHANNELS for s in c.sources])
    has_term = np.array([c.has_term for c in CHANNELS])[ch]
    has_content = np.array([c.has_content for c in CHANNELS])[ch]
    later = pl.DataFrame(
        {
            "utm_source": sources.gather(src_offset[ch] + rng.integers(0, n_src[ch])),
            "utm_medium": pl.Series([c.medium for c in CHANNELS]).gather(ch),
            "utm_campaign": campaigns.frame["name"].gather(camp),
            "utm_term": pl.Series(TERMS).gather(rng.integers(len(TERMS), size=k)),
            "utm_content": pl.Series(CONTENTS).gather(rng.integers(len(CONTENTS), size=k)),
            "has_term": has_term,
            "has_content": has_content,
        }
    ).select(
        "utm_source",
        "utm_medium",
        "utm_campaign",
        utm_term=pl.when("has_term").then("utm_term"),
        utm_content=pl.when("has_content").then("utm_content"),
        person_index=pl.Series(again),
        campaign_index=pl.Series(camp),
        touched_at=utc_series("touched_at", when),
    )
    return pl.concat([first, later], how="diagonal_relaxed")
