"""Route demo people with the config's routing table, as the routing rules read it.

Which ``[[routing.rules]]`` entry a record falls under is the governed definition
(:func:`revgov.definitions.routing.matched_rule`, which the audit's ``people.misrouted``
reads too). A rule with an owner names the expected owner; a pool rule hands records out
round-robin in order of creation, so every pool is balanced to within one record.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.config import RoutingConfig
from revgov.definitions.routing import matched_rule

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
    frame = pl.DataFrame({"country": country, "segment": segment, "employees": employees})
    matched = nw.from_native(frame).select(
        matched_rule(routing, "people", nw.col("segment")).alias("rule")
    )
    rule_of = matched.to_native()["rule"].fill_null(-1).to_numpy()
    if (rule_of < 0).any():
        raise ValueError("the demo routing table must end with a catch-all rule")

    ids: list[str] = []
    code = np.zeros(len(country), dtype=np.int64)
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
