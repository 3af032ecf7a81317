"""Regular expressions that mean the same on polars (Rust), DuckDB (RE2) and Spark (Java).

Config authors write patterns once; :func:`check_regex` rejects what any engine would
reject (look-around, back-references, what Python accepts but polars does not, such as
``a{2`` or ``\\Z``) and points at the position, and :func:`escape` quotes literal text with
only the escapes every dialect accepts.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

from revgov.errors import RevgovError, RuleDefinitionError

__all__ = ["RegexProblem", "check_regex", "escape", "regex_problem"]

_META = set("\\^$.|?*+()[]{}")

# Constructs Python accepts but the Rust and RE2 engines do not.
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "look-around assertions"),
    (re.compile(r"\\[1-9]"), "back-references"),
    (re.compile(r"\(\?P=\w+\)"), "named back-references"),
    (re.compile(r"\(\?>"), "atomic groups"),
    (re.compile(r"[*+?}]\+"), "possessive quantifiers"),
)

# The Rust regex crate's parse errors: the pattern indented by four spaces, then carets
# under the offending span, then ``error: <what>``.
_RUST_ERROR = re.compile(r"regex parse error:\n    .*\n(?P<caret> *\^+)\n(?:error: (?P<msg>.*))?")
_PY_POSITION = re.compile(r"at position (\d+)")


class _Probe(str):
    """A pattern for validation only: ``re`` caches compiled patterns by (type, text), and a
    pattern compiled earlier elsewhere would not warn again."""

    __slots__ = ()


def escape(literal: str) -> str:
    """``literal`` as a pattern matching itself, escaping only regex metacharacters."""
    return "".join("\\" + ch if ch in _META else ch for ch in literal)


@dataclass(frozen=True)
class RegexProblem:
    """Why an engine rejects a pattern: where, what, and how to fix it."""

    pattern: str
    position: int
    what: str
    detail: str
    hint: str

    @property
    def message(self) -> str:
        """What is wrong, with the pattern and a caret under the position."""
        pos = self.position
        return f"{self.what} at position {pos}{self.detail}\n  {self.pattern}\n  {' ' * pos}^"


def regex_problem(pattern: str) -> RegexProblem | None:
    """Why polars, DuckDB or Spark would reject ``pattern`` (None if every engine runs it)."""
    found = _problem(pattern)
    return None if found is None else RegexProblem(pattern, *found)


def check_regex(pattern: str, *, where: str, error: type[RevgovError] = RuleDefinitionError) -> str:
    """Return ``pattern`` if every engine can run it; else ``error`` naming ``where`` (the rule
    and config key) and the character position of the problem."""
    problem = regex_problem(pattern)
    if problem is not None:
        raise error(f"{where}: {problem.message}", hint=problem.hint)
    return pattern


@lru_cache(maxsize=512)
def _problem(pattern: str) -> tuple[int, str, str, str] | None:
    """(position, what is wrong, details, fix) for a pattern an engine rejects, else None."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            re.compile(_Probe(pattern))
        except re.error as exc:
            return (
                exc.pos if exc.pos is not None else 0,
                "invalid regular expression",
                f": {exc.msg}",
                "fix the pattern, escaping literal characters such as . ( ) [ ] { } with a "
                "backslash",
            )
    for w in caught:
        # FutureWarning: nested sets ([[:alpha:]]) and set operations (--, &&) read
        # differently in Python, Rust and Java.
        m = _PY_POSITION.search(str(w.message))
        return (
            int(m.group(1)) if m else 0,
            "ambiguous regular expression",
            f": {str(w.message).split(' at position')[0].lower()}, which Python, polars and "
            "Spark read differently",
            "write character classes out, e.g. [A-Za-z] for [[:alpha:]], and escape a literal "
            "'[' or '-' inside brackets with a backslash",
        )
    for finder, what in _UNSUPPORTED:
        m = finder.search(pattern)
        if m and not _escaped(pattern, m.start()):
            return (
                m.start(),
                f"the regular expression uses {what}",
                ", which the polars and DuckDB engines do not support",
                "rewrite the pattern without look-arounds or back-references",
            )
    return _polars_problem(pattern)


def _polars_problem(pattern: str) -> tuple[int, str, str, str] | None:
    import polars as pl  # only when a pattern is checked: loading a config stays light

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pl.select(pl.lit("").str.contains(pattern))
        except pl.exceptions.PolarsError as exc:
            text = str(exc)
            m = _RUST_ERROR.search(text)
            pos = max(m.group("caret").index("^") - 4, 0) if m else 0
            msg = m.group("msg") if m and m.group("msg") else text.splitlines()[0]
            return (
                pos,
                "invalid regular expression",
                f" (polars: {msg.strip()})",
                "Python's `re` accepts some patterns the polars (Rust) engine does not: close "
                "every {m,n}, use $ instead of \\Z, and escape a literal { with a backslash",
            )
    return None


def _escaped(pattern: str, pos: int) -> bool:
    backslashes = 0
    i = pos - 1
    while i >= 0 and pattern[i] == "\\":
        backslashes += 1
        i -= 1
    return backslashes % 2 == 1
