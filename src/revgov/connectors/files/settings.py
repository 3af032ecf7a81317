"""Settings of the files connector: a source's ``options`` and each entity's file and mapping.

How an export is written (its separator, encoding and number format) can be set for the whole
source under ``[sources.options]`` and for one entity under ``[sources.entities.NAME]``; an
entity's value wins, the source's is the default, and :func:`export_format` resolves the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from revgov.connectors.settings import ConnectorSettings, EntityMapping
from revgov.errors import ConfigValidationError
from revgov.model import NumberFormat
from revgov.model._numbers import Decimal, Negative, Thousands

__all__ = [
    "ENCODINGS",
    "ExportFormat",
    "ExportFormatOptions",
    "FileEntitySettings",
    "FileHistory",
    "FilesSettings",
    "HistoryShape",
    "export_format",
]

Encoding = Literal["utf8", "utf8-lossy", "latin-1", "cp1252", "utf-16", "utf-16le", "utf-16be"]

#: The encodings an export may declare, and the Python codec of each.
ENCODINGS: dict[str, str] = {
    "utf8": "utf-8",
    "utf8-lossy": "utf-8",
    "latin-1": "latin-1",
    "cp1252": "cp1252",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
}


class ExportFormatOptions(BaseModel):
    """How an export is written. Unset keys fall back to the source's options, then to the
    default in the description."""

    separator: str | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="CSV field separator (default `,`; tab for `.tsv` files).",
    )
    encoding: Encoding | None = Field(
        None,
        description="Text encoding of a CSV export (default `utf8`). `utf-16` needs a "
        "byte-order mark; `utf8-lossy` replaces undecodable bytes (it stores `M�ller`: prefer "
        "the export's real encoding).",
    )
    decimal: Decimal | None = Field(
        None, description="Decimal mark of numbers in text columns (default `.`)."
    )
    thousands: Thousands | None = Field(
        None,
        description='Thousands separator of numbers (default none: `""`); `" "` also reads '
        "no-break spaces.",
    )
    currency: str | None = Field(
        None,
        description='Currency symbol or code written beside amounts (e.g. `"€"`, `"USD"`), '
        'removed when reading numbers (default none; `""` unsets a source-wide one).',
    )
    negative: Negative | None = Field(
        None,
        description="`parentheses` also reads `(1,234.50)` as a negative number (default `sign`).",
    )

    @model_validator(mode="after")
    def _decimal_is_not_thousands(self) -> Self:
        if self.decimal is not None and self.decimal == self.thousands:
            raise ValueError(f"decimal and thousands cannot both be {self.decimal!r}")
        return self


class FilesSettings(ConnectorSettings, ExportFormatOptions):
    """``[sources.options]`` of a files source. Every key is optional."""

    base_dir: Path | None = Field(
        None,
        description="Directory that relative entity paths resolve against "
        "(default: the directory of revgov.toml).",
    )
    page_size: int = Field(
        50_000, ge=1, description="Rows per page: each page is typed and committed atomically."
    )
    auto_map: bool = Field(
        True, description="Take export columns named like a canonical column as that column."
    )


#: How an export keeps an entity's history (see :class:`FileHistory`).
HistoryShape = Literal["stage_entered", "field_changes", "snapshots", "date_columns"]

#: The columns a history file may name: canonical stage_events columns, ``value`` as a
#: synonym of ``to_value`` (a row per value entered has no "from").
HISTORY_ROLES = (
    "event_id",
    "record_id",
    "field",
    "from_value",
    "to_value",
    "changed_at",
    "changed_by",
)


class FileHistory(BaseModel):
    """``history = {...}`` of an entity: where its stage or lifecycle history is and its shape.

    Shapes, by how CRMs keep history:

    * ``stage_entered``: a row per value entered, no "from" value (Salesforce
      OpportunityHistory; HubSpot property history, newest first: rows may come in any order).
      Each row's ``from_value`` is the record's previous row; repeats are not transitions.
    * ``snapshots``: a row per record per snapshot date with the value then; the first
      snapshot showing a new value is the change.
    * ``field_changes``: a row per change with old and new value (Salesforce LeadHistory and
      OpportunityFieldHistory, audit logs); ``fields`` names the fields kept.
    * ``date_columns``: one column per stage holding when the record entered it, in the
      entity's own export (HubSpot "Date entered <stage>"); ``dates`` maps column to stage.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    shape: HistoryShape
    path: str | None = Field(
        None,
        description="The history file, relative to the config file (not for `date_columns`, "
        "which reads the entity's own export).",
    )
    field: str | None = Field(
        None,
        description="The canonical field the history tracks (default: `stage` for "
        "opportunities, `lifecycle_stage` for people).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="stage_events column (`record_id`, `to_value`, `changed_at`, `changed_by`, "
        "`from_value`, `field`, `event_id`) to the history file's column.",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="`field_changes`: the file's field name to the canonical field, e.g. "
        '`{StageName = "stage"}`; rows of other fields are left out.',
    )
    dates: dict[str, str] = Field(
        default_factory=dict,
        description="`date_columns`: export column to the value (stage) it dates.",
    )
    timestamps: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical timestamp column of the entity to the value whose first entry "
        'sets it where the export lacks it, e.g. `{mql_at = "MQL"}` (`stage_entered_at` of '
        "opportunities is always derived).",
    )

    @model_validator(mode="after")
    def _shape_needs(self) -> Self:
        unknown = sorted(set(self.columns) - set(HISTORY_ROLES))
        if unknown:
            raise ValueError(
                f"history.columns names {', '.join(map(repr, unknown))}, not a stage_events "
                f"column; use {', '.join(HISTORY_ROLES)}"
            )
        if self.shape == "date_columns":
            if not self.dates:
                raise ValueError('shape "date_columns" needs dates = {"<column>" = "<stage>"}')
            return self
        if self.path is None:
            raise ValueError(f'shape "{self.shape}" needs the history file: path = "..."')
        needed = ["record_id", "to_value", "changed_at"]
        if self.shape == "field_changes":
            needed[1:1] = ["field", "from_value"]
            if not self.fields:
                raise ValueError('shape "field_changes" needs fields = {"<field>" = "<canonical>"}')
        missing = [role for role in needed if role not in self.columns]
        if missing:
            raise ValueError(
                f'shape "{self.shape}" needs history.columns for {", ".join(missing)} '
                '(e.g. record_id = "OpportunityId")'
            )
        return self


class FileEntitySettings(EntityMapping, ExportFormatOptions):
    """``[sources.entities.NAME]`` of a files source: the export file, its mapping and format.

    The format keys (separator, encoding, number format) override the source's options."""

    path: str = Field(description="CSV or Parquet file, relative to the config file.")
    format: Literal["csv", "parquet", "auto"] = "auto"
    allow_empty: bool = Field(
        False,
        description="Accept an export without rows (by default a file with a header only is "
        "an error: an export that stopped early must not empty the snapshot).",
    )
    history: FileHistory | None = Field(
        None,
        description="Where the entity's stage or lifecycle history is and its shape; it is "
        "pulled as `stage_events` (see docs/exports.md).",
    )


@dataclass(frozen=True)
class ExportFormat:
    """How one entity's export is written, resolved from its entity table and source options."""

    separator: str
    encoding: Encoding
    numbers: NumberFormat

    @property
    def codec(self) -> str:
        return ENCODINGS[self.encoding]


_T = TypeVar("_T")


def _pick(entity: _T | None, source: _T | None, default: _T) -> _T:
    if entity is not None:
        return entity
    return source if source is not None else default


def export_format(
    entity: ExportFormatOptions, source: ExportFormatOptions, *, suffix: str = ""
) -> ExportFormat:
    """The entity's export format: its own keys, else the source's, else the defaults."""
    separator = _pick(entity.separator, source.separator, "\t" if suffix == ".tsv" else ",")
    decimal: Decimal = _pick(entity.decimal, source.decimal, ".")
    thousands: Thousands = _pick(entity.thousands, source.thousands, "")
    try:
        numbers = NumberFormat(
            decimal=decimal,
            thousands=thousands,
            currency=_pick(entity.currency, source.currency, "") or None,
            negative=_pick(entity.negative, source.negative, "sign"),
        )
    except ValueError as exc:
        raise ConfigValidationError(
            f"the export's number format is contradictory: {exc} (the entity and the source's "
            "options combine into it)",
            hint="set decimal and thousands together, in the same table",
        ) from exc
    return ExportFormat(separator, _pick(entity.encoding, source.encoding, "utf8"), numbers)
