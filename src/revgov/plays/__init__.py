"""Plays: one orchestrated motion given to one segment, measured against a control.

A play is defined in revgov.toml (``[[plays]]``, :class:`revgov.config.PlayConfig`); this
package measures it on a snapshot's frames: :func:`play_lift` (the lift with its interval and
the verdict), :func:`plan_play` (the records and weeks a lift needs, before launch) and
:func:`running_lifts` (the lift week by week). docs/plays.md walks through them.
"""

from __future__ import annotations

from revgov.plays.assignment import assignment_unit, in_holdout, stable_unit
from revgov.plays.lift import KPILift, PlayLift, find_play, play_lift, play_records
from revgov.plays.plan import PlayPlan, overlapping_plays, plan_play, running_lifts

__all__ = [
    "KPILift",
    "PlayLift",
    "PlayPlan",
    "assignment_unit",
    "find_play",
    "in_holdout",
    "overlapping_plays",
    "plan_play",
    "play_lift",
    "play_records",
    "running_lifts",
    "stable_unit",
]
