"""Each rule kind on small hand-made frames: what it flags, what it checks, what it says."""

from __future__ import annotations

from datetime import date

import narwhals as nw
import polars as pl
import pytest

from revgov.errors import RuleDefinitionError
from revgov.rules import kinds
from revgov.rules._expr import is_in

from .conftest import flagged, run


def test_required_flags_null_fields_only_in_scope() -> None:
    rule = kinds.required(
        "opportunities.amount_missing_late_stage",
        "opportunities",
        ["amount"],
        when=is_in(nw.col("stage"), ["Proposal"]).fill_null(False),
        when_columns=["stage"],
        when_text="while stage is Proposal",
    )
    rows = [
        {"opportunity_id": "o1", "stage": "Proposal", "amount": None},
        {"opportunity_id": "o2", "stage": "Proposal", "amount": 10.0},
        {"opportunity_id": "o3", "stage": "Prospecting", "amount": None},
        {"opportunity_id": "o4", "stage": None, "amount": None},
    ]
    report = run([rule], {"opportunities": rows})
    result = report.result(rule.id)
    assert flagged(report, rule.id) == {"o1"}
    assert (result.checked, result.violating) == (2, 1)
    row = report.findings_df.row(0, named=True)
    assert row["field"] == "amount"
    assert row["value"] is None
    assert row["message"] == "amount is empty while stage is Proposal"


def test_required_several_fields_one_finding_per_field() -> None:
    rule = kinds.required("people.contact_incomplete", "people", ["email", "phone"])
    rows = [
        {"person_id": "p1", "email": None, "phone": None},
        {"person_id": "p2", "email": "a@b.co", "phone": None},
        {"person_id": "p3", "email": "a@b.co", "phone": "+12025550100"},
    ]
    report = run([rule], {"people": rows})
    res = report.result(rule.id)
    assert (res.checked, res.violating, res.findings) == (3, 2, 3)
    pairs = set(report.findings_df.select("record_id", "field").iter_rows())
    assert pairs == {("p1", "email"), ("p1", "phone"), ("p2", "phone")}


@pytest.mark.parametrize("ignore_case", [False, True])
def test_allowed_values(ignore_case: bool) -> None:
    rule = kinds.allowed_values(
        "opportunities.type_unknown",
        "opportunities",
        "type",
        ["new business", "renewal"],
        ignore_case=ignore_case,
    )
    rows = [
        {"opportunity_id": "o1", "type": "renewal"},
        {"opportunity_id": "o2", "type": "Renewal"},
        {"opportunity_id": "o3", "type": "upsell"},
        {"opportunity_id": "o4", "type": None},
    ]
    report = run([rule], {"opportunities": rows})
    expected = {"o3"} if ignore_case else {"o2", "o3"}
    assert flagged(report, rule.id) == expected
    assert report.findings_df.filter(pl.col("record_id") == "o3")["value"].to_list() == ["upsell"]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("email", ["jane.doe@acme.com", "J.Doe@Acme.IO"], ["jane.doe@", "jane at acme.com", "a@b"]),
        ("e164", ["+12025550123", "+4930123456"], ["0301234567", "+1 202 555 0123", "+0123456789"]),
        (
            "domain",
            ["acme.com", "www.acme.co.uk", "Acme.com"],
            ["acme", "http://acme.com/", "a b.com"],
        ),
        ("iso_country", ["US", "DE", "GB"], ["USA", "us", "United States", "UK"]),
        ("iso_currency", ["USD", "EUR"], ["usd", "US$", "EURO"]),
    ],
)
def test_named_formats(fmt: str, good: list[str], bad: list[str]) -> None:
    rule = kinds.formatted("people.x_format", "people", "title", fmt)
    rows = [{"person_id": f"g{i}", "title": v} for i, v in enumerate(good)]
    rows += [{"person_id": f"b{i}", "title": v} for i, v in enumerate(bad)]
    rows.append({"person_id": "null", "title": None})
    report = run([rule], {"people": rows})
    assert flagged(report, rule.id) == {f"b{i}" for i in range(len(bad))}
    # Blank values are not checked (that is a required-field rule's business).
    assert report.result(rule.id).checked == len(rows) - 1


def test_format_regex_override_and_unknown_format() -> None:
    rule = kinds.formatted("people.phone_format", "people", "phone", "e164", regex=r"^\d+$")
    report = run([rule], {"people": [{"person_id": "p1", "phone": "+1202"}]})
    assert flagged(report, rule.id) == {"p1"}
    with pytest.raises(RuleDefinitionError, match="unknown format 'ssn'"):
        kinds.formatted("people.x", "people", "phone", "ssn")


def test_pattern_and_invalid_regex_points_at_position() -> None:
    rule = kinds.pattern("people.title_caps", "people", "title", r"^[A-Z]")
    report = run(
        [rule], {"people": [{"person_id": "a", "title": "ceo"}, {"person_id": "b", "title": "CEO"}]}
    )
    assert flagged(report, rule.id) == {"a"}
    with pytest.raises(RuleDefinitionError) as err:
        kinds.pattern("people.bad", "people", "title", r"^(abc")
    assert "rule people.bad" in str(err.value)
    assert "position 1" in str(err.value)


def test_range_on_numbers_and_dates() -> None:
    amount = kinds.in_range("opportunities.amount_band", "opportunities", "amount", min=0, max=100)
    close = kinds.in_range(
        "opportunities.close_in_2026", "opportunities", "close_date", min=date(2026, 1, 1)
    )
    rows = [
        {"opportunity_id": "neg", "amount": -1.0, "close_date": date(2026, 2, 1)},
        {"opportunity_id": "big", "amount": 100.5, "close_date": date(2025, 12, 31)},
        {"opportunity_id": "ok", "amount": 100.0, "close_date": date(2026, 1, 1)},
        {"opportunity_id": "null", "amount": None, "close_date": None},
    ]
    report = run([amount, close], {"opportunities": rows})
    assert flagged(report, amount.id) == {"neg", "big"}
    assert flagged(report, close.id) == {"big"}
    values = dict(
        report.findings_df.filter(pl.col("rule_id") == amount.id)
        .select("record_id", "value")
        .iter_rows()
    )
    assert values == {"neg": "-1.00", "big": "100.50"}
    with pytest.raises(RuleDefinitionError, match="needs min, max or both"):
        kinds.in_range("opportunities.x", "opportunities", "amount")


def test_unique_with_normalization_lists_every_member() -> None:
    rule = kinds.unique("accounts.duplicate_domain", "accounts", "domain", normalize="domain")
    rows = [
        {"account_id": "a1", "domain": "acme.com"},
        {"account_id": "a2", "domain": "WWW.Acme.com "},
        {"account_id": "a3", "domain": "acme.co"},
        {"account_id": "a4", "domain": None},
        {"account_id": "a5", "domain": None},
    ]
    report = run([rule], {"accounts": rows})
    assert flagged(report, rule.id) == {"a1", "a2"}
    assert report.result(rule.id).checked == 3  # blanks are not duplicates of each other
    assert set(report.findings_df["message"]) == {"domain shared by 2 records"}


def test_references_optional_and_required() -> None:
    optional = kinds.references("people.account_missing", "people", "account_id", "accounts")
    required = kinds.references(
        "opportunities.account_missing", "opportunities", "account_id", "accounts", required=True
    )
    accounts = [{"account_id": "a1"}, {"account_id": "gone", "is_deleted": True}]
    people = [
        {"person_id": "p1", "account_id": "a1"},
        {"person_id": "p2", "account_id": "nope"},
        {"person_id": "p3", "account_id": None},
        {"person_id": "p4", "account_id": "gone"},
    ]
    opps = [
        {"opportunity_id": "o1", "account_id": None},
        {"opportunity_id": "o2", "account_id": "a1"},
    ]
    report = run(
        [optional, required], {"accounts": accounts, "people": people, "opportunities": opps}
    )
    # A deleted account is not a valid target.
    assert flagged(report, optional.id) == {"p2", "p4"}
    assert flagged(report, required.id) == {"o1"}
    messages = dict(report.findings_df.select("record_id", "message").iter_rows())
    assert messages["p2"] == "account_id 'nope' is not a known accounts id"
    assert messages["o1"] == "account_id is empty"


def test_references_needs_a_single_key() -> None:
    with pytest.raises(RuleDefinitionError, match="no single-column key"):
        kinds.references("opportunities.x", "opportunities", "stage", "pipeline_stages")
