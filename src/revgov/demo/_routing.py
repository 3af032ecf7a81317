"""Route demo people with the config's routing table, the way the routing rules read it.

The first ``[[routing.rules]]`` entry whose conditions all hold wins. A rule with an owner
names the expected owner; a pool rule hands records out round-robin in order of creation, so
every pool is balanced to within one record.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.config import RoutingConfig

__all__ = ["expected_owners"]


def expected_owners(
    routing: RoutingConfig,
    *,
    country: pl.Series,
    segment: pl.Series,
    employees: npt.NDArray[np.int64],
    created_at: npt.NDArray[np.datetime64],
    in_rotation: npt.NDArray[np.bool_],
) -> pl.Series:
    """The owner each record should have.

    Records outside ``in_rotation`` (planted owner defects) do not take a turn in a pool, so
    the owners the clean records get stay balanced; they still get the pool's first member
    as their expected owner (used for the activities they receive).
    """
    n = len(country)
    matched = np.zeros(n, dtype=bool)
    rule_of = np.full(n, -1, dtype=np.int64)
    # One pass per routing rule (a handful), each vectorized over all records.
    for i, rule in enumerate(routing.rules):
        if rule.entity != "people":
            continue
        hit = ~matched
        if rule.countries:
            hit &= country.is_in(rule.countries).fill_null(False).to_numpy()
        if rule.segments:
            hit &= segment.is_in(rule.segments).fill_null(False).to_numpy()
        if rule.employees_min is not None:
            hit &= employees >= rule.employees_min
        if rule.employees_max is not None:
            hit &= employees <= rule.employees_max
        rule_of[hit] = i
        matched |= hit
    if not matched.all():
        raise ValueError("the demo routing table must end with a catch-all rule")

    ids: list[str] = []
    code = np.zeros(n, dtype=np.int64)
    order = np.argsort(created_at, kind="stable")
    for i, rule in enumerate(routing.rules):
        mine = rule_of == i
        members = [rule.owner] if rule.owner is not None else routing.pools[rule.pool or ""]
        codes = np.arange(len(ids), len(ids) + len(members))
        ids.extend(members)
        code[mine] = codes[0]
        turn = order[(mine & in_rotation)[order]]
        code[turn] = codes[np.arange(len(turn)) % len(codes)]
    return pl.Series("owner", ids, dtype=pl.String).gather(code)
