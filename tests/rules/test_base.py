"""The Rule value object, the @rule decorator and regex checks."""

from __future__ import annotations

import narwhals as nw
import pytest

from revgov.config import Config, config_from_dict
from revgov.definitions._regex import check_regex, escape
from revgov.errors import RuleDefinitionError
from revgov.rules import Check, Rule, rule
from revgov.rules.base import expr_columns, severity_at_least

from .conftest import flagged, run


def _rule(**kw: object) -> Rule:
    base: dict[str, object] = {
        "id": "people.x",
        "entity": "people",
        "dimension": "completeness",
        "description": "d",
        "checks": (Check(violation=nw.col("email").is_null()),),
    }
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"id": "no_entity_prefix"}, "not of the form <entity>.<name>"),
        ({"id": "People.Email"}, "not of the form"),
        ({"severity": "fatal"}, "severity 'fatal' is not one of info, warn, error"),
        ({"dimension": "quality"}, "dimension 'quality' is not one of"),
        ({"threshold": 2}, "is not a fraction in [0, 1]"),
        ({"checks": ()}, "has no checks"),
    ],
)
def test_invalid_rules_are_definition_errors(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(RuleDefinitionError) as err:
        _rule(**changes)
    assert fragment in str(err.value)
    assert err.value.code == "RG501"


def test_rule_properties_and_replace() -> None:
    r = _rule(columns=("email",))
    assert r.name == "x"
    changed = r.replace(severity="warn", threshold=0.1)
    assert (changed.severity, changed.threshold, r.severity) == ("warn", 0.1, "error")
    assert changed.all_columns() == ("email",)
    assert severity_at_least("error", "warn") and not severity_at_least("info", "warn")


def test_decorator_plain_function() -> None:
    @rule("opportunities.big_deal_no_product", dimension="completeness", field="product")
    def big_deal_no_product() -> nw.Expr:
        """Deals over 100k name their product."""
        return (nw.col("amount") > 100_000) & nw.col("product").is_null()

    assert isinstance(big_deal_no_product, Rule)
    assert big_deal_no_product.entity == "opportunities"
    assert big_deal_no_product.description == "Deals over 100k name their product."
    assert set(big_deal_no_product.columns) == {"amount", "product"}
    report = run(
        [big_deal_no_product],
        {
            "opportunities": [
                {"opportunity_id": "o1", "amount": 200_000.0, "product": None},
                {"opportunity_id": "o2", "amount": 200_000.0, "product": "Platform"},
                {"opportunity_id": "o3", "amount": 10.0, "product": None},
            ]
        },
    )
    assert flagged(report, "opportunities.big_deal_no_product") == {"o1"}
    assert report.findings_df["message"].to_list() == ["Deals over 100k name their product."]


def test_decorator_reads_the_config() -> None:
    @rule("opportunities.off_currency", dimension="conformity", field="currency", severity="warn")
    def off_currency(config: Config) -> nw.Expr:
        """Deals use the company currency."""
        return nw.col("currency") != config.company.currency

    assert off_currency.binder is not None
    cfg = config_from_dict({"company": {"currency": "EUR"}})
    report = run(
        [off_currency],
        {
            "opportunities": [
                {"opportunity_id": "o1", "currency": "EUR"},
                {"opportunity_id": "o2", "currency": "USD"},
            ]
        },
        config=cfg,
    )
    assert flagged(report, "opportunities.off_currency") == {"o2"}
    assert report.result("opportunities.off_currency").severity == "warn"


def test_decorator_rejects_other_parameters_and_bad_returns() -> None:
    with pytest.raises(RuleDefinitionError, match="only a `config` parameter"):

        @rule("people.bad", dimension="completeness")
        def bad(frame: object) -> nw.Expr:
            return nw.col("x").is_null()

    with pytest.raises(RuleDefinitionError, match="must return a narwhals expression"):

        @rule("people.worse", dimension="completeness")
        def worse() -> list[Check]:
            return []


def test_expr_columns() -> None:
    e = nw.when(nw.col("a").is_null()).then(nw.col("b")).otherwise(nw.len().over("c"))
    assert expr_columns(e) == ("a", "b", "c")
    assert expr_columns(nw.lit(1)) == ()
    assert expr_columns(nw.all()) is None


def test_regex_checks() -> None:
    assert check_regex(r"^\d+$", where="x") == r"^\d+$"
    with pytest.raises(RuleDefinitionError) as err:
        check_regex("ab[c", where="rules.custom[0].pattern")
    text = str(err.value)
    assert "rules.custom[0].pattern: invalid regular expression at position 2" in text
    assert "  ab[c\n    ^" in text
    with pytest.raises(RuleDefinitionError, match=r"look-around assertions at position 3"):
        check_regex(r"foo(?=bar)", where="r")
    with pytest.raises(RuleDefinitionError, match="back-references"):
        check_regex(r"(a)\1", where="r")
    assert check_regex(r"a\\1", where="r") == r"a\\1"  # an escaped backslash, then a digit
    assert escape("a.b-c_(d)") == r"a\.b-c_\(d\)"


@pytest.mark.parametrize(
    ("pattern", "position", "fragment"),
    [
        ("a{2", 1, "unclosed counted repetition"),
        (r"abc\Z", 3, "unrecognized escape sequence"),
        (r"20\d{2", 4, "unclosed counted repetition"),
        ("x{,3}", 2, "repetition quantifier"),
    ],
)
def test_regex_python_accepts_but_polars_rejects(
    pattern: str, position: int, fragment: str
) -> None:
    # Python's `re` compiles these; polars would fail with a ComputeError at collect time.
    with pytest.raises(RuleDefinitionError) as err:
        check_regex(pattern, where="rules.custom.0.pattern: rule people.x")
    text = str(err.value)
    assert text.startswith(
        f"rules.custom.0.pattern: rule people.x: invalid regular expression at position {position}"
    )
    assert fragment in text
    assert f"  {pattern}\n  {' ' * position}^" in text


def test_ambiguous_character_classes_are_errors_not_warnings() -> None:
    # `[[:alpha:]]` is a POSIX class for Rust and RE2, a nested set for Python (FutureWarning).
    # Warnings are errors in this suite, so a leaked warning would fail here too.
    for _ in range(2):  # the second time is answered from the cache: same error
        with pytest.raises(RuleDefinitionError, match="ambiguous regular expression at position 1"):
            check_regex("[[:alpha:]]", where="r")
