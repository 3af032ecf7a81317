"""What counts as qualified: the MQL, the sales-qualified person, the qualified deal.

* An **MQL** is a person with an ``mql_at`` time (the moment they reached
  ``qualified.mql_lifecycle_stage``; the SLA clock starts there, see
  :mod:`revgov.definitions.sla`).
* A person is **sales-qualified** (SQL) when their lifecycle stage is one of
  ``qualified.person_lifecycle_stages``, when a lifecycle stage event moved them to one, or
  when they converted to an opportunity (the CRM's conversion flag or converted opportunity,
  or an opportunity naming them as its primary person): :func:`with_sql`.
* A **deal** is qualified once it reached ``qualified.opportunity_min_stage`` on its way to
  won and has at least ``qualified.opportunity_min_amount``: :func:`min_stage_position`.

The KPIs (MQL to SQL, the funnel model, qualified pipeline) read these definitions; so could
a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import narwhals as nw

from revgov.definitions.history import history_of
from revgov.definitions.lifecycle import LifecycleStages
from revgov.definitions.spelling import spelling_key

if TYPE_CHECKING:
    from revgov.config import LifecycleConfig, QualifiedDefinition
    from revgov.definitions.stages import FunnelStage

__all__ = ["min_stage_position", "with_converted", "with_sql"]

Frame = nw.LazyFrame[Any]


def _names(frame: Frame) -> list[str]:
    return frame.collect_schema().names()


def _flag(people: Frame, person_id: str, ids: Frame, flag: str) -> Frame:
    """``people`` with boolean ``flag``: the person's id is among ``ids`` (one column)."""
    hits = ids.rename({ids.collect_schema().names()[0]: "__hit"}).unique(["__hit"])
    hits = hits.with_columns(nw.lit(True).alias(flag))
    people = people.join(hits, left_on=person_id, right_on="__hit", how="left")
    if "__hit" in _names(people):
        people = people.drop("__hit")
    return people.with_columns(nw.col(flag).fill_null(False))


def with_converted(
    people: Frame,
    opportunities: Frame | None,
    *,
    person_id: str = "person_id",
    primary_person_id: str = "primary_person_id",
    converted_opportunity_id: str = "converted_opportunity_id",
    is_converted: str = "is_converted",
) -> Frame:
    """``people`` with ``__converted``: the CRM's conversion flag, a converted opportunity, or
    named as the primary person of an opportunity."""
    cols = _names(people)
    conv = nw.lit(False)
    if is_converted in cols:
        conv = conv | nw.col(is_converted).fill_null(False)
    if converted_opportunity_id in cols:
        conv = conv | ~nw.col(converted_opportunity_id).is_null()
    if opportunities is not None:
        linked = opportunities.filter(~nw.col(primary_person_id).is_null())
        people = _flag(people, person_id, linked.select(nw.col(primary_person_id)), "__has_opp")
        conv = conv | nw.col("__has_opp")
    return people.with_columns(conv.alias("__converted"))


def with_sql(
    people: Frame,
    *,
    qualified: QualifiedDefinition,
    lifecycle: LifecycleConfig | None = None,
    opportunities: Frame | None = None,
    stage_events: Frame | None = None,
    person_id: str = "person_id",
    lifecycle_stage: str = "lifecycle_stage",
    primary_person_id: str = "primary_person_id",
    converted_opportunity_id: str = "converted_opportunity_id",
    is_converted: str = "is_converted",
) -> Frame:
    """``people`` with ``__converted`` (see :func:`with_converted`) and ``__sql``: the person
    is sales-qualified by their lifecycle stage, a lifecycle stage event, or conversion.

    Lifecycle values are read through ``lifecycle`` (its stages and vendor map); without it,
    a value counts when it spells one of the SQL stages.
    """
    sql_stages = list(qualified.person_lifecycle_stages)
    if lifecycle is not None:
        stages = LifecycleStages.from_lifecycle(lifecycle)
    else:
        stages = LifecycleStages(tuple(sql_stages), tuple((spelling_key(s), s) for s in sql_stages))
    people = with_converted(
        people,
        opportunities,
        person_id=person_id,
        primary_person_id=primary_person_id,
        converted_opportunity_id=converted_opportunity_id,
        is_converted=is_converted,
    )
    sql = nw.col("__converted")
    if lifecycle_stage in _names(people):
        sql = sql | stages.is_one_of(nw.col(lifecycle_stage), sql_stages)
    if stage_events is not None:
        # The value spelled out only on the people's events (a column of its own, as in
        # history_of: polars would fold a second filter into the first).
        moved = (
            history_of(stage_events, "people")
            .with_columns(stages.is_one_of(nw.col("to_value"), sql_stages).alias("__to_sql"))
            .filter(nw.col("__to_sql"))
        )
        people = _flag(people, person_id, moved.select(nw.col("record_id")), "__sql_event")
        sql = sql | nw.col("__sql_event")
    return people.with_columns(sql.alias("__sql"))


def min_stage_position(qualified: QualifiedDefinition, funnel: list[FunnelStage]) -> int | None:
    """The funnel position of ``qualified.opportunity_min_stage`` (None when unset, or when
    it is no stage of ``funnel``, which the config forbids for its own pipelines)."""
    wanted = qualified.opportunity_min_stage
    if wanted is None:
        return None
    key = spelling_key(wanted)
    return next((s.position for s in funnel if key in s.spellings), None)
