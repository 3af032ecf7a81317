"""Pipeline stages: which stage a value names, and the stage's order, probability and outcome.

Every deal belongs to its ``pipeline`` column's pipeline (the first configured pipeline when
blank; a pipeline name that is not configured has no stages). A value names a stage when it
matches the stage's name or one of its aliases under the one case rule of
:mod:`revgov.definitions.spelling`. When the deal's pipeline is not known (a stage event
read on its own), the first configured pipeline that has the spelling decides.

The stage tables of ``revgov.toml`` are small, so they become ``when/then`` chains rather
than joined frames: that keeps every rule and KPI a single query on any engine. The mapping
layer (canonical stage names and closed/won flags on pull, and the from/to values of stage
events), the rules and the KPIs all read stages through :class:`PipelineStages`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import narwhals as nw

from revgov.definitions._expr import any_of, is_in, lit_str
from revgov.definitions.spelling import spelling_key, spelling_key_expr

if TYPE_CHECKING:
    from revgov.config import Config, PipelineConfig, StageConfig

__all__ = [
    "FunnelStage",
    "PipelineStages",
    "StageAttr",
    "funnel_position",
    "funnel_stages",
]

#: What :meth:`PipelineStages.attr` reads of a stage.
StageAttr = Literal["name", "order", "probability", "is_closed", "is_won"]

_DTYPES: dict[str, Any] = {
    "name": nw.String(),
    "order": nw.Int64(),
    "probability": nw.Float64(),
    "is_closed": nw.Boolean(),
    "is_won": nw.Boolean(),
}


def _keys(stage: StageConfig) -> list[str]:
    return sorted({spelling_key(s) for s in stage.spellings})


@dataclass(frozen=True)
class PipelineStages:
    """The configured pipelines' stages, as expressions over a stage column."""

    pipelines: tuple[PipelineConfig, ...]

    @classmethod
    def of(cls, config: Config) -> PipelineStages:
        return cls(tuple(config.pipelines))

    @classmethod
    def from_pipelines(cls, pipelines: PipelineConfig | Sequence[PipelineConfig]) -> PipelineStages:
        from revgov.config import PipelineConfig

        if isinstance(pipelines, PipelineConfig):
            return cls((pipelines,))
        return cls(tuple(pipelines))

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.pipelines]

    @property
    def default(self) -> str | None:
        """The pipeline of deals whose pipeline is blank: the first configured one."""
        return self.pipelines[0].name if self.pipelines else None

    def pipe(self, column: str = "pipeline") -> nw.Expr:
        """The deal's pipeline, the default one when blank."""
        return nw.coalesce(nw.col(column), lit_str(self.default))

    def pipeline_known(self, column: str = "pipeline") -> nw.Expr:
        return is_in(nw.col(column), self.names)

    def attr(
        self,
        attr: StageAttr,
        stage: nw.Expr,
        pipe: nw.Expr | None = None,
        *,
        key: nw.Expr | None = None,
    ) -> nw.Expr:
        """The configured ``attr`` of the stage ``stage`` names (null for no stage).

        With ``pipe`` (the deal's pipeline, see :meth:`pipe`) the stage is looked up in that
        pipeline only; without, in the first configured pipeline that has the spelling.
        ``key`` is the spelling key of ``stage`` when the caller has it as a column already:
        polars evaluates every branch of a chain, so a key computed once is much cheaper.
        """
        k = key if key is not None else spelling_key_expr(stage)
        dtype = _DTYPES[attr]
        chain: Any = None
        for p in self.pipelines:
            for s in p.stages:
                cond = k.is_in(_keys(s))
                if pipe is not None:
                    cond = (pipe == p.name) & cond
                value = nw.lit(getattr(s, attr), dtype)
                chain = nw.when(cond).then(value) if chain is None else chain.when(cond).then(value)
        if chain is None:
            return nw.lit(None, dtype)
        out: nw.Expr = chain.otherwise(nw.lit(None, dtype))
        return out

    def canonical(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """The name of the stage ``stage`` spells; a value that names no stage unchanged."""
        return nw.coalesce(self.attr("name", stage, pipe, key=key), stage)

    def _where(
        self,
        test: Callable[[StageConfig], bool],
        stage: nw.Expr,
        pipe: nw.Expr | None,
        key: nw.Expr | None,
    ) -> nw.Expr:
        """``stage`` names a stage (of the deal's pipeline) that passes ``test``; false for
        null. One membership test per pipeline, so the key is computed once per pipeline."""
        k = key if key is not None else spelling_key_expr(stage)
        parts = []
        seen: set[str] = set()
        for p in self.pipelines:
            # Without a pipeline, the first pipeline that has a spelling decides.
            mine = {x: s for s in p.stages for x in _keys(s)}
            if pipe is None:
                mine = {x: s for x, s in mine.items() if x not in seen}
                seen.update(mine)
            wanted = sorted(x for x, s in mine.items() if test(s))
            if not wanted:
                continue
            hit = k.is_in(wanted)
            parts.append(hit if pipe is None else (pipe == p.name) & hit)
        return any_of(parts).fill_null(False) if parts else nw.lit(False)

    def known(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """``stage`` names a stage (of the deal's pipeline); false for null."""
        return self._where(lambda s: True, stage, pipe, key)

    def closed(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        return self._where(lambda s: s.is_closed, stage, pipe, key)

    def won(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        return self._where(lambda s: s.is_won, stage, pipe, key)

    def open(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """A known stage that is not closed."""
        return self._where(lambda s: not s.is_closed, stage, pipe, key)

    def progress(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """A known stage that moves a deal forward: open or won (not closed-lost)."""
        return self._where(lambda s: not s.is_closed or s.is_won, stage, pipe, key)

    def order(
        self, stage: nw.Expr, pipe: nw.Expr | None = None, *, key: nw.Expr | None = None
    ) -> nw.Expr:
        """The stage's order in its pipeline (null if it names no stage)."""
        return self.attr("order", stage, pipe, key=key)

    def rows(self) -> list[dict[str, Any]]:
        """The stages as ``pipeline_stages`` records: one per stage, in pipeline order."""
        return [
            {
                "pipeline": p.name,
                "stage": s.name,
                "order": s.order,
                "probability": s.probability,
                "is_closed": s.is_closed,
                "is_won": s.is_won,
            }
            for p in self.pipelines
            for s in p.ordered()
        ]

    def stage(self, spelling: str, pipeline: str | None = None) -> StageConfig | None:
        """The stage ``spelling`` names, in Python (the same rule as the expressions)."""
        for p in self.pipelines:
            if pipeline is None or p.name == pipeline:
                found = p.stage(spelling)
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class FunnelStage:
    """A stage on the way to won: its name, 1-based funnel position and spelling keys."""

    name: str
    position: int
    spellings: tuple[str, ...]


def funnel_stages(
    stages: PipelineConfig | Sequence[PipelineConfig] | Sequence[str],
) -> list[FunnelStage]:
    """The stages a deal passes on the way to won, in order: open stages then won stages, of
    the first pipeline.

    Closed-lost stages are not funnel steps (a deal leaves the funnel there). A plain list of
    names is taken as already ordered.
    """
    from revgov.config import PipelineConfig

    items: list[Any] = [stages] if isinstance(stages, PipelineConfig) else list(stages)
    if items and isinstance(items[0], PipelineConfig):
        first: PipelineConfig = items[0]
        ordered = [s for s in first.ordered() if not s.is_closed]
        ordered += [s for s in first.ordered() if s.is_won]
        return [FunnelStage(s.name, i + 1, tuple(_keys(s))) for i, s in enumerate(ordered)]
    names = [str(s) for s in items]
    return [FunnelStage(n, i + 1, (spelling_key(n),)) for i, n in enumerate(names)]


def funnel_position(stages: Sequence[FunnelStage], column: str) -> nw.Expr:
    """1-based funnel position of the stage named in ``column``; null if not a funnel step.

    Per row: over a long stage history, the KPIs look positions up per distinct value
    (``revgov.metrics._stages.with_funnel_position``), which is faster and keeps polars'
    streaming engine from holding the history whole."""
    # One hash look-up per row: a when/then chain makes polars evaluate every branch's
    # membership test on every row (10M stage events: 1.2 s against 0.4 s). A spelling of
    # two stages keeps the first, as the chain did.
    positions: dict[str, int] = {}
    for st in stages:
        for spelling in st.spellings:
            positions.setdefault(spelling, st.position)
    if not positions:
        return nw.lit(None, dtype=nw.Int64())
    key = spelling_key_expr(nw.col(column))
    out: nw.Expr = key.replace_strict(
        list(positions), list(positions.values()), default=None, return_dtype=nw.Int64()
    )
    return out
