"""Both public datasets pulled through the files connector with the example configs, checked
against the oracle facts in ../shared/datasets/*/SOURCE.md (computed there with python's csv
module, independently of revgov)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from revgov.config import Config, config_from_dict, load_config
from revgov.pull import PullResult, pull
from revgov.store import SnapshotStore


def _example(repo_root: Path, datasets_dir: Path, name: str) -> Config:
    """The example config, its paths pointed at ``datasets_dir`` if that is not the default."""
    cfg = load_config(repo_root / "examples" / name / "revgov.toml")
    assert cfg.path is not None
    data = cfg.model_dump()
    for source in data["sources"]:
        for spec in source["entities"].values():
            default = (cfg.path.parent / spec["path"]).resolve()
            wanted = datasets_dir.resolve() / name / Path(spec["path"]).name
            if default != wanted:  # REVGOV_SHARED points elsewhere
                spec["path"] = str(wanted)
    return config_from_dict(data, path=cfg.path)


@pytest.fixture(scope="module")
def maven(
    repo_root: Path, datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PullResult, dict[str, pl.DataFrame]]:
    snap = tmp_path_factory.mktemp("maven")
    result = pull(_example(repo_root, datasets_dir, "maven_crm"), snap, progress=False)
    store = SnapshotStore(snap)
    return result, {e: store.scan(e).collect() for e in store.entities()}


@pytest.fixture(scope="module")
def olist(
    repo_root: Path, datasets_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PullResult, dict[str, pl.DataFrame]]:
    snap = tmp_path_factory.mktemp("olist")
    result = pull(_example(repo_root, datasets_dir, "olist_funnel"), snap, progress=False)
    store = SnapshotStore(snap)
    return result, {e: store.scan(e).collect() for e in store.entities()}


def _counts(frame: pl.DataFrame, col: str) -> dict[Any, int]:
    return dict(frame.group_by(col).len().rows())


# -- Maven CRM --------------------------------------------------------------------------------


def test_maven_rows_and_nothing_quarantined(maven: Any) -> None:
    result, frames = maven
    assert result.for_entity("opportunities") == (8800, 0)
    assert result.for_entity("accounts") == (85, 0)
    assert result.for_entity("users") == (35, 0)
    opps = frames["opportunities"]
    assert opps.height == 8800 and opps["opportunity_id"].n_unique() == 8800
    assert frames["pipeline_stages"]["stage"].to_list() == [
        "Prospecting",
        "Engaging",
        "Won",
        "Lost",
    ]


def test_maven_stages_and_derived_flags(maven: Any) -> None:
    opps = maven[1]["opportunities"]
    assert _counts(opps, "stage") == {
        "Won": 4238,
        "Lost": 2473,
        "Engaging": 1589,
        "Prospecting": 500,
    }
    assert opps["is_won"].sum() == 4238
    assert opps["is_closed"].sum() == 4238 + 2473
    assert opps["is_closed"].null_count() == 0
    win_rate = opps["is_won"].sum() / opps["is_closed"].sum()
    assert win_rate == pytest.approx(0.631500521, abs=1e-9)


def test_maven_blanks_stay_null(maven: Any) -> None:
    opps = maven[1]["opportunities"]
    assert opps["account_id"].null_count() == 1425
    blank_accounts = opps.filter(pl.col("account_id").is_null())
    assert _counts(blank_accounts, "stage") == {"Engaging": 1088, "Prospecting": 337}
    assert opps["created_at"].null_count() == 500
    assert set(opps.filter(pl.col("created_at").is_null())["stage"]) == {"Prospecting"}
    assert opps["close_date"].null_count() == 2089
    assert opps["amount"].null_count() == 2089
    assert set(opps.filter(pl.col("amount").is_null())["stage"]) == {"Engaging", "Prospecting"}


def test_maven_won_revenue(maven: Any) -> None:
    opps = maven[1]["opportunities"]
    won = opps.filter(pl.col("is_won"))
    assert won["amount"].sum() == 10_005_534
    assert won["amount"].median() == 1117
    assert won["amount"].mean() == pytest.approx(2360.909, abs=1e-3)
    assert set(opps.filter(pl.col("stage") == "Lost")["amount"]) == {0.0}
    by_product = dict(won.group_by("product").agg(pl.col("amount").sum()).rows())
    assert by_product == {
        "GTXPro": 3_510_578,
        "GTX Plus Pro": 2_629_651,
        "MG Advanced": 2_216_387,
        "GTX Plus Basic": 705_275,
        "GTX Basic": 499_263,
        "GTK 500": 400_612,
        "MG Special": 43_768,
    }
    by_month = (
        won.group_by(pl.col("close_date").dt.month().alias("m"))
        .agg(pl.col("amount").sum(), pl.len())
        .sort("m")
    )
    assert by_month.row(0) == (3, 1_134_672, 531)
    assert by_month.row(-1) == (12, 1_131_573, 511)


def test_maven_dates_and_cycle(maven: Any) -> None:
    opps = maven[1]["opportunities"]
    assert opps["created_at"].min() == datetime(2016, 10, 20, tzinfo=UTC)
    assert opps["created_at"].max() == datetime(2017, 12, 27, tzinfo=UTC)
    assert opps["close_date"].min() == date(2017, 3, 1)
    assert opps["close_date"].max() == date(2017, 12, 31)
    cycle = opps.select(
        pl.col("is_won"),
        (pl.col("close_date") - pl.col("created_at").dt.date()).dt.total_days().alias("days"),
    ).drop_nulls()
    assert cycle["days"].min() >= 0
    won_days = cycle.filter(pl.col("is_won"))["days"]
    assert (won_days.median(), won_days.min(), won_days.max()) == (57, 1, 138)
    assert won_days.mean() == pytest.approx(51.78197, abs=1e-5)
    assert cycle.filter(~pl.col("is_won"))["days"].median() == 14


def test_maven_accounts_and_users_join(maven: Any) -> None:
    frames = maven[1]
    accounts, users, opps = frames["accounts"], frames["users"], frames["opportunities"]
    assert accounts["account_id"].n_unique() == 85
    assert "technolgy" in set(accounts["industry"])
    assert accounts["annual_revenue"].dtype == pl.Float64
    assert accounts["year_established"].dtype == pl.Int64
    by_region = dict(
        opps.filter(pl.col("is_won"))
        .select("owner_id", "amount")
        .join(users.select("user_id", "region"), left_on="owner_id", right_on="user_id")
        .group_by("region")
        .agg(pl.col("amount").sum())
        .rows()
    )
    assert by_region == {"West": 3_568_647, "Central": 3_346_293, "East": 3_090_594}
    idle = set(users["user_id"]) - set(opps["owner_id"])
    assert idle == {
        "Carl Lin",
        "Carol Thompson",
        "Elizabeth Anderson",
        "Mei-Mei Johns",
        "Natalya Ivanova",
    }
    top = (
        opps.filter(pl.col("is_won"))
        .group_by("owner_id")
        .agg(pl.col("amount").sum())
        .sort("amount", descending=True)
        .head(3)
        .rows()
    )
    assert top == [
        ("Darcel Schlecht", 1_153_214),
        ("Vicki Laflamme", 478_396),
        ("Kary Hendrixson", 454_298),
    ]


# -- Olist marketing funnel -------------------------------------------------------------------


def test_olist_rows_ids_and_links(olist: Any) -> None:
    result, frames = olist
    assert result.for_entity("people") == (8000, 0)
    assert result.for_entity("opportunities") == (842, 0)
    people, deals = frames["people"], frames["opportunities"]
    assert people["person_id"].n_unique() == 8000
    assert deals["opportunity_id"].n_unique() == 842
    assert deals["primary_person_id"].is_in(people["person_id"].implode()).all()
    assert deals["account_id"].n_unique() == 842
    assert deals["sdr_id"].n_unique() == 32
    assert deals["owner_id"].n_unique() == 22
    assert people["landing_page_id"].n_unique() == 495
    assert deals.height / people.height == pytest.approx(0.10525)
    assert set(people["lifecycle_stage"]) == {"mql"}
    assert set(deals["stage"]) == {"Won"}
    assert deals["is_won"].all() and deals["is_closed"].all()


def test_olist_origin_counts_with_real_blanks(olist: Any) -> None:
    people, deals = olist[1]["people"], olist[1]["opportunities"]
    expected = {
        "organic_search": (2296, 271),
        "paid_search": (1586, 195),
        "social": (1350, 75),
        "unknown": (1099, 179),
        "direct_traffic": (499, 56),
        "email": (493, 15),
        "referral": (284, 24),
        "other": (150, 4),
        "display": (118, 6),
        "other_publicities": (65, 3),
        None: (60, 14),
    }
    assert _counts(people, "lead_source") == {k: v[0] for k, v in expected.items()}
    converted = deals.select("primary_person_id").join(
        people, left_on="primary_person_id", right_on="person_id"
    )
    assert _counts(converted, "lead_source") == {k: v[1] for k, v in expected.items()}


def test_olist_dates(olist: Any) -> None:
    people, deals = olist[1]["people"], olist[1]["opportunities"]
    assert people["created_at"].min() == datetime(2017, 6, 14, tzinfo=UTC)
    assert people["created_at"].max() == datetime(2018, 5, 31, tzinfo=UTC)
    assert (people["mql_at"] == people["created_at"]).all()
    assert deals["closed_at"].min() == datetime(2017, 12, 5, 2, 0, 0, tzinfo=UTC)
    assert deals["closed_at"].max() == datetime(2018, 11, 14, 18, 4, 19, tzinfo=UTC)
    assert (deals["close_date"] == deals["closed_at"].dt.date()).all()
    months = _counts(people.with_columns(pl.col("created_at").dt.strftime("%Y-%m")), "created_at")
    assert months["2017-06"] == 4 and months["2018-04"] == 1352 and sum(months.values()) == 8000
    won_months = _counts(deals.with_columns(pl.col("closed_at").dt.strftime("%Y-%m")), "closed_at")
    assert won_months["2017-12"] == 3 and won_months["2018-04"] == 207
    assert won_months["2018-11"] == 6


def test_olist_days_to_win(olist: Any) -> None:
    people, deals = olist[1]["people"], olist[1]["opportunities"]
    joined = deals.join(people, left_on="primary_person_id", right_on="person_id")
    days = (pl.col("close_date") - pl.col("created_at_right").dt.date()).dt.total_days()
    span = joined.select(days.alias("d"))["d"]
    assert (span.median(), span.min(), span.max()) == (14, -2, 427)
    assert span.mean() == pytest.approx(48.4406, abs=1e-4)
    early = joined.filter(days < 0)["opportunity_id"].to_list()
    assert early == ["b91cf8812365f50ff4bda4bcd6206b05"]


def test_olist_closed_deal_blanks_and_custom_fields(olist: Any) -> None:
    deals = olist[1]["opportunities"]
    blanks = {
        "segment": 1,  # business_segment
        "type": 6,  # lead_type
        "lead_behaviour_profile": 177,
        "has_company": 779,
        "has_gtin": 778,
        "average_stock": 776,
        "business_type": 10,
        "declared_product_catalog_size": 773,
        "declared_monthly_revenue": 0,
    }
    assert {c: deals[c].null_count() for c in blanks} == blanks
    assert deals["has_company"].dtype == pl.Boolean
    assert deals["declared_monthly_revenue"].dtype == pl.Float64
    assert deals["declared_monthly_revenue"].sum() == 61_784_006.0
    assert (deals["declared_monthly_revenue"] != 0).sum() == 45
    assert _counts(deals, "type") == {
        "online_medium": 332,
        "online_big": 126,
        "industry": 123,
        "offline": 104,
        "online_small": 77,
        "online_beginner": 57,
        "online_top": 14,
        "other": 3,
        None: 6,
    }
    top = deals.group_by("segment").len().sort("len", descending=True).head(5).rows()
    assert top == [
        ("home_decor", 105),
        ("health_beauty", 93),
        ("car_accessories", 77),
        ("household_utilities", 71),
        ("construction_tools_house_garden", 69),
    ]


def test_repull_of_unchanged_datasets_is_a_no_op(
    repo_root: Path, datasets_dir: Path, tmp_path: Path
) -> None:
    cfg = _example(repo_root, datasets_dir, "olist_funnel")
    pull(cfg, tmp_path, progress=False)
    again = pull(cfg, tmp_path, progress=False)
    assert {e.status for e in again.entities} == {"unchanged"}
    assert SnapshotStore(tmp_path).row_count("people") == 8000
