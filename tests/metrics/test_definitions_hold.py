"""Issue 11 item 7: the KPIs whose definitions were wrong on real exports, recomputed
independently in plain polars from the public CSVs (not through revgov's connector) and
checked on small hand-built frames: CAC's new customers, cohort win rates, enrichments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import (
    ENRICHMENTS,
    bookings,
    cac,
    compute,
    kpi_notes,
    opportunity_to_win,
    prepare_frames,
    win_rate_by_amount,
    win_rate_by_count,
    with_enrichments,
)

Pulled = tuple[Config, dict[str, pl.LazyFrame]]


def _raw_maven(datasets_dir: Path) -> pl.DataFrame:
    return pl.read_csv(datasets_dir / "maven_crm" / "sales_pipeline.csv", try_parse_dates=True)


def _monthly_spend(first: date, months: int, amount: float) -> pl.DataFrame:
    periods = pl.date_range(first, date(first.year + 2, 1, 1), "1mo", eager=True)[:months]
    return pl.DataFrame({"period": periods, "amount": [amount] * months})


# -- CAC: one new customer per account, at its first-ever win ----------------------------------


def test_cac_new_customers_are_first_wins_on_maven(maven: Pulled, datasets_dir: Path) -> None:
    _, frames = maven
    raw = _raw_maven(datasets_dir)
    firsts = (
        raw.filter(pl.col("deal_stage") == "Won")
        .group_by("account")
        .agg(pl.col("close_date").min())
        .with_columns(pl.col("close_date").dt.truncate("1mo").alias("period"))
        .group_by("period")
        .agg(pl.len().cast(pl.Int64).alias("new_customers"))
    )
    expected = dict(firsts.iter_rows())
    spend = _monthly_spend(date(2016, 10, 1), 16, 1000.0)
    out = cac(spend, frames["opportunities"].collect(), spend_lag_months=0)
    got = {r["period"]: r["new_customers"] for r in out.iter_rows(named=True)}
    assert {p: n for p, n in got.items() if n} == expected
    accounts = raw.filter(pl.col("deal_stage") == "Won")["account"].n_unique()
    assert sum(got.values()) == accounts == 85
    # Never more new customers than accounts (the issue saw 829 on 85 accounts).
    assert sum(got.values()) <= frames["accounts"].collect().height


def test_cac_counts_an_account_once_across_periods() -> None:
    spend = pl.DataFrame({"period": [date(2024, 1, 1), date(2024, 2, 1)], "amount": [100.0] * 2})
    opps = pl.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d", "e"],
            "account_id": ["x", "x", "y", None, "x"],
            "type": ["new business", "new business", "renewal", "new business", "expansion"],
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
            "is_won": [True, True, True, True, True],
            "close_date": [
                date(2024, 1, 3),
                date(2024, 2, 3),  # x's second new-business win: not a new customer again
                date(2024, 2, 3),  # y's first win is a renewal: won before the CRM's history
                date(2024, 2, 9),  # no account: a customer of its own
                date(2024, 1, 20),  # x's expansion in its first month counts to its new ARR
            ],
        }
    )
    out = cac(spend, opps, spend_lag_months=0)
    got = {r["period"]: (r["new_customers"], r["new_arr"]) for r in out.iter_rows(named=True)}
    assert got == {date(2024, 1, 1): (1, 60.0), date(2024, 2, 1): (1, 40.0)}


# -- win rate and conversion by cohort or by period --------------------------------------------


def test_cohort_win_rate_by_engage_month_on_maven(maven: Pulled, datasets_dir: Path) -> None:
    _, frames = maven
    raw = _raw_maven(datasets_dir)
    closed = raw.filter(pl.col("deal_stage").is_in(["Won", "Lost"]))
    expected = (
        closed.with_columns(pl.col("engage_date").dt.truncate("1mo").alias("period"))
        .group_by("period")
        .agg(
            pl.len().cast(pl.Int64).alias("closed"),
            (pl.col("deal_stage") == "Won").sum().cast(pl.Int64).alias("won"),
        )
        .sort("period")
    )
    out = win_rate_by_count(frames["opportunities"], every="1mo", basis="cohort").collect()
    assert out.select("period", "closed", "won").to_dicts() == expected.to_dicts()
    rates = dict(zip(out["period"].to_list(), out["win_rate"].to_list(), strict=True))
    for r in expected.iter_rows(named=True):
        assert rates[r["period"]] == r["won"] / r["closed"]
    # opportunity_to_win on the cohort basis is the same number, open deals out of it.
    conv = opportunity_to_win(frames["opportunities"], every="1mo", basis="cohort").collect()
    assert conv["conversion_rate"].to_list() == out["win_rate"].to_list()
    assert conv["opportunities"].sum() == closed.height


def test_period_and_cohort_bases_place_deals_differently() -> None:
    opps = pl.DataFrame(
        {
            "created_at": [date(2024, 1, 5), date(2024, 1, 9), date(2024, 1, 20), None],
            "close_date": [date(2024, 2, 1), date(2024, 1, 30), None, date(2024, 2, 2)],
            "is_closed": [True, True, False, True],
            "is_won": [True, False, False, True],
            "amount": [10.0, 30.0, 5.0, 1.0],
        }
    )
    period = win_rate_by_count(opps, every="1mo")
    assert period.select("period", "closed", "won").rows() == [
        (date(2024, 1, 1), 1, 0),
        (date(2024, 2, 1), 2, 2),
    ]
    cohort = win_rate_by_count(opps, every="1mo", basis="cohort")
    # January's cohort: two closed deals (one won); its open deal is not an outcome yet; the
    # deal without created_at has no cohort.
    assert cohort.select("period", "closed", "won", "win_rate").rows() == [
        (date(2024, 1, 1), 2, 1, 0.5)
    ]
    by_amount = win_rate_by_amount(opps, basis="cohort")
    assert by_amount["win_rate"].item() == 10.0 / 40.0
    to_date = opportunity_to_win(opps.drop_nulls("created_at"))
    assert to_date.select("opportunities", "won").row(0) == (3, 1)


def test_basis_through_compute_and_a_kpi_without_it(maven: Pulled) -> None:
    cfg, frames = maven
    out = compute("win_rate_by_count", frames, cfg, every="1mo", basis="cohort")
    assert out.collect()["closed"].sum() == 6711
    with pytest.raises(MetricInputError, match="no cohort or period basis"):
        compute("bookings", frames, cfg, basis="cohort")
    with pytest.raises(MetricInputError, match="unknown basis"):
        compute("win_rate_by_count", frames, cfg, basis="close")


# -- by= reaches the owner's and the account's attributes --------------------------------------


def test_store_frames_group_by_owner_region_with_users(maven: Pulled) -> None:
    _, frames = maven
    out = bookings(frames["opportunities"], by="owner_region", users=frames["users"]).collect()
    assert dict(out.select("owner_region", "bookings").iter_rows()) == {
        "West": 3_568_647,
        "Central": 3_346_293,
        "East": 3_090_594,
    }


def test_store_frames_without_users_say_what_to_pass(maven: Pulled) -> None:
    _, frames = maven
    with pytest.raises(MetricInputError, match=r"comes from users\.region by owner_id") as err:
        bookings(frames["opportunities"], by="owner_region")
    assert "users=frames['users']" in (err.value.hint or "")
    assert "prepare_frames" in (err.value.hint or "")


def test_by_owner_manager_and_account_industry_on_maven(maven: Pulled, datasets_dir: Path) -> None:
    cfg, frames = maven
    raw = _raw_maven(datasets_dir)
    teams = pl.read_csv(datasets_dir / "maven_crm" / "sales_teams.csv")
    accounts = pl.read_csv(datasets_dir / "maven_crm" / "accounts.csv")
    won = raw.filter(pl.col("deal_stage") == "Won")
    by_manager = dict(
        won.join(teams, on="sales_agent", how="left")
        .group_by("manager")
        .agg(pl.col("close_value").sum().cast(pl.Float64))
        .iter_rows()
    )
    out = compute("bookings", frames, cfg, by=["owner_manager"]).collect()
    assert dict(out.select("owner_manager", "bookings").iter_rows()) == by_manager
    by_sector = dict(
        won.join(accounts, on="account", how="left")
        .group_by("sector")
        .agg(pl.col("close_value").sum().cast(pl.Float64))
        .iter_rows()
    )
    out = compute("bookings", frames, cfg, by=["account_industry"]).collect()
    assert dict(out.select("account_industry", "bookings").iter_rows()) == by_sector
    notes = kpi_notes("bookings", frames, cfg, by=["account_industry"])
    assert "enriched_by: account_industry from accounts.industry by account_id" in notes


def test_prepare_frames_adds_every_enrichment_its_sources_have(maven: Pulled) -> None:
    cfg, frames = maven
    ready = prepare_frames(frames, cfg)
    opps = ready["opportunities"].collect()
    assert set(ENRICHMENTS) <= set(opps.columns)
    # Maven's users carry no role: the column is there, blank, never guessed.
    assert opps["owner_role"].null_count() == opps.height
    assert opps["owner_manager"].null_count() < opps.height


def test_with_enrichments_keeps_a_column_already_there() -> None:
    opps = pl.DataFrame({"owner_id": ["u1", "u2"], "owner_region": ["kept", None]})
    users = pl.DataFrame(
        {
            "user_id": ["u1", "u2", "m"],
            "name": ["Ann", "Bo", "Max"],
            "region": ["EU", "US", "US"],
            "manager_id": ["m", "zz", None],
        }
    )
    out: Any = with_enrichments(opps, users=users).sort("owner_id")
    assert out["owner_region"].to_list() == ["kept", None]
    # A manager not in users is named by its id.
    assert out["owner_manager"].to_list() == ["Max", "zz"]


# -- the SLA clock starts where [sla] says, in the metrics too ---------------------------------


def test_sla_metrics_start_the_clock_where_the_config_says() -> None:
    from revgov.metrics._examples import example_config, example_frames

    frames = {k: v.lazy() for k, v in example_frames().items()}
    no_mql = dict(frames)
    no_mql["people"] = frames["people"].with_columns(
        pl.lit(None, pl.Datetime("us")).alias("mql_at")
    )
    cfg = example_config()
    as_of = "2024-03-31"
    # Without mql_at the default clock (mql_at) has nothing to measure, and says so.
    blank = compute("sla_compliance_rate", no_mql, cfg, as_of=as_of).collect()
    assert blank["leads"].sum() == 0
    notes = kpi_notes("sla_compliance_rate", no_mql, cfg, as_of=as_of)
    assert any("which no person has" in n for n in notes)
    # [sla].speed_to_lead_start = "created_at": the metrics start there, as the audit does.
    created = cfg.model_copy(
        update={"sla": cfg.sla.model_copy(update={"speed_to_lead_start": "created_at"})}
    )
    out = compute("sla_compliance_rate", no_mql, created, as_of=as_of).collect()
    people = frames["people"].collect()
    started = people.filter(pl.col("created_at") <= datetime(2024, 3, 31, tzinfo=UTC))
    assert out["leads"].sum() == started.height > 0
    notes = kpi_notes("speed_to_lead", no_mql, created, as_of=as_of)
    assert notes == []  # everyone has a created_at: nothing left out


def test_a_kpi_without_users_says_how_to_add_the_enrichment(maven: Pulled) -> None:
    from revgov.metrics import sales_cycle_days

    _, frames = maven
    with pytest.raises(MetricInputError, match="owner_manager") as err:
        sales_cycle_days(frames["opportunities"], by="owner_manager")
    assert "with_enrichments(frame, users=frames['users'])" in (err.value.hint or "")
    ready = with_enrichments(frames["opportunities"], users=frames["users"])
    assert sales_cycle_days(ready, by="owner_manager").collect().height == 6


def test_a_negative_sales_cycle_says_which_deals_make_it() -> None:
    """Deals closed before they were created (a defect the audit flags) give negative
    cycles; the KPI counts them, and its note says how many, recomputed in plain polars."""
    from revgov.metrics._examples import example_config, example_frames

    frames = {k: v.lazy() for k, v in example_frames().items()}
    cfg = example_config()
    assert not [n for n in kpi_notes("sales_cycle_days", frames, cfg) if "before" in n]
    opps = frames["opportunities"].collect()
    won = opps.filter(pl.col("is_won") & pl.col("closed_at").is_not_null())
    early = won.head(2)["opportunity_id"].to_list()
    moved = opps.with_columns(
        pl.when(pl.col("opportunity_id").is_in(early))
        .then(pl.col("closed_at") + pl.duration(days=400))
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    expected = moved.filter(pl.col("is_won") & (pl.col("closed_at") < pl.col("created_at"))).height
    assert expected == 2
    notes = kpi_notes("sales_cycle_days", frames | {"opportunities": moved.lazy()}, cfg)
    assert any(n.startswith(f"{expected:,} won deals closed before created") for n in notes)


def test_conversion_and_sourcing_say_when_nothing_links_them() -> None:
    """A HubSpot export whose deals name no person and no source, and whose people carry no
    conversion: lead_to_opportunity and marketing_sourced_pipeline read 0.0% without a word.
    Their notes now say they cannot see it, and which fields to map."""
    from revgov.metrics._examples import example_config, example_frames

    frames = {k: v.lazy() for k, v in example_frames().items()}
    cfg = example_config()
    assert not kpi_notes("lead_to_opportunity", frames, cfg)
    assert not kpi_notes("marketing_sourced_pipeline", frames, cfg)
    people = frames["people"].collect()
    opps = frames["opportunities"].collect()
    unlinked = {
        "people": people.with_columns(
            pl.lit(None, pl.Boolean).alias("is_converted"),
            pl.lit(None, pl.String).alias("converted_opportunity_id"),
        ).lazy(),
        "opportunities": opps.with_columns(
            pl.lit(None, pl.String).alias(c)
            for c in ("primary_person_id", "lead_source", "primary_campaign_id")
        ).lazy(),
    }
    (conversion,) = kpi_notes("lead_to_opportunity", frames | unlinked, cfg)
    assert conversion.startswith("cannot see conversions")
    assert "primary_person_id" in conversion
    (sourcing,) = kpi_notes("marketing_sourced_pipeline", frames | unlinked, cfg)
    assert sourcing.startswith("cannot see sourcing") and "lead_source" in sourcing
    # One linking field is enough to see them again.
    relinked = unlinked | {"opportunities": opps.lazy()}
    assert not kpi_notes("lead_to_opportunity", frames | relinked, cfg)
    assert not kpi_notes("marketing_sourced_pipeline", frames | relinked, cfg)
