"""Numbers as exports write them, decoded by a declared format and never by guessing.

A :class:`NumberFormat` says how an export writes numbers: its decimal mark, its thousands
separator, a currency symbol written beside amounts, and whether negatives may be written in
parentheses. :func:`decode_numbers` turns text in that format into canonical text (``-1234.5``)
that the typing casts read; a value that does not match the format exactly is not read at all.
:func:`number_reasons` explains a value that could not be read: which format it *is* written in
(a decimal comma, thousands separators, a currency symbol...) and the option that would read
it, so a locale mismatch is a quarantine reason that names its fix, never a silent misreading.

Everything here is a polars expression: it runs over whole columns, never per row in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

__all__ = [
    "AMBIGUOUS_GROUPS",
    "DECIMAL_COMMA_REASONS",
    "NOT_FINITE",
    "NumberFormat",
    "decode_frame",
    "decode_numbers",
    "has_decimal_comma",
    "number_reasons",
]

Decimal = Literal[".", ","]
Thousands = Literal["", ",", ".", " ", "'"]
Negative = Literal["sign", "parentheses"]

#: Space-like characters that locales use to group thousands (plain, no-break, narrow no-break).
_SPACES = " \u00a0\u202f"

NOT_FINITE = "not a finite number (NaN and infinity are not values)"


@dataclass(frozen=True)
class NumberFormat:
    """How an export writes numbers. The default is ``1234.5``: a decimal point, no grouping."""

    decimal: Decimal = "."
    thousands: Thousands = ""
    currency: str | None = None
    negative: Negative = "sign"

    def __post_init__(self) -> None:
        if self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands cannot both be {self.decimal!r}")

    @property
    def is_default(self) -> bool:
        return self == NumberFormat()

    def describe(self) -> str:
        """The options that set this format, as a user writes them."""
        parts = [f'decimal = "{self.decimal}"', f'thousands = "{self.thousands}"']
        if self.currency:
            parts.append(f'currency = "{self.currency}"')
        if self.negative != "sign":
            parts.append(f'negative = "{self.negative}"')
        return ", ".join(parts)


def _thousands_class(thousands: str) -> str:
    return f"[{_SPACES}]" if thousands == " " else re.escape(thousands)


def _number_pattern(fmt: NumberFormat) -> str:
    """A full-match pattern for an unsigned-or-signed number in ``fmt`` (no currency, no
    parentheses: those are removed first)."""
    dec = re.escape(fmt.decimal)
    whole = r"\d+"
    if fmt.thousands:
        whole = rf"(?:\d{{1,3}}(?:{_thousands_class(fmt.thousands)}\d{{3}})+|\d+)"
    mantissa = rf"(?:{whole}(?:{dec}\d*)?|{dec}\d+)"
    return rf"^[+-]?{mantissa}(?:[eE][+-]?\d+)?$"


def decode_numbers(expr: pl.Expr, fmt: NumberFormat) -> pl.Expr:
    """``expr`` (text in ``fmt``) as canonical number text; null where it does not match.

    Blank text stays blank (the casts make it null). The result reads with a plain cast:
    ``"(1.234,50 €)"`` with ``decimal = ","``, ``thousands = "."``, ``currency = "€"`` and
    ``negative = "parentheses"`` becomes ``"-1234.50"``.
    """
    text = expr.cast(pl.String).str.strip_chars()
    negative = pl.lit(False)
    if fmt.negative == "parentheses":
        negative = text.str.contains(r"^\(.*\)$")
        text = text.str.replace(r"^\((.*)\)$", "$1").str.strip_chars()
    if fmt.currency:
        cur = re.escape(fmt.currency)
        text = text.str.replace(rf"^([+-]?)\s*{cur}\s*", "$1").str.replace(rf"\s*{cur}$", "")
    canonical = text
    if fmt.thousands:
        canonical = canonical.str.replace_all(_thousands_class(fmt.thousands), "")
    if fmt.decimal != ".":
        canonical = canonical.str.replace(re.escape(fmt.decimal), ".", literal=True)
    # A sign inside parentheses is two signs: not a number in any format.
    signed_twice = negative & text.str.contains(r"^[+-]")
    matches = text.str.contains(_number_pattern(fmt)) & ~signed_twice
    value = pl.when(negative).then(pl.lit("-") + canonical).otherwise(canonical)
    blank = text.str.len_chars() == 0
    return pl.when(blank).then(pl.lit("")).when(matches).then(value).otherwise(None)


# -- explaining values that could not be read -------------------------------------------------

_SIGN = r"^[+-]?"
#: Shapes of numbers written in a format other than the one the export is read with, in the
#: order they are tried, each with the format that reads it.
_SHAPES: tuple[tuple[str, NumberFormat], ...] = (
    (_SIGN + r"\d{1,3}(?:\.\d{3})+,\d+$", NumberFormat(decimal=",", thousands=".")),
    (
        _SIGN + rf"\d{{1,3}}(?:[{_SPACES}]\d{{3}})+(?:,\d+)?$",
        NumberFormat(decimal=",", thousands=" "),
    ),
    (_SIGN + r"\d{1,3}(?:'\d{3})+(?:\.\d+)?$", NumberFormat(decimal=".", thousands="'")),
    (_SIGN + r"\d{1,3}(?:,\d{3})+\.\d+$", NumberFormat(decimal=".", thousands=",")),
    (_SIGN + r"\d*,\d+$", NumberFormat(decimal=",")),
    (_SIGN + r"\d{1,3}(?:\.\d{3})+$", NumberFormat(decimal=",", thousands=".")),
    (_SIGN + r"\d+\.\d*$|^[+-]?\.\d+$", NumberFormat()),
)
#: ``1,200``: 1200 with a thousands comma, or 1.2 with a decimal comma. Said as such.
_COMMA_GROUPS = _SIGN + r"\d{1,3}(?:,\d{3})+$"
#: ``1.200`` reads as 1.2 with a decimal point; in a column that elsewhere uses a decimal comma
#: it means 1200. :func:`revgov.model.type_records` quarantines such values in such columns.
AMBIGUOUS_GROUPS = _SIGN + r"\d{1,3}(?:\.\d{3})+$"

_CURRENCY = r"(\p{Sc}|\b[A-Z]{3}\b)"
_NON_FINITE = r"(?i)^[+-]?(?:nan|inf|infinity)$"


def _shape_reason(fmt: NumberFormat, shape_fmt: NumberFormat) -> str:
    return (
        f"a number written with {shape_fmt.describe()}; set them in the export's options "
        f"(now: {fmt.describe()})"
    )


#: Reasons that mean "this export writes a decimal comma" (the evidence for AMBIGUOUS_GROUPS).
DECIMAL_COMMA_REASONS = frozenset(
    _shape_reason(NumberFormat(), shape) for _, shape in _SHAPES if shape.decimal == ","
)


def number_reasons(
    raw: pl.Expr, fmt: NumberFormat, *, whole: bool = False, expected: str = "a number"
) -> pl.Expr:
    """Why each value of ``raw`` (that ``fmt`` could not read) is not a number.

    The reason names the format a value is written in and that the export's number format is
    the fix, e.g. ``a number written with decimal = ",", thousands = "." ...``. ``whole``:
    the field is an integer, so ``2.5`` is "not a whole number". Meant for the few values that
    failed, not for whole columns: it tries every known shape.
    """
    text = raw.cast(pl.String).str.strip_chars()
    cases: list[tuple[pl.Expr, pl.Expr]] = [(text.str.contains(_NON_FINITE), pl.lit(NOT_FINITE))]
    if fmt.negative != "parentheses":
        cases.append(
            (
                text.str.contains(r"^\(.*\d.*\)$"),
                pl.lit(
                    'a negative number in parentheses: set negative = "parentheses" in the '
                    "export's number format"
                ),
            )
        )
    symbol = text.str.extract(_CURRENCY, 1)
    if fmt.currency:
        currency = pl.concat_str(
            pl.lit("a number with the currency "),
            symbol,
            pl.lit(f", but the export's currency is {fmt.currency!r}"),
        )
    else:
        currency = pl.concat_str(
            pl.lit('a number with a currency symbol or code: set currency = "'),
            symbol,
            pl.lit("\" in the export's number format"),
        )
    cases.append((symbol.is_not_null() & text.str.contains(r"\d"), currency))
    # Before the shapes: "1,200" also has the shape of a decimal comma, but is no evidence.
    cases.append(
        (
            text.str.contains(_COMMA_GROUPS),
            pl.lit(
                'ambiguous: 1200 with thousands = ",", or 1.2 with decimal = ",": set the '
                "export's number format"
            ),
        )
    )
    for pattern, shape in _SHAPES:
        if shape.decimal == fmt.decimal and shape.thousands in (fmt.thousands, ""):
            continue  # fmt reads this shape: the value failed for another reason
        cases.append((text.str.contains(pattern), pl.lit(_shape_reason(fmt, shape))))
    if whole:
        fraction = text.str.contains(r"^[+-]?\d*\.\d*[1-9]\d*$")
        cases.append((fraction, pl.lit("not a whole number")))
        too_big = text.str.contains(r"^[+-]?\d+(?:\.0*)?$")
        cases.append((too_big, pl.lit("a whole number out of range (beyond ±9.2e18)")))
    return pl.coalesce(
        *(pl.when(cond).then(value) for cond, value in cases), pl.lit(f"not {expected}")
    )


def has_decimal_comma(reasons: pl.Series) -> bool:
    """Whether the failure ``reasons`` of a column show that its export writes a decimal comma."""
    return bool(reasons.is_in(list(DECIMAL_COMMA_REASONS)).any())


def decode_frame(
    frame: pl.DataFrame, numeric: Mapping[str, str], fmt: NumberFormat
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode the ``numeric`` text columns of ``frame`` (name to field type) in ``fmt``.

    Returns the frame with canonical number text in those columns, and one row per value that
    ``fmt`` cannot read: ``__row`` (row index), ``__field``, ``__raw`` and ``__reason``.
    """
    cols = [c for c in numeric if c in frame.columns and frame.schema[c] == pl.String]
    if not cols:
        return frame, pl.DataFrame()
    decoded = frame.select(decode_numbers(pl.col(c), fmt).alias(c) for c in cols)
    failures: list[pl.DataFrame] = []
    for c in cols:
        failed = decoded[c].is_null() & frame[c].is_not_null()
        if not failed.any():
            continue
        rows = failed.arg_true()
        raw = frame[c].gather(rows)
        reasons = raw.to_frame("v").select(
            number_reasons(pl.col("v"), fmt, whole=numeric[c] == "int").alias("r")
        )["r"]
        failures.append(
            pl.DataFrame(
                {
                    "__row": rows.cast(pl.UInt32),
                    "__field": pl.Series([c] * rows.len(), dtype=pl.String),
                    "__raw": raw,
                    "__reason": reasons,
                }
            )
        )
    frame = frame.with_columns(decoded)
    return frame, (pl.concat(failures) if failures else pl.DataFrame())
