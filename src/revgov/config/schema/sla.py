"""``[sla]``: service levels, the business calendar they are measured in, and the SLA clock."""

from __future__ import annotations

from datetime import date, time

from pydantic import Field, model_validator

from revgov._typing import ClockStart, SLAClock
from revgov.config.schema._base import Strict, invalid

__all__ = ["BusinessHours", "SLAConfig"]


class BusinessHours(Strict):
    """`[sla.business_hours]`: the working day in the SLA time zone."""

    start: time = time(9, 0)
    end: time = Field(time(17, 0), description="After start: hours cannot run past midnight.")
    working_days: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], description="ISO weekdays, Monday = 1."
    )


class SLAConfig(Strict):
    """`[sla]`: service levels, measured in business hours.

    The calendar (time zone, hours, working days, holidays) is checked when the config is
    loaded with :func:`revgov.definitions.calendar.calendar_problem`, the same check the
    calendar makes itself: 17:00-09:00, weekday 0 or an unknown zone are load errors.
    """

    timezone: str = Field("UTC", description="IANA time zone of the business hours.")
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    holidays: list[date] = Field(default_factory=list)
    speed_to_lead_hours: dict[str, float] = Field(
        default_factory=lambda: {"default": 4.0},
        description="Business hours to first touch; keys: `default` (required), a segment, "
        "`lead`/`contact`, or `segment:kind`.",
    )
    speed_to_lead_start: ClockStart = Field(
        "mql_at",
        description="When the SLA clock starts: the MQL time (`mql_at`), the record's "
        "creation (`created_at`), or its assignment to the owner (`assigned_at`).",
    )
    speed_to_lead_clock: SLAClock = Field(
        "business_hours",
        description="How the SLA clock runs: `business_hours` (the calendar below) or "
        "`wall_clock` (nights and weekends count). The audit and the KPIs read it alike.",
    )
    qualifying_activity_types: list[str] = Field(
        default_factory=lambda: ["call", "email", "meeting"],
        min_length=1,
        description="Activity types that count as a touch (any case).",
    )
    follow_up_attempts: int = Field(3, ge=0, description="Attempts expected ...")
    follow_up_within_days: int = Field(7, ge=1, description="... within this many days.")
    stale_days_default: int = Field(30, ge=1, description="Days in stage before a deal is stale.")

    @model_validator(mode="after")
    def _calendar_ok(self) -> SLAConfig:
        from revgov.definitions.calendar import calendar_problem

        bh = self.business_hours
        problem = calendar_problem(self.timezone, bh.start, bh.end, bh.working_days)
        if problem is not None:
            raise invalid(problem.message, at=problem.key, hint=problem.hint)
        return self

    @model_validator(mode="after")
    def _limits_ok(self) -> SLAConfig:
        limits = self.speed_to_lead_hours
        if "default" not in limits:
            raise invalid(
                "speed_to_lead_hours has no `default`",
                at=("speed_to_lead_hours",),
                hint="add default = 4.0: the limit of leads no other key matches",
            )
        for key, hours in limits.items():
            if hours <= 0:
                raise invalid(
                    f"speed_to_lead_hours[{key!r}] = {hours} is not a positive number of hours",
                    at=("speed_to_lead_hours", key),
                    hint="write the business hours allowed to first touch, e.g. 4.0",
                )
            kind = key.split(":", 1)[1] if ":" in key else None
            if kind is not None and kind.strip().lower() not in ("lead", "contact"):
                raise invalid(
                    f"speed_to_lead_hours key {key!r}: {kind!r} is not a kind of person",
                    at=("speed_to_lead_hours", key),
                    hint="write `segment:lead` or `segment:contact`",
                )
        return self
