"""Turn TOML and pydantic errors into ConfigErrors that name the file, line, key and a fix.

A *problem* is a pydantic error (its ``loc`` a key path from the top of revgov.toml) with a
way to find the model that holds its last key, for "did you mean". The models' own checks
raise :func:`revgov.config.schema.invalid` errors, whose ``at`` (a key below the table) and
``hint`` (the fix) are read here.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from revgov.config.schema._base import INVALID
from revgov.config.secrets import redact
from revgov.errors import ConfigSyntaxError, ConfigValidationError

__all__ = [
    "ModelAt",
    "Problem",
    "config_problems",
    "dotted_key",
    "key_lines",
    "nested_errors",
    "parse_toml",
    "problem_at",
    "relocate",
    "validation_problems",
]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*(?:\.|$)""")


def parse_toml(text: str, *, path: Path | None) -> dict[str, Any]:
    """Parse TOML text to plain Python values; a syntax error names the line and column."""
    if "\x00" in text:
        # Binary content: say where, never echo it (it may be any file, and unreadable).
        at = text.count("\n", 0, text.index("\x00")) + 1
        where = f"{path}:{at}" if path else f"line {at}"
        raise ConfigSyntaxError(
            f"{where}: the config holds NUL bytes, so it is not a TOML text file",
            hint="point --config at the revgov.toml text file (UTF-8), or recreate it with "
            "`revgov init`",
        )
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        where = f"{path}:{exc.line}:{exc.col}" if path else f"line {exc.line}, column {exc.col}"
        line = text.splitlines()[exc.line - 1] if 0 < exc.line <= len(text.splitlines()) else ""
        near = line.strip()
        near = near if len(near) <= 80 else near[:77] + "..."
        raise ConfigSyntaxError(
            f"{where}: invalid TOML ({type(exc).__name__}) near: {near!r}",
            hint="check quotes, brackets and `key = value` pairs on that line",
        ) from None
    unwrapped: dict[str, Any] = doc.unwrap()
    return unwrapped


def _split_key(key: str) -> list[str]:
    return [m.strip("\"'") for m in _PART.findall(key)]


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each key path in the TOML text (arrays of tables by index) to its 1-based line."""
    lines: dict[tuple[str | int, ...], int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: tuple[str | int, ...] = ()
    for n, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith("#"):
            parts = tuple(_split_key(header.group(2)))
            if header.group(1) == "[[":
                idx = array_counts.get(parts, 0)
                array_counts[parts] = idx + 1
                current = (*_with_indices(parts, array_counts), idx)
            else:
                current = _with_indices(parts, array_counts)
            for i in range(1, len(current) + 1):
                lines.setdefault(current[:i], n)
            continue
        key = _KEY.match(raw)
        if key and not raw.lstrip().startswith("#"):
            full = current + tuple(_split_key(key.group(1)))
            for i in range(len(current) + 1, len(full) + 1):
                lines.setdefault(full[:i], n)
    return lines


def _with_indices(
    parts: tuple[str, ...], array_counts: dict[tuple[str, ...], int]
) -> tuple[str | int, ...]:
    """Insert the current index of every enclosing array of tables into a header path."""
    out: list[str | int] = []
    for i, p in enumerate(parts):
        out.append(p)
        prefix = parts[: i + 1]
        if i < len(parts) - 1 and prefix in array_counts:
            out.append(array_counts[prefix] - 1)
    return tuple(out)


def _line_for(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for i in range(len(loc), 0, -1):
        if loc[:i] in lines:
            return lines[loc[:i]]
    return None


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of ``loc`` (for "did you mean")."""
    from revgov.config.schema import Config

    return _walk(Config, loc[:-1])


def _walk(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model reached from ``model`` along the keys of ``path`` (list indices skipped)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is not None:
            current = _unwrap(field.annotation)
        elif current.model_config.get("extra") == "allow":
            # Typed extras (``[rules."<rule id>"]``): the type of every extra value.
            extra = current.__annotations__.get("__pydantic_extra__")
            current = _unwrap(typing.get_type_hints(current).get("__pydantic_extra__", extra))
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """list[X] -> X, dict[K, X] -> X, X | None -> X."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (list, dict) and args:
            annotation = args[-1]
        elif origin in (typing.Union, types.UnionType) and len(args) == 1:
            annotation = args[0]
        else:
            return annotation


def _suggest(err: ErrorDetails, loc: tuple[str | int, ...], model_at: ModelAt) -> str | None:
    ctx = err.get("ctx") or {}
    if err["type"] == INVALID:
        hint = ctx.get("hint")
        return str(hint) if hint else None
    if err["type"] == "union_tag_invalid":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        close = difflib.get_close_matches(str(ctx.get("tag", "")), options, n=1, cutoff=0.5)
        return (f"did you mean {close[0]!r}? " if close else "") + f"kinds: {', '.join(options)}"
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        model = model_at(loc)
        if model is not None:
            typo = loc[-1]
            close = difflib.get_close_matches(typo, model.model_fields, n=1, cutoff=0.5) or [
                k for k in model.model_fields if typo.startswith(k) or k.startswith(typo)
            ]
            if close:
                return f"did you mean {close[0]!r}?"
            return f"valid keys here: {', '.join(model.model_fields)}"
    if err["type"] == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        close = difflib.get_close_matches(str(err["input"]), options, n=1, cutoff=0.5)
        if close:
            return f"did you mean {close[0]!r}?"
        return f"use one of: {', '.join(options)}"
    if err["type"] == "missing":
        return f"add `{loc[-1]} = ...`" if loc else None
    return None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(redact(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dotted_key(loc: Sequence[str | int]) -> str:
    """A key path as written in messages: ``rules.custom[0].pattern``, rule ids in quotes."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = f'"{part}"' if "." in part else part  # a rule id, written in quotes in TOML
        out += f".{key}" if out else key
    return out


#: Finds the pydantic model that holds the last key of an error's location (for "did you mean").
ModelAt = Callable[[tuple[str | int, ...]], type[BaseModel] | None]

#: One problem of a config: the error (``loc`` from the top of revgov.toml) and its ModelAt.
Problem = tuple[ErrorDetails, ModelAt]


def validation_problems(exc: ValidationError) -> list[Problem]:
    """The errors of validating the whole config (:class:`~revgov.config.schema.Config`)."""
    return [(err, _model_at) for err in exc.errors()]


def _no_model(_loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    return None


def problem_at(
    loc: tuple[str | int, ...], message: str, hint: str | None, *, value: Any = None
) -> Problem:
    """A problem found outside pydantic (a connector, a mapping), at ``loc``, with its fix."""
    detail: ErrorDetails = {
        "type": INVALID,
        "loc": loc,
        "msg": message,
        "input": value,
        "ctx": {"message": message, "at": (), "hint": hint},
    }
    return (detail, _no_model)


def relocate(problems: Sequence[Problem], prefix: tuple[str | int, ...]) -> list[Problem]:
    """``problems`` found in a part of the config, located from the top of revgov.toml."""
    out: list[Problem] = []
    for err, model_at in problems:
        moved = dict(err)
        moved["loc"] = (*prefix, *err["loc"])
        out.append((typing.cast(ErrorDetails, moved), _shifted(model_at, len(prefix))))
    return out


def _shifted(model_at: ModelAt, n: int) -> ModelAt:
    """``model_at`` of locations that gained ``n`` leading keys."""
    return lambda loc: model_at(loc[n:])


def nested_errors(
    exc: ValidationError, prefix: tuple[str | int, ...], model: type[BaseModel]
) -> list[Problem]:
    """The errors of a model validated on its own (e.g. a connector's settings) as if they were
    at ``prefix`` in revgov.toml, each with the model that explains its keys."""

    def model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
        return _walk(model, loc[:-1])

    return relocate([(err, model_at) for err in exc.errors()], prefix)


def _location(err: ErrorDetails) -> tuple[str | int, ...]:
    """The key an error is about: its ``loc``, plus the ``at`` of an :func:`invalid` error;
    a discriminated union's tag (``rules.custom[0].required.fields``) is not a key."""
    loc = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    if err["type"] == INVALID:
        loc = (*loc, *ctx.get("at", ()))
    elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")
    return loc


def config_problems(
    errors: Sequence[Problem], *, path: Path | None, text: str | None
) -> ConfigValidationError:
    """One ConfigValidationError listing every problem with its line and a suggestion."""
    lines = key_lines(text) if text else {}
    problems: list[str] = []
    hints: list[str] = []
    for err, model_at in errors:
        loc = _location(err)
        line = _line_for(loc, lines)
        where = f"{path}:{line}" if path and line else (str(path) if path else "config")
        key = dotted_key(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        shown = (
            ""
            if err["type"]
            in ("extra_forbidden", "missing", INVALID, "union_tag_invalid", "union_tag_not_found")
            else f" (got {_short(err['input'])})"
        )
        problems.append(f"{where}: {key}: {msg}{shown}")
        hint = _suggest(err, loc, model_at)
        if hint:
            hints.append(f"{key}: {hint}")
    count = len(problems)
    head = f"{count} problem{'s' if count > 1 else ''} in the config:\n  " + "\n  ".join(problems)
    return ConfigValidationError(head, hint="\n       ".join(hints) if hints else None)
