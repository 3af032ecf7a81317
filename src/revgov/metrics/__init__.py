"""The revenue KPI spine: plain functions over canonical frames.

Every KPI takes canonical frames (polars, DuckDB or PySpark; see :mod:`revgov.model`) and
returns a tidy frame of the same kind, grouped by ``by=`` columns and ``every=`` periods
(``1d``, ``1w``, ``1mo``, ``1q``, ``1y``). Column names are keyword arguments with canonical
defaults; a zero denominator gives null. Each docstring states its formula, and
:data:`KPIS` holds every definition (docs/metrics.md is generated from it).

>>> from revgov.metrics import win_rate_by_count
>>> win_rate_by_count(store.scan("opportunities"), by="segment", every="1q")  # doctest: +SKIP
"""

from __future__ import annotations

from revgov.metrics.cadence import (
    MonthlyReview,
    Reforecast,
    monthly_pipeline_review,
    quarterly_reforecast,
    weekly_scoreboard,
)
from revgov.metrics.conversion import (
    funnel_leakage,
    lead_to_opportunity,
    mql_to_sql,
    opportunity_to_win,
    stage_conversion,
)
from revgov.metrics.demand import buying_group_coverage, icp_fit_rate
from revgov.metrics.efficiency import (
    NEW_BUSINESS_TYPES,
    cac,
    cac_payback_months,
    campaign_efficiency,
    channel_efficiency,
)
from revgov.metrics.enrich import (
    with_owner_attributes,
    with_person_attributes,
    with_stage_attributes,
)
from revgov.metrics.marketing import (
    MARKETING_SOURCES,
    attribution,
    marketing_influenced_pipeline,
    marketing_sourced_pipeline,
)
from revgov.metrics.pipeline import (
    bookings,
    pipeline_coverage,
    pipeline_created,
    qualified_pipeline,
    required_coverage,
)
from revgov.metrics.registry import KPIS, KPIDefinition, compute, get_kpi, prepare_frames
from revgov.metrics.responsiveness import sla_compliance_rate, speed_to_lead
from revgov.metrics.scenarios import (
    ASSUMPTIONS,
    SCENARIOS,
    fit_funnel,
    forecast_bookings,
    funnel_scenarios,
    plan_backward,
)
from revgov.metrics.velocity import (
    DAYS_PER_MONTH,
    average_deal_size,
    lead_to_close_days,
    sales_cycle_days,
    sales_velocity,
    time_in_stage,
    win_rate,
    win_rate_by_amount,
    win_rate_by_count,
)

__all__ = [
    "ASSUMPTIONS",
    "DAYS_PER_MONTH",
    "KPIS",
    "MARKETING_SOURCES",
    "NEW_BUSINESS_TYPES",
    "SCENARIOS",
    "KPIDefinition",
    "MonthlyReview",
    "Reforecast",
    "attribution",
    "average_deal_size",
    "bookings",
    "buying_group_coverage",
    "cac",
    "cac_payback_months",
    "campaign_efficiency",
    "channel_efficiency",
    "compute",
    "fit_funnel",
    "forecast_bookings",
    "funnel_leakage",
    "funnel_scenarios",
    "get_kpi",
    "icp_fit_rate",
    "lead_to_close_days",
    "lead_to_opportunity",
    "marketing_influenced_pipeline",
    "marketing_sourced_pipeline",
    "monthly_pipeline_review",
    "mql_to_sql",
    "opportunity_to_win",
    "pipeline_coverage",
    "pipeline_created",
    "plan_backward",
    "prepare_frames",
    "qualified_pipeline",
    "quarterly_reforecast",
    "required_coverage",
    "sales_cycle_days",
    "sales_velocity",
    "sla_compliance_rate",
    "speed_to_lead",
    "stage_conversion",
    "time_in_stage",
    "weekly_scoreboard",
    "win_rate",
    "win_rate_by_amount",
    "win_rate_by_count",
    "with_owner_attributes",
    "with_person_attributes",
    "with_stage_attributes",
]
