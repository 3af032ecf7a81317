"""What ``revgov config check`` verifies beyond loading: everything a pull or an audit of
this config would reject before reading any record.

Loading validated every table (:mod:`revgov.config.loading`). A check also

* builds the rules: the packs load, and every rule id in ``[rules].disabled`` and in an
  override names a rule (packs can come from plugins, so this needs them);
* when the config has sources, checks that every column a declared rule reads is a column of
  the canonical model or a custom field some source keeps (else the audit would stop);
* asks each source's connector what would stop a pull (a missing export file, an unset
  variable).

Each problem names the file, the line and the key, and says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from revgov.config.schema import Config

__all__ = ["CheckProblem", "check_config"]


@dataclass(frozen=True)
class CheckProblem:
    """One problem a pull or an audit would meet: where, what, and the fix."""

    where: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" + (f"\n    fix: {self.hint}" if self.hint else "")


def _where(config: Config, *key: str | int) -> str:
    from revgov.rules.from_config import config_location

    return config_location(config, *key)


def _rule_problems(config: Config) -> list[CheckProblem]:
    from revgov.errors import RuleDefinitionError
    from revgov.rules import builtin_rules

    try:
        builtin_rules(config)
    except RuleDefinitionError as exc:
        where, _, message = exc.message.partition(": ")
        if not message:
            where, message = _where(config, "rules"), exc.message
        return [CheckProblem(where, message, exc.hint)]
    return []


def _declared_columns(config: Config) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(key, entity, column) of every column a declared rule reads."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    for i, rf in enumerate(config.required_fields):
        out += [(("required_fields", i, "fields"), rf.entity, f) for f in rf.fields]
    for i, spec in enumerate(config.rules.custom_rules):
        out += [(("rules", "custom", i), spec.target, c) for c in spec.columns()]
    return out


def _column_problems(config: Config) -> list[CheckProblem]:
    """Columns declared rules read that no pull of these sources can produce."""
    if not config.sources:
        return []  # frames come from elsewhere (Python): their columns are the caller's
    from revgov.config.schema._base import did_you_mean
    from revgov.model.frames import field_types

    problems = []
    for key, entity, column in _declared_columns(config):
        custom = {
            name
            for s in config.sources
            if entity in s.entities
            for name in s.entity_settings(entity).custom_fields
        }
        known = [*field_types(entity), *sorted(custom)]
        if column not in known:
            problems.append(
                CheckProblem(
                    _where(config, *key),
                    f"{column!r} is not a column of {entity}: the audit would stop there",
                    did_you_mean(column, known, "columns")
                    + "; keep an export column under a source's custom_fields to audit it",
                )
            )
    return problems


def _source_problems(config: Config, config_dir: Path) -> list[CheckProblem]:
    from revgov.connectors.base import ConnectorContext
    from revgov.connectors.registry import check_source

    context = ConnectorContext(config_dir)
    problems = []
    for i, source in enumerate(config.sources):
        for found in check_source(source, context):
            where = _where(config, "sources", i)
            problems.append(CheckProblem(where, f"source {source.name!r}: {found}"))
    return problems


def check_config(config: Config, *, config_dir: Path | None = None) -> list[CheckProblem]:
    """Every problem a pull or an audit of ``config`` would meet before reading a record.

    ``config_dir`` is where relative export paths resolve (default: the config file's
    directory, else the working directory).
    """
    base = config_dir or (config.path.parent if config.path else Path.cwd())
    return [*_rule_problems(config), *_column_problems(config), *_source_problems(config, base)]
