"""The enrichments: columns a KPI may group by that live on another entity (the owner's
region on users, the account's industry on accounts). :mod:`revgov.metrics.enrich` adds them;
this module only names them, so that every check of a missing column can say where one comes
from and what to pass."""

from __future__ import annotations

from dataclasses import dataclass

from revgov.errors import MetricInputError

__all__ = ["ENRICHMENTS", "Enrichment", "enrichment_error"]


@dataclass(frozen=True)
class Enrichment:
    """A column brought onto a frame from another entity: ``source`` (``users`` or
    ``accounts``) column ``column``, matched on the frame's ``key``."""

    source: str
    column: str
    key: str

    def describe(self, name: str) -> str:
        return f"{name} from {self.source}.{self.column} by {self.key}"


def _owner(column: str) -> Enrichment:
    return Enrichment("users", column, "owner_id")


def _account(column: str) -> Enrichment:
    return Enrichment("accounts", column, "account_id")


#: The documented enrichments by column name (``by=`` may name any of them).
ENRICHMENTS: dict[str, Enrichment] = {
    "owner_region": _owner("region"),
    "owner_team": _owner("team"),
    "owner_role": _owner("role"),
    "owner_manager_id": _owner("manager_id"),
    # The manager's name: the manager's users row, by the owner's manager_id.
    "owner_manager": _owner("manager"),
    "account_segment": _account("segment"),
    "account_industry": _account("industry"),
    "account_country": _account("country"),
    "account_region": _account("region"),
}


def enrichment_error(
    column: str, *, what: str, given: bool = False, takes: bool = False
) -> MetricInputError:
    """Why ``column`` (an enrichment) is not on ``what``, and how to add it: ``given``, its
    source was passed but ``what`` lacks the key; ``takes``, the KPI takes the source as a
    keyword (``users=``, ``accounts=``)."""
    e = ENRICHMENTS[column]
    if given:
        return MetricInputError(
            f"{what} has no column {e.key!r} to take {column!r} from {e.source}.{e.column}",
            hint=f"map {e.key} on {what}, or group by another column",
        )
    return MetricInputError(
        f"{what} has no column {column!r}: it comes from {e.source}.{e.column} by {e.key}",
        hint=(
            f"pass {e.source}=frames[{e.source!r}] to the KPI, or prepare"
            if takes
            else f"add it first: with_enrichments(frame, {e.source}=frames[{e.source!r}]); or "
            "prepare"
        )
        + " the snapshot's frames: frames = revgov.metrics.prepare_frames(store.frames(), config)",
    )
