"""Lifecycle stages: which stage a vendor value names, and the stages' funnel order.

A value names a lifecycle stage when, under the case rule of :mod:`revgov.definitions.spelling`,
it spells the stage itself or a ``[lifecycle.map]`` key that maps to it. The mapping layer
writes canonical stages on pull (people and the ``lifecycle_stage`` stage events); the
rules and the KPIs read values through the same :class:`LifecycleStages`, so frames that did
not come through a pull mean the same too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import narwhals as nw

from revgov.definitions._expr import lit_str
from revgov.definitions.spelling import spelling_key, spelling_key_expr

if TYPE_CHECKING:
    from revgov.config import Config, LifecycleConfig

__all__ = ["LifecycleStages"]


@dataclass(frozen=True)
class LifecycleStages:
    """The canonical lifecycle stages in funnel order, and every spelling of each."""

    stages: tuple[str, ...]
    #: Spelling key to canonical stage: each stage's own name, then ``[lifecycle.map]``.
    lookup: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, config: Config) -> LifecycleStages:
        return cls.from_lifecycle(config.lifecycle)

    @classmethod
    def from_lifecycle(cls, lifecycle: LifecycleConfig) -> LifecycleStages:
        lookup = {spelling_key(s): s for s in lifecycle.stages}
        for vendor, canonical in lifecycle.map.items():
            lookup.setdefault(spelling_key(vendor), canonical)
        return cls(tuple(lifecycle.stages), tuple(lookup.items()))

    def name(self, value: str) -> str | None:
        """The canonical stage ``value`` names, in Python (None if none)."""
        return dict(self.lookup).get(spelling_key(value))

    def canonical_or_null(self, value: nw.Expr) -> nw.Expr:
        """The canonical stage ``value`` names; null when it names none."""
        key = spelling_key_expr(value)
        chain: nw.Expr = lit_str(None)
        for spelling, stage in reversed(self.lookup):
            chain = nw.when(key == spelling).then(lit_str(stage)).otherwise(chain)
        return chain

    def canonical(self, value: nw.Expr) -> nw.Expr:
        """The canonical stage ``value`` names; other values unchanged."""
        return nw.coalesce(self.canonical_or_null(value), value)

    def known(self, value: nw.Expr) -> nw.Expr:
        """``value`` names a lifecycle stage (false for null)."""
        return ~self.canonical_or_null(value).is_null()

    def order(self, value: nw.Expr) -> nw.Expr:
        """0-based funnel position of the stage ``value`` names (null if none)."""
        stage = self.canonical_or_null(value)
        chain: nw.Expr = nw.lit(None, nw.Int64())
        for i, s in reversed(list(enumerate(self.stages))):
            chain = nw.when(stage == s).then(nw.lit(i, nw.Int64())).otherwise(chain)
        return chain

    def is_one_of(self, value: nw.Expr, stages: list[str]) -> nw.Expr:
        """``value`` names one of ``stages`` (any spelling of them; false for null)."""
        wanted = [self.name(s) or s for s in stages]
        return self.canonical_or_null(value).is_in(wanted).fill_null(False)
