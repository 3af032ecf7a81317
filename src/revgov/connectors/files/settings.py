"""Settings of the files connector: a source's ``options`` and each entity's file and mapping.

How an export is written (its separator, encoding and number format) can be set for the whole
source under ``[sources.options]`` and for one entity under ``[sources.entities.NAME]``; an
entity's value wins, the source's is the default, and :func:`export_format` resolves the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, Field, model_validator

from revgov.connectors.settings import ConnectorSettings, EntityMapping
from revgov.errors import ConfigValidationError
from revgov.model import NumberFormat
from revgov.model._numbers import Decimal, Negative, Thousands

__all__ = [
    "ENCODINGS",
    "ExportFormat",
    "ExportFormatOptions",
    "FileEntitySettings",
    "FilesSettings",
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
