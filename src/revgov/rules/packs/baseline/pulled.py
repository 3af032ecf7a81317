"""The pull itself: rows of an entity that could not be typed and went to quarantine.

The rule reads the ``pulled`` frame (one row per entity: rows stored, rows quarantined) that
:meth:`~revgov.store.SnapshotStore.pulled` builds and ``revgov audit`` passes; given only
entity frames (a notebook's), it is not applicable, never a pass.
"""

from __future__ import annotations

import narwhals as nw

from revgov.config import Config
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import OPS, builtin

__all__ = ["PULLED", "PULLED_KEY", "pulled_rules"]

#: The pseudo-entity of the pull's counts, and its key (the entity each row is about).
PULLED = "pulled"
PULLED_KEY = "entity"


def pulled_rules(config: Config) -> list[Rule]:
    del config  # no setting: a quarantined row is always worth knowing about
    return [
        Rule(
            id="pulled.rows_quarantined",
            entity=PULLED,
            dimension="integrity",
            description="Every row of every entity was typed at pull: none is in quarantine.",
            checks=(
                Check(
                    violation=nw.col("rows_quarantined") > 0,
                    field="rows_quarantined",
                    value=nw.col("rows_quarantined").cast(nw.String()),
                    message="rows of this entity are in quarantine and out of every rule and KPI",
                ),
            ),
            columns=("entity", "rows_quarantined"),
            remediation="List them with `revgov snapshot quarantine DIR --entity E`: fix the "
            "values at the source (or the mapping and number format), then pull again.",
            owner=OPS,
            owner_column=None,
            severity="warn",
            **builtin(),
        )
    ]
