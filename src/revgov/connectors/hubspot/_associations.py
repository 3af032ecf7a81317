"""Associations of a page of records, every page of them (v4 batch read, then each record's
own paging: a company with 1,762 deals keeps them all, not the first 100)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revgov.connectors.hubspot._api import HubSpotApi

__all__ = ["Associated", "associations", "primary_and_every"]

#: Ids per v4 batch read (HubSpot accepts up to 1,000).
_BATCH = 1000


@dataclass(frozen=True)
class Associated:
    """One associated record and the association types that link it."""

    to_id: str
    type_ids: frozenset[int]


def _parse(items: Sequence[Any]) -> list[Associated]:
    out = []
    for item in items:
        types = frozenset(
            int(t["typeId"]) for t in item.get("associationTypes") or [] if "typeId" in t
        )
        out.append(Associated(str(item["toObjectId"]), types))
    return out


def _next(page: Any) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def associations(
    api: HubSpotApi, from_type: str, to_type: str, ids: Sequence[str]
) -> dict[str, list[Associated]]:
    """Every association of ``ids`` to ``to_type``; records without any are left out."""
    found: dict[str, list[Associated]] = {}
    for start in range(0, len(ids), _BATCH):
        data = api.associations_batch(from_type, to_type, ids[start : start + _BATCH])
        for result in data.get("results") or []:
            record = str(result["from"]["id"])
            found.setdefault(record, []).extend(_parse(result.get("to") or []))
            after = _next(result)
            while after is not None:
                page = api.associations_page(from_type, record, to_type, after)
                found[record].extend(_parse(page.get("results") or []))
                after = _next(page)
    return found


def primary_and_every(
    links: Sequence[Associated], primary_type_ids: frozenset[int]
) -> tuple[str | None, str | None]:
    """The primary id (a primary association type, else the lowest id) and every id,
    ``;``-separated in id order."""
    if not links:
        return None, None
    ids = sorted({link.to_id for link in links}, key=lambda i: (len(i), i))
    primary = next(
        (
            link.to_id
            for link in sorted(links, key=lambda lk: (len(lk.to_id), lk.to_id))
            if link.type_ids & primary_type_ids
        ),
        ids[0],
    )
    return primary, ";".join(ids)
