"""The registry of rule kinds: the built-ins, in one explicit table, plus plugins.

A rule kind is one module that defines a :class:`RuleKind`: the pydantic model of its
``[[rules.custom]]`` table (derived from :class:`~revgov.config.CustomRuleBase`, with ``kind``
a literal of its name), the function that builds a :class:`~revgov.rules.base.Rule` from a
validated table, and the words the rule catalogue prints. The built-ins are listed in
:data:`BUILTIN_KINDS` (name to ``module:attribute``); another package registers a kind under
the entry-point group :data:`ENTRY_POINT_GROUP`::

    [project.entry-points."revgov.rule_kinds"]
    freshness = "mypkg.freshness:KIND"

Everything that needs the kinds asks this module: the config validates each
``[[rules.custom]]`` table with a discriminated union of the kinds' models
(:func:`validate_custom_rules`), :func:`revgov.rules.from_config.config_rules` builds them,
and ``docs/rules.md`` lists them. Nothing is registered by importing a module, so the kinds
never depend on import order.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, TypeAdapter, ValidationError

from revgov.config.schema.rules import CustomRuleBase
from revgov.errors import PluginWarning, RuleDefinitionError

if TYPE_CHECKING:
    from revgov.config import Config
    from revgov.config._errors import Problem
    from revgov.rules.base import Rule

__all__ = [
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "KindContext",
    "RuleKind",
    "available_kinds",
    "get_kind",
    "validate_custom_rules",
]

ENTRY_POINT_GROUP = "revgov.rule_kinds"

#: The built-in kinds, in catalogue order: name to the ``module:attribute`` of its RuleKind.
BUILTIN_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "required": "revgov.rules.kinds.required:KIND",
        "allowed": "revgov.rules.kinds.allowed:KIND",
        "format": "revgov.rules.kinds.format:KIND",
        "pattern": "revgov.rules.kinds.pattern:KIND",
        "range": "revgov.rules.kinds.range:KIND",
        "compare": "revgov.rules.kinds.compare:KIND",
        "unique": "revgov.rules.kinds.unique:KIND",
        "reference": "revgov.rules.kinds.reference:KIND",
        "required_on_entry": "revgov.rules.kinds.required_on_entry:KIND",
    }
)


@dataclass(frozen=True)
class KindContext:
    """What building a declared rule may use: the config, where the table is written (for
    messages), and the rule's common settings (severity, threshold, owner, remediation,
    origin, and dimension and description when the table sets them) to pass on as
    keyword arguments."""

    config: Config
    where: str
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleKind:
    """One kind of rule a company can declare in ``[[rules.custom]]``.

    ``settings`` is the model of its table (``kind`` a literal of ``name``); ``build`` makes
    the rule from a validated table (its ``when`` is applied by the caller); ``summary`` and
    ``example`` (TOML) are printed in the rule catalogue.
    """

    name: str
    settings: type[CustomRuleBase]
    build: Callable[[Any, KindContext], Rule]
    summary: str
    example: str

    def __post_init__(self) -> None:
        kind = self.settings.model_fields.get("kind")
        if kind is None or getattr(kind.annotation, "__args__", ()) != (self.name,):
            raise RuleDefinitionError(
                f"rule kind {self.name!r}: its model {self.settings.__name__} must declare "
                f'kind: Literal["{self.name}"]',
                hint="derive the model from revgov.config.CustomRuleBase and narrow `kind`",
            )


def _check(obj: Any, where: str) -> RuleKind:
    if not isinstance(obj, RuleKind):
        raise RuleDefinitionError(
            f"rule kind {where} is a {type(obj).__name__}, not a revgov.rules.kinds.RuleKind",
            hint="the entry point must name a RuleKind (see docs/contributing.md)",
        )
    return obj


def _builtin(name: str) -> RuleKind:
    module, _, attr = BUILTIN_KINDS[name].partition(":")
    return _check(getattr(importlib.import_module(module), attr), name)


def available_kinds() -> dict[str, RuleKind]:
    """Every usable kind by name: the built-ins, then each plugin that loads.

    A plugin that fails to load, or that takes a built-in's name, is skipped with a
    :class:`~revgov.errors.PluginWarning`.
    """
    kinds = {name: _builtin(name) for name in BUILTIN_KINDS}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in kinds:
            if BUILTIN_KINDS.get(ep.name) != ep.value:
                warnings.warn(
                    f"rule kind plugin {ep.name} = {ep.value!r} is skipped: the name "
                    f"{ep.name!r} is already taken",
                    PluginWarning,
                    stacklevel=2,
                )
            continue
        try:
            kind = _check(ep.load(), f"{ep.name} = {ep.value!r}")
            if kind.name != ep.name:
                raise RuleDefinitionError(
                    f"rule kind plugin {ep.name} = {ep.value!r} is named {kind.name!r}"
                )
        except Exception as exc:  # a broken plugin must never break a config load
            warnings.warn(
                f"rule kind plugin {ep.name!r} skipped: {exc}", PluginWarning, stacklevel=2
            )
            continue
        kinds[ep.name] = kind
    return kinds


def get_kind(name: str) -> RuleKind:
    """The kind registered as ``name``; an unknown name suggests the closest one."""
    if name in BUILTIN_KINDS:
        return _builtin(name)
    kinds = available_kinds()
    if name in kinds:
        return kinds[name]
    close = difflib.get_close_matches(name, list(kinds), n=1)
    raise RuleDefinitionError(
        f"unknown rule kind {name!r}",
        hint=(f"did you mean {close[0]!r}? " if close else "") + f"kinds: {', '.join(kinds)}",
    )


@lru_cache(maxsize=8)
def _adapter(models: tuple[type[CustomRuleBase], ...]) -> TypeAdapter[Any]:
    """A discriminated union on ``kind`` of the kinds' models."""
    union: Any = models[0] if len(models) == 1 else Union[models]  # noqa: UP007
    return TypeAdapter(Annotated[union, Field(discriminator="kind")])


def validate_custom_rules(
    raw: Sequence[Mapping[str, Any]], *, prefix: tuple[str | int, ...]
) -> tuple[list[CustomRuleBase], list[Problem]]:
    """Validate ``[[rules.custom]]`` tables with the union of the kinds' models.

    Returns the validated tables and the problems, each located at ``prefix + (index, key)``
    with the kind's model for "did you mean".
    """
    from revgov.config._errors import nested_errors, problem_at

    if not raw:
        return [], []
    kinds = available_kinds()
    adapter = _adapter(tuple(k.settings for k in kinds.values()))
    out: list[CustomRuleBase] = []
    problems: list[Problem] = []
    for i, table in enumerate(raw):
        if isinstance(table, Mapping) and "kind" not in table:
            problems.append(
                problem_at(
                    (*prefix, i, "kind"),
                    "every [[rules.custom]] table names its kind",
                    f'add kind = "required" (kinds: {", ".join(kinds)})',
                )
            )
            continue
        try:
            out.append(adapter.validate_python(table))
        except ValidationError as exc:
            kind = kinds.get(str(table.get("kind"))) if isinstance(table, Mapping) else None
            model = kind.settings if kind is not None else CustomRuleBase
            for err, model_at in nested_errors(exc, (*prefix, i), model):
                loc = tuple(err["loc"])
                if (
                    kind is not None
                    and len(loc) > len(prefix) + 1
                    and loc[len(prefix) + 1] == kind.name
                ):
                    err["loc"] = (*loc[: len(prefix) + 1], *loc[len(prefix) + 2 :])
                problems.append((err, model_at))
    return out, problems
