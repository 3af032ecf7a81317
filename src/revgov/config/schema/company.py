"""``[company]`` and ``[kpis]``: who the definitions belong to, and KPI definition choices."""

from __future__ import annotations

from pydantic import Field

from revgov._typing import Basis, CoverageAgainst, CoverageBasis
from revgov.config.schema._base import Strict

__all__ = ["CompanyConfig", "KPIChoices"]


class CompanyConfig(Strict):
    """`[company]`: who the definitions belong to."""

    name: str = Field("My company", description="Shown on reports.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of amounts.")
    fiscal_year_start_month: int = Field(1, ge=1, le=12, description="First month of the FY.")


class KPIChoices(Strict):
    """`[kpis]`: choices where public KPI definitions disagree."""

    win_rate_basis: Basis = "count"
    cycle_window_days: int = Field(365, ge=1, description="Trailing window for cycle length.")
    coverage_basis: CoverageBasis = "open_pipeline"
    coverage_against: CoverageAgainst = Field(
        "remaining",
        description="Pipeline coverage divides by the target left after bookings "
        "(`remaining`) or by the whole target (`target`).",
    )
    gross_margin: float = Field(0.75, gt=0, le=1)
    cac_spend_lag_months: int = Field(
        1, ge=0, description="Spend of month m-lag is charged to new ARR of month m."
    )
    fiscal_calendar: bool = False
