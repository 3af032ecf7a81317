"""Run the demo generator's steps in order and assemble the canonical frames.

Records are referenced by integer index while they are generated; ids are given last, in
order of creation (``acc_000001`` is the oldest account), as a CRM would number them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.config import Config
from revgov.definitions.stages import PipelineStages
from revgov.demo._activity import (
    deal_activities,
    deal_events,
    lifecycle_events,
    people_activities,
    touches,
)
from revgov.demo._companies import SEGMENTS, Companies, make_companies
from revgov.demo._deals import Deals, make_deals, plant_deal_fields, stage_layout
from revgov.demo._defects import Planter, ground_truth_frame
from revgov.demo._marketing import (
    Campaigns,
    make_campaigns,
    quarters_between,
    spend_frame,
    targets_frame,
)
from revgov.demo._org import ROSTER, account_executives, users_frame
from revgov.demo._people import SQL, PeopleCore, make_people_core, people_frame
from revgov.demo._time import BusinessCalendar, Times, days, to_datetime64, utc_series
from revgov.demo._vocab import COUNTRIES, UNKNOWN_STAGE
from revgov.model.frames import ENTITIES, polars_schema

__all__ = ["GENERATION_STEPS", "assemble"]

#: The steps :func:`assemble` reports through ``on_step``, in order.
GENERATION_STEPS = (
    "companies and accounts",
    "opportunities",
    "people and campaigns",
    "ids",
    "stage history",
    "activities",
    "campaign touches",
    "frames",
)

Idx = npt.NDArray[np.int64]
_PRODUCTS = ("Platform", "Analytics Suite", "Data Quality Add-on")


def _ids(prefix: str, rank: Idx, width: int) -> pl.Series:
    """``prefix`` + the 1-based rank, zero-padded to ``width`` digits."""
    digits = pl.Series("id", rank + 1).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series().alias("id")


def _by_time(values: npt.NDArray[np.datetime64]) -> tuple[Idx, Idx]:
    """Rank of each record in order of time (ties by index), and the records in that order."""
    order = np.argsort(values, kind="stable")
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank, order


def _naive(column: pl.Series) -> npt.NDArray[np.datetime64]:
    return column.dt.replace_time_zone(None).to_numpy()


def _ref(ids: pl.Series, idx: Idx) -> pl.Series:
    """``ids[idx]`` with null where ``idx < 0``."""
    picked = ids.gather(np.maximum(idx, 0))
    return pl.select(pl.when(pl.Series(idx < 0)).then(None).otherwise(picked)).to_series()


def _accounts(
    rng: np.random.Generator, companies: Companies, n: int
) -> tuple[pl.DataFrame, pl.Series, Planter]:
    """Account columns (no id, no created_at) with planted defects, and every company's
    true domain (what its people's emails use)."""
    region = pl.Series([c.region for c in COUNTRIES]).gather(companies.country[:n])
    segment = pl.Series(SEGMENTS).gather(companies.segment[:n])
    code = np.zeros(n, dtype=np.int64)
    aes = account_executives()
    keys = list(aes)
    flat = [u for k in keys for u in aes[k]]
    start = 0
    reg_np, seg_np = region.to_numpy(), segment.to_numpy()
    for r, s in keys:  # one vectorized pass per (region, segment) team
        mine = np.flatnonzero((reg_np == r) & (seg_np == s))
        code[mine] = start + rng.integers(len(aes[(r, s)]), size=len(mine))
        start += len(aes[(r, s)])
    owner = pl.Series(flat, dtype=pl.String).gather(code)

    planter = Planter(rng, "accounts", n)
    dup = planter.pick("accounts.duplicate_domain", group=2)
    bad = planter.pick("accounts.domain_format")
    no_industry = planter.pick("accounts.industry_missing")
    no_owner = planter.pick("accounts.owner_missing")
    perm = rng.permutation(dup)
    src, dst = perm[: len(dup) // 2], perm[len(dup) // 2 :]
    true_domain = companies.domain.clone().scatter(dst, companies.domain.gather(src))
    src_dom = companies.domain.gather(src)
    www = pl.Series(rng.random(len(dst)) < 0.5)
    dup_dom = pl.select(pl.when(www).then("www." + src_dom).otherwise(src_dom)).to_series()
    bad_dom = companies.domain.gather(bad)
    variant = pl.Series(rng.integers(3, size=len(bad)))
    broken = pl.select(
        pl.when(variant == 0)
        .then(bad_dom.str.extract(r"^([^.]+)", 1))
        .when(variant == 1)
        .then("http://" + bad_dom + "/")
        .otherwise(bad_dom + "/pricing")
    ).to_series()
    domain = companies.domain[:n].clone().scatter(dst, dup_dom).scatter(bad, broken)
    name = companies.name[:n].clone().scatter(dst, companies.name.gather(src) + " Inc")
    frame = pl.DataFrame(
        {
            "name": name,
            "domain": domain,
            "industry": companies.industry[:n].clone().scatter(no_industry, None),
            "employees": companies.employees[:n],
            "annual_revenue": companies.annual_revenue[:n],
            "country": pl.Series([c.code for c in COUNTRIES]).gather(companies.country[:n]),
            "region": region,
            "segment": segment,
            "owner_id": owner.clone().scatter(no_owner, None),
            "parent_account_id": pl.repeat(None, n, eager=True, dtype=pl.String),
            "is_deleted": np.zeros(n, dtype=bool),
            "true_owner": owner,
        }
    )
    return frame, true_domain, planter


def _account_created(
    rng: np.random.Generator,
    n: int,
    people_account: Idx,
    people_created: npt.NDArray[np.datetime64],
    deals: Deals,
    as_of: np.datetime64,
) -> npt.NDArray[np.datetime64]:
    """Each account predates its first contact and deal by up to half a year."""
    never = np.iinfo(np.int64).max
    first = np.full(n, never, dtype=np.int64)
    has = people_account >= 0
    np.minimum.at(first, people_account[has], people_created[has].astype(np.int64))
    np.minimum.at(first, deals.account, deals.created_at.astype(np.int64))
    head_start = days(rng.uniform(1, 180, n)).astype(np.int64)
    lonely = (as_of - days(rng.uniform(30, 1000, n))).astype(np.int64)
    return np.where(first < never, first - head_start, lonely).astype("datetime64[us]")


def _typed(entity: str, frame: pl.DataFrame, key: str, pulled: datetime) -> pl.DataFrame:
    schema = polars_schema(entity)
    full = frame.with_columns(
        source_system=pl.lit("demo"),
        source_id=pl.col(key).cast(pl.String),
        pulled_at=pl.lit(pulled),
    )
    return full.select([pl.col(c).cast(schema[c]) for c in schema.names()])


@dataclass(frozen=True)
class _Records:
    """The generated records, referenced by index (before ids)."""

    companies: Companies
    accounts: pl.DataFrame
    true_domain: pl.Series
    deals: Deals
    core: PeopleCore
    campaigns: Campaigns
    people: pl.DataFrame
    field_picks: dict[str, Idx]
    planters: list[Planter]


@dataclass(frozen=True)
class _Ids:
    """Each record's id, in order of creation; ``order[entity]`` lists the generated rows in
    id order (filled in by the steps that make each entity)."""

    account_created: Times
    accounts: pl.Series
    people: pl.Series
    deals: pl.Series
    campaigns: pl.Series
    order: dict[str, Idx]


class _Run:
    """One run of the generator: its config, scale, seed, reference time and calendar."""

    def __init__(self, config: Config, scale: float, seed: int, as_of: datetime) -> None:
        self.config, self.scale, self.seed, self.as_of = config, scale, seed, as_of
        self.t0 = to_datetime64(as_of)
        self.calendar = BusinessCalendar.from_sla(config.sla)
        self.layout = stage_layout(config)

    def rng(self, part: int) -> np.random.Generator:
        # One independent stream per step, so a change in one step leaves the others alone.
        return np.random.default_rng([self.seed, part])


def _records(run: _Run, on_step: Callable[[str], None]) -> _Records:
    step_companies, step_deals, step_people, *_ = GENERATION_STEPS
    scale, t0 = run.scale, run.t0
    n_accounts = max(10, round(5_000 * scale))
    n_deals = max(16, round(8_000 * scale))
    n_people = max(100, round(50_000 * scale))

    on_step(step_companies)
    companies = make_companies(run.rng(1), n_accounts * 3)
    accounts, true_domain, acc_planter = _accounts(run.rng(2), companies, n_accounts)

    on_step(step_deals)
    deals = make_deals(
        run.rng(3),
        n_deals,
        account_segment=companies.segment[:n_accounts],
        layout=run.layout,
        as_of=t0,
    )

    on_step(step_people)
    core = make_people_core(
        run.rng(4),
        n_people,
        deals=deals,
        n_companies=len(companies),
        n_accounts=n_accounts,
        calendar=run.calendar,
        as_of=t0,
    )
    first_day = core.created_at.min().astype("datetime64[D]").item()
    last_day = (t0 - days(1)).astype("datetime64[D]").item()
    per_block = int(np.clip(round(2 * np.sqrt(scale)), 1, 5))
    campaigns, camp_planter = make_campaigns(
        run.rng(5), quarters_between(first_day, last_day), per_block, scale
    )
    people, people_planter = people_frame(
        run.rng(6),
        core,
        companies=companies,
        true_domain=true_domain,
        campaigns=campaigns,
        config=run.config,
        inactive_users=[m.user_id for m in ROSTER if not m.is_active],
        misroute_users=[u for team in account_executives().values() for u in team],
    )
    field_picks = plant_deal_fields(deals, run.rng(7), t0)
    planters = [acc_planter, people_planter, deals.planter, camp_planter]
    return _Records(
        companies, accounts, true_domain, deals, core, campaigns, people, field_picks, planters
    )


def _identify(run: _Run, r: _Records) -> _Ids:
    n_accounts = r.accounts.height
    account_created = _account_created(
        run.rng(8), n_accounts, r.core.account, r.core.created_at, r.deals, run.t0
    )
    # Rows end up in id order; `order[entity]` lists the generated rows in that order.
    order: dict[str, Idx] = {}
    rank, order["accounts"] = _by_time(account_created)
    account_ids = _ids("acc_", rank, 6)
    rank, order["people"] = _by_time(r.core.created_at)
    person_ids = _ids("per_", rank, 7)
    rank, order["opportunities"] = _by_time(r.deals.created_at)
    deal_ids = _ids("opp_", rank, 6)
    campaign_ids = _ids("cmp_", np.arange(r.campaigns.frame.height), 5)
    return _Ids(account_created, account_ids, person_ids, deal_ids, campaign_ids, order)


def _stage_history(run: _Run, r: _Records, ids: _Ids, deal_owner: pl.Series) -> pl.DataFrame:
    stages = list(run.config.lifecycle.stages)
    regression = np.flatnonzero(r.people["regression"].to_numpy())
    life = lifecycle_events(run.rng(9), r.core, regression, stages, run.t0)
    life = life.with_columns(
        record_entity=pl.lit("people"),
        field=pl.lit("lifecycle_stage"),
        record_id=ids.people.gather(life["record_index"]),
        changed_by=r.people["expected_owner"].gather(life["record_index"]),
    )
    path = deal_events(r.deals, run.layout, r.field_picks["stage_unknown"])
    path = path.with_columns(
        record_entity=pl.lit("opportunities"),
        field=pl.lit("stage"),
        record_id=ids.deals.gather(path["record_index"]),
        changed_by=deal_owner.gather(path["record_index"]),
    )
    events = pl.concat([life, path], how="vertical_relaxed")
    rank, ids.order["stage_events"] = _by_time(_naive(events["changed_at"]))
    return events.with_columns(event_id=_ids("evt_", rank, 8))


def _activities(run: _Run, r: _Records, ids: _Ids, deal_owner: pl.Series) -> pl.DataFrame:
    acts = pl.concat(
        [
            people_activities(
                run.rng(10),
                r.core,
                breach=np.flatnonzero(r.people["breach"].to_numpy()),
                owner=r.people["expected_owner"],
                calendar=run.calendar,
                as_of=run.t0,
            ),
            deal_activities(run.rng(11), r.deals, deal_owner, run.t0),
        ]
    )
    rank, ids.order["activities"] = _by_time(_naive(acts["occurred_at"]))
    return acts.with_columns(
        activity_id=_ids("act_", rank, 8),
        person_id=_ref(ids.people, acts["person_index"].to_numpy()),
        opportunity_id=_ref(ids.deals, acts["opp_index"].to_numpy()),
        account_id=_ref(ids.accounts, acts["account_index"].to_numpy()),
    )


def _touches(run: _Run, r: _Records, ids: _Ids) -> pl.DataFrame:
    clean = r.people.select(pl.col("^clean_.*$").name.map(lambda c: c.removeprefix("clean_")))
    touch = touches(
        run.rng(12),
        r.core,
        campaign_index=r.people["campaign_index"].to_numpy(),
        campaigns=r.campaigns,
        clean_tags=clean,
        as_of=run.t0,
    )
    rank, ids.order["campaign_touches"] = _by_time(_naive(touch["touched_at"]))
    return touch.with_columns(
        touch_id=_ids("tch_", rank, 8),
        person_id=ids.people.gather(touch["person_index"]),
        campaign_id=ids.campaigns.gather(touch["campaign_index"]),
    )


def _people_records(r: _Records, ids: _Ids) -> pl.DataFrame:
    account_index = r.people["account_index"].to_numpy()
    dangling = np.flatnonzero(account_index == -2)
    people_account = _ref(ids.accounts, account_index).scatter(
        dangling, _ids("acc_9", np.arange(len(dangling)), 6)
    )
    converted = r.people["is_converted"].to_numpy()
    core = r.core
    return r.people.with_columns(
        person_id=ids.people,
        account_id=people_account,
        converted_at=utc_series(
            "converted_at", np.where(converted, core.stage_at[:, SQL], np.datetime64("NaT"))
        ),
        converted_opportunity_id=_ref(ids.deals, np.where(converted, core.opp, -1)),
        mql_at=utc_series("mql_at", core.mql_at),
        # Routing assigns each record when it is created.
        assigned_at=utc_series("assigned_at", core.created_at),
        created_at=utc_series("created_at", core.created_at),
        is_deleted=pl.lit(False),
    )


def assemble(
    config: Config,
    *,
    scale: float,
    seed: int,
    as_of: datetime,
    on_step: Callable[[str], None],
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The demo's typed canonical frames and the ground truth of the planted defects."""
    *_, step_ids, step_history, step_activities, step_touches, step_frames = GENERATION_STEPS
    run = _Run(config, scale, seed, as_of)
    r = _records(run, on_step)
    on_step(step_ids)
    ids = _identify(run, r)
    deal_owner = r.accounts["true_owner"].gather(r.deals.account)
    on_step(step_history)
    events = _stage_history(run, r, ids, deal_owner)
    on_step(step_activities)
    acts = _activities(run, r, ids, deal_owner)
    on_step(step_touches)
    touch = _touches(run, r, ids)

    on_step(step_frames)
    frames: dict[str, pl.DataFrame] = {
        "accounts": r.accounts.with_columns(
            account_id=ids.accounts, created_at=utc_series("created_at", ids.account_created)
        ),
        "people": _people_records(r, ids),
        "stage_events": events,
        "activities": acts,
        "campaigns": r.campaigns.frame.with_columns(campaign_id=ids.campaigns),
        "campaign_touches": touch,
        "users": users_frame(),
        "pipeline_stages": pl.DataFrame(PipelineStages.of(config).rows()).with_columns(
            key=pl.format("{}/{}", "pipeline", "stage")
        ),
        "spend": spend_frame(r.campaigns.frame),
    }
    frames["opportunities"] = _opportunities(
        run.rng(13),
        r.deals,
        r.accounts,
        r.people,
        r.field_picks,
        layout_names=run.layout.names,
        pipeline=config.pipeline().name,
        currency=config.company.currency,
        ids=(ids.deals, ids.accounts, ids.people, ids.campaigns),
        owner=deal_owner,
    )
    start = date(as_of.year - 2, as_of.month, 1)
    frames["targets"] = targets_frame(frames["opportunities"], frames["people"], start, 30)

    keys = {e: m.primary_key[0] for e, m in ENTITIES.items()} | {"pipeline_stages": "key"}
    pulled = as_of.astimezone(UTC)
    order = ids.order
    typed = {
        e: _typed(e, frames[e][order[e]] if e in order else frames[e], keys[e], pulled)
        for e in ENTITIES
    }
    truth = ground_truth_frame(
        r.planters,
        {
            "accounts": ids.accounts,
            "people": ids.people,
            "opportunities": ids.deals,
            "campaigns": ids.campaigns,
        },
    )
    return typed, truth


def _opportunities(
    rng: np.random.Generator,
    deals: Deals,
    accounts: pl.DataFrame,
    people: pl.DataFrame,
    picks: dict[str, Idx],
    *,
    layout_names: list[str],
    pipeline: str,
    currency: str,
    ids: tuple[pl.Series, pl.Series, pl.Series, pl.Series],
    owner: pl.Series,
) -> pl.DataFrame:
    deal_ids, account_ids, person_ids, campaign_ids = ids
    n = len(deals)
    idx = np.arange(n)
    stage = pl.Series(layout_names).gather(deals.stage)
    unknown = picks["stage_unknown"]
    stage = stage.clone().scatter(unknown, pl.Series(UNKNOWN_STAGE).gather(deals.stage[unknown]))
    gone = picks["account_missing"]
    half = gone[: len(gone) // 2]
    account = account_ids.gather(deals.account).scatter(gone, None)
    account = account.clone().scatter(half, _ids("acc_8", np.arange(len(half)), 6))
    strangers = picks["owner_unknown"]
    strange_ids = _ids("005Dn00000", rng.integers(0, 99_999, len(strangers)), 5)
    product = pl.Series(_PRODUCTS).gather(rng.integers(len(_PRODUCTS), size=n))
    entered = deals.entered[idx, deals.length - 1]
    return pl.DataFrame(
        {
            "opportunity_id": deal_ids,
            "name": accounts["name"].gather(deals.account) + " - " + product,
            "account_id": account,
            "pipeline": pl.repeat(pipeline, n, eager=True, dtype=pl.String),
            "stage": stage,
            "amount": pl.Series(deals.amount).fill_nan(None),
            "currency": pl.repeat(currency, n, eager=True, dtype=pl.String),
            "close_date": pl.Series(deals.close_date.astype("datetime64[D]")),
            "created_at": utc_series("created_at", deals.created_at),
            "closed_at": utc_series("closed_at", deals.closed_at),
            "is_closed": ~deals.is_open,
            "is_won": deals.is_won,
            "owner_id": owner.clone().scatter(strangers, strange_ids),
            "type": pl.repeat("new business", n, eager=True, dtype=pl.String),
            "lead_source": people["lead_source"].gather(idx),
            "primary_campaign_id": _ref(campaign_ids, people["campaign_index"].to_numpy()[:n]),
            "primary_person_id": person_ids.gather(idx),
            "product": product,
            "segment": accounts["segment"].gather(deals.account),
            "region": accounts["region"].gather(deals.account),
            "stage_entered_at": utc_series("stage_entered_at", entered),
            "is_deleted": np.zeros(n, dtype=bool),
        }
    )
