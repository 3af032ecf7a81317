"""Turn TOML and pydantic errors into ConfigErrors that name the file, line, key and a fix."""

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

from revgov.config.secrets import redact
from revgov.errors import ConfigSyntaxError, ConfigValidationError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*(?:\.|$)""")


def parse_toml(text: str, *, path: Path | None) -> dict[str, Any]:
    """Parse TOML text to plain Python values; a syntax error names the line and column."""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        where = f"{path}:{exc.line}:{exc.col}" if path else f"line {exc.line}, column {exc.col}"
        line = text.splitlines()[exc.line - 1] if 0 < exc.line <= len(text.splitlines()) else ""
        raise ConfigSyntaxError(
            f"{where}: invalid TOML ({type(exc).__name__}) near: {line.strip()!r}",
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
    from revgov.config import Config

    current: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = _unwrap(field.annotation)
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


def _suggest(err: ErrorDetails, model_at: ModelAt) -> str | None:
    loc = tuple(err["loc"])
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


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


#: Finds the pydantic model that holds the last key of an error's location (for "did you mean").
ModelAt = Callable[[tuple[str | int, ...]], type[BaseModel] | None]


def validation_error(
    exc: ValidationError, *, path: Path | None, text: str | None
) -> ConfigValidationError:
    """One ConfigValidationError listing every problem with its line and a suggestion."""
    return config_problems([(err, _model_at) for err in exc.errors()], path=path, text=text)


def nested_errors(
    exc: ValidationError, prefix: tuple[str | int, ...], model: type[BaseModel]
) -> list[tuple[ErrorDetails, ModelAt]]:
    """The errors of a model validated on its own (e.g. a connector's settings) as if they were
    at ``prefix`` in revgov.toml, each with the model that explains its keys."""

    def model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
        current: Any = model
        for part in loc[len(prefix) : -1]:
            if isinstance(part, int):
                continue
            if not (isinstance(current, type) and issubclass(current, BaseModel)):
                return None
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = _unwrap(field.annotation)
        return current if isinstance(current, type) and issubclass(current, BaseModel) else None

    out: list[tuple[ErrorDetails, ModelAt]] = []
    for err in exc.errors():
        moved = dict(err)
        moved["loc"] = (*prefix, *err["loc"])
        out.append((typing.cast(ErrorDetails, moved), model_at))
    return out


def config_problems(
    errors: Sequence[tuple[ErrorDetails, ModelAt]], *, path: Path | None, text: str | None
) -> ConfigValidationError:
    """One ConfigValidationError listing every problem with its line and a suggestion."""
    lines = key_lines(text) if text else {}
    problems: list[str] = []
    hints: list[str] = []
    for err, model_at in errors:
        loc = tuple(err["loc"])
        line = _line_for(loc, lines)
        where = f"{path}:{line}" if path and line else (str(path) if path else "config")
        key = _dotted(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        shown = (
            ""
            if err["type"] in ("extra_forbidden", "missing")
            else f" (got {_short(err['input'])})"
        )
        problems.append(f"{where}: {key}: {msg}{shown}")
        hint = _suggest(err, model_at)
        if hint:
            hints.append(f"{key}: {hint}")
    count = len(problems)
    head = f"{count} problem{'s' if count > 1 else ''} in the config:\n  " + "\n  ".join(problems)
    return ConfigValidationError(head, hint="\n       ".join(hints) if hints else None)
