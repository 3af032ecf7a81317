"""Regular expressions that mean the same on polars (Rust), DuckDB (RE2) and Spark (Java).

Config authors write patterns once; :func:`check_regex` rejects what any engine would
reject (look-around, back-references) and points at the position, and :func:`escape` quotes
literal text with only the escapes every dialect accepts.
"""

from __future__ import annotations

import re

from revgov.errors import RuleDefinitionError

__all__ = ["check_regex", "escape"]

_META = set("\\^$.|?*+()[]{}")

# Constructs Python accepts but the Rust and RE2 engines do not.
_UNSUPPORTED = (
    (re.compile(r"\(\?<?[=!]"), "look-around assertions"),
    (re.compile(r"\\[1-9]"), "back-references"),
    (re.compile(r"\(\?P=\w+\)"), "named back-references"),
    (re.compile(r"\(\?>"), "atomic groups"),
    (re.compile(r"[*+?}]\+"), "possessive quantifiers"),
)


def escape(literal: str) -> str:
    """``literal`` as a pattern matching itself, escaping only regex metacharacters."""
    return "".join("\\" + ch if ch in _META else ch for ch in literal)


def check_regex(pattern: str, *, where: str) -> str:
    """Return ``pattern`` if every engine can run it; else a RuleDefinitionError naming
    ``where`` (the rule or config key) and the character position of the problem."""
    try:
        re.compile(pattern)
    except re.error as exc:
        pos = exc.pos if exc.pos is not None else 0
        raise RuleDefinitionError(
            f"{where}: invalid regular expression at position {pos}: {exc.msg}\n"
            f"  {pattern}\n  {' ' * pos}^",
            hint="fix the pattern (test it with Python's `re`), escaping literal characters "
            "such as . ( ) [ ] with a backslash",
        ) from None
    for finder, what in _UNSUPPORTED:
        m = finder.search(pattern)
        if m and not _escaped(pattern, m.start()):
            pos = m.start()
            raise RuleDefinitionError(
                f"{where}: the regular expression uses {what} at position {pos}, which the "
                f"polars and DuckDB engines do not support\n  {pattern}\n  {' ' * pos}^",
                hint="rewrite the pattern without look-arounds or back-references",
            )
    return pattern


def _escaped(pattern: str, pos: int) -> bool:
    backslashes = 0
    i = pos - 1
    while i >= 0 and pattern[i] == "\\":
        backslashes += 1
        i -= 1
    return backslashes % 2 == 1
