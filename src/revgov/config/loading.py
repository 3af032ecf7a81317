"""Reading ``revgov.toml``: parse, validate every table, bind what plugins define, report all.

Validation is in three steps, every problem of each reported at once with its file, line, key
and fix (:mod:`revgov.config._errors`):

1. the models of :mod:`revgov.config.schema` (types, invariants, checks across tables);
2. each ``[[rules.custom]]`` table by the model of its rule kind (built-in or plugin);
3. each source's ``options`` and entity tables by its connector's own settings models, and
   each entity mapping against the canonical model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from revgov.config.schema import Config

if TYPE_CHECKING:
    from revgov.config._errors import Problem

__all__ = ["config_from_dict", "config_from_text", "load_config"]


def _bind(cfg: Config) -> list[Problem]:
    """Custom rules and sources, validated by the models their kinds and connectors own."""
    from revgov.config._errors import problem_at, relocate
    from revgov.errors import UnknownConnectorError

    problems = cfg.rules.bind()
    for i, source in enumerate(cfg.sources):
        try:
            found = source.bind()
        except UnknownConnectorError as exc:
            problems.append(
                problem_at(
                    ("sources", i, "connector"), exc.message, exc.hint, value=source.connector
                )
            )
            continue
        problems += relocate([*found, *source.mapping_problems()], ("sources", i))
    return problems


def _validate(data: dict[str, Any], *, path: Path | None, text: str | None) -> Config:
    from revgov.config._errors import config_problems, problem_at, validation_problems
    from revgov.config.secrets import secret_problems

    # Credentials first, located by key and never shown (the models would echo bad values).
    secrets = [problem_at(loc, what, fix) for loc, what, fix in secret_problems(data)]
    if secrets:
        raise config_problems(secrets, path=path, text=text)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise config_problems(validation_problems(exc), path=path, text=text) from None
    problems = _bind(cfg)
    if problems:
        raise config_problems(problems, path=path, text=text)
    return cfg


def config_from_dict(data: dict[str, Any], *, path: Path | None = None) -> Config:
    """Validate an already-parsed mapping (e.g. built in a notebook)."""
    cfg = _validate(data, path=path, text=None)
    cfg._path = path
    return cfg


def config_from_text(text: str, *, path: Path | None = None) -> Config:
    """Validate revgov.toml text (e.g. one ``revgov init`` is about to write); errors name
    the line, key and a fix."""
    from revgov.config._errors import parse_toml

    cfg = _validate(parse_toml(text, path=path), path=path, text=text)
    cfg._path = path
    return cfg


def _read_text(path: Path) -> str:
    """The config file as text; bytes that are not UTF-8 are an error naming their line."""
    from revgov.errors import ConfigNotFoundError, ConfigSyntaxError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigNotFoundError(
            f"config file {str(path)!r} cannot be read: {exc.strerror or type(exc).__name__}",
            hint="check the file's permissions, or pass --config PATH",
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigSyntaxError(
            f"{path}:{line}: byte 0x{data[exc.start]:02x} is not UTF-8, so the config is not a "
            "TOML text file",
            hint="save revgov.toml as UTF-8 text (it is binary, or in another encoding)",
        ) from None


def load_config(path: str | Path) -> Config:
    """Read and validate ``revgov.toml``; errors name the file, line, key and a fix."""
    from revgov.errors import ConfigNotFoundError

    p = Path(path)
    if not p.is_file():
        raise ConfigNotFoundError(
            f"config file {str(p)!r} does not exist",
            hint="pass --config PATH, or run `revgov demo` to write an example revgov.toml",
        )
    cfg = config_from_text(_read_text(p), path=p)
    cfg._path = p.resolve()
    return cfg
