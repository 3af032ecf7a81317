"""``[icp]`` and ``[[segments]]``: the ideal customer profile and the segments by firmographics."""

from __future__ import annotations

from pydantic import Field, model_validator

from revgov.config.schema._base import Strict, invalid

__all__ = ["ICP", "Segment"]


class _Bands(Strict):
    """Inclusive bands of head count and revenue; an empty list matches anything."""

    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)
    countries: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bands_ok(self) -> _Bands:
        for key in ("employees", "annual_revenue"):
            lo, hi = getattr(self, f"{key}_min", None), getattr(self, f"{key}_max", None)
            if lo is not None and hi is not None and lo > hi:
                raise invalid(
                    f"{key}_min {lo} is above {key}_max {hi}",
                    at=(f"{key}_max",),
                    hint="the band is inclusive: min <= max",
                )
        return self


class ICP(_Bands):
    """`[icp]`: the ideal customer profile (empty lists match anything)."""

    annual_revenue_min: float | None = Field(None, ge=0)
    annual_revenue_max: float | None = Field(None, ge=0)


class Segment(_Bands):
    """`[[segments]]`: a segment by firmographics; the first matching segment wins."""

    name: str = Field(min_length=1)
