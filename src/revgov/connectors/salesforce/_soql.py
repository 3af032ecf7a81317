"""SOQL, built with simple-salesforce's quoting formatter (``format_soql``), never f-strings.

Values (timestamps, ids) are quoted by the formatter; names (objects, fields) cannot be quoted
in SOQL, so they pass only after :func:`~revgov.connectors.salesforce.settings.check_field_name`
or come from the org's describe, and are inserted with ``:literal``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql

__all__ = ["Window", "count_query", "id_batches", "ids_query", "select_query", "split_fields"]

#: What a REST query URL holds besides the encoded SOQL (instance, path, ``?q=``), generously.
_URL_OVERHEAD = 200


@dataclass(frozen=True)
class Window:
    """Records whose cursor field is in ``[since, until)``, optionally after an Id."""

    cursor_field: str | None
    since: datetime | None
    until: datetime | None
    after_id: str | None = None

    def where(self, *, deleted_only: bool = False) -> str:
        parts: list[str] = []
        if self.cursor_field is not None and self.since is not None:
            parts.append(format_soql("{:literal} >= {}", self.cursor_field, self.since))
        if self.cursor_field is not None and self.until is not None:
            parts.append(format_soql("{:literal} < {}", self.cursor_field, self.until))
        if self.after_id is not None:
            parts.append(format_soql("Id > {}", self.after_id))
        if deleted_only:
            parts.append("IsDeleted = true")
        return (" WHERE " + " AND ".join(parts)) if parts else ""


def select_query(
    sobject: str, fields: Sequence[str], window: Window, *, order_by_id: bool = True
) -> str:
    """``SELECT fields FROM sobject`` in ``window``, ordered by Id (so a pull can resume after
    the last Id it committed)."""
    soql = format_soql("SELECT {:literal} FROM {:literal}", ", ".join(fields), sobject)
    return soql + window.where() + (" ORDER BY Id ASC" if order_by_id else "")


def count_query(sobject: str, window: Window) -> str:
    return format_soql("SELECT COUNT() FROM {:literal}", sobject) + window.where()


def ids_query(sobject: str, fields: Sequence[str], id_field: str, ids: Sequence[str]) -> str:
    """``SELECT fields FROM sobject WHERE id_field IN (ids)``."""
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE {:literal} IN {}",
        ", ".join(fields),
        sobject,
        id_field,
        list(ids),
    )


def url_length(soql: str) -> int:
    """How long the REST URL carrying ``soql`` is, at most."""
    return len(quote_plus(soql)) + _URL_OVERHEAD


def split_fields(
    sobject: str, required: Sequence[str], others: Sequence[str], window: Window, max_url: int
) -> list[list[str]]:
    """Field lists whose queries each fit in ``max_url``: the first (which drives paging) with
    ``required`` and as many others as fit, then the rest, each with ``Id`` to stitch by."""
    chunks: list[list[str]] = [list(required)]
    for name in others:
        trial = [*chunks[-1], name]
        first = len(chunks) == 1
        soql = (
            select_query(sobject, trial, window)
            if first
            else ids_query(sobject, trial, "Id", ["x" * 18] * 200)
        )
        if url_length(soql) <= max_url or len(chunks[-1]) <= (len(required) if first else 1):
            chunks[-1] = trial
        else:
            chunks.append(["Id", name])
    return chunks


def id_batches(
    sobject: str, fields: Sequence[str], id_field: str, ids: Sequence[str], max_url: int
) -> Iterator[list[str]]:
    """``ids`` in batches whose ``IN`` query fits in ``max_url`` (at least one id each)."""
    base = url_length(ids_query(sobject, fields, id_field, []))
    # Each quoted 18-character id with its comma takes 24 characters once URL-encoded.
    per_batch = max(1, (max_url - base) // 24)
    for start in range(0, len(ids), per_batch):
        yield list(ids[start : start + per_batch])
