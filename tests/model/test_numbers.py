"""Number formats: values written in a declared format decode exactly; values that do not
match it are never read, and the reason names the format that would read them."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revgov.model import NumberFormat, decode_frame
from revgov.model._numbers import NOT_FINITE, decode_numbers, number_reasons

GERMAN = NumberFormat(decimal=",", thousands=".", currency="€", negative="parentheses")


def _decode(values: list[str], fmt: NumberFormat) -> list[str | None]:
    return (
        pl.DataFrame({"v": values})
        .select(decode_numbers(pl.col("v"), fmt).alias("v"))["v"]
        .to_list()
    )


def _reasons(values: list[str], fmt: NumberFormat, *, whole: bool = False) -> list[str]:
    frame = pl.DataFrame({"v": values})
    return frame.select(number_reasons(pl.col("v"), fmt, whole=whole).alias("v"))["v"].to_list()


def test_a_declared_format_decodes_to_canonical_text() -> None:
    got = _decode(["1.234,56", "12,5", "(1.000,00 €)", "€ 7", "-€5", "1.200", "", "3"], GERMAN)
    assert got == ["1234.56", "12.5", "-1000.00", "7", "-5", "1200", "", "3"]
    swiss = NumberFormat(decimal=".", thousands="'")
    assert _decode(["1'234.50", "1234.5", "12'34"], swiss) == ["1234.50", "1234.5", None]
    french = NumberFormat(decimal=",", thousands=" ")
    # Plain, no-break and narrow no-break spaces all group thousands in French exports.
    assert _decode(["1 234,5", "1\u00a0234,5", "1\u202f234,5"], french) == ["1234.5"] * 3


def test_values_outside_the_declared_format_are_not_read() -> None:
    # A decimal point in a decimal-comma export, badly grouped thousands, two signs, another
    # currency, NaN: none of them is a number in this format.
    got = _decode(["3.5", "1.23.4", "(-5)", "$5", "NaN", "inf", "12k"], GERMAN)
    assert got == [None] * 7


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1.234,56", 'written with decimal = ",", thousands = "."'),
        ("12,5", 'written with decimal = ",", thousands = ""'),
        ("1,234.56", 'written with decimal = ".", thousands = ","'),
        ("1 234,56", 'written with decimal = ",", thousands = " "'),
        ("1'234.50", 'written with decimal = ".", thousands = "\'"'),
        ("1,200", "ambiguous: 1200 with thousands"),
        ("$1,200.00", 'set currency = "$"'),
        ("12 EUR", 'set currency = "EUR"'),
        ("(12)", 'set negative = "parentheses"'),
        ("NaN", NOT_FINITE),
        ("-Infinity", NOT_FINITE),
        ("12k", "not a number"),
    ],
)
def test_reasons_name_the_format_that_reads_a_value(value: str, words: str) -> None:
    (reason,) = _reasons([value], NumberFormat())
    assert words in reason
    if "written with" in reason:
        assert 'now: decimal = ".", thousands = ""' in reason


def test_reasons_against_a_declared_format() -> None:
    got = _reasons(["3.5", "$5", "2.5"], GERMAN)
    assert 'written with decimal = ".", thousands = ""' in got[0]
    assert 'now: decimal = ",", thousands = ".", currency = "€"' in got[0]
    assert got[1] == "a number with the currency $, but the export's currency is '€'"
    assert _reasons(["2.5"], NumberFormat(), whole=True) == ["not a whole number"]


def test_decode_frame_reports_each_failure_with_its_reason() -> None:
    frame = pl.DataFrame({"amount": ["1.234,56", "3.5", None], "n": ["7", "x", "2,0"]})
    decoded, failures = decode_frame(frame, {"amount": "float", "n": "int"}, GERMAN)
    assert decoded["amount"].to_list() == ["1234.56", None, None]
    assert decoded["n"].to_list() == ["7", None, "2.0"]
    assert failures.select("__row", "__field", "__raw").rows() == [
        (1, "amount", "3.5"),
        (1, "n", "x"),
    ]


def test_decimal_and_thousands_cannot_be_the_same() -> None:
    with pytest.raises(ValueError, match="cannot both be"):
        NumberFormat(decimal=",", thousands=",")


def _write(value: Decimal, fmt: NumberFormat, *, paren: bool, cur_first: bool) -> str:
    """``value`` written the way an export in ``fmt`` writes it (independent of the decoder:
    Python's own grouping, then the separators swapped in)."""
    digits = f"{abs(value):,.2f}"  # 1,234.56
    whole, frac = digits.split(".")
    text = whole.replace(",", fmt.thousands) + fmt.decimal + frac
    if fmt.currency:
        text = f"{fmt.currency} {text}" if cur_first else f"{text} {fmt.currency}"
    if value < 0:
        text = f"({text})" if paren else f"-{text}"
    return text


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(-(10**13), 10**13),
    decimal=st.sampled_from([".", ","]),
    thousands=st.sampled_from(["", ",", ".", " ", "'"]),
    currency=st.sampled_from([None, "€", "$", "USD", "R$"]),
    paren=st.booleans(),
    cur_first=st.booleans(),
)
def test_any_number_written_in_a_format_decodes_to_its_value(
    cents: int, decimal: str, thousands: str, currency: str | None, paren: bool, cur_first: bool
) -> None:
    if decimal == thousands:
        return
    fmt = NumberFormat(
        decimal=decimal,  # type: ignore[arg-type]
        thousands=thousands,  # type: ignore[arg-type]
        currency=currency,
        negative="parentheses" if paren else "sign",
    )
    value = Decimal(cents) / 100
    (text,) = _decode([_write(value, fmt, paren=paren, cur_first=cur_first)], fmt)
    assert text is not None and Decimal(text) == value
