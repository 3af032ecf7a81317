"""The demo generator: determinism, schemas, sizes, planted defects and clean records.

Every defect kind has a reference detector here, written with plain polars expressions from
the demo contract (not with revgov.rules): on the generated data each detector must flag
exactly the records the ground truth lists for its kind. Further checks assert that the
records the ground truth does not list are clean for the other governance rules too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from revgov.config import Config
from revgov.demo import DEFAULT_AS_OF, DemoData, generate, write_demo
from revgov.errors import DemoOutputExistsError
from revgov.model.frames import ENTITIES, polars_schema
from revgov.store import SnapshotStore

# The contract's table (docs/demo.md): kind -> (entity, documented rate).
CONTRACT: dict[str, tuple[str, float]] = {
    "people.email_missing": ("people", 0.02),
    "people.email_format": ("people", 0.01),
    "people.duplicate_email": ("people", 0.005),
    "people.phone_format": ("people", 0.01),
    "people.country_format": ("people", 0.005),
    "people.owner_missing": ("people", 0.01),
    "people.owner_inactive": ("people", 0.005),
    "people.misrouted": ("people", 0.01),
    "people.utm_case_drift": ("people", 0.02),
    "people.utm_vocabulary": ("people", 0.01),
    "people.utm_required_by_channel": ("people", 0.01),
    "people.converted_without_account": ("people", 0.005),
    "people.account_missing": ("people", 0.003),
    "people.speed_to_lead_breach": ("people", 0.03),
    "people.lifecycle_regression": ("people", 0.005),
    "accounts.duplicate_domain": ("accounts", 0.01),
    "accounts.domain_format": ("accounts", 0.005),
    "accounts.industry_missing": ("accounts", 0.02),
    "accounts.owner_missing": ("accounts", 0.01),
    "opportunities.amount_missing_late_stage": ("opportunities", 0.02),
    "opportunities.amount_negative": ("opportunities", 0.005),
    "opportunities.close_before_created": ("opportunities", 0.005),
    "opportunities.stage_unknown": ("opportunities", 0.005),
    "opportunities.stale_in_stage": ("opportunities", 0.03),
    "opportunities.past_close_date": ("opportunities", 0.02),
    "opportunities.account_missing": ("opportunities", 0.005),
    "opportunities.owner_unknown": ("opportunities", 0.005),
    "opportunities.stage_regression": ("opportunities", 0.01),
    "opportunities.skipped_stage": ("opportunities", 0.01),
    "opportunities.closed_won_without_amount": ("opportunities", 0.005),
    "campaigns.naming": ("campaigns", 0.1),
}

ISO_ALPHA2 = frozenset(
    str.split(
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
        "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
        "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
        "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
        "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
        "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
        "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
        "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
        "VN VU WF WS YE YT ZA ZM ZW"
    )
)
EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
E164 = r"^\+[0-9]{8,15}$"
HOST = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$"


@pytest.fixture(scope="module")
def demo() -> DemoData:
    """The demo at its default size, seed and as_of."""
    return generate()


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(scale=0.1, seed=11)


# -- reference detectors: one per defect kind ------------------------------------------------

Detector = Callable[[dict[str, pl.DataFrame], Config, datetime], pl.Series]


def _ids(frame: pl.DataFrame, key: str, violation: pl.Expr) -> pl.Series:
    return frame.filter(violation.fill_null(False))[key]


def _lower_in(col: str, vocab: list[str]) -> pl.Expr:
    return pl.col(col).str.to_lowercase().is_in(vocab)


def _pool_expected(config: Config) -> pl.Expr:
    """Index of the first routing rule each person matches."""
    expr: pl.Expr = pl.lit(None, pl.Int64)
    for i, rule in reversed(list(enumerate(config.routing.rules))):
        cond = pl.lit(True)
        if rule.countries:
            cond &= pl.col("country").is_in(rule.countries)
        if rule.segments:
            cond &= pl.col("segment").is_in(rule.segments)
        if rule.employees_min is not None:
            cond &= pl.col("employees") >= rule.employees_min
        if rule.employees_max is not None:
            cond &= pl.col("employees") <= rule.employees_max
        expr = pl.when(cond.fill_null(False)).then(pl.lit(i, pl.Int64)).otherwise(expr)
    return expr


def _routing_table(config: Config) -> pl.DataFrame:
    rows = []
    for i, rule in enumerate(config.routing.rules):
        members = [rule.owner] if rule.owner else config.routing.pools[rule.pool or ""]
        rows += [{"rule": i, "allowed": m, "pool": rule.pool} for m in members]
    return pl.DataFrame(rows)


def _business_minutes(config: Config, start: pl.Series, end: pl.Series) -> np.ndarray:
    """Business minutes from start to end (local hours, working days, holidays)."""
    sla = config.sla
    tz = sla.timezone
    open_m = sla.business_hours.start.hour * 60 + sla.business_hours.start.minute
    close_m = sla.business_hours.end.hour * 60 + sla.business_hours.end.minute
    mask = [1 if d in sla.business_hours.working_days else 0 for d in range(1, 8)]
    hol = np.array(sla.holidays, dtype="datetime64[D]")
    s_local, e_local = start.dt.convert_time_zone(tz), end.dt.convert_time_zone(tz)
    s_day = s_local.dt.date().to_numpy().astype("datetime64[D]")
    e_day = e_local.dt.date().to_numpy().astype("datetime64[D]")
    # Wall-clock minutes after local midnight (Int8 hours would overflow when multiplied).
    s_min, e_min = (
        (
            t.dt.hour().cast(pl.Float64) * 60
            + t.dt.minute().cast(pl.Float64)
            + t.dt.second().cast(pl.Float64) / 60
        ).to_numpy()
        for t in (s_local, e_local)
    )
    s_clip, e_clip = np.clip(s_min, open_m, close_m), np.clip(e_min, open_m, close_m)
    s_bus = np.is_busday(s_day, weekmask=mask, holidays=hol)
    e_bus = np.is_busday(e_day, weekmask=mask, holidays=hol)
    same = s_day == e_day
    between = np.busday_count(s_day + 1, np.maximum(e_day, s_day + 1), weekmask=mask, holidays=hol)
    multi = (
        np.where(s_bus, close_m - s_clip, 0)
        + np.where(e_bus, e_clip - open_m, 0)
        + between * (close_m - open_m)
    )
    return np.where(same, np.where(s_bus, e_clip - s_clip, 0), multi)


def _speed_to_lead(f: dict[str, pl.DataFrame], config: Config, as_of: datetime) -> pl.Series:
    sla = config.sla
    people = f["people"].filter(pl.col("mql_at").is_not_null())
    first = (
        f["activities"]
        .filter(pl.col("type").is_in(sla.qualifying_activity_types))
        .join(people.select("person_id", "mql_at"), on="person_id")
        .filter(pl.col("occurred_at") >= pl.col("mql_at"))
        .group_by("person_id")
        .agg(pl.col("occurred_at").min().alias("first_touch"))
    )
    hours = sla.speed_to_lead_hours
    mqls = people.join(first, on="person_id", how="left").with_columns(
        limit=pl.col("segment").replace_strict(
            hours, default=hours["default"], return_dtype=pl.Float64
        )
    )
    touched = mqls.filter(pl.col("first_touch").is_not_null())
    minutes = _business_minutes(config, touched["mql_at"], touched["first_touch"])
    late = touched.filter(pl.Series(minutes) > pl.col("limit") * 60)["person_id"]
    never = mqls.filter(pl.col("first_touch").is_null())["person_id"]
    return pl.concat([late, never])


def _stage_moves(f: dict[str, pl.DataFrame], entity: str, order: dict[str, int]) -> pl.DataFrame:
    field = "lifecycle_stage" if entity == "people" else "stage"
    return (
        f["stage_events"]
        .filter((pl.col("record_entity") == entity) & (pl.col("field") == field))
        .with_columns(
            frm=pl.col("from_value").replace_strict(order, default=None, return_dtype=pl.Int64),
            to=pl.col("to_value").replace_strict(order, default=None, return_dtype=pl.Int64),
        )
    )


def _stage_order(config: Config) -> dict[str, int]:
    return {s.name: s.order for s in config.pipeline().stages}


def _open_stage_names(config: Config) -> list[str]:
    return [s.name for s in config.pipeline().stages if not s.is_closed]


def _stale_limit(config: Config) -> pl.Expr:
    pipe = config.pipeline()
    default = config.sla.stale_days_default
    return pl.col("stage").replace_strict(pipe.stale_days, default=default, return_dtype=pl.Int64)


def _naming_regex(config: Config) -> str:
    naming = config.campaign_naming
    pattern = ""
    for literal, token in re.findall(r"([^{]*)(?:\{(\w+)\})?", naming.template):
        pattern += re.escape(literal)
        if token:
            vocab = naming.tokens[token]
            alt = vocab if isinstance(vocab, str) else "|".join(re.escape(v) for v in vocab)
            pattern += f"(?:{alt})"
    return f"^{pattern}$"


def _utm_vocab(config: Config, tag: str) -> list[str]:
    return config.utm.vocabulary[tag]


DETECTORS: dict[str, Detector] = {
    "people.email_missing": lambda f, c, t: _ids(
        f["people"], "person_id", pl.col("email").is_null()
    ),
    "people.email_format": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL),
    ),
    "people.duplicate_email": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("email").is_not_null()
        & pl.col("email").str.strip_chars().str.to_lowercase().is_duplicated(),
    ),
    "people.phone_format": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("phone").is_not_null() & ~pl.col("phone").str.contains(E164),
    ),
    "people.country_format": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("country").is_not_null() & ~pl.col("country").is_in(ISO_ALPHA2),
    ),
    "people.owner_missing": lambda f, c, t: _ids(
        f["people"], "person_id", pl.col("owner_id").is_null()
    ),
    "people.owner_inactive": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("owner_id").is_in(f["users"].filter(~pl.col("is_active"))["user_id"].implode()),
    ),
    "people.misrouted": lambda f, c, t: (
        f["people"]
        .filter(pl.col("owner_id").is_in(f["users"].filter("is_active")["user_id"].implode()))
        .with_columns(rule=_pool_expected(c))
        .join(
            _routing_table(c),
            left_on=["rule", "owner_id"],
            right_on=["rule", "allowed"],
            how="anti",
        )
    )["person_id"],
    "people.utm_case_drift": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        (
            (pl.col("utm_source") != pl.col("utm_source").str.to_lowercase())
            & _lower_in("utm_source", _utm_vocab(c, "utm_source"))
        )
        | (
            (pl.col("utm_medium") != pl.col("utm_medium").str.to_lowercase())
            & _lower_in("utm_medium", _utm_vocab(c, "utm_medium"))
        ),
    ),
    "people.utm_vocabulary": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        (
            (pl.col("utm_source") == pl.col("utm_source").str.to_lowercase())
            & ~pl.col("utm_source").is_in(_utm_vocab(c, "utm_source"))
        )
        | (
            (pl.col("utm_medium") == pl.col("utm_medium").str.to_lowercase())
            & ~pl.col("utm_medium").is_in(_utm_vocab(c, "utm_medium"))
        ),
    ),
    "people.utm_required_by_channel": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.any_horizontal(
            (pl.col("utm_medium") == medium)
            & pl.any_horizontal([pl.col(tag).is_null() for tag in tags])
            for medium, tags in c.utm.required_by_channel.items()
        ),
    ),
    "people.converted_without_account": lambda f, c, t: _ids(
        f["people"], "person_id", pl.col("is_converted") & pl.col("account_id").is_null()
    ),
    "people.account_missing": lambda f, c, t: _ids(
        f["people"],
        "person_id",
        pl.col("account_id").is_not_null()
        & ~pl.col("account_id").is_in(f["accounts"]["account_id"].implode()),
    ),
    "people.speed_to_lead_breach": _speed_to_lead,
    "people.lifecycle_regression": lambda f, c, t: _stage_moves(
        f, "people", {s: i for i, s in enumerate(c.lifecycle.stages)}
    ).filter(pl.col("to") < pl.col("frm"))["record_id"],
    "accounts.duplicate_domain": lambda f, c, t: _ids(
        f["accounts"],
        "account_id",
        pl.col("domain").str.to_lowercase().str.strip_prefix("www.").is_duplicated()
        & pl.col("domain").is_not_null(),
    ),
    "accounts.domain_format": lambda f, c, t: _ids(
        f["accounts"],
        "account_id",
        pl.col("domain").is_not_null() & ~pl.col("domain").str.contains(HOST),
    ),
    "accounts.industry_missing": lambda f, c, t: _ids(
        f["accounts"], "account_id", pl.col("industry").is_null()
    ),
    "accounts.owner_missing": lambda f, c, t: _ids(
        f["accounts"], "account_id", pl.col("owner_id").is_null()
    ),
    "opportunities.amount_missing_late_stage": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        pl.col("amount").is_null()
        & pl.col("stage").is_in(
            [s for r in c.required_fields if r.entity == "opportunities" for s in r.when_stage]
        ),
    ),
    "opportunities.amount_negative": lambda f, c, t: _ids(
        f["opportunities"], "opportunity_id", pl.col("amount") < 0
    ),
    "opportunities.close_before_created": lambda f, c, t: _ids(
        f["opportunities"], "opportunity_id", pl.col("close_date") < pl.col("created_at").dt.date()
    ),
    "opportunities.stage_unknown": lambda f, c, t: _ids(
        f["opportunities"], "opportunity_id", ~pl.col("stage").is_in(list(_stage_order(c)))
    ),
    "opportunities.stale_in_stage": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        ~pl.col("is_closed")
        & (pl.col("stage_entered_at") < pl.lit(t) - pl.duration(days=_stale_limit(c))),
    ),
    "opportunities.past_close_date": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        ~pl.col("is_closed") & (pl.col("close_date") < t.date()),
    ),
    "opportunities.account_missing": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        pl.col("account_id").is_null()
        | ~pl.col("account_id").is_in(f["accounts"]["account_id"].implode()),
    ),
    "opportunities.owner_unknown": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        pl.col("owner_id").is_not_null()
        & ~pl.col("owner_id").is_in(f["users"]["user_id"].implode()),
    ),
    "opportunities.stage_regression": lambda f, c, t: _stage_moves(
        f, "opportunities", _stage_order(c)
    ).filter((pl.col("to") < pl.col("frm")) & pl.col("to_value").is_in(_open_stage_names(c)))[
        "record_id"
    ],
    "opportunities.skipped_stage": lambda f, c, t: (
        _stage_moves(f, "opportunities", _stage_order(c))
        .with_columns(frm=pl.col("frm").fill_null(0))
        .filter(
            pl.any_horizontal(
                (pl.col("frm") < _stage_order(c)[s]) & (pl.col("to") > _stage_order(c)[s])
                for s in c.rules.skipped_stage.required
            )
        )["record_id"]
    ),
    "opportunities.closed_won_without_amount": lambda f, c, t: _ids(
        f["opportunities"],
        "opportunity_id",
        pl.col("is_won") & (pl.col("amount").is_null() | (pl.col("amount") == 0)),
    ),
    "campaigns.naming": lambda f, c, t: _ids(
        f["campaigns"], "campaign_id", ~pl.col("name").str.contains(_naming_regex(c))
    ),
}


def _planted(data: DemoData, kind: str) -> set[str]:
    gt = data.ground_truth
    return set(gt.filter(pl.col("defect_kind") == kind)["record_id"].to_list())


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_detector_finds_exactly_the_planted_records(demo: DemoData, kind: str) -> None:
    found = set(DETECTORS[kind](demo.frames, demo.config, DEFAULT_AS_OF).to_list())
    planted = _planted(demo, kind)
    assert planted, f"nothing planted for {kind}"
    assert found == planted, (
        f"{kind}: {len(found - planted)} unplanted violations (e.g. {sorted(found - planted)[:3]}), "
        f"{len(planted - found)} planted but not violating (e.g. {sorted(planted - found)[:3]})"
    )


@pytest.mark.parametrize("kind", sorted(CONTRACT))
def test_detector_matches_ground_truth_on_another_seed_and_scale(
    small: DemoData, kind: str
) -> None:
    found = set(DETECTORS[kind](small.frames, small.config, DEFAULT_AS_OF).to_list())
    assert found == _planted(small, kind)


def test_business_minutes_reference_on_hand_computed_cases(demo: DemoData) -> None:
    ny = "America/New_York"
    pairs = [
        ("2025-06-10 10:00", "2025-06-10 10:45", 45.0),  # same day, inside hours
        ("2025-06-13 16:00", "2025-06-16 10:00", 120.0),  # Friday 16:00 -> Monday 10:00
        ("2025-07-03 16:30", "2025-07-07 09:30", 60.0),  # across the July 4 holiday and a weekend
        ("2025-06-14 12:00", "2025-06-16 09:15", 15.0),  # starts on a Saturday
        ("2025-06-10 07:00", "2025-06-10 08:00", 0.0),  # before opening
        ("2025-06-10 10:00", "2025-06-12 10:00", 960.0),  # two business days
    ]
    start = pl.Series([a for a, _, _ in pairs]).str.to_datetime().dt.replace_time_zone(ny)
    end = pl.Series([b for _, b, _ in pairs]).str.to_datetime().dt.replace_time_zone(ny)
    got = _business_minutes(
        demo.config, start.dt.convert_time_zone("UTC"), end.dt.convert_time_zone("UTC")
    )
    assert got.tolist() == [m for _, _, m in pairs]


# -- determinism, schemas, sizes ---------------------------------------------------------------


def test_same_seed_gives_identical_data() -> None:
    a, b = generate(scale=0.05, seed=3), generate(scale=0.05, seed=3)
    for entity in ENTITIES:
        assert a.frames[entity].equals(b.frames[entity]), entity
    assert a.ground_truth.equals(b.ground_truth)
    assert a.manifest == b.manifest


def test_different_seed_gives_different_data() -> None:
    a, b = generate(scale=0.05, seed=3), generate(scale=0.05, seed=4)
    for entity in ("accounts", "people", "opportunities", "stage_events", "activities"):
        assert not a.frames[entity].equals(b.frames[entity]), entity
    assert not a.ground_truth.equals(b.ground_truth)


def test_schemas_are_the_canonical_schemas(demo: DemoData) -> None:
    assert set(demo.frames) == set(ENTITIES)
    for entity, frame in demo.frames.items():
        assert frame.schema == polars_schema(entity), entity
        assert frame["source_system"].unique().to_list() == ["demo"]
        assert frame["pulled_at"].unique().to_list() == [DEFAULT_AS_OF]


def test_default_size(demo: DemoData) -> None:
    rows = {e: f.height for e, f in demo.frames.items()}
    assert rows["people"] == 50_000
    assert rows["accounts"] == 5_000
    assert rows["opportunities"] == 8_000
    for entity in ("stage_events", "activities", "campaign_touches"):
        assert rows[entity] > rows["opportunities"], entity
    for entity in ("campaigns", "users", "pipeline_stages", "spend", "targets"):
        assert rows[entity] > 0, entity
    assert demo.manifest["row_counts"] == rows
    history = demo.frames["stage_events"]
    assert set(history["record_entity"].unique()) == {"people", "opportunities"}


def test_primary_keys_are_unique(demo: DemoData) -> None:
    for entity, model in ENTITIES.items():
        keys = list(model.primary_key)
        frame = demo.frames[entity]
        assert frame.select(keys).is_duplicated().sum() == 0, entity
        assert frame.select(pl.any_horizontal(pl.col(keys).is_null())).to_series().sum() == 0


def test_segments_and_regions(demo: DemoData) -> None:
    accounts, deals = demo.frames["accounts"], demo.frames["opportunities"]
    assert accounts["segment"].n_unique() >= 2
    assert set(accounts["region"].unique()) >= {"NA", "EMEA", "APAC"}
    assert deals["segment"].n_unique() >= 2 and deals["region"].n_unique() >= 3
    assert demo.frames["people"]["segment"].n_unique() >= 2


# -- the ground truth ----------------------------------------------------------------------


def test_planted_rates_match_the_documented_rates(demo: DemoData) -> None:
    counts = demo.ground_truth.group_by("defect_kind").len()
    got = dict(zip(counts["defect_kind"], counts["len"], strict=True))
    assert set(got) == set(CONTRACT)
    for kind, (entity, rate) in CONTRACT.items():
        rows = demo.frames[entity].height
        assert abs(got[kind] / rows - rate) <= max(0.1 * rate, 1.5 / rows), kind
        assert demo.manifest["defect_counts"][kind] == got[kind]
        assert demo.manifest["rates"][kind]["rate"] == rate


def test_ground_truth_rows_name_real_records_of_contract_kinds(demo: DemoData) -> None:
    gt = demo.ground_truth
    assert gt.columns == ["entity", "record_id", "defect_kind"]
    assert gt.is_duplicated().sum() == 0
    assert set(gt["defect_kind"]) <= set(CONTRACT)
    for kind, (entity, _) in CONTRACT.items():
        rows = gt.filter(pl.col("defect_kind") == kind)
        assert set(rows["entity"]) == {entity}, kind
        key = ENTITIES[entity].primary_key[0]
        missing = rows.join(demo.frames[entity], left_on="record_id", right_on=key, how="anti")
        assert missing.height == 0, kind


def test_defect_kinds_sit_on_disjoint_records(demo: DemoData) -> None:
    assert demo.ground_truth.select("entity", "record_id").is_duplicated().sum() == 0


# -- records the ground truth does not list are clean for every other rule --------------------


def _not_planted(data: DemoData, *kinds: str) -> pl.Expr:
    ids: set[str] = set().union(*(_planted(data, k) for k in kinds))
    entity = CONTRACT[kinds[0]][0]
    return ~pl.col(ENTITIES[entity].primary_key[0]).is_in(sorted(ids))


def test_references_resolve(demo: DemoData) -> None:
    f = demo.frames
    people, deals, accounts = (
        f["people"]["person_id"],
        f["opportunities"]["opportunity_id"],
        f["accounts"]["account_id"],
    )
    users, campaigns = f["users"]["user_id"], f["campaigns"]["campaign_id"]
    checks = [
        (f["activities"], "person_id", people),
        (f["activities"], "opportunity_id", deals),
        (f["activities"], "account_id", accounts),
        (f["campaign_touches"], "person_id", people),
        (f["campaign_touches"], "campaign_id", campaigns),
        (f["opportunities"], "primary_person_id", people),
        (f["opportunities"], "primary_campaign_id", campaigns),
        (f["people"], "converted_opportunity_id", deals),
        (f["users"], "manager_id", users),
        (f["campaigns"], "owner_id", users),
        (f["accounts"], "owner_id", users),
        (f["stage_events"], "changed_by", users),
        (f["activities"], "owner_id", users),
    ]
    for frame, col, ids in checks:
        dangling = frame.filter(pl.col(col).is_not_null() & ~pl.col(col).is_in(ids.implode()))
        assert dangling.height == 0, col
    for entity, ids in (("people", people), ("opportunities", deals)):
        events = f["stage_events"].filter(pl.col("record_entity") == entity)
        assert events["record_id"].is_in(ids.implode()).all(ignore_nulls=False), entity
    assert (
        f["people"]
        .filter(_not_planted(demo, "people.account_missing"))["account_id"]
        .drop_nulls()
        .is_in(accounts.implode())
        .all(ignore_nulls=False)
    )


def test_inactive_users_own_only_the_planted_people(demo: DemoData) -> None:
    f = demo.frames
    inactive = f["users"].filter(~pl.col("is_active"))["user_id"].implode()
    assert f["users"].filter(~pl.col("is_active")).height >= 1
    owned = {
        "accounts": f["accounts"].filter(pl.col("owner_id").is_in(inactive)).height,
        "opportunities": f["opportunities"].filter(pl.col("owner_id").is_in(inactive)).height,
        "activities": f["activities"].filter(pl.col("owner_id").is_in(inactive)).height,
        "stage_events": f["stage_events"].filter(pl.col("changed_by").is_in(inactive)).height,
        "campaigns": f["campaigns"].filter(pl.col("owner_id").is_in(inactive)).height,
    }
    assert owned == dict.fromkeys(owned, 0)
    people = set(f["people"].filter(pl.col("owner_id").is_in(inactive))["person_id"])
    assert people == _planted(demo, "people.owner_inactive")


def test_round_robin_pools_are_balanced(demo: DemoData) -> None:
    config = demo.config
    people = demo.frames["people"].with_columns(rule=_pool_expected(config))
    for i, rule in enumerate(config.routing.rules):
        if rule.pool is None:
            continue
        pool = config.routing.pools[rule.pool]
        counts = (
            people.filter((pl.col("rule") == i) & pl.col("owner_id").is_in(pool))
            .group_by("owner_id")
            .len()
        )
        assert counts.height == len(pool), rule.name
        mean = counts["len"].mean()
        assert isinstance(mean, float)
        worst = max(abs(c - mean) / mean for c in counts["len"])
        assert worst <= config.routing.round_robin_tolerance, rule.name


def test_clean_people_have_valid_lowercase_complete_tags(demo: DemoData) -> None:
    config = demo.config
    kinds = ("people.utm_case_drift", "people.utm_vocabulary", "people.utm_required_by_channel")
    people = demo.frames["people"].filter(_not_planted(demo, *kinds))
    tags = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]
    tagged = people.filter(pl.any_horizontal(pl.col(tags).is_not_null()))
    assert tagged.height > people.height / 2
    for tag in config.utm.required:
        assert tagged[tag].null_count() == 0, tag
    for tag in tags:
        values = tagged[tag].drop_nulls()
        assert (values == values.str.to_lowercase()).all(ignore_nulls=False), tag
    for tag, vocab in config.utm.vocabulary.items():
        assert tagged[tag].is_in(vocab).all(ignore_nulls=False), tag
    for medium, required in config.utm.required_by_channel.items():
        paid = tagged.filter(pl.col("utm_medium") == medium)
        assert paid.height > 0, medium
        assert paid.select(pl.col(required).null_count()).row(0) == (0,) * len(required), medium
    untagged = people.filter(pl.all_horizontal(pl.col(tags).is_null()))
    assert untagged.height > 0
    touches = demo.frames["campaign_touches"]
    for tag, vocab in config.utm.vocabulary.items():
        assert touches[tag].is_in(vocab).all(ignore_nulls=False), tag


def test_lead_sources_agree_with_utm_medium(demo: DemoData) -> None:
    people = demo.frames["people"].filter(
        _not_planted(demo, "people.utm_case_drift", "people.utm_vocabulary")
    )
    pairs = (
        people.filter(pl.col("utm_medium").is_not_null())
        .select("lead_source", "utm_medium")
        .unique()
    )
    assert pairs["lead_source"].is_duplicated().sum() == 0  # each lead source has one medium


def test_campaign_names_follow_the_template_and_their_dates(demo: DemoData) -> None:
    campaigns = demo.frames["campaigns"].filter(_not_planted(demo, "campaigns.naming"))
    parts = campaigns.select(
        pl.col("name").str.extract(r"^(\d{4})-q(\d)_(\w+?)_", 1).cast(pl.Int32).alias("year"),
        pl.col("name").str.extract(r"^\d{4}-q(\d)_", 1).cast(pl.Int8).alias("quarter"),
        pl.col("name").str.extract(r"^[^_]+_([a-z]+)_", 1).alias("channel"),
        "start_date",
    )
    assert (parts["year"] == parts["start_date"].dt.year()).all(ignore_nulls=False)
    assert (parts["quarter"] == parts["start_date"].dt.quarter()).all(ignore_nulls=False)
    assert (parts["channel"] == campaigns["channel"]).all(ignore_nulls=False)


def test_segments_follow_employee_bands_and_regions_follow_countries(demo: DemoData) -> None:
    band = (
        pl.when(pl.col("employees") < 200)
        .then(pl.lit("smb"))
        .when(pl.col("employees") < 2000)
        .then(pl.lit("mid_market"))
        .otherwise(pl.lit("enterprise"))
    )
    for entity in ("accounts", "people"):
        frame = demo.frames[entity]
        assert (frame["segment"] == frame.select(band).to_series()).all(ignore_nulls=False), entity
    regions = demo.frames["accounts"].group_by("country").agg(pl.col("region").n_unique())
    assert (regions["region"] == 1).all(ignore_nulls=False)


def test_nothing_happens_after_as_of(demo: DemoData) -> None:
    checks = {
        "people": ["created_at", "mql_at", "converted_at"],
        "accounts": ["created_at"],
        "opportunities": ["created_at", "closed_at", "stage_entered_at"],
        "stage_events": ["changed_at"],
        "activities": ["occurred_at"],
        "campaign_touches": ["touched_at"],
    }
    for entity, cols in checks.items():
        latest = demo.frames[entity].select(pl.max_horizontal(pl.col(cols).max())).item()
        assert latest < DEFAULT_AS_OF, entity


def test_people_timelines_are_consistent(demo: DemoData) -> None:
    people = demo.frames["people"]
    stages = demo.config.lifecycle.stages
    rank = pl.col("lifecycle_stage").replace_strict({s: i for i, s in enumerate(stages)})
    assert people.filter((rank >= 2) != pl.col("mql_at").is_not_null()).height == 0
    assert people.filter(pl.col("mql_at") < pl.col("created_at")).height == 0
    converted = people.filter("is_converted")
    assert converted.filter(pl.col("converted_at") <= pl.col("mql_at")).height == 0
    assert (converted["kind"] == "contact").all(ignore_nulls=False)
    leads = people.filter(pl.col("kind") == "lead")
    assert leads["account_id"].null_count() == leads.height
    history = (
        demo.frames["stage_events"]
        .filter(pl.col("record_entity") == "people")
        .sort("record_id", "changed_at")
        .group_by("record_id", maintain_order=True)
        .agg(
            pl.col("to_value").last().alias("last"),
            pl.col("changed_at").diff().dt.total_microseconds().min().alias("min_gap"),
            pl.col("to_value").alias("path"),
        )
    )
    joined = people.join(history, left_on="person_id", right_on="record_id")
    assert joined.height == people.height
    assert (joined["last"] == joined["lifecycle_stage"]).all(ignore_nulls=False)
    assert joined.filter(pl.col("min_gap") <= 0).height == 0
    # No clean history skips a required lifecycle stage.
    required = demo.config.lifecycle.required_stages
    moves = _stage_moves(demo.frames, "people", {s: i for i, s in enumerate(stages)})
    for stage in required:
        i = stages.index(stage)
        skipped = moves.filter((pl.col("frm").fill_null(-1) < i) & (pl.col("to") > i))
        assert skipped.height == 0, stage


def test_every_mql_gets_the_follow_ups(demo: DemoData) -> None:
    sla = demo.config.sla
    mqls = demo.frames["people"].filter(pl.col("mql_at").is_not_null())
    attempts = (
        demo.frames["activities"]
        .filter(
            pl.col("type").is_in(sla.qualifying_activity_types) & pl.col("opportunity_id").is_null()
        )
        .join(mqls.select("person_id", "mql_at"), on="person_id")
        .filter(
            pl.col("occurred_at").is_between(
                pl.col("mql_at"), pl.col("mql_at") + timedelta(days=sla.follow_up_within_days)
            )
        )
        .group_by("person_id")
        .len()
    )
    joined = mqls.join(attempts, on="person_id", how="left")
    assert joined.filter(pl.col("len").fill_null(0) < sla.follow_up_attempts).height == 0
    before = (
        demo.frames["activities"]
        .join(mqls.select("person_id", "mql_at"), on="person_id")
        .filter(pl.col("occurred_at") < pl.col("mql_at"))
    )
    assert before.height == 0  # nothing counts as a touch before the MQL moment


def test_deal_histories_are_consistent(demo: DemoData) -> None:
    deals = demo.frames["opportunities"]
    history = (
        demo.frames["stage_events"]
        .filter(pl.col("record_entity") == "opportunities")
        .sort("record_id", "changed_at")
        .group_by("record_id", maintain_order=True)
        .agg(
            pl.col("to_value").last().alias("last"),
            pl.col("changed_at").last().alias("last_at"),
            pl.col("changed_at").first().alias("first_at"),
            pl.col("from_value").first().alias("first_from"),
            pl.col("changed_at").diff().dt.total_microseconds().min().alias("min_gap"),
        )
    )
    joined = deals.join(history, left_on="opportunity_id", right_on="record_id")
    assert joined.height == deals.height
    assert (joined["last"] == joined["stage"]).all(ignore_nulls=False)
    assert (joined["last_at"] == joined["stage_entered_at"]).all(ignore_nulls=False)
    assert (joined["first_at"] == joined["created_at"]).all(ignore_nulls=False)
    assert joined["first_from"].null_count() == joined.height
    assert joined.filter(pl.col("min_gap") <= 0).height == 0
    closed = joined.filter("is_closed")
    assert (closed["stage_entered_at"] == closed["closed_at"]).all(ignore_nulls=False)
    names = {s.name: s for s in demo.config.pipeline().stages}
    known = joined.filter(pl.col("stage").is_in(list(names)))
    flags = known.select(
        closed=pl.col("stage").replace_strict({n: s.is_closed for n, s in names.items()})
        == pl.col("is_closed"),
        won=pl.col("stage").replace_strict({n: s.is_won for n, s in names.items()})
        == pl.col("is_won"),
    )
    assert flags.to_series(0).all(ignore_nulls=False) and flags.to_series(1).all(ignore_nulls=False)


def test_clean_deals_are_clean(demo: DemoData) -> None:
    kinds = [k for k in CONTRACT if k.startswith("opportunities.")]
    deals = demo.frames["opportunities"].filter(_not_planted(demo, *kinds))
    today = DEFAULT_AS_OF.date()
    assert deals.filter(pl.col("amount").is_null() | (pl.col("amount") <= 0)).height == 0
    open_ = deals.filter(~pl.col("is_closed"))
    assert open_.height > 0
    assert open_.filter(pl.col("close_date") < today + timedelta(days=7)).height == 0
    # Fresh under either reading of the limit: the stage's own, or the SLA default.
    pipe, default = demo.config.pipeline(), demo.config.sla.stale_days_default
    strict = {name: min(days, default) for name, days in pipe.stale_days.items()}
    limit = pl.col("stage").replace_strict(strict, default=default, return_dtype=pl.Int64)
    cutoff = pl.lit(DEFAULT_AS_OF) - pl.duration(days=limit)
    assert open_.filter(pl.col("stage_entered_at") < cutoff).height == 0
    closed = deals.filter("is_closed")
    assert (closed["close_date"] == closed["closed_at"].dt.date()).all(ignore_nulls=False)
    assert (deals["account_id"].is_in(demo.frames["accounts"]["account_id"].implode())).all(
        ignore_nulls=False
    )
    assert (
        deals["owner_id"]
        .is_in(demo.frames["users"].filter("is_active")["user_id"].implode())
        .all(ignore_nulls=False)
    )


def test_planted_stale_and_past_due_deals_hold_under_either_reading(demo: DemoData) -> None:
    """Stale by the most lenient limit, past due by the New York date as well as the UTC one."""
    pipe = demo.config.pipeline()
    lenient = max([*pipe.stale_days.values(), demo.config.sla.stale_days_default])
    deals = demo.frames["opportunities"]
    stale = deals.filter(
        pl.col("opportunity_id").is_in(sorted(_planted(demo, "opportunities.stale_in_stage")))
    )
    assert (
        stale.filter(pl.col("stage_entered_at") >= DEFAULT_AS_OF - timedelta(days=lenient)).height
        == 0
    )
    ny_today = DEFAULT_AS_OF.astimezone(
        __import__("zoneinfo").ZoneInfo(demo.config.sla.timezone)
    ).date()
    past = deals.filter(
        pl.col("opportunity_id").is_in(sorted(_planted(demo, "opportunities.past_close_date")))
    )
    assert past.filter(pl.col("close_date") >= ny_today).height == 0


def test_clean_people_emails_and_owners(small: DemoData) -> None:
    kinds = [k for k in CONTRACT if k.startswith("people.")]
    people = small.frames["people"].filter(_not_planted(small, *kinds))
    assert people["email"].str.contains(EMAIL).all(ignore_nulls=False)
    assert people["email"].is_duplicated().sum() == 0
    assert people["phone"].str.contains(E164).all(ignore_nulls=False)
    assert people["country"].is_in(sorted(ISO_ALPHA2)).all(ignore_nulls=False)
    active = small.frames["users"].filter("is_active")["user_id"].implode()
    assert people["owner_id"].is_in(active).all(ignore_nulls=False)
    # The owner is the routing table's: the named owner, or a member of the rule's pool.
    routed = people.with_columns(rule=_pool_expected(small.config)).join(
        _routing_table(small.config), left_on=["rule", "owner_id"], right_on=["rule", "allowed"]
    )
    assert routed.height == people.height
    # Emails are built from the person's name and the company's domain.
    at_account = people.filter(pl.col("account_id").is_not_null()).join(
        small.frames["accounts"].select("account_id", pl.col("domain").alias("account_domain")),
        on="account_id",
    )
    host = at_account["email"].str.extract(r"@(.+)$", 1)
    assert (host == at_account["account_domain"].str.strip_prefix("www.")).mean() > 0.95


# -- writing -------------------------------------------------------------------------------


def test_write_demo_writes_snapshot_config_and_ground_truth(
    tmp_path: Path,
) -> None:
    out = write_demo(tmp_path / "demo", scale=0.02, seed=5)
    data = out.data
    store = SnapshotStore(out.snapshot_dir)
    assert store.config_hash == data.config.config_hash
    for entity in ENTITIES:
        assert store.scan(entity).collect().equals(data.frames[entity]), entity
    assert pl.read_parquet(out.ground_truth_path).equals(data.ground_truth)
    assert pl.read_csv(out.ground_truth_csv_path).equals(data.ground_truth)
    assert out.config_path.read_text(encoding="utf-8") == data.config_text
    manifest = json.loads(out.manifest_path.read_text(encoding="utf-8"))
    assert manifest["seed"] == 5 and manifest["scale"] == 0.02
    assert manifest["as_of"] == DEFAULT_AS_OF.isoformat()
    assert manifest["row_counts"] == {e: f.height for e, f in data.frames.items()}
    assert sum(manifest["defect_counts"].values()) == data.ground_truth.height


def test_write_demo_refuses_a_non_empty_directory_unless_forced(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(DemoOutputExistsError):
        write_demo(target, scale=0.02)
    write_demo(target, scale=0.02, seed=1, force=True)
    second = write_demo(target, scale=0.02, seed=2, force=True)
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert json.loads(second.manifest_path.read_text(encoding="utf-8"))["seed"] == 2
    assert (
        SnapshotStore(second.snapshot_dir).row_count("people")
        == second.data.frames["people"].height
    )


def test_as_of_moves_every_date(small: DemoData) -> None:
    later = generate(scale=0.1, seed=11, as_of=DEFAULT_AS_OF + timedelta(days=365))
    assert later.manifest["as_of"] == (DEFAULT_AS_OF + timedelta(days=365)).isoformat()
    a, b = small.frames["people"]["created_at"].max(), later.frames["people"]["created_at"].max()
    assert isinstance(a, datetime) and isinstance(b, datetime)
    assert b > a + timedelta(days=300)
    naive = generate(scale=0.02, as_of=datetime(2026, 7, 1))  # naive means UTC
    assert naive.manifest["as_of"] == DEFAULT_AS_OF.isoformat()
    assert DEFAULT_AS_OF.tzinfo is UTC


def test_history_spreads_over_the_two_years_before_as_of(demo: DemoData) -> None:
    deals, people = demo.frames["opportunities"], demo.frames["people"]
    won = deals.filter("is_won")
    assert won["closed_at"].dt.truncate("1mo").n_unique() >= 18
    assert deals["created_at"].dt.truncate("1mo").n_unique() >= 18
    assert people["created_at"].dt.truncate("1mo").n_unique() >= 22
    win_rate = won.height / deals.filter("is_closed").height
    assert 0.3 <= win_rate <= 0.5
    stale = deals.filter(
        pl.col("opportunity_id").is_in(sorted(_planted(demo, "opportunities.stale_in_stage")))
    )
    assert stale["stage_entered_at"].n_unique() == stale.height


def test_emails_are_built_from_names(demo: DemoData) -> None:
    kinds = [k for k in CONTRACT if k.startswith("people.")]
    people = demo.frames["people"].filter(_not_planted(demo, *kinds))
    local = pl.col("email").str.extract(r"^([^@]+)@", 1)
    has_name = people.select(
        local.str.contains(pl.col("last_name").str.to_lowercase(), literal=True)
    ).to_series()
    assert has_name.all(ignore_nulls=False)


def test_docs_list_every_defect_kind_with_its_rate(repo_root: Path) -> None:
    text = (repo_root / "docs" / "demo.md").read_text(encoding="utf-8")
    for kind, (entity, rate) in CONTRACT.items():
        row = f"| `{kind}` | {entity} | {rate * 100:g}% |"
        assert row in text, row
