"""Enough SOQL for the Salesforce emulator: parse a query and compile its filter to polars.

Supported: ``SELECT f, Parent.f | COUNT() FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC], ...]
[LIMIT n]``, where ``cond`` combines ``f op value`` (``= != <> < <= > >=``), ``f [NOT] IN
(values)`` and ``f LIKE 'x%'`` with ``AND``, ``OR``, ``NOT`` and parentheses. Values are quoted
strings (with SOQL's backslash escapes), numbers, ``true``/``false``/``null``, and date and
datetime literals (``2024-01-05``, ``2024-01-05T10:00:00Z`` or ``+00:00``). Anything else is a
:class:`SoqlError` with Salesforce's error code, as the real API would answer it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

__all__ = ["Query", "SoqlError", "compile_filter", "parse"]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class Like:
    field: str
    pattern: str


@dataclass(frozen=True)
class Logic:
    op: str  # AND, OR, NOT
    parts: tuple[Any, ...]


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    where: Any = None
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at {text[pos : pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else ("end", "")

    def next(self) -> tuple[str, str]:
        token = self.peek()
        self.pos += 1
        return token

    def keyword(self, *words: str) -> bool:
        kind, value = self.peek()
        if kind == "name" and value.upper() in words:
            self.pos += 1
            return True
        return False

    def expect(self, value: str) -> None:
        _kind, got = self.next()
        if got.upper() != value.upper():
            raise SoqlError("MALFORMED_QUERY", f"expected {value} but found {got or 'end'}")

    def name(self) -> str:
        kind, value = self.next()
        if kind != "name":
            raise SoqlError("MALFORMED_QUERY", f"expected a name but found {value or 'end'}")
        return value

    def query(self) -> Query:
        self.expect("SELECT")
        fields: list[str] = []
        count = False
        if self.peek()[1].upper() == "COUNT" and self.peek(1)[1] == "(":
            self.pos += 2
            self.expect(")")
            count = True
        else:
            fields.append(self.name())
            while self.peek()[1] == ",":
                self.pos += 1
                fields.append(self.name())
        self.expect("FROM")
        q = Query(sobject=self.name(), fields=fields, count=count)
        if self.keyword("WHERE"):
            q.where = self.disjunction()
        if self.keyword("ORDER"):
            self.expect("BY")
            while True:
                name = self.name()
                descending = self.keyword("DESC")
                if not descending:
                    self.keyword("ASC")
                q.order.append((name, descending))
                if self.peek()[1] != ",":
                    break
                self.pos += 1
        if self.keyword("LIMIT"):
            q.limit = int(self.next()[1])
        if self.peek()[0] != "end":
            raise SoqlError("MALFORMED_QUERY", f"unexpected {self.peek()[1]!r}")
        return q

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Logic("OR", tuple(parts))

    def conjunction(self) -> Any:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Logic("AND", tuple(parts))

    def negation(self) -> Any:
        if self.keyword("NOT"):
            return Logic("NOT", (self.negation(),))
        if self.peek()[1] == "(":
            self.pos += 1
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.condition()

    def condition(self) -> Any:
        field_name = self.name()
        if self.keyword("NOT"):
            self.expect("IN")
            return InList(field_name, self.values(), negate=True)
        if self.keyword("IN"):
            return InList(field_name, self.values())
        if self.keyword("LIKE"):
            return Like(field_name, str(self.value()))
        kind, op = self.next()
        if kind != "op":
            raise SoqlError("MALFORMED_QUERY", f"expected an operator after {field_name}")
        return Compare(field_name, "!=" if op == "<>" else op, self.value())

    def values(self) -> tuple[Any, ...]:
        self.expect("(")
        out = []
        if self.peek()[1] != ")":
            out.append(self.value())
            while self.peek()[1] == ",":
                self.pos += 1
                out.append(self.value())
        self.expect(")")
        return tuple(out)

    def value(self) -> Any:
        kind, text = self.next()
        if kind == "string":
            body = text[1:-1]
            return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), body)
        if kind == "datetime":
            moment = text.replace("Z", "+00:00")
            if re.search(r"[+-]\d{4}$", moment):
                moment = moment[:-2] + ":" + moment[-2:]
            return datetime.fromisoformat(moment).astimezone(UTC)
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "name" and text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise SoqlError("MALFORMED_QUERY", f"unexpected value {text or 'end'}")


def parse(text: str) -> Query:
    return _Parser(text).query()


def compile_filter(node: Any, column: Callable[[str], tuple[pl.Expr, pl.DataType]]) -> pl.Expr:
    """A polars expression for a parsed filter; ``column(name)`` gives the column and dtype
    (raising SoqlError INVALID_FIELD for unknown or invisible fields)."""
    if node is None:
        return pl.lit(True)
    if isinstance(node, Logic):
        parts = [compile_filter(p, column) for p in node.parts]
        if node.op == "NOT":
            return ~parts[0]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if node.op == "AND" else (combined | part)
        return combined
    expr, dtype = column(node.field)
    if isinstance(node, InList):
        values = [_literal(v, dtype) for v in node.values]
        found = expr.is_in(values)
        return (~found if node.negate else found).fill_null(False)
    if isinstance(node, Like):
        regex = "^" + re.escape(node.pattern).replace("%", ".*").replace("_", ".") + "$"
        return expr.str.contains("(?i)" + regex).fill_null(False)
    value = _literal(node.value, dtype)
    if value is None:
        return expr.is_null() if node.op == "=" else expr.is_not_null()
    ops = {
        "=": expr == value,
        "!=": expr != value,
        "<": expr < value,
        "<=": expr <= value,
        ">": expr > value,
        ">=": expr >= value,
    }
    if node.op not in ops:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"operator {node.op}")
    return ops[node.op].fill_null(False)


def _literal(value: Any, dtype: pl.DataType) -> Any:
    if value is None:
        return None
    if isinstance(dtype, pl.Datetime):
        if not isinstance(value, datetime):
            raise SoqlError("INVALID_FIELD", f"value of incorrect type: {value!r}")
        return pl.lit(value, dtype=pl.Datetime("ms", "UTC"))
    if dtype == pl.Date() and not isinstance(value, date):
        raise SoqlError("INVALID_FIELD", f"value of incorrect type: {value!r}")
    if dtype == pl.Boolean() and not isinstance(value, bool):
        raise SoqlError("INVALID_FIELD", f"value of incorrect type: {value!r}")
    return value
