"""Pipeline stage attributes from the governed definitions, as plain expressions.

The stage tables of ``revgov.toml`` are small, so they become ``when/then`` chains rather than
joined frames: that keeps every KPI a single query on any engine. Stage names match without
regard to case, and a stage's aliases match too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from revgov.config import PipelineConfig, StageConfig
from revgov.errors import MetricInputError

__all__ = [
    "FunnelStage",
    "Pipelines",
    "funnel_position",
    "funnel_stages",
    "pipelines_list",
    "stage_attr",
]

#: One pipeline or several (the first is the default for rows without a known pipeline).
Pipelines = PipelineConfig | Sequence[PipelineConfig]


@dataclass(frozen=True)
class FunnelStage:
    """A stage on the way to won: its name, 1-based funnel position and spellings."""

    name: str
    position: int
    spellings: tuple[str, ...]


def pipelines_list(pipelines: Pipelines) -> list[PipelineConfig]:
    out = [pipelines] if isinstance(pipelines, PipelineConfig) else list(pipelines)
    if not out:
        raise MetricInputError(
            "no pipelines configured", hint="add a [[pipelines]] table to revgov.toml"
        )
    return out


def _spellings(stage: StageConfig) -> list[str]:
    return sorted({stage.name.lower(), *(a.lower() for a in stage.aliases)})


def stage_attr(
    attr: str,
    pipelines: Pipelines,
    *,
    stage: str = "stage",
    pipeline: str | None = None,
) -> nw.Expr:
    """The configured ``attr`` (``order``, ``probability``, ``is_closed``, ``is_won`` or
    ``name``) of each row's stage; null for a stage no pipeline names."""
    pls = pipelines_list(pipelines)
    low = nw.col(stage).str.to_lowercase()
    branches: list[tuple[nw.Expr, Any]] = []
    if pipeline is not None and len(pls) > 1:
        for p in pls:
            for s in p.stages:
                cond = (nw.col(pipeline) == p.name) & low.is_in(_spellings(s))
                branches.append((cond, getattr(s, attr)))
    for s in pls[0].stages:
        branches.append((low.is_in(_spellings(s)), getattr(s, attr)))
    dtype = {
        "order": nw.Int64(),
        "probability": nw.Float64(),
        "is_closed": nw.Boolean(),
        "is_won": nw.Boolean(),
        "name": nw.String(),
    }[attr]
    cond0, value0 = branches[0]
    chain = nw.when(cond0).then(nw.lit(value0, dtype=dtype))
    for cond, value in branches[1:]:
        chain = chain.when(cond).then(nw.lit(value, dtype=dtype))
    return chain


def funnel_stages(stages: Pipelines | Sequence[str]) -> list[FunnelStage]:
    """The stages a deal passes on the way to won, in order: open stages then won stages.

    Closed-lost stages are not funnel steps (a deal leaves the funnel there). A plain list of
    names is taken as already ordered.
    """
    items: list[Any] = [stages] if isinstance(stages, PipelineConfig) else list(stages)
    if items and isinstance(items[0], PipelineConfig):
        pl0: PipelineConfig = items[0]
        ordered = [s for s in pl0.ordered() if not s.is_closed] + [
            s for s in pl0.ordered() if s.is_won
        ]
        return [FunnelStage(s.name, i + 1, tuple(_spellings(s))) for i, s in enumerate(ordered)]
    names = [str(s) for s in items]
    if not names:
        raise MetricInputError("stage_conversion needs at least one stage")
    return [FunnelStage(n, i + 1, (n.lower(),)) for i, n in enumerate(names)]


def funnel_position(stages: Sequence[FunnelStage], column: str) -> nw.Expr:
    """1-based funnel position of the stage named in ``column``; null if not a funnel step."""
    low = nw.col(column).str.to_lowercase()
    chain = nw.when(low.is_in(list(stages[0].spellings))).then(nw.lit(1, dtype=nw.Int64()))
    for st in stages[1:]:
        chain = chain.when(low.is_in(list(st.spellings))).then(
            nw.lit(st.position, dtype=nw.Int64())
        )
    return chain
