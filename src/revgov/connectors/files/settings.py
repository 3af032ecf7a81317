"""Settings of the files connector: the ``options`` table of a ``connector = "files"`` source."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from revgov.errors import ConfigValidationError

__all__ = ["FilesSettings"]


class FilesSettings(BaseModel):
    """``[sources.options]`` of a files source. Every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, source: str) -> FilesSettings:
        """Validate a source's options; an error names the source and the key."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "options"
            known = ", ".join(cls.model_fields)
            raise ConfigValidationError(
                f"source {source!r}: options.{key}: {err['msg']}",
                hint=f"the files connector takes these options: {known}",
            ) from None
