"""Enrichment: bring the attributes a KPI groups by onto the frame it counts.

KPIs group by columns of the frame they are given (``by="segment"``). When the attribute
lives elsewhere (the owner's region lives on users; a deal's first contact on its person)
these helpers add it as prefixed columns, so ``by="owner_region"`` works on opportunities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw

from revgov.definitions.spelling import spelling_key_expr
from revgov.metrics._frames import FrameT, back, has, lazy, require
from revgov.metrics._stages import Pipelines, stage_attr

__all__ = ["with_owner_attributes", "with_person_attributes", "with_stage_attributes"]


def with_stage_attributes(
    opportunities: FrameT,
    pipelines: Pipelines,
    *,
    stage: str = "stage",
    pipeline: str = "pipeline",
    is_closed: str = "is_closed",
    is_won: str = "is_won",
) -> FrameT:
    """Add ``stage_order`` and ``stage_probability`` from the configured pipelines, and fill
    blank ``is_closed`` / ``is_won`` flags from the definition of the deal's stage.

    A flag the CRM set is kept; only nulls are filled. Stages match case-insensitively and by
    alias; a stage no pipeline names gets null attributes.
    """
    lf = lazy(opportunities, name="opportunities")
    require(lf, [stage], what="opportunities")
    pipe = pipeline if has(lf, pipeline) else None
    lf = lf.with_columns(spelling_key_expr(nw.col(stage)).alias("__stage_key"))
    attrs = {
        a: stage_attr(a, pipelines, stage=stage, pipeline=pipe, key="__stage_key")
        for a in ("order", "probability", "is_closed", "is_won")
    }
    flags = []
    for col, attr in ((is_closed, "is_closed"), (is_won, "is_won")):
        if has(lf, col):
            flags.append(nw.coalesce(nw.col(col), attrs[attr]).alias(col))
        else:
            flags.append(attrs[attr].alias(col))
    out = lf.with_columns(
        attrs["order"].alias("stage_order"),
        attrs["probability"].alias("stage_probability"),
        *flags,
    ).drop("__stage_key")
    return back(out, opportunities)


def _attach(
    frame: FrameT,
    other: Any,
    *,
    name: str,
    other_name: str,
    left_on: str,
    right_on: str,
    columns: Sequence[str],
    prefix: str,
) -> FrameT:
    lf = lazy(frame, name=name)
    right = lazy(other, name=other_name, like=lf)
    require(lf, [left_on], what=name)
    require(right, [right_on, *columns], what=other_name)
    renamed = right.select(
        nw.col(right_on).alias("__join_key"),
        *[nw.col(c).alias(prefix + c) for c in columns],
    ).unique(["__join_key"])
    dropped = [prefix + c for c in columns if has(lf, prefix + c)]
    base = lf.drop(*dropped) if dropped else lf
    out = base.join(renamed, left_on=left_on, right_on="__join_key", how="left")
    if has(out, "__join_key"):
        out = out.drop("__join_key")
    return back(out, frame)


def with_owner_attributes(
    frame: FrameT,
    users: Any,
    *,
    columns: Sequence[str] = ("region", "team"),
    owner_id: str = "owner_id",
    user_id: str = "user_id",
    prefix: str = "owner_",
) -> FrameT:
    """Add the owner's attributes from ``users`` as ``owner_<column>`` (e.g. ``owner_region``).

    A record whose owner is blank or unknown gets nulls; a column of the same name already on
    the frame is replaced.
    """
    return _attach(
        frame,
        users,
        name="frame",
        other_name="users",
        left_on=owner_id,
        right_on=user_id,
        columns=columns,
        prefix=prefix,
    )


def with_person_attributes(
    opportunities: FrameT,
    people: Any,
    *,
    columns: Sequence[str] = ("created_at", "lead_source"),
    person_id: str = "primary_person_id",
    people_id: str = "person_id",
    prefix: str = "person_",
) -> FrameT:
    """Add the deal's person's attributes from ``people`` as ``person_<column>``.

    ``person_created_at`` is the first contact: ``sales_cycle_days(..., start="person_created_at")``
    measures lead-to-close time.
    """
    return _attach(
        opportunities,
        people,
        name="opportunities",
        other_name="people",
        left_on=person_id,
        right_on=people_id,
        columns=columns,
        prefix=prefix,
    )
