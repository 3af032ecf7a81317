"""People of the demo: who they are, their funnel timeline, their tags and their defects.

The first ``len(deals)`` people are the deals' primary contacts (person ``i`` opened deal
``i``); the rest are contacts of random accounts or leads from companies that are not
accounts. Every lifecycle step is one stage up. MQLs become MQLs inside business hours, at
least eight days before ``as_of``, so their first touch and follow-ups fit before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.config import Config
from revgov.demo._companies import SEGMENTS, Companies
from revgov.demo._deals import Deals
from revgov.demo._defects import Planter
from revgov.demo._marketing import Campaigns, quarter_index
from revgov.demo._routing import expected_owners
from revgov.demo._time import BusinessCalendar, at_local, days, local_date, roll
from revgov.demo._vocab import (
    BAD_COUNTRY,
    BUYING_ROLES,
    CHANNELS,
    CONTENTS,
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    TERMS,
    TITLES,
    UNTAGGED_SOURCES,
)

__all__ = ["PeopleCore", "make_people_core", "people_frame", "scaled_span"]

Idx = npt.NDArray[np.int64]
Times = npt.NDArray[np.datetime64]
N_STAGES = 6  # subscriber, lead, mql, sql, opportunity, customer
MQL, SQL, OPP, CUSTOMER = 2, 3, 4, 5
_STATUS = ("nurture", "open", "working", "qualified", "qualified", "qualified")
_BAD_SOURCE = ("linked-in", "fb", "adwords", "google-ads", "li", "news-letter")
_BAD_MEDIUM = ("ppc", "paid_social", "e-mail", "banner", "social-paid")


@dataclass
class PeopleCore:
    company: Idx
    account: Idx  # original account, -1 for leads
    opp: Idx  # deal opened by the person, -1 if none
    initial: Idx
    final: Idx
    stage_at: Times  # [n, 6] when each lifecycle stage was entered (NaT if never)
    mql_day: npt.NDArray[np.datetime64]  # local business day of the MQL (NaT if none)
    mql_minute: npt.NDArray[np.float64]  # local minute of day of the MQL

    def __len__(self) -> int:
        return len(self.company)

    @property
    def created_at(self) -> Times:
        return self.stage_at[np.arange(len(self)), self.initial]

    @property
    def mql_at(self) -> Times:
        return self.stage_at[:, MQL]


def scaled_span(
    span: npt.NDArray[np.timedelta64], frac: npt.ArrayLike
) -> npt.NDArray[np.timedelta64]:
    """``frac`` of each timedelta (numpy does not multiply timedelta64 by floats)."""
    micros = span.astype("timedelta64[us]").astype(np.int64)
    return (micros * np.asarray(frac, dtype=np.float64)).astype(np.int64).astype("timedelta64[us]")


def make_people_core(
    rng: np.random.Generator,
    n: int,
    *,
    deals: Deals,
    n_companies: int,
    n_accounts: int,
    calendar: BusinessCalendar,
    as_of: np.datetime64,
) -> PeopleCore:
    n_deals = len(deals)
    opp = np.full(n, -1, dtype=np.int64)
    opp[:n_deals] = np.arange(n_deals)
    has_opp = opp >= 0
    deal = np.where(has_opp, opp, 0)
    contact = has_opp | (rng.random(n) < 0.55)
    account = np.where(
        has_opp, deals.account[deal], np.where(contact, rng.integers(n_accounts, size=n), -1)
    )
    company = np.where(account >= 0, account, rng.integers(n_accounts, n_companies, size=n))

    final = np.where(
        has_opp,
        np.where(deals.is_won[deal], CUSTOMER, OPP),
        np.where(
            account >= 0,
            rng.choice(4, size=n, p=[0.10, 0.35, 0.30, 0.25]),
            rng.choice(3, size=n, p=[0.20, 0.50, 0.30]),
        ),
    ).astype(np.int64)
    initial = np.where((final >= 1) & (rng.random(n) >= 0.3), 1, 0).astype(np.int64)

    # MQL moments: a business day at 9:00-15:00 local, before the deal and >= 8 days before as_of.
    is_mql = final >= MQL
    m = np.flatnonzero(is_mql)
    deal_created = deals.created_at[deal[m]]
    latest = as_of - days(8)
    target = np.where(
        has_opp[m],
        np.minimum(deal_created - days(1 + rng.uniform(0, 14, len(m))), latest),
        latest - days(rng.uniform(0, 700, len(m))),
    )
    span = calendar.close_minute - calendar.open_minute
    window = max(span - 120, span // 2)
    mql_day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    mql_minute = np.zeros(n)
    mql_day[m] = roll(calendar, local_date(calendar, target))
    mql_minute[m] = calendar.open_minute + rng.uniform(0, window, len(m))
    mql = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    mql[m] = at_local(calendar, mql_day[m], mql_minute[m])

    created = as_of - days(rng.uniform(1, 730, n))
    created[m] = mql[m] - days(rng.uniform(0.01, 60, len(m)))
    stage_at = np.full((n, N_STAGES), np.datetime64("NaT"), dtype="datetime64[us]")
    stage_at[np.arange(n), initial] = created
    to_lead = (initial == 0) & (final >= 1)
    lead_until = np.where(is_mql, mql, as_of)
    lead_at = created + scaled_span(lead_until - created, rng.uniform(0.2, 0.8, n))
    stage_at[to_lead, 1] = lead_at[to_lead]
    stage_at[is_mql, MQL] = mql[is_mql]
    frac, extra = rng.uniform(0.3, 0.9, n), rng.uniform(1, 7, n)
    s_opp = np.flatnonzero((final >= SQL) & has_opp)
    s_plain = np.flatnonzero((final >= SQL) & ~has_opp)
    gap = deals.created_at[deal[s_opp]] - mql[s_opp]
    stage_at[s_opp, SQL] = mql[s_opp] + scaled_span(gap, frac[s_opp])
    stage_at[s_plain, SQL] = mql[s_plain] + days(extra[s_plain])
    stage_at[has_opp, OPP] = deals.created_at[deal][has_opp]
    won = final == CUSTOMER
    stage_at[won, CUSTOMER] = deals.closed_at[deal][won]
    return PeopleCore(
        company=company.astype(np.int64),
        account=account.astype(np.int64),
        opp=opp,
        initial=initial,
        final=final,
        stage_at=stage_at,
        mql_day=mql_day,
        mql_minute=mql_minute,
    )


def _pick(values: tuple[str, ...] | list[str], idx: npt.ArrayLike) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(np.asarray(idx, dtype=np.int64))


@dataclass(frozen=True)
class _Tags:
    """The campaign each person came from (tagged people only) and the tags' ingredients."""

    tagged: npt.NDArray[np.bool_]
    channel: Idx
    untagged_source: Idx
    src: Idx
    campaign: Idx
    paid: npt.NDArray[np.bool_]


def _draw_tags(
    rng: np.random.Generator, core: PeopleCore, campaigns: Campaigns, config: Config
) -> _Tags:
    n = len(core)
    created = core.created_at
    ch_w = np.array([c.weight for c in CHANNELS])
    tagged = rng.random(n) < 0.65
    channel = np.where(tagged, rng.choice(len(CHANNELS), size=n, p=ch_w / ch_w.sum()), 0)
    un_w = np.array([w for _, w in UNTAGGED_SOURCES])
    untagged_source = rng.choice(len(UNTAGGED_SOURCES), size=n, p=un_w / un_w.sum())
    n_src = np.array([len(c.sources) for c in CHANNELS])
    src_offset = np.concatenate([[0], n_src.cumsum()[:-1]])
    src = src_offset[channel] + rng.integers(0, n_src[channel])
    slot = rng.integers(campaigns.per_block, size=n)
    campaign = campaigns.index(quarter_index(campaigns.quarters, created), channel, slot)
    paid = tagged & np.isin(
        channel, [i for i, c in enumerate(CHANNELS) if c.medium in config.utm.required_by_channel]
    )
    return _Tags(tagged, channel, untagged_source, src, campaign, paid)


def _contact_frame(
    rng: np.random.Generator,
    core: PeopleCore,
    tags: _Tags,
    *,
    companies: Companies,
    true_domain: pl.Series,
    campaigns: Campaigns,
) -> pl.DataFrame:
    """Names, emails, phones, firmographics and the clean UTM tags of every person."""
    n = len(core)
    tagged, channel, untagged_source = tags.tagged, tags.channel, tags.untagged_source
    src, campaign = tags.src, tags.campaign
    src_table = [s for c in CHANNELS for s in c.sources]
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    country = companies.country[core.company]
    dial = _pick([c.dial for c in COUNTRIES], country)
    nanp = dial == "1"
    national = np.where(
        nanp.to_numpy(),
        rng.integers(201, 990, n) * 10_000_000 + rng.integers(0, 10_000_000, n),
        rng.integers(100_000_000, 1_000_000_000, n),
    )
    base = pl.DataFrame(
        {
            "tagged": tagged,
            "channel": _pick([c.token for c in CHANNELS], channel),
            "lead_source": pl.Series(
                np.where(
                    tagged,
                    _pick([c.lead_source for c in CHANNELS], channel).to_numpy(),
                    _pick([s for s, _ in UNTAGGED_SOURCES], untagged_source).to_numpy(),
                )
            ),
            "utm_source": _pick(src_table, src),
            "utm_medium": _pick([c.medium for c in CHANNELS], channel),
            "utm_campaign": campaigns.frame["name"].gather(campaign),
            "has_term": np.array([c.has_term for c in CHANNELS])[channel],
            "has_content": np.array([c.has_content for c in CHANNELS])[channel],
            "utm_term": _pick(TERMS, rng.integers(len(TERMS), size=n)),
            "utm_content": _pick(CONTENTS, rng.integers(len(CONTENTS), size=n)),
            "first_name": _pick(FIRST_NAMES, first),
            "last_name": _pick(LAST_NAMES, last),
            "pattern": rng.choice(3, size=n, p=[0.55, 0.30, 0.15]),
            "domain": true_domain.gather(core.company),
            "company": companies.name.gather(core.company),
            "country": _pick([c.code for c in COUNTRIES], country),
            "dial": dial,
            "national": national.astype(np.int64),
            "segment": _pick(SEGMENTS, companies.segment[core.company]),
            "employees": companies.employees[core.company],
            "industry": companies.industry.gather(core.company),
        }
    )
    first_l, last_l = (
        pl.col("first_name").str.to_lowercase(),
        pl.col("last_name").str.to_lowercase(),
    )
    local = (
        pl.when(pl.col("pattern") == 0)
        .then(first_l + "." + last_l)
        .when(pl.col("pattern") == 1)
        .then(first_l.str.slice(0, 1) + last_l)
        .otherwise(first_l + "_" + last_l)
    )
    frame = base.with_columns(
        utm_source=pl.when("tagged").then("utm_source"),
        utm_medium=pl.when("tagged").then("utm_medium"),
        utm_campaign=pl.when("tagged").then("utm_campaign"),
        utm_term=pl.when(pl.col("tagged") & pl.col("has_term")).then("utm_term"),
        utm_content=pl.when(pl.col("tagged") & pl.col("has_content")).then("utm_content"),
        local=local,
        phone=pl.format("+{}{}", "dial", "national"),
    ).with_columns(email=pl.col("local") + "@" + pl.col("domain"))
    # Two people with the same name at one company: jane.doe@, jane.doe2@, ... (only the few
    # repeated emails are renumbered; a window over every row would be slow).
    repeated = np.flatnonzero(frame.select(pl.col("email").is_duplicated()).to_series().to_numpy())
    renumbered = (
        frame[repeated]
        .select(
            pl.when(pl.int_range(pl.len()).over("email") > 0)
            .then(
                pl.format("{}{}@{}", "local", pl.int_range(1, pl.len() + 1).over("email"), "domain")
            )
            .otherwise("email")
        )
        .to_series()
    )
    frame = frame.with_columns(frame["email"].clone().scatter(repeated, renumbered))

    return frame


@dataclass(frozen=True)
class _Picks:
    """The people each planted defect kind picked (indices)."""

    breach: Idx
    regression: Idx
    conv_no_acct: Idx
    dangling: Idx
    req: Idx
    drift: Idx
    vocab: Idx
    dup: Idx
    no_email: Idx
    bad_email: Idx
    bad_phone: Idx
    bad_country: Idx
    no_owner: Idx
    inactive: Idx
    misrouted: Idx


def _pick_defects(
    rng: np.random.Generator, core: PeopleCore, tags: _Tags
) -> tuple[_Picks, Planter]:
    n = len(core)
    tagged, paid = tags.tagged, tags.paid
    planter = Planter(rng, "people", n)
    is_mql = core.final >= MQL
    no_deal = core.opp < 0
    converted = (core.account >= 0) & (core.final >= SQL)
    breach = planter.pick("people.speed_to_lead_breach", is_mql & no_deal)
    regression = planter.pick("people.lifecycle_regression", is_mql)
    conv_no_acct = planter.pick("people.converted_without_account", converted & no_deal)
    dangling = planter.pick("people.account_missing", (core.account >= 0) & no_deal)
    req = planter.pick("people.utm_required_by_channel", paid)
    drift = planter.pick("people.utm_case_drift", tagged)
    vocab = planter.pick("people.utm_vocabulary", tagged)
    dup = planter.pick("people.duplicate_email", None, group=2)
    no_email = planter.pick("people.email_missing")
    bad_email = planter.pick("people.email_format")
    bad_phone = planter.pick("people.phone_format")
    bad_country = planter.pick("people.country_format")
    no_owner = planter.pick("people.owner_missing")
    inactive = planter.pick("people.owner_inactive")
    misrouted = planter.pick("people.misrouted")

    picks = _Picks(
        breach,
        regression,
        conv_no_acct,
        dangling,
        req,
        drift,
        vocab,
        dup,
        no_email,
        bad_email,
        bad_phone,
        bad_country,
        no_owner,
        inactive,
        misrouted,
    )
    return picks, planter


def _plant_contact_defects(
    rng: np.random.Generator, frame: pl.DataFrame, picks: _Picks, country: Idx
) -> pl.DataFrame:
    """Duplicate and malformed emails, phones and countries; UTM case drift, stray values
    and missing required tags."""
    dup, bad_email, no_email, bad_phone = (
        picks.dup,
        picks.bad_email,
        picks.no_email,
        picks.bad_phone,
    )
    bad_country, drift, vocab, req = picks.bad_country, picks.drift, picks.vocab, picks.req
    email, phone = frame["email"], frame["phone"]
    first_name, last_name = frame["first_name"], frame["last_name"]
    # Duplicates: half the records take the other half's email (and name); half the copies
    # differ in case only, since duplicates compare lowercase and trimmed.
    half = len(dup) // 2
    perm = rng.permutation(dup)
    src, dst = perm[:half], perm[half:]
    copied = email.gather(src)
    user, host = copied.str.extract(r"^([^@]+)@", 1), copied.str.extract(r"@(.+)$", 1)
    recase = pl.Series(rng.random(half) < 0.5)
    copied = pl.select(
        pl.when(recase).then(user.str.to_titlecase() + "@" + host).otherwise(copied)
    ).to_series()
    first_name = first_name.clone().scatter(dst, first_name.gather(src))
    last_name = last_name.clone().scatter(dst, last_name.gather(src))
    # jane.doe at acme.com, jane.doe@@acme.com, jane.doe.acme.com: as unique as the emails.
    sep = _pick((" at ", "@@", "."), rng.integers(3, size=len(bad_email)))
    malformed = (
        pl.DataFrame({"email": email.gather(bad_email), "sep": sep})
        .select(pl.col("email").str.replace("@", pl.col("sep"), literal=True))
        .to_series()
    )
    email = email.clone().scatter(dst, copied).scatter(bad_email, malformed).scatter(no_email, None)

    sub = frame[bad_phone]
    variant = pl.Series(rng.integers(3, size=len(bad_phone)))
    ext = pl.Series(rng.integers(10, 999, len(bad_phone)))
    phones = sub.select(
        pl.when(variant == 0)
        .then(pl.format("0{}", "national"))
        .when(variant == 1)
        .then(pl.format("+{} {}", "dial", "national"))
        .otherwise(pl.format("{} ext. {}", "phone", ext))
    ).to_series()
    phone = phone.clone().scatter(bad_phone, phones)

    spellings = [
        BAD_COUNTRY[c.code][i % len(BAD_COUNTRY[c.code])] for c in COUNTRIES for i in range(3)
    ]
    spelled = pl.Series(spellings).gather(
        country[bad_country] * 3 + rng.integers(3, size=len(bad_country))
    )

    source, medium = frame["utm_source"], frame["utm_medium"]
    on_source = rng.random(len(drift)) < 0.75
    d_src, d_med = drift[on_source], drift[~on_source]
    source = source.clone().scatter(
        d_src, source.gather(d_src).str.to_titlecase().str.replace("Linkedin", "LinkedIn")
    )
    medium = medium.clone().scatter(d_med, medium.gather(d_med).str.to_uppercase())
    on_source = rng.random(len(vocab)) < 0.6
    v_src, v_med = vocab[on_source], vocab[~on_source]
    source = source.clone().scatter(
        v_src, _pick(_BAD_SOURCE, rng.integers(len(_BAD_SOURCE), size=len(v_src)))
    )
    medium = medium.clone().scatter(
        v_med, _pick(_BAD_MEDIUM, rng.integers(len(_BAD_MEDIUM), size=len(v_med)))
    )
    frame = frame.with_columns(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        country=frame["country"].clone().scatter(bad_country, spelled),
        utm_source=source,
        utm_medium=medium,
        utm_campaign=frame["utm_campaign"].clone().scatter(req, None),
    )
    return frame


def _owners(
    rng: np.random.Generator,
    frame: pl.DataFrame,
    picks: _Picks,
    *,
    config: Config,
    created: Times,
    inactive_users: list[str],
    misroute_users: list[str],
) -> tuple[pl.Series, pl.Series]:
    """Each person's expected owner (the routing table), and the owner they have (with the
    owner defects planted)."""
    n = frame.height
    no_owner, inactive, misrouted = picks.no_owner, picks.inactive, picks.misrouted
    owner_defect = np.zeros(n, dtype=bool)
    owner_defect[np.concatenate([no_owner, inactive, misrouted])] = True
    expected = expected_owners(
        config.routing,
        country=frame["country"],
        segment=frame["segment"],
        employees=frame["employees"].to_numpy(),
        created_at=created,
        in_rotation=~owner_defect,
    )
    owner = expected.clone().scatter(no_owner, None)
    owner = owner.clone().scatter(
        inactive, _pick(inactive_users, rng.integers(len(inactive_users), size=len(inactive)))
    )
    owner = owner.clone().scatter(
        misrouted, _pick(misroute_users, rng.integers(len(misroute_users), size=len(misrouted)))
    )
    return expected, owner


def people_frame(
    rng: np.random.Generator,
    core: PeopleCore,
    *,
    companies: Companies,
    true_domain: pl.Series,
    campaigns: Campaigns,
    config: Config,
    inactive_users: list[str],
    misroute_users: list[str],
) -> tuple[pl.DataFrame, Planter]:
    """The people columns (account/deal/campaign as indices) with their defects planted.

    Extra columns: ``account_index`` (-1 null, -2 dangling), ``opp_index``, ``campaign_index``,
    ``expected_owner``, the bool ``breach`` / ``regression`` masks, and ``clean_utm_*``: the
    tags before any planted tag defect (the campaign touches carry those).
    """
    n = len(core)
    tags = _draw_tags(rng, core, campaigns, config)
    frame = _contact_frame(
        rng, core, tags, companies=companies, true_domain=true_domain, campaigns=campaigns
    )
    clean_tags = frame.select("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
    picks, planter = _pick_defects(rng, core, tags)
    converted = (core.account >= 0) & (core.final >= SQL)

    def flag(idx: npt.NDArray[np.int64]) -> pl.Series:
        out = np.zeros(n, dtype=bool)
        out[idx] = True
        return pl.Series(out)

    frame = _plant_contact_defects(rng, frame, picks, companies.country[core.company])
    expected, owner = _owners(
        rng,
        frame,
        picks,
        config=config,
        created=core.created_at,
        inactive_users=inactive_users,
        misroute_users=misroute_users,
    )
    tagged, campaign = tags.tagged, tags.campaign
    conv_no_acct, dangling = picks.conv_no_acct, picks.dangling
    breach, regression = picks.breach, picks.regression
    account_index = core.account.copy()
    account_index[conv_no_acct] = -1
    account_index[dangling] = -2
    is_converted = converted
    to_stage = pl.Series(config.lifecycle.stages).gather(core.final)
    out = frame.select(
        kind=pl.Series(np.where(core.account >= 0, "contact", "lead")),
        email="email",
        phone="phone",
        first_name="first_name",
        last_name="last_name",
        title=_pick(TITLES, rng.integers(len(TITLES), size=n)),
        role=pl.when(pl.Series(core.account >= 0)).then(
            _pick(BUYING_ROLES, rng.integers(len(BUYING_ROLES), size=n))
        ),
        company="company",
        lifecycle_stage=to_stage,
        status=_pick(_STATUS, core.final),
        owner_id=owner,
        lead_source="lead_source",
        utm_source="utm_source",
        utm_medium="utm_medium",
        utm_campaign="utm_campaign",
        utm_term="utm_term",
        utm_content="utm_content",
        country="country",
        segment="segment",
        employees="employees",
        industry="industry",
        is_converted=pl.Series(is_converted),
        expected_owner=expected,
        account_index=pl.Series(account_index),
        campaign_index=pl.Series(np.where(tagged, campaign, -1)),
        breach=flag(breach),
        regression=flag(regression),
    )
    return out.hstack(clean_tags.rename(lambda c: f"clean_{c}")), planter
