"""Settings of the files connector: a source's ``options`` and each entity's file and mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from revgov.connectors.settings import ConnectorSettings, EntityMapping

__all__ = ["FileEntitySettings", "FilesSettings"]


class FilesSettings(ConnectorSettings):
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
    separator: str = Field(",", min_length=1, max_length=1, description="CSV field separator.")
    encoding: Literal["utf8", "utf8-lossy"] = Field("utf8", description="CSV text encoding.")


class FileEntitySettings(EntityMapping):
    """``[sources.entities.NAME]`` of a files source: the export file and its mapping."""

    path: str = Field(description="CSV or Parquet file, relative to the config file.")
    format: Literal["csv", "parquet", "auto"] = "auto"
