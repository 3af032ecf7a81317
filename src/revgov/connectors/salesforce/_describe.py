"""What an object's describe says, and the field plan of one mapped object.

The plan asks only for fields that exist and that the integration user can see. A mapped field
missing from describe is most likely hidden by field-level security (no other extractor
detects this: the field would load as null); it is left out of the query and reported as a
``hidden_field`` note naming object and field. Compound fields (address, geolocation) are read
as their components (Bulk API 2.0 refuses compound fields); formula fields are noted as
``calculated_field``: they change without moving SystemModstamp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from revgov.connectors.base import SourceNote
from revgov.connectors.salesforce.settings import ObjectMapping

__all__ = ["CURSOR_FIELDS", "FieldInfo", "FieldPlan", "ObjectInfo", "plan_fields", "source_fields"]

#: Cursor fields in order of preference (SystemModstamp also moves on system changes).
CURSOR_FIELDS = ("SystemModstamp", "LastModifiedDate", "CreatedDate")
_COMPOUND_TYPES = frozenset({"address", "location"})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: str
    calculated: bool = False
    filterable: bool = True
    compound_of: str | None = None
    relationship: str | None = None
    reference_to: tuple[str, ...] = ()

    @classmethod
    def from_describe(cls, raw: dict[str, Any]) -> FieldInfo:
        return cls(
            name=str(raw["name"]),
            type=str(raw.get("type") or "string"),
            calculated=bool(raw.get("calculated")),
            filterable=raw.get("filterable", True) is not False,
            compound_of=raw.get("compoundFieldName") or None,
            relationship=raw.get("relationshipName") or None,
            reference_to=tuple(raw.get("referenceTo") or ()),
        )


@dataclass(frozen=True)
class ObjectInfo:
    """The parts of an object's describe that reading it needs."""

    name: str
    fields: dict[str, FieldInfo]
    key_prefix: str | None = None

    @classmethod
    def from_describe(cls, raw: dict[str, Any]) -> ObjectInfo:
        fields = [FieldInfo.from_describe(f) for f in raw.get("fields", [])]
        return cls(str(raw["name"]), {f.name: f for f in fields}, raw.get("keyPrefix"))

    def cursor_field(self) -> str | None:
        """SystemModstamp, else LastModifiedDate, else CreatedDate (if filterable)."""
        for name in CURSOR_FIELDS:
            info = self.fields.get(name)
            if info is not None and info.filterable and info.type == "datetime":
                return name
        return None

    @property
    def deletable(self) -> bool:
        return "IsDeleted" in self.fields

    def relationship(self, name: str) -> FieldInfo | None:
        for info in self.fields.values():
            if info.relationship == name:
                return info
        return None

    def components(self, compound: str) -> list[str]:
        return [f.name for f in self.fields.values() if f.compound_of == compound]


def source_fields(mapping: ObjectMapping) -> dict[str, str]:
    """Every field the mapping reads, to the canonical column (or custom field) it feeds."""
    out: dict[str, str] = {}
    for target, fields in mapping.columns.items():
        for name in [fields] if isinstance(fields, str) else fields:
            if name:
                out.setdefault(name, target)
    for name in mapping.custom_fields:
        out.setdefault(name, name)
    return out


@dataclass
class FieldPlan:
    """What to SELECT from one object, and what the mapping can read of it."""

    sobject: str
    entity: str
    select: list[str]
    cursor_field: str | None
    deletable: bool
    #: Mapped fields that can be read (compound fields included: built from components).
    available: set[str] = field(default_factory=set)
    compound: dict[str, list[str]] = field(default_factory=dict)
    calculated: list[str] = field(default_factory=list)
    #: Selected fields holding datetimes (normalised to one spelling, REST and Bulk alike).
    datetimes: set[str] = field(default_factory=set)
    notes: list[SourceNote] = field(default_factory=list)


def plan_fields(
    info: ObjectInfo,
    entity: str,
    mapping: ObjectMapping,
    parent: Callable[[str], ObjectInfo | None],
) -> FieldPlan:
    """The plan of ``info`` mapped by ``mapping``; ``parent(name)`` describes a related object
    (for ``Owner.Name``-style fields), or None if it cannot be read."""
    cursor = info.cursor_field()
    required = ["Id"] + [f for f in (cursor, "IsDeleted") if f and f in info.fields]
    plan = FieldPlan(info.name, entity, list(required), cursor, info.deletable)
    plan.datetimes.update(f for f in required if info.fields[f].type == "datetime")
    optional = set(mapping.optional or ())
    for name, target in source_fields(mapping).items():
        found = _resolve(info, name, parent)
        if found is None:
            plan.notes.append(_hidden(info.name, entity, name, target, optional=name in optional))
            continue
        plan.available.add(name)
        if found.type in _COMPOUND_TYPES and "." not in name:
            parts = info.components(name)
            plan.compound[name] = parts
            _add(plan.select, parts)
            plan.notes.append(_compound_note(info.name, entity, name, parts))
            continue
        _add(plan.select, [name])
        if found.type == "datetime":
            plan.datetimes.add(name)
        if found.calculated:
            plan.calculated.append(name)
            plan.notes.append(_formula_note(info.name, entity, name))
    return plan


def _add(select: list[str], names: Iterable[str]) -> None:
    for name in names:
        if name not in select:
            select.append(name)


def _resolve(
    info: ObjectInfo, name: str, parent: Callable[[str], ObjectInfo | None]
) -> FieldInfo | None:
    """The describe of field ``name`` (``Account.Name`` through the relationship)."""
    head, _, rest = name.partition(".")
    if not rest:
        return info.fields.get(name)
    link = info.relationship(head)
    if link is None:
        return None
    for target in link.reference_to:
        described = parent(target)
        if described is not None:
            found = _resolve(described, rest, parent)
            if found is not None:
                return found
    return None


def _note(kind: str, sobject: str, entity: str, name: str, message: str) -> SourceNote:
    severity: Literal["info", "warn"] = "warn" if kind == "hidden_field" else "info"
    field = f"{sobject}.{name}"
    return SourceNote(kind, entity, f"{field} {message}", field=field, severity=severity)


def _hidden(sobject: str, entity: str, name: str, target: str, *, optional: bool) -> SourceNote:
    if optional:
        return _note(
            "missing_field",
            sobject,
            entity,
            name,
            f"(mapped to {target}) does not exist in this org; {target} is derived or left empty",
        )
    return _note(
        "hidden_field",
        sobject,
        entity,
        name,
        f"is mapped (to {entity}.{target}) but missing from the describe of {sobject}: most "
        f"likely field-level security hides it from the integration user, so {target} stays "
        "empty; grant read access to the field or fix the mapping",
    )


def _compound_note(sobject: str, entity: str, name: str, parts: list[str]) -> SourceNote:
    return _note(
        "compound_field",
        sobject,
        entity,
        name,
        f"is a compound field: read as its components ({', '.join(parts)}) and kept as their JSON",
    )


def _formula_note(sobject: str, entity: str, name: str) -> SourceNote:
    return _note(
        "calculated_field",
        sobject,
        entity,
        name,
        "is a formula field: its value changes without moving the record's SystemModstamp, "
        "so incremental pulls can hold stale values; `revgov pull --refresh-formulas` "
        "re-reads it",
    )
