"""The engine: counts, thresholds, skipping, validation, kinds of frames in and out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb
import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revgov.config import Config
from revgov.errors import RuleDefinitionError, RuleError
from revgov.rules import FINDINGS_COLUMNS, Check, Derivation, Rule, audit, kinds, rule

from .conftest import AS_OF, canonical, flagged, run


def _email_rule(**kw: Any) -> Rule:
    return kinds.required("people.email_missing", "people", ["email"], **kw)


PEOPLE = [
    {"person_id": "p1", "email": None, "owner_id": "u1"},
    {"person_id": "p2", "email": "a@b.co", "owner_id": "u1"},
    {"person_id": "p3", "email": "c@d.co", "owner_id": None},
    {"person_id": "p4", "email": "e@f.co", "owner_id": "u2"},
]


def test_findings_frame_schema_and_owner() -> None:
    report = run([_email_rule()], {"people": PEOPLE})
    assert report.findings_df.columns == list(FINDINGS_COLUMNS)
    assert all(dt == pl.String for dt in report.findings_df.dtypes)
    assert report.findings_df.row(0, named=True) == {
        "rule_id": "people.email_missing",
        "severity": "error",
        "dimension": "completeness",
        "entity": "people",
        "record_id": "p1",
        "owner_id": "u1",
        "field": "email",
        "value": None,
        "message": "email is empty",
    }
    assert isinstance(report.findings, pl.LazyFrame)
    assert report.rows == {"people": 4}


def test_thresholds_decide_failure_not_findings() -> None:
    lenient = run([_email_rule(threshold=0.3)], {"people": PEOPLE})
    res = lenient.result("people.email_missing")
    assert (res.checked, res.violating, res.status, res.failed) == (4, 1, "within_threshold", False)
    assert lenient.findings_df.height == 1
    lenient.raise_for_findings("info")
    strict = run([_email_rule(threshold=0.2)], {"people": PEOPLE})
    assert strict.result("people.email_missing").status == "fail"


def test_deleted_records_are_not_audited() -> None:
    rows = [*PEOPLE, {"person_id": "p5", "email": None, "is_deleted": True}]
    report = run([_email_rule()], {"people": rows})
    assert flagged(report, "people.email_missing") == {"p1"}
    assert report.result("people.email_missing").checked == 4


def test_builtin_rules_skip_missing_inputs_with_reasons() -> None:
    frame = pl.DataFrame(
        {"person_id": ["p1"], "email": [None]}, schema={"person_id": pl.String, "email": pl.String}
    )
    report = audit({"people": frame.lazy()}, config=Config(), as_of=AS_OF)
    assert report.result("people.email_missing").violating == 1
    where = "[sources.entities.{}] of revgov.toml"
    phone = report.result("people.phone_format")
    assert (phone.status, phone.reason) == (
        "not_applicable",
        "people has no column 'phone': map a source field to it in " + where.format("people"),
    )
    assert report.result("accounts.owner_missing").reason == (
        "no accounts records were pulled: map the accounts entity in " + where.format("accounts")
    )
    assert report.result("people.owner_inactive").reason == (
        "people has no column 'owner_id': map a source field to it in " + where.format("people")
    )


def test_rules_against_an_empty_entity_are_not_applicable() -> None:
    # No users pulled: every owner would look unknown; the rule says why it did not run.
    report = run(
        [kinds.references("people.owner_unknown", "people", "owner_id", "users")],
        {"people": PEOPLE, "users": []},
    )
    res = report.result("people.owner_unknown")
    assert (res.reason, res.status, res.violating) == (
        "no users rows to check against: pull users ([sources.entities.users] of revgov.toml)",
        "not_applicable",
        0,
    )


def test_declared_rule_on_unknown_column_lists_columns_and_closest() -> None:
    rule_ = kinds.required("people.mail_missing", "people", ["emial"])
    with pytest.raises(RuleDefinitionError) as err:
        run([rule_], {"people": PEOPLE})
    text = str(err.value)
    assert "rule people.mail_missing reads column 'emial', which people does not have" in text
    assert "did you mean 'email'?" in text
    assert "available columns: person_id, kind, email" in text


def test_only_and_dimensions_and_unknown_ids() -> None:
    rules = [_email_rule(), kinds.formatted("people.email_format", "people", "email", "email")]
    report = run(rules, {"people": PEOPLE}, only=["people.email_format"])
    assert [r.id for r in report.results] == ["people.email_format"]
    report = run(rules, {"people": PEOPLE}, dimensions=["completeness"])
    assert [r.id for r in report.results] == ["people.email_missing"]
    with pytest.raises(RuleDefinitionError, match=r"did you mean 'people\.email_format'"):
        run(rules, {"people": PEOPLE}, only=["people.email_formats"])
    with pytest.raises(RuleDefinitionError, match="did you mean 'routing'"):
        run(rules, {"people": PEOPLE}, dimensions=["routng"])


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(RuleDefinitionError, match="two rules share the id"):
        run([_email_rule(), _email_rule()], {"people": PEOPLE})


def test_eager_in_eager_out_and_keys_for_other_entities() -> None:
    frame = pl.DataFrame({"id": [1, 2, 2], "x": [None, 1, 2]})
    rules = [
        kinds.required("things.x_missing", "things", ["x"]),
        kinds.unique("things.id_unique", "things", "id"),
    ]
    report = audit({"things": frame}, rules, keys={"things": "id"}, as_of=AS_OF)
    assert isinstance(report.findings, pl.DataFrame)
    assert flagged(report, "things.x_missing") == {"1"}
    assert flagged(report, "things.id_unique") == {"2"}
    with pytest.raises(RuleDefinitionError, match="no record id column known for entity 'things'"):
        audit({"things": frame}, rules, as_of=AS_OF)


def test_values_are_formatted_by_type() -> None:
    rows = [
        {
            "opportunity_id": "o1",
            "close_date": date(2026, 1, 2),
            "created_at": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
            "is_won": True,
            "amount": -1234.5,
        },
    ]
    rules = [
        kinds.in_range("opportunities.a", "opportunities", "close_date", max=date(2026, 1, 1)),
        kinds.in_range(
            "opportunities.b", "opportunities", "created_at", max=datetime(2026, 1, 1, tzinfo=UTC)
        ),
        kinds.allowed_values("opportunities.c", "opportunities", "type", ["x"]),
        kinds.in_range("opportunities.d", "opportunities", "amount", min=0),
    ]
    rows[0]["type"] = "y"
    report = run(rules, {"opportunities": rows})
    values = dict(report.findings_df.select("rule_id", "value").iter_rows())
    assert values == {
        "opportunities.a": "2026-01-02",
        "opportunities.b": "2026-03-04 05:06:07",
        "opportunities.c": "y",
        "opportunities.d": "-1234.50",
    }


def test_shared_derivations_run_once_per_entity() -> None:
    calls: list[str] = []

    def build(frame: Any, ctx: Any) -> Any:
        calls.append("built")
        return frame.with_columns(nw.col("email").str.len_chars().alias("__len"))

    shared = Derivation(
        name="people.email_len", build=build, provides=("__len",), columns=("email",)
    )
    rules = [
        Rule(
            id=f"people.len_{i}",
            entity="people",
            dimension="conformity",
            description="d",
            checks=(Check(violation=nw.col("__len") > i),),
            columns=("email",),
            derivations=(shared,),
        )
        for i in (3, 5)
    ]
    report = run(rules, {"people": PEOPLE})
    assert calls == ["built"]
    assert report.result("people.len_3").violating == 3
    assert report.result("people.len_5").violating == 3


def test_mixed_engines_are_refused() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    people = canonical("people", PEOPLE)
    with pytest.raises(RuleError, match="frames mix engines"):
        audit(
            {"people": people.lazy(), "users": con.from_arrow(people.to_arrow())}, [_email_rule()]
        )


def test_duckdb_needs_a_utc_session() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    rel = con.from_arrow(canonical("people", PEOPLE).to_arrow())
    with pytest.raises(RuleError, match="uses time zone 'America/New_York'"):
        audit({"people": rel}, [_email_rule()])


def test_duckdb_in_relation_out() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.from_arrow(canonical("people", PEOPLE).to_arrow())
    report = audit({"people": rel}, [_email_rule()], as_of=AS_OF)
    assert isinstance(report.findings, duckdb.DuckDBPyRelation)
    assert report.findings.fetchall()[0][4] == "p1"
    assert report.engine == "duckdb"


def test_not_a_frame_is_a_clear_error() -> None:
    with pytest.raises(RuleError, match="'people' is a dict, not a data frame"):
        audit({"people": {"a": 1}}, [_email_rule()])


def test_python_rule_with_threshold_and_custom_message() -> None:
    @rule(
        "people.gmail",
        dimension="conformity",
        severity="info",
        threshold=0.5,
        field="email",
        message="personal address",
    )
    def gmail() -> nw.Expr:
        return nw.col("email").str.ends_with("@gmail.com")

    report = run(
        [gmail],
        {
            "people": [
                {"person_id": "a", "email": "x@gmail.com"},
                {"person_id": "b", "email": "y@acme.com"},
            ]
        },
    )
    res = report.result("people.gmail")
    assert (res.violating, res.status) == (1, "within_threshold")
    assert report.findings_df["message"].to_list() == ["personal address"]


_values = st.lists(
    st.tuples(st.sampled_from([None, "a", "b", "c", "A"]), st.sampled_from([None, 1.0, -1.0, 0.0])),
    min_size=0,
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(_values)
def test_counts_match_a_python_recount(rows: list[tuple[str | None, float | None]]) -> None:
    frame = pl.DataFrame(
        {
            "id": [str(i) for i in range(len(rows))],
            "k": [r[0] for r in rows],
            "n": [r[1] for r in rows],
        },
        schema={"id": pl.String, "k": pl.String, "n": pl.Float64},
    )
    rules = [
        kinds.required("t.k_missing", "t", ["k", "n"]),
        kinds.allowed_values("t.k_allowed", "t", "k", ["a", "b"]),
        kinds.in_range("t.n_positive", "t", "n", min=0),
        kinds.unique("t.k_unique", "t", "k", normalize="lower"),
    ]
    report = audit({"t": frame.lazy()}, rules, keys={"t": "id"}, as_of=AS_OF)
    keys = [r[0] for r in rows]
    lowered = [k.lower() for k in keys if k is not None]
    expect = {
        "t.k_missing": (
            len(rows),
            sum(1 for k, n in rows if k is None or n is None),
            sum((k is None) + (n is None) for k, n in rows),
        ),
        "t.k_allowed": (
            len(lowered),
            sum(1 for k in keys if k is not None and k not in ("a", "b")),
            None,
        ),
        "t.n_positive": (
            sum(1 for _, n in rows if n is not None),
            sum(1 for _, n in rows if n is not None and n < 0),
            None,
        ),
        "t.k_unique": (len(lowered), sum(1 for k in lowered if lowered.count(k) > 1), None),
    }
    for rid, (checked, violating, findings) in expect.items():
        res = report.result(rid)
        assert (res.checked, res.violating) == (checked, violating), rid
        assert res.findings == (findings if findings is not None else violating), rid
        assert res.findings == report.findings_df.filter(pl.col("rule_id") == rid).height


def test_every_duckdb_frame_needs_a_utc_session() -> None:
    # Relations of one audit may come from different connections: the second one counts too.
    utc, local = duckdb.connect(), duckdb.connect()
    utc.execute("SET TimeZone = 'UTC'")
    local.execute("SET TimeZone = 'Europe/Berlin'")
    people = utc.from_arrow(canonical("people", PEOPLE).to_arrow())
    users = local.from_arrow(canonical("users", []).to_arrow())
    with pytest.raises(RuleError, match="frame 'users' uses time zone 'Europe/Berlin'"):
        audit({"people": people, "users": users}, [_email_rule()])


def test_no_rule_run_gives_truly_empty_findings_of_the_input_kind() -> None:
    # Every rule filtered away (a rule id and a dimension that share nothing).
    report = run(
        [_email_rule()], {"people": PEOPLE}, only=["people.email_missing"], dimensions=["sla"]
    )
    assert report.results == ()
    assert report.findings_df.height == 0
    assert report.findings_df.schema == pl.Schema(dict.fromkeys(FINDINGS_COLUMNS, pl.String()))
    assert isinstance(report.findings, pl.LazyFrame)
    assert report.findings.collect().height == 0
    # DuckDB in, an empty DuckDB relation out.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rel = con.from_arrow(canonical("people", PEOPLE).to_arrow())
    on_duckdb = audit({"people": rel}, [_email_rule()], dimensions=["sla"])
    assert isinstance(on_duckdb.findings, duckdb.DuckDBPyRelation)
    assert on_duckdb.findings.fetchall() == []
    assert on_duckdb.findings.columns == list(FINDINGS_COLUMNS)
    assert on_duckdb.findings_df.height == 0


def test_declared_rule_on_an_entity_without_a_frame_is_an_error() -> None:
    # Built-in rules skip an absent input; a rule you wrote for it must not pass silently.
    mine = kinds.required("oportunities.next_step", "oportunities", ["next_step"])
    with pytest.raises(RuleDefinitionError) as err:
        run([mine], {"people": PEOPLE, "opportunities": []})
    assert "rule oportunities.next_step audits 'oportunities', which is not among the frames" in (
        str(err.value)
    )
    assert "did you mean 'opportunities'?" in str(err.value)
    # A rule reading another entity through a derivation: the same.
    ref = kinds.references("people.account_missing", "people", "account_id", "accounts")
    with pytest.raises(RuleDefinitionError, match="reads 'accounts', which is not among"):
        run([ref], {"people": PEOPLE})
    # Optional (built-in) rules are not applicable, with the reason.
    report = run([ref.replace(optional=True)], {"people": PEOPLE})
    assert report.result("people.account_missing").reason == (
        "no accounts records were pulled: map the accounts entity in "
        "[sources.entities.accounts] of revgov.toml"
    )
