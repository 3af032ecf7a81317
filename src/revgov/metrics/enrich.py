"""Enrichment: bring the attributes a KPI groups by onto the frame it counts.

KPIs group by columns of the frame they are given (``by="segment"``). When the attribute
lives elsewhere (the owner's region lives on users; a deal's first contact on its person)
these helpers add it as prefixed columns, so ``by="owner_region"`` works on opportunities.

:data:`ENRICHMENTS` lists the documented ones: the owner's ``owner_region``, ``owner_team``,
``owner_role``, ``owner_manager_id`` and ``owner_manager`` (the manager's name) from users,
and the account's ``account_segment``, ``account_industry``, ``account_country`` and
``account_region`` from accounts. :func:`with_enrichments` adds them all;
:func:`~revgov.metrics.prepare_frames` does it for a snapshot's frames, and the KPIs that
take ``users=`` / ``accounts=`` add the ones their ``by=`` names themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import narwhals as nw

from revgov.definitions.spelling import spelling_key_expr
from revgov.errors import MetricInputError
from revgov.metrics._enrichments import ENRICHMENTS, Enrichment, enrichment_error
from revgov.metrics._frames import (
    Columns,
    FrameT,
    as_list,
    back,
    has,
    lazy,
    lookup_join,
    require,
)
from revgov.metrics._stages import Pipelines, stage_attr

__all__ = [
    "ENRICHMENTS",
    "Enrichment",
    "enriched_by",
    "with_enrichments",
    "with_owner_attributes",
    "with_person_attributes",
    "with_stage_attributes",
]


def enriched_by(columns: Columns) -> list[str]:
    """The note of each enrichment among ``columns``: where the column comes from."""
    return [ENRICHMENTS[c].describe(c) for c in as_list(columns) if c in ENRICHMENTS]


def _users_with_manager(users: nw.LazyFrame[Any]) -> nw.LazyFrame[Any]:
    """``users`` with ``manager``: the name of the user its ``manager_id`` names (the id
    where that user has no name or is not in users)."""
    if not has(users, "manager_id"):
        return users
    names = users.select(
        nw.col("user_id").alias("__mgr_id"),
        (nw.col("name") if has(users, "name") else nw.lit(None, dtype=nw.String())).alias(
            "__mgr_name"
        ),
    ).unique(["__mgr_id"])
    joined = users.join(names, left_on="manager_id", right_on="__mgr_id", how="left")
    if has(joined, "__mgr_id"):
        joined = joined.drop("__mgr_id")
    manager = nw.coalesce(nw.col("__mgr_name"), nw.col("manager_id").cast(nw.String))
    return joined.with_columns(manager.alias("manager")).drop("__mgr_name")


def with_enrichments(
    frame: FrameT,
    *,
    users: Any = None,
    accounts: Any = None,
    columns: Columns = None,
) -> FrameT:
    """Add the :data:`ENRICHMENTS` the given ``users`` and ``accounts`` can provide (only
    ``columns``, when given) and the frame lacks: a column already on the frame is kept.

    A record whose owner or account is blank or unknown gets nulls. An enrichment whose
    key (``owner_id``, ``account_id``) or source column is not there is left out, unless
    ``columns`` names it: then a :class:`~revgov.errors.MetricInputError` says what to pass.
    """
    lf = lazy(frame, name="frame")
    names = lf.collect_schema().names()
    wanted = as_list(columns) if columns is not None else list(ENRICHMENTS)
    sources = {"users": users, "accounts": accounts}
    strict = columns is not None
    out = lf
    for source in ("users", "accounts"):
        todo = [c for c in wanted if c in ENRICHMENTS and ENRICHMENTS[c].source == source]
        todo = [c for c in todo if c not in names]
        if not todo:
            continue
        other = sources[source]
        key = ENRICHMENTS[todo[0]].key
        if other is None or key not in names:
            if strict:
                raise enrichment_error(todo[0], what="frame", given=other is not None, takes=True)
            continue
        right = lazy(other, name=source, like=lf)
        if source == "users":
            right = _users_with_manager(right)
        id_col = "user_id" if source == "users" else "account_id"
        have = right.collect_schema().names()
        cols = [c for c in todo if ENRICHMENTS[c].column in have and id_col in have]
        lacking = [c for c in todo if c not in cols]
        if strict and lacking:
            column = ENRICHMENTS[lacking[0]].column if id_col in have else id_col
            raise MetricInputError(
                f"cannot add {lacking[0]!r}: {source} have no column {column!r}",
                hint=f"map it in the source's {source} columns and pull again",
            )
        if not cols:
            continue
        renamed = right.select(
            nw.col(id_col).alias("__join_key"),
            *[nw.col(ENRICHMENTS[c].column).alias(c) for c in cols],
        ).unique(["__join_key"])
        out = lookup_join(out, renamed, left_on=key, right_on="__join_key")
    return back(out, frame)


def grouping_columns(
    lf: nw.LazyFrame[Any],
    by: Columns,
    *,
    what: str,
    users: Any = None,
    accounts: Any = None,
) -> nw.LazyFrame[Any]:
    """``lf`` with the enrichments ``by`` names and ``lf`` lacks, from ``users`` and
    ``accounts``; an error that says what to pass when their source is not given."""
    missing = [c for c in as_list(by) if c in ENRICHMENTS and not has(lf, c)]
    if not missing:
        return lf
    sources: Mapping[str, Any] = {"users": users, "accounts": accounts}
    for c in missing:
        if sources[ENRICHMENTS[c].source] is None:
            raise enrichment_error(c, what=what, given=False, takes=True)
    return with_enrichments(lf, users=users, accounts=accounts, columns=missing)


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
    out = lookup_join(base, renamed, left_on=left_on, right_on="__join_key")
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
