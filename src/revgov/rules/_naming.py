"""The campaign naming rule's expressions: the verdict and message of
:func:`revgov.definitions.naming.parse_campaign_name` for a whole column.

The template itself (compiling, parsing one name) is the governed definition in
:mod:`revgov.definitions.naming`; the words here are kept identical to its
:func:`~revgov.definitions.naming.reason`, and tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from revgov.definitions._regex import escape
from revgov.definitions.naming import (
    CampaignName,
    NamingTemplate,
    Token,
    TokenProblem,
    compile_template,
    join_words,
    parse_campaign_name,
)
from revgov.rules._expr import lit_str, text

__all__ = [
    "CampaignName",
    "NamingExprs",
    "TokenProblem",
    "compile_template",
    "naming_expressions",
    "parse_campaign_name",
]


@dataclass(frozen=True)
class NamingExprs:
    """``violation`` (bool) and ``message`` (text) for a column of names."""

    violation: nw.Expr
    message: nw.Expr


def naming_expressions(column: str, tpl: NamingTemplate) -> NamingExprs:
    """The verdict and the message of :func:`parse_campaign_name`, as expressions."""
    name = nw.col(column)
    last = len(tpl.tokens) - 1
    violation = ~name.str.contains(tpl.regex)
    message: nw.Expr = lit_str("name does not match the template")
    # Build the first-failure chain from the last token backwards so the earliest wins.
    for k in range(last, -1, -1):
        tok = tpl.tokens[k]
        ok_k = name.str.contains(tpl.prefix_regex(k))
        rest = name.str.replace_all(tpl.prefix_regex(k - 1), "") if (k or tpl.prefix) else name
        value = rest.str.replace_all(escape(tok.after) + r"[\s\S]*$", "") if tok.after else rest
        valid = value.str.contains(f"^(?:{tok.pattern})$")
        msg = _reason_expr(tok, value, valid=valid, last=k == last)
        message = nw.when(~ok_k).then(msg).otherwise(message)
    shape = _structure_message(name, tpl)
    if shape is not None:
        bad_shape, shape_message = shape
        message = nw.when(bad_shape).then(shape_message).otherwise(message)
    if tpl.prefix:
        message = (
            nw.when(~name.str.starts_with(tpl.prefix))
            .then(lit_str(f"name does not start with {tpl.prefix!r}"))
            .otherwise(message)
        )
    return NamingExprs(violation=violation, message=message)


def _structure_message(name: nw.Expr, tpl: NamingTemplate) -> tuple[nw.Expr, nw.Expr] | None:
    """(the name has the wrong shape, the message) as
    :func:`revgov.definitions.naming.structure_counts` and
    :func:`~revgov.definitions.naming.structure_reason` read it; None for a template of one
    token (no separators)."""
    sep = tpl.separator_regex
    if sep is None:
        return None
    rest = name.str.replace_all("^" + escape(tpl.prefix), "") if tpl.prefix else name
    masked = rest.str.replace_all(tpl.mask_regex, "x") if tpl.mask_regex else rest
    if tpl.suffix:
        masked = masked.str.replace_all(escape(tpl.suffix) + "$", "")
    marks = masked.str.replace_all(sep, "\x01").str.replace_all("[^\x01]", "")
    found = marks.str.len_chars() + 1
    seps = masked.str.replace_all(f"[^{tpl.separator_chars}]+", "")
    n = len(tpl.tokens)
    bad = ~name.str.contains(tpl.structure_regex) & ((found != n) | (seps != tpl.separators))
    count = text(
        "wrong number of tokens: ",
        found.cast(nw.String()),
        f" where the template {tpl.template!r} has {n}",
    )
    separators = text(
        "wrong separators: '", seps, f"' where the template {tpl.template!r} has {tpl.separators!r}"
    )
    return bad.fill_null(False), nw.when(found != n).then(count).otherwise(separators)


def _reason_expr(tok: Token, value: nw.Expr, *, valid: nw.Expr, last: bool) -> nw.Expr:
    sep = (
        text(f"unexpected text after token {tok.name}='", value, "'")
        if last
        else text(f"expected {tok.after!r} after token {tok.name}='", value, "'")
    )
    if tok.vocabulary is not None:
        allowed = f"; allowed: {join_words(tok.vocabulary)}"
        lower = value.str.to_lowercase()
        case_hint = (
            nw.when((lower != value) & lower.is_in(list(tok.vocabulary)))
            .then(text(" (use lowercase '", lower, "')"))
            .otherwise(lit_str(""))
        )
        bad = nw.concat_str(
            [
                text(f"token {tok.name}='", value, "' is not an allowed value"),
                case_hint,
                lit_str(allowed),
            ]
        )
    else:
        bad = text(f"token {tok.name}='", value, f"' does not match the pattern {tok.pattern}")
    empty = lit_str(f"token {tok.name} is empty")
    return nw.when(value == "").then(empty).when(valid).then(sep).otherwise(bad)
