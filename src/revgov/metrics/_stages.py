"""Pipeline stage attributes for the KPIs, from the governed stage definition.

What a stage value means (its name under the one case rule, aliases, order, probability,
closed and won, the funnel) is :mod:`revgov.definitions.stages`, which the mapping layer and
the rules read too; this module adapts it to the KPIs' arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from revgov.config import PipelineConfig
from revgov.definitions.stages import (
    FunnelStage,
    PipelineStages,
    StageAttr,
    funnel_position,
)
from revgov.definitions.stages import funnel_stages as _funnel_stages
from revgov.errors import MetricInputError
from revgov.metrics._frames import lookup_join

__all__ = [
    "FunnelStage",
    "Pipelines",
    "funnel_position",
    "funnel_stages",
    "pipelines_list",
    "stage_attr",
    "with_funnel_position",
]

#: One pipeline or several (the first is the default for rows without a pipeline).
Pipelines = PipelineConfig | Sequence[PipelineConfig]


def pipelines_list(pipelines: Pipelines) -> list[PipelineConfig]:
    out = [pipelines] if isinstance(pipelines, PipelineConfig) else list(pipelines)
    if not out:
        raise MetricInputError(
            "no pipelines configured", hint="add a [[pipelines]] table to revgov.toml"
        )
    return out


def stage_attr(
    attr: StageAttr,
    pipelines: Pipelines,
    *,
    stage: str = "stage",
    pipeline: str | None = None,
    key: str | None = None,
) -> nw.Expr:
    """The configured ``attr`` (``order``, ``probability``, ``is_closed``, ``is_won`` or
    ``name``) of each row's stage; null for a value that names no stage. With ``pipeline``
    (a column) a row's stage is looked up in its own pipeline (the first when blank).
    ``key``: a column holding the stage's spelling key, when the caller added one (cheaper
    than computing it in every branch)."""
    stages = PipelineStages.from_pipelines(pipelines_list(pipelines))
    pipe = stages.pipe(pipeline) if pipeline is not None else None
    return stages.attr(attr, nw.col(stage), pipe, key=nw.col(key) if key else None)


def funnel_stages(stages: Pipelines | Sequence[str]) -> list[FunnelStage]:
    """The stages a deal passes on the way to won (see
    :func:`revgov.definitions.stages.funnel_stages`)."""
    out = _funnel_stages(stages)
    if not out:
        raise MetricInputError("stage_conversion needs at least one stage")
    return out


def with_funnel_position(
    lf: nw.LazyFrame[Any], steps: Sequence[FunnelStage], column: str, alias: str
) -> nw.LazyFrame[Any]:
    """``lf`` with ``alias``: the :func:`funnel_position` of ``column``, worked out once per
    distinct value and joined back.

    For stage histories: a handful of stage names against millions of events, where the
    expression trims and lowercases every row (10M events: 0.14 s against 0.40 s,
    benchmarks/bench_metrics.py). The per-row look-up also made polars' streaming engine
    hold the history whole: the headline metrics on 5M deals (50M stage events) peaked at
    4.4 GB with it, 1.8 GB with this join (benchmarks/bench_memory.py).
    """
    values = lf.select(column).unique([column])
    values = values.with_columns(funnel_position(steps, column).alias(alias))
    return lookup_join(lf, values, left_on=column, right_on=column)
