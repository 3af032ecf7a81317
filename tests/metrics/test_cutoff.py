"""The shared as-of cut-off (revgov.metrics._cutoff through prepare_frames), hand-checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest
from tests.metrics.conftest import to_polars
from tests.metrics.test_engines import assert_same

from revgov.config import Config
from revgov.metrics import mql_to_sql, prepare_frames

CUT = datetime(2024, 2, 15)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_deals_closed_later_are_open_at_their_stage_of_the_time(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    opps = prepare_frames(ex, ex_config, as_of=CUT)["opportunities"]
    got = {r["opportunity_id"]: r for r in opps.iter_rows(named=True)}
    # o6 (03-01) and o8 (03-05) were created later.
    assert set(got) == {"o1", "o2", "o3", "o4", "o5", "o7"}
    o1 = got["o1"]  # won 02-20: open, at Proposal (since 02-01)
    assert (o1["stage"], o1["is_won"], o1["is_closed"], o1["closed_at"]) == (
        "Proposal",
        False,
        False,
        None,
    )
    assert (o1["stage_order"], o1["stage_probability"]) == (3, 0.6)
    assert got["o4"]["stage"] == "Demo"  # moved to Proposal on 03-01
    assert got["o5"]["stage"] is None  # its first stage event came later that day
    o3 = got["o3"]  # lost on 02-10: closed as it was
    assert (o3["stage"], o3["is_closed"], o3["is_won"]) == ("Lost", True, False)


def test_events_activities_touches_and_spend_after_as_of_have_not_happened(
    ex: dict[str, pl.DataFrame], ex_config: Config
) -> None:
    cut = prepare_frames(ex, ex_config, as_of=CUT)
    at = _t("2024-02-15T00:00:00")
    assert cut["stage_events"]["changed_at"].max() <= at
    assert cut["activities"]["occurred_at"].max() <= at
    assert cut["campaign_touches"]["touched_at"].max() <= at
    assert cut["spend"]["period"].to_list() == [
        datetime(2024, 1, 1).date(),
        datetime(2024, 2, 1).date(),
        datetime(2024, 1, 1).date(),
        datetime(2024, 1, 1).date(),
    ]
    assert cut["accounts"].height == 4  # all created by January
    assert cut["targets"].height == ex["targets"].height  # plans are not history


def _people() -> dict[str, pl.DataFrame]:
    people = pl.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "created_at": [_t("2024-01-01")] * 3 + [_t("2024-03-01")],
            "mql_at": [_t("2024-01-02"), _t("2024-02-20"), _t("2024-01-05"), None],
            "lifecycle_stage": ["customer", "sql", "sql", "lead"],
            "is_converted": [True, False, True, False],
            "converted_at": [_t("2024-03-01"), None, _t("2024-01-10"), None],
            "converted_opportunity_id": ["o-late", None, "o-early", None],
        }
    )
    events = pl.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "record_entity": ["people"] * 3,
            "record_id": ["a", "a", "c"],
            "field": ["lifecycle_stage"] * 3,
            "to_value": ["mql", "customer", "sql"],
            "changed_at": [_t("2024-01-02"), _t("2024-03-01"), _t("2024-01-06")],
        }
    )
    opps = pl.DataFrame(
        {
            "opportunity_id": ["o-early", "o-late"],
            "primary_person_id": ["c", "a"],
            "created_at": [_t("2024-01-10"), _t("2024-03-01")],
        }
    )
    return {"people": people, "stage_events": events, "opportunities": opps}


def test_people_as_of(ex_config: Config) -> None:
    cut = prepare_frames(_people(), ex_config, as_of=CUT)["people"]
    got = {r["person_id"]: r for r in cut.iter_rows(named=True)}
    assert set(got) == {"a", "b", "c"}  # d was created in March
    # a converted on 03-01 and became a customer then: at 02-15 an MQL, not converted.
    assert (got["a"]["lifecycle_stage"], got["a"]["is_converted"]) == ("mql", False)
    assert got["a"]["converted_opportunity_id"] is None
    # b became an MQL after the cut; c converted before it and keeps everything.
    assert got["b"]["mql_at"] is None
    assert (got["c"]["is_converted"], got["c"]["converted_opportunity_id"]) == (True, "o-early")


def test_mql_to_sql_as_of(ex_config: Config) -> None:
    frames = _people()
    now = mql_to_sql(frames["people"], opportunities=frames["opportunities"]).row(0, named=True)
    assert (now["mqls"], now["sqls"]) == (3, 3)
    cut = prepare_frames(frames, ex_config, as_of=CUT)
    then = mql_to_sql(cut["people"], opportunities=cut["opportunities"]).row(0, named=True)
    # a was only an MQL, b not yet one; c an SQL.
    assert (then["mqls"], then["sqls"]) == (2, 1)


def test_the_cut_is_the_same_on_duckdb(ex: dict[str, pl.DataFrame], ex_config: Config) -> None:
    duck: dict[str, Any] = {k: duckdb.from_arrow(v.to_arrow()) for k, v in ex.items()}
    polars_cut = prepare_frames(ex, ex_config, as_of=CUT)
    duck_cut = prepare_frames(duck, ex_config, as_of=CUT)
    for entity in ("opportunities", "people", "stage_events", "activities"):
        expected = to_polars(polars_cut[entity])
        got = to_polars(duck_cut[entity]).select(expected.columns)
        assert_same(expected, got.cast(dict(expected.schema)))


def _open_deals_with_history(seed: int) -> dict[str, pl.DataFrame]:
    """Open deals and a random stage history around CUT: events at the same instant (the
    event id orders them), events without a time, deals whose history starts after CUT,
    and a few lifecycle events of people mixed in (which must not count as stages)."""
    rng = np.random.default_rng(seed)
    stages = ["Discovery", "Demo", "Proposal", "Negotiation"]
    n, per = 200, 1500
    days = rng.integers(-20, 10, per)
    events = pl.DataFrame(
        {
            "event_id": [f"e{i:05d}" for i in rng.permutation(per)],
            "record_entity": ["opportunities"] * (per - 50) + ["people"] * 50,
            "record_id": [f"o{i}" for i in rng.integers(0, n, per)],
            "field": ["stage"] * (per - 50) + ["lifecycle_stage"] * 50,
            "to_value": [stages[i] for i in rng.integers(0, len(stages), per)],
            "changed_at": [
                None if rng.random() < 0.03 else _t("2024-02-15") + timedelta(days=int(d))
                for d in days
            ],
        }
    )
    opportunities = pl.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(n)],
            "stage": [stages[i] for i in rng.integers(0, len(stages), n)],
            "created_at": [_t("2023-12-01")] * n,
            "is_closed": [False] * n,
            "is_won": [False] * n,
            "closed_at": pl.Series([None] * n, dtype=pl.Datetime("us", "UTC")),
        }
    )
    return {"opportunities": opportunities, "stage_events": events}


@pytest.mark.parametrize("close_facts", [True, False], ids=["with-close-facts", "stage-only"])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_stage_at_as_of_is_the_last_one_before_it(
    ex_config: Config, seed: int, close_facts: bool
) -> None:
    """The stage of each deal at CUT, read back in two steps on polars (the changed deals
    first, then their history: bounded memory), against a plain recomputation and against
    DuckDB, which runs the look-up as one query. An export without close facts (no won flag,
    no close date) still has its stages read back: none of its deals can be reopened, but
    each can have moved."""
    frames = _open_deals_with_history(seed)
    if not close_facts:
        frames["opportunities"] = frames["opportunities"].drop("is_closed", "is_won", "closed_at")
    stages = frames["stage_events"].filter(pl.col("field") == "stage")
    at = _t("2024-02-15")
    moved = set(stages.filter(pl.col("changed_at") > at)["record_id"])
    then = (
        stages.filter(pl.col("changed_at") <= at)
        .group_by("record_id")
        .agg(pl.col("to_value").sort_by("changed_at", "event_id").last())
    )
    now = dict(frames["opportunities"].select("opportunity_id", "stage").iter_rows())
    value_then = dict(then.iter_rows())
    expected = {o: value_then.get(o) if o in moved else s for o, s in now.items()}
    assert sum(o in moved and o not in value_then for o in now) > 0  # history starts later
    lazy = {k: v.lazy() for k, v in frames.items()}
    duck = {k: duckdb.from_arrow(v.to_arrow()) for k, v in frames.items()}
    for given in (frames, lazy, duck):
        cut = to_polars(prepare_frames(given, ex_config, as_of=CUT)["opportunities"])
        assert dict(cut.select("opportunity_id", "stage").iter_rows()) == expected
