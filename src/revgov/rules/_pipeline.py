"""Expressions over the governed pipelines and lifecycle: stage known, order, open, closed.

Every opportunity belongs to its ``pipeline`` column's pipeline (the first configured pipeline
when blank). Stage names may repeat across pipelines with other orders, so lookups key on
(pipeline, stage).
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from revgov.config import Config, PipelineConfig, StageConfig
from revgov.rules._expr import any_of, is_in, lit_str

__all__ = ["Lifecycle", "Pipelines"]


@dataclass(frozen=True)
class Pipelines:
    pipelines: tuple[PipelineConfig, ...]

    @classmethod
    def of(cls, config: Config) -> Pipelines:
        return cls(tuple(config.pipelines))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.pipelines]

    @property
    def default(self) -> str | None:
        return self.pipelines[0].name if self.pipelines else None

    def pipe(self, column: str = "pipeline") -> nw.Expr:
        """The deal's pipeline, the default one when blank."""
        return nw.coalesce(nw.col(column), lit_str(self.default))

    def pipeline_known(self, column: str = "pipeline") -> nw.Expr:
        return is_in(nw.col(column), self.names)

    def _where(self, stage: nw.Expr, pipe: nw.Expr, pred: str) -> nw.Expr:
        parts = []
        for p in self.pipelines:
            names = [s.name for s in p.stages if _test(s, pred)]
            if names:
                parts.append((pipe == p.name) & stage.is_in(names))
        return any_of(parts).fill_null(False) if parts else nw.lit(False)

    def known(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        """Stage is a stage of the deal's pipeline (false for null)."""
        return self._where(stage, pipe, "any")

    def closed(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        return self._where(stage, pipe, "closed")

    def won(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        return self._where(stage, pipe, "won")

    def open(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        """A known stage that is not closed."""
        return self._where(stage, pipe, "open")

    def progress(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        """A known stage that moves a deal forward: open or won (not closed-lost)."""
        return self._where(stage, pipe, "progress")

    def order(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        """The stage's order in the deal's pipeline (null if unknown)."""
        chain: nw.Expr = nw.lit(None, nw.Int64())
        for p in reversed(self.pipelines):
            for s in reversed(p.stages):
                chain = (
                    nw.when((pipe == p.name) & (stage == s.name))
                    .then(nw.lit(s.order, nw.Int64()))
                    .otherwise(chain)
                )
        return chain

    def canonical(self, stage: nw.Expr, pipe: nw.Expr) -> nw.Expr:
        """Vendor spellings (``aliases``) to stage names; other values unchanged."""
        chain = stage
        for p in reversed(self.pipelines):
            for s in reversed(p.stages):
                if s.aliases:
                    chain = (
                        nw.when((pipe == p.name) & stage.is_in(s.aliases))
                        .then(lit_str(s.name))
                        .otherwise(chain)
                    )
        return chain


def _test(stage: StageConfig, pred: str) -> bool:
    closed, won = stage.is_closed, stage.is_won
    return {
        "any": True,
        "closed": closed,
        "won": won,
        "open": not closed,
        "progress": (not closed) or won,
    }[pred]


@dataclass(frozen=True)
class Lifecycle:
    stages: tuple[str, ...]
    mapping: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, config: Config) -> Lifecycle:
        lc = config.lifecycle
        return cls(tuple(lc.stages), tuple((k.lower(), v) for k, v in lc.map.items()))

    def canonical(self, value: nw.Expr) -> nw.Expr:
        """Vendor lifecycle values (any case) mapped to canonical stages; others unchanged."""
        chain = value
        low = value.str.to_lowercase()
        for vendor, canonical in reversed(self.mapping):
            chain = nw.when(low == vendor).then(lit_str(canonical)).otherwise(chain)
        return chain

    def known(self, value: nw.Expr) -> nw.Expr:
        return is_in(value, self.stages).fill_null(False)

    def order(self, value: nw.Expr) -> nw.Expr:
        chain: nw.Expr = nw.lit(None, nw.Int64())
        for i, s in reversed(list(enumerate(self.stages))):
            chain = nw.when(value == s).then(nw.lit(i, nw.Int64())).otherwise(chain)
        return chain
