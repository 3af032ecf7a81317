"""Why a rule is not_applicable, in words that say which input is missing and how to
provide it (the reason every output format shows; a rule that cannot see its inputs never
passes)."""

from __future__ import annotations

__all__ = ["blank_column", "missing_column", "missing_frame", "no_rows", "out_of_scope"]


def _map(entity: str) -> str:
    return f"[sources.entities.{entity}] of revgov.toml"


def missing_frame(entity: str) -> str:
    """The audit has no frame of ``entity`` at all."""
    return f"no {entity} records were pulled: map the {entity} entity in {_map(entity)}"


def missing_column(entity: str, column: str) -> str:
    """``entity`` has no ``column``."""
    return f"{entity} has no column {column!r}: map a source field to it in {_map(entity)}"


def no_rows(entity: str, *, against: bool = False) -> str:
    """``entity`` has no rows (``against``: another entity the rule checks against)."""
    if against:
        return f"no {entity} rows to check against: pull {entity} ({_map(entity)})"
    return f"no {entity} rows to audit: pull {entity} ({_map(entity)})"


def blank_column(entity: str, column: str, rows: int) -> str:
    """``entity.column`` is blank in every one of ``rows`` rows."""
    return (
        f"{entity}.{column} is blank in all {rows:,} rows: map a source field to it in "
        f"{_map(entity)}, or fill it in the CRM"
    )


def out_of_scope(entity: str, rows: int, needs: str) -> str:
    """None of the ``rows`` rows is in the rule's scope; ``needs`` says what would be."""
    head = f"none of the {rows:,} {entity} rows is in the rule's scope"
    return f"{head}: {needs}" if needs else head
