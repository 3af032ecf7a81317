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

    def _key(self, value: nw.Expr, key: nw.Expr | None) -> nw.Expr:
        return key if key is not None else spelling_key_expr(value)

    def canonical_or_null(self, value: nw.Expr, *, key: nw.Expr | None = None) -> nw.Expr:
        """The canonical stage ``value`` names; null when it names none. ``key``: the
        spelling key of ``value`` when the caller has it as a column (much cheaper: polars
        evaluates every branch of the chain)."""
        k = self._key(value, key)
        chain: nw.Expr = lit_str(None)
        for spelling, stage in reversed(self.lookup):
            chain = nw.when(k == spelling).then(lit_str(stage)).otherwise(chain)
        return chain

    def canonical(self, value: nw.Expr, *, key: nw.Expr | None = None) -> nw.Expr:
        """The canonical stage ``value`` names; other values unchanged."""
        return nw.coalesce(self.canonical_or_null(value, key=key), value)

    def known(self, value: nw.Expr, *, key: nw.Expr | None = None) -> nw.Expr:
        """``value`` names a lifecycle stage (false for null)."""
        return self._key(value, key).is_in([k for k, _ in self.lookup]).fill_null(False)

    def order(self, value: nw.Expr, *, key: nw.Expr | None = None) -> nw.Expr:
        """0-based funnel position of the stage ``value`` names (null if none)."""
        k = self._key(value, key)
        position = {s: i for i, s in enumerate(self.stages)}
        chain: nw.Expr = nw.lit(None, nw.Int64())
        for spelling, stage in reversed(self.lookup):
            chain = (
                nw.when(k == spelling).then(nw.lit(position[stage], nw.Int64())).otherwise(chain)
            )
        return chain

    def is_one_of(
        self, value: nw.Expr, stages: list[str], *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """``value`` names one of ``stages`` (any spelling of them; false for null)."""
        wanted = {self.name(s) or s for s in stages}
        spellings = [k for k, stage in self.lookup if stage in wanted]
        return self._key(value, key).is_in(spellings).fill_null(False)
