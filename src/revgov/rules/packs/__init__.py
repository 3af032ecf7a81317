"""Rule packs: the built-in baseline, and packs that other packages register.

A pack is a function ``config -> list[Rule]``. ``[rules] packs = [...]`` in revgov.toml picks
the packs to run (default ``["baseline"]``). Third-party packs register under the entry-point
group ``revgov.rule_packs``; a pack that fails to load gives a warning, never a crash.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from revgov.config import Config
from revgov.errors import RuleDefinitionError
from revgov.rules.base import Rule
from revgov.rules.from_config import apply_settings, config_location, config_rules
from revgov.rules.governance import govern
from revgov.rules.packs.baseline import baseline

__all__ = [
    "BUILTIN_PACKS",
    "ENTRY_POINT_GROUP",
    "Pack",
    "available_packs",
    "builtin_rules",
    "load_pack",
]

Pack = Callable[[Config], Sequence[Rule]]
ENTRY_POINT_GROUP = "revgov.rule_packs"


def _baseline(config: Config) -> list[Rule]:
    return baseline(config)


BUILTIN_PACKS: dict[str, Pack] = {"baseline": _baseline}


def available_packs() -> dict[str, Pack]:
    """Built-in packs plus every pack that loads from the entry-point group."""
    packs = dict(BUILTIN_PACKS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in packs:
            continue
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not break audits
            warnings.warn(f"rule pack {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=2)
            continue
        if callable(loaded):
            packs[ep.name] = loaded
        else:
            warnings.warn(f"rule pack {ep.name!r} is not callable; ignored", stacklevel=2)
    return packs


def load_pack(name: str) -> Pack:
    packs = available_packs() if name not in BUILTIN_PACKS else BUILTIN_PACKS
    try:
        return packs[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(packs), n=1)
        raise RuleDefinitionError(
            f"unknown rule pack {name!r}",
            hint=(f"did you mean {close[0]!r}? " if close else "") + f"packs: {', '.join(packs)}",
        ) from None


def builtin_rules(config: Config | None = None) -> list[Rule]:
    """The rules an audit runs by default: the configured packs, then the rules the config
    declares (a declared rule replaces a pack rule of the same id), with ``[rules]``
    overrides and ``disabled`` applied, and each rule's definition named
    (:func:`revgov.rules.governance.govern`)."""
    cfg = config if config is not None else Config()
    s = cfg.rules
    rules: dict[str, Rule] = {}
    for i, name in enumerate(s.packs):
        try:
            pack = load_pack(name)
        except RuleDefinitionError as exc:
            where = config_location(cfg, "rules", "packs", i)
            raise RuleDefinitionError(f"{where}: {exc.message}", hint=exc.hint) from None
        for r in pack(cfg):
            bound = r.bind(cfg)
            if bound.id in rules:
                raise RuleDefinitionError(
                    f"pack {name!r} repeats rule id {bound.id!r}",
                    hint="rule ids must be unique across the packs you enable",
                )
            rules[bound.id] = bound
    for r in config_rules(cfg):
        rules[r.id] = r
    return govern(apply_settings(list(rules.values()), s, cfg), cfg)
