"""The KPI definition registry: one entry per KPI, the source of docs/metrics.md and of
``revgov metrics``.

Each :class:`KPIDefinition` holds the governed definition (what it measures, its unit and
basis, who owns it, what drives it, and the play to run when it is off), the function that
computes it, a worked example over the example CRM, and how the CLI runs it on a snapshot.
The formula and the output columns are read from the function's docstring, so the code,
the registry and the docs say the same thing.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import narwhals as nw

from revgov.config import Config
from revgov.errors import MetricInputError
from revgov.metrics import conversion as cv
from revgov.metrics import demand as dq
from revgov.metrics import efficiency as ef
from revgov.metrics import marketing as mk
from revgov.metrics import pipeline as pp
from revgov.metrics import responsiveness as rs
from revgov.metrics import velocity as vl
from revgov.metrics._cutoff import frames_as_of
from revgov.metrics._frames import lazy
from revgov.metrics._time import fiscal_every, naive_utc, parse_every
from revgov.metrics.enrich import with_owner_attributes, with_stage_attributes

__all__ = [
    "KPIS",
    "KPIDefinition",
    "RunContext",
    "by_closeness",
    "check_options",
    "compute",
    "docstring_section",
    "get_kpi",
    "groupable_columns",
    "plain",
    "prepare_frames",
    "row_count",
]


@dataclass(frozen=True)
class RunContext:
    """What the CLI passes each KPI: prepared frames, the definitions and the options."""

    frames: Mapping[str, Any]
    config: Config
    by: list[str] | None
    every: str | None
    as_of: datetime

    def __getitem__(self, entity: str) -> Any:
        return self.frames[entity]


@dataclass(frozen=True)
class KPIDefinition:
    """The governed definition of one KPI."""

    name: str
    title: str
    function: Callable[..., Any]
    unit: str
    basis: str
    owner: str
    driver: str
    remediation: str
    #: Entities the KPI reads (all must have rows for ``revgov metrics`` to run it).
    inputs: tuple[str, ...]
    #: Python over the example CRM (names: the entities, ``config``, ``as_of``, the KPIs).
    example: str
    #: How ``revgov metrics`` computes it from a snapshot.
    run: Callable[[RunContext], Any]
    #: The column that summarises it in one number (first row, no grouping).
    headline: str | None = None
    #: The unit of the headline column (default: ``unit``, when it names only one).
    headline_unit: str | None = None
    #: Entities whose columns ``by=`` may name (default: the first input).
    by_entities: tuple[str, ...] | None = None
    #: Whether the KPI can be grouped (``by=``) and split into periods (``every=``).
    takes_by: bool = True
    takes_every: bool = True

    @property
    def grouped_by(self) -> tuple[str, ...]:
        """The entities whose columns ``by=`` names."""
        return self.by_entities if self.by_entities is not None else self.inputs[:1]

    @property
    def headline_label(self) -> str:
        """The unit of the headline value as shown."""
        return self.headline_unit if self.headline_unit is not None else self.unit

    @property
    def formula(self) -> str:
        return docstring_section(self.function, "Formula")

    @property
    def returns(self) -> str:
        return docstring_section(self.function, "Returns")

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.function) or ""
        return plain(doc.split("\n\n")[0])


def docstring_section(func: Callable[..., Any], label: str) -> str:
    """The paragraph of ``func``'s docstring that starts with ``label`` (its text after the
    first colon, on one line)."""
    doc = inspect.getdoc(func) or ""
    for para in doc.split("\n\n"):
        if para.startswith(label):
            text = para[len(label) :].removeprefix(":")
            return plain(text)
    return ""


def plain(text: str) -> str:
    """Docstring text as one line of Markdown: ``x`` and :func:`x` become `x`."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text.replace("``", "`"))
    return " ".join(text.split())


def _by(ctx: RunContext) -> dict[str, Any]:
    return {"by": ctx.by, "every": ctx.every}


def _pipes(ctx: RunContext) -> Any:
    if not ctx.config.pipelines:
        raise MetricInputError(
            "this KPI needs the pipeline stages", hint="add [[pipelines]] to revgov.toml"
        )
    return ctx.config.pipelines


_RO = "Revenue operations"
_SALES = "Sales leadership"
_MKT = "Marketing"
_FIN = "Finance"
_SDR = "Sales development"

_DEFS: list[KPIDefinition] = [
    KPIDefinition(
        name="pipeline_created",
        title="Pipeline created",
        function=pp.pipeline_created,
        unit="count; currency",
        basis="deals by creation period",
        owner=_RO,
        driver="Volume of demand reaching sales and outbound prospecting.",
        remediation="Trace a shortfall to its source and segment; move SDR capacity and budget "
        "to the sources whose pipeline converts.",
        inputs=("opportunities",),
        example='pipeline_created(opportunities, by="segment")',
        run=lambda c: pp.pipeline_created(c["opportunities"], **_by(c)),
        headline="pipeline_amount",
        headline_unit="currency",
    ),
    KPIDefinition(
        name="qualified_pipeline",
        title="Qualified pipeline",
        function=pp.qualified_pipeline,
        unit="count; currency; share",
        basis="deals by creation period, qualified per [qualified] in revgov.toml",
        owner=_RO,
        driver="Discovery quality and how quickly reps advance real deals.",
        remediation="Review the unqualified deals by owner; tighten the entry criteria of the "
        "first stage and coach discovery.",
        inputs=("opportunities",),
        example="qualified_pipeline(opportunities, config.pipelines, "
        "qualified=config.qualified, stage_events=stage_events)",
        run=lambda c: pp.qualified_pipeline(
            c["opportunities"],
            _pipes(c),
            qualified=c.config.qualified,
            stage_events=c.frames.get("stage_events"),
            **_by(c),
        ),
        headline="qualified_amount",
        headline_unit="currency",
    ),
    KPIDefinition(
        name="bookings",
        title="Bookings",
        function=pp.bookings,
        unit="count; currency",
        basis="won deals by close period",
        owner=_SALES,
        driver="Win rate, deal size and the pipeline maturing in the period.",
        remediation="Compare with the forecast; inspect slipped deals and late-stage losses.",
        inputs=("opportunities",),
        example='bookings(opportunities, every="1mo")',
        run=lambda c: pp.bookings(c["opportunities"], **_by(c)),
        headline="bookings",
        headline_unit="currency",
    ),
    KPIDefinition(
        name="stage_conversion",
        title="Stage conversion",
        function=cv.stage_conversion,
        unit="count; share",
        basis="entry cohorts (deal creation period), optional conversion window",
        owner=_SALES,
        driver="Qualification and stage exit criteria; manager deal reviews.",
        remediation="Find the step with the largest drop (funnel_leakage); enforce its exit "
        "criteria and review stuck deals at that step weekly.",
        inputs=("stage_events", "opportunities"),
        example="stage_conversion(stage_events, stages=config.pipelines, "
        "opportunities=opportunities)",
        run=lambda c: cv.stage_conversion(
            c["stage_events"], stages=_pipes(c), opportunities=c["opportunities"], **_by(c)
        ),
        by_entities=("opportunities",),
    ),
    KPIDefinition(
        name="lead_to_opportunity",
        title="Lead-to-opportunity conversion",
        function=cv.lead_to_opportunity,
        unit="share",
        basis="people by creation period",
        owner=_MKT,
        driver="Lead quality, speed to lead and SDR follow-up.",
        remediation="Split by source and segment; cut sources that do not convert and fix "
        "follow-up where leads go untouched.",
        inputs=("people",),
        example='lead_to_opportunity(people, opportunities, by="lead_source")',
        run=lambda c: cv.lead_to_opportunity(c["people"], c.frames.get("opportunities"), **_by(c)),
        headline="conversion_rate",
    ),
    KPIDefinition(
        name="mql_to_sql",
        title="MQL-to-SQL conversion",
        function=cv.mql_to_sql,
        unit="share",
        basis="people by MQL period",
        owner=_MKT,
        driver="MQL scoring threshold and sales acceptance.",
        remediation="Review rejected MQLs with sales; retune the scoring threshold or the "
        "definition of an MQL.",
        inputs=("people",),
        example="mql_to_sql(people, opportunities=opportunities)",
        run=lambda c: cv.mql_to_sql(
            c["people"],
            opportunities=c.frames.get("opportunities"),
            stage_events=c.frames.get("stage_events"),
            qualified=c.config.qualified,
            **_by(c),
        ),
        headline="conversion_rate",
    ),
    KPIDefinition(
        name="opportunity_to_win",
        title="Opportunity-to-win conversion",
        function=cv.opportunity_to_win,
        unit="share",
        basis="deals by creation period (open deals stay in the denominator)",
        owner=_SALES,
        driver="Qualification at entry and win rate.",
        remediation="Read with the cohort's age; compare mature cohorts by segment and source.",
        inputs=("opportunities",),
        example='opportunity_to_win(opportunities, every="1mo")',
        run=lambda c: cv.opportunity_to_win(c["opportunities"], **_by(c)),
        headline="conversion_rate",
    ),
    KPIDefinition(
        name="time_in_stage",
        title="Time in stage",
        function=vl.time_in_stage,
        unit="days",
        basis="stage stays from stage history; open stays counted to as_of",
        owner=_SALES,
        driver="Deal hygiene, buyer engagement and stage exit criteria.",
        remediation="Review deals past the p75 of their stage; set stale_days per stage in "
        "revgov.toml and act on stale deals.",
        inputs=("stage_events",),
        example="time_in_stage(stage_events, as_of=as_of, pipelines=config.pipelines)",
        run=lambda c: vl.time_in_stage(
            c["stage_events"],
            as_of=c.as_of,
            pipelines=c.config.pipelines or None,
            opportunities=c.frames.get("opportunities") if c.by else None,
            **_by(c),
        ),
        by_entities=("opportunities",),
    ),
    KPIDefinition(
        name="sales_cycle_days",
        title="Sales cycle length",
        function=vl.sales_cycle_days,
        unit="days",
        basis="won deals by close period, creation to close",
        owner=_SALES,
        driver="Deal complexity, buying-group size and stage velocity.",
        remediation="Find the stage that grew (time_in_stage); multi-thread slow deals and "
        "agree mutual close plans.",
        inputs=("opportunities",),
        example='sales_cycle_days(opportunities, by="segment")',
        run=lambda c: vl.sales_cycle_days(c["opportunities"], **_by(c)),
        headline="median_days",
    ),
    KPIDefinition(
        name="lead_to_close_days",
        title="Lead-to-close time",
        function=vl.lead_to_close_days,
        unit="days",
        basis="won deals by close period, the person's first contact to close",
        owner=_RO,
        driver="Speed to lead, qualification time and the sales cycle together.",
        remediation="Split into speed to lead, lead-to-opportunity time and the sales cycle; "
        "fix the slowest part.",
        inputs=("opportunities", "people"),
        example="lead_to_close_days(opportunities, people)",
        run=lambda c: vl.lead_to_close_days(c["opportunities"], c["people"], **_by(c)),
        headline="median_days",
    ),
    KPIDefinition(
        name="win_rate_by_count",
        title="Win rate (by count)",
        function=vl.win_rate_by_count,
        unit="share",
        basis="deals closed in the period, each counting once",
        owner=_SALES,
        driver="Qualification, competitive position and sales execution.",
        remediation="Run win/loss reviews on recent losses; check qualification of the deals "
        "that entered the pipeline.",
        inputs=("opportunities",),
        example='win_rate_by_count(opportunities, by="segment")',
        run=lambda c: vl.win_rate_by_count(c["opportunities"], **_by(c)),
        headline="win_rate",
    ),
    KPIDefinition(
        name="win_rate_by_amount",
        title="Win rate (by amount)",
        function=vl.win_rate_by_amount,
        unit="share",
        basis="value of deals closed in the period",
        owner=_SALES,
        driver="Win rate on large deals.",
        remediation="Compare with the count basis: a lower amount win rate means large deals "
        "are lost; review those with the deal desk.",
        inputs=("opportunities",),
        example="win_rate_by_amount(opportunities)",
        run=lambda c: vl.win_rate_by_amount(c["opportunities"], **_by(c)),
        headline="win_rate",
    ),
    KPIDefinition(
        name="average_deal_size",
        title="Average deal size",
        function=vl.average_deal_size,
        unit="currency",
        basis="won deals by close period",
        owner=_SALES,
        driver="Packaging, pricing, discounting and segment mix.",
        remediation="Split by segment and product; review discounting and multi-product attach.",
        inputs=("opportunities",),
        example='average_deal_size(opportunities, by="segment")',
        run=lambda c: vl.average_deal_size(c["opportunities"], **_by(c)),
        headline="average_deal_size",
    ),
    KPIDefinition(
        name="sales_velocity",
        title="Sales velocity",
        function=vl.sales_velocity,
        unit="currency per day; currency per month",
        basis="open deals at as_of; win rate, deal size and cycle over the trailing "
        "kpis.cycle_window_days",
        owner=_RO,
        driver="The four levers: number of deals, win rate, deal size, cycle length.",
        remediation="Find the lever that moved most against the previous period and work that one.",
        inputs=("opportunities",),
        example="sales_velocity(opportunities, as_of=as_of, choices=config.kpis)",
        run=lambda c: vl.sales_velocity(
            c["opportunities"], as_of=c.as_of, choices=c.config.kpis, **_by(c)
        ),
        headline="velocity_per_month",
        headline_unit="currency per month",
    ),
    KPIDefinition(
        name="pipeline_coverage",
        title="Pipeline coverage",
        function=pp.pipeline_coverage,
        unit="ratio (x)",
        basis="open pipeline by expected close period against the bookings target "
        "(kpis.coverage_basis)",
        owner=_RO,
        driver="Pipeline created in earlier periods and slippage of close dates.",
        remediation="Below required_coverage: pull pipeline generation forward, or reset the "
        "target; above it with poor results: check close-date hygiene.",
        inputs=("opportunities", "targets"),
        example='pipeline_coverage(opportunities, targets, by="segment", choices=config.kpis)',
        run=lambda c: pp.pipeline_coverage(
            c["opportunities"],
            c["targets"],
            by=c.by,
            every=c.every or "1mo",
            choices=c.config.kpis,
            pipelines=c.config.pipelines or None,
        ),
        by_entities=("opportunities", "targets"),
    ),
    KPIDefinition(
        name="required_coverage",
        title="Required coverage",
        function=pp.required_coverage,
        unit="ratio (x)",
        basis="deals closed in the period (kpis.win_rate_basis)",
        owner=_RO,
        driver="Historical win rate.",
        remediation="Plan pipeline generation to this multiple of the target; raise the win "
        "rate to lower it.",
        inputs=("opportunities",),
        example="required_coverage(opportunities, choices=config.kpis)",
        run=lambda c: pp.required_coverage(c["opportunities"], choices=c.config.kpis, **_by(c)),
        headline="required_coverage",
    ),
    KPIDefinition(
        name="speed_to_lead",
        title="Speed to lead",
        function=rs.speed_to_lead,
        unit="business hours",
        basis="people by MQL period, as of as_of; business hours from [sla]",
        owner=_SDR,
        driver="Routing, SDR capacity and alerting on new leads.",
        remediation="Fix routing gaps and unassigned leads; alert owners on new leads; cover "
        "the hours with the slowest response.",
        inputs=("people", "activities"),
        example='speed_to_lead(people, activities, sla=config.sla, by="segment")',
        run=lambda c: rs.speed_to_lead(
            c["people"], c["activities"], sla=c.config.sla, as_of=c.as_of, **_by(c)
        ),
        headline="median_hours",
    ),
    KPIDefinition(
        name="sla_compliance_rate",
        title="SLA compliance rate",
        function=rs.sla_compliance_rate,
        unit="share",
        basis="people by MQL period, as of as_of; SLA hours per segment from [sla]",
        owner=_SDR,
        driver="Speed to lead against the agreed SLA.",
        remediation="List breached leads by owner; rebalance queues and set alerts before the "
        "SLA expires.",
        inputs=("people", "activities"),
        example="sla_compliance_rate(people, activities, sla=config.sla, as_of=as_of)",
        run=lambda c: rs.sla_compliance_rate(
            c["people"], c["activities"], sla=c.config.sla, as_of=c.as_of, **_by(c)
        ),
        headline="sla_compliance_rate",
    ),
    KPIDefinition(
        name="cac",
        title="Customer acquisition cost",
        function=ef.cac,
        unit="currency per customer",
        basis="spend lagged by kpis.cac_spend_lag_months against new customers won",
        owner=_FIN,
        driver="Spend efficiency and win rate of new business.",
        remediation="Compare by channel (channel_efficiency); move budget from channels with "
        "the lowest bookings per spend.",
        inputs=("spend", "opportunities"),
        example="cac(spend, opportunities, choices=config.kpis)",
        run=lambda c: ef.cac(
            c["spend"],
            c["opportunities"],
            every=c.every or "1mo",
            choices=c.config.kpis,
            by=c.by,
        ),
        by_entities=("spend", "opportunities"),
    ),
    KPIDefinition(
        name="cac_payback_months",
        title="CAC payback",
        function=ef.cac_payback_months,
        unit="months",
        basis="spend lagged by kpis.cac_spend_lag_months; new ARR x kpis.gross_margin",
        owner=_FIN,
        driver="CAC, deal size and gross margin.",
        remediation="Raise deal size or margin, or cut spend in channels with the longest payback.",
        inputs=("spend", "opportunities"),
        example="cac_payback_months(spend, opportunities, choices=config.kpis)",
        run=lambda c: ef.cac_payback_months(
            c["spend"],
            c["opportunities"],
            every=c.every or "1mo",
            choices=c.config.kpis,
            by=c.by,
        ),
        by_entities=("spend", "opportunities"),
    ),
    KPIDefinition(
        name="marketing_sourced_pipeline",
        title="Marketing-sourced pipeline",
        function=mk.marketing_sourced_pipeline,
        unit="count; currency; share",
        basis="deals by creation period; a primary campaign or a marketing lead source",
        owner=_MKT,
        driver="Inbound demand and campaign tagging on deals.",
        remediation="Check that deals carry their campaign and source (the audit's UTM and "
        "required-field rules) before judging the share.",
        inputs=("opportunities",),
        example="marketing_sourced_pipeline(opportunities)",
        run=lambda c: mk.marketing_sourced_pipeline(c["opportunities"], **_by(c)),
        headline="sourced_share",
        headline_unit="share",
    ),
    KPIDefinition(
        name="marketing_influenced_pipeline",
        title="Marketing-influenced pipeline",
        function=mk.marketing_influenced_pipeline,
        unit="count; currency; share",
        basis="deals by creation period; a campaign touch on the deal's people before creation",
        owner=_MKT,
        driver="Campaign reach into accounts with open buying cycles.",
        remediation="Target programmes at accounts with open pipeline; make sure touches are "
        "recorded against people and accounts.",
        inputs=("opportunities", "campaign_touches"),
        example="marketing_influenced_pipeline(opportunities, campaign_touches, people=people)",
        run=lambda c: mk.marketing_influenced_pipeline(
            c["opportunities"], c["campaign_touches"], people=c.frames.get("people"), **_by(c)
        ),
        headline="influenced_share",
        headline_unit="share",
    ),
    KPIDefinition(
        name="channel_efficiency",
        title="Channel efficiency",
        function=ef.channel_efficiency,
        unit="currency per currency",
        basis="deals by creation (pipeline) and close (bookings) period; spend by period",
        owner=_MKT,
        driver="Channel mix and cost per opportunity.",
        remediation="Shift budget toward channels with the highest bookings per spend; pause "
        "channels that create pipeline that does not close.",
        inputs=("opportunities", "spend"),
        example="channel_efficiency(opportunities, spend, campaigns=campaigns)",
        run=lambda c: ef.channel_efficiency(
            c["opportunities"], c["spend"], campaigns=c.frames.get("campaigns"), **_by(c)
        ),
        by_entities=("opportunities", "spend"),
    ),
    KPIDefinition(
        name="campaign_efficiency",
        title="Campaign efficiency",
        function=ef.campaign_efficiency,
        unit="currency per currency",
        basis="deals by primary campaign; campaign cost or spend lines",
        owner=_MKT,
        driver="Campaign targeting and offer.",
        remediation="Retire campaigns with no pipeline after their window; scale the ones "
        "with the best bookings per cost.",
        inputs=("opportunities", "campaigns"),
        example="campaign_efficiency(opportunities, campaigns, spend=spend)",
        run=lambda c: ef.campaign_efficiency(
            c["opportunities"], c["campaigns"], spend=c.frames.get("spend"), **_by(c)
        ),
        by_entities=("opportunities", "spend"),
    ),
    KPIDefinition(
        name="attribution",
        title="Pipeline attribution (directional)",
        function=mk.attribution,
        unit="credited deals; currency",
        basis="touches by the deal's people at or before creation; first, last, linear",
        owner=_MKT,
        driver="Which campaigns are present in buying journeys.",
        remediation="Use it to compare campaigns, not to prove causality; confirm with "
        "sourced and influenced pipeline and holdout tests.",
        inputs=("opportunities", "campaign_touches"),
        example="attribution(opportunities, campaign_touches, campaigns=campaigns)",
        run=lambda c: mk.attribution(
            c["opportunities"],
            c["campaign_touches"],
            campaigns=c.frames.get("campaigns"),
            people=c.frames.get("people"),
            **_by(c),
        ),
    ),
    KPIDefinition(
        name="icp_fit_rate",
        title="ICP fit rate",
        function=dq.icp_fit_rate,
        unit="share",
        basis="new records (people or accounts) by creation period; [icp] in revgov.toml",
        owner=_MKT,
        driver="Targeting of campaigns and lists.",
        remediation="Cut sources and campaigns that bring poor-fit records; enrich records "
        "with missing firmographics.",
        inputs=("people",),
        example="icp_fit_rate(accounts, config.icp)",
        run=lambda c: dq.icp_fit_rate(c["people"], c.config.icp, **_by(c)),
        headline="icp_fit_rate",
    ),
    KPIDefinition(
        name="buying_group_coverage",
        title="Buying-group coverage",
        function=dq.buying_group_coverage,
        unit="people per deal; share",
        basis="deals open at as_of; activity in the lookback window",
        owner=_SALES,
        driver="Multi-threading: how many people and roles reps engage.",
        remediation="Map the buying group on every deal past discovery; bring in the missing "
        "roles (economic buyer, champion) before proposal.",
        inputs=("opportunities", "people", "activities"),
        example="buying_group_coverage(opportunities, people, activities, as_of=as_of)",
        run=lambda c: dq.buying_group_coverage(
            c["opportunities"], c["people"], c["activities"], as_of=c.as_of, **_by(c)
        ),
        headline="mean_contacts",
        headline_unit="people per deal",
    ),
    KPIDefinition(
        name="funnel_leakage",
        title="Funnel leakage",
        function=cv.funnel_leakage,
        unit="deals",
        basis="the latest cohort period against the previous one and against step targets",
        owner=_RO,
        driver="The conversion step that fell most.",
        remediation="Work the flagged step first: review its lost deals and its exit criteria.",
        inputs=("stage_events", "opportunities"),
        example="funnel_leakage(stage_conversion(stage_events, stages=config.pipelines, "
        'opportunities=opportunities, every="1mo"), targets=targets)',
        run=lambda c: cv.funnel_leakage(
            cv.stage_conversion(
                c["stage_events"],
                stages=_pipes(c),
                opportunities=c["opportunities"],
                by=c.by,
                every=c.every or "1mo",
            ),
            targets=c.frames.get("targets"),
            by=c.by,
        ),
        by_entities=("opportunities",),
    ),
]

#: Every KPI by name, in catalogue order.
KPIS: dict[str, KPIDefinition] = {d.name: d for d in _DEFS}


def by_closeness(name: str, choices: Sequence[str]) -> list[str]:
    """``choices`` ordered by how close each is to ``name`` (closest first)."""
    return sorted(choices, key=lambda c: (-difflib.SequenceMatcher(None, name, c).ratio(), c))


def get_kpi(name: str) -> KPIDefinition:
    """The definition of ``name``; an unknown name lists the KPIs, closest first."""
    try:
        return KPIS[name]
    except KeyError:
        names = by_closeness(name, list(KPIS))
        raise MetricInputError(
            f"unknown KPI {name!r}; the KPIs, closest first: {', '.join(names)}",
            hint=f"did you mean {names[0]!r}?",
        ) from None


def prepare_frames(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | date | str | None = None,
) -> dict[str, Any]:
    """Frames as the KPIs expect them from a snapshot: deals carry their stage attributes
    (flags filled from the pipelines) and, where users exist, their owner's region and team
    (``owner_region``, ``owner_team``), as do people.

    With ``as_of``, every frame is cut to what had happened by then (records created later
    left out, deals closed later reopened at their stage of the time: see
    :mod:`revgov.metrics._cutoff`), so every time-dependent KPI measures the same moment.
    """
    out = dict(frames)
    opps = out.get("opportunities")
    users = out.get("users")
    has_users = users is not None and _rows(users) > 0
    staged = opps is not None and bool(config.pipelines) and "stage" in _columns(opps)
    if staged:
        out["opportunities"] = with_stage_attributes(opps, config.pipelines)
    if as_of is not None:
        out = frames_as_of(out, naive_utc(as_of))
        if staged:
            # The stage may have been read back from history: its order and probability too.
            out["opportunities"] = with_stage_attributes(out["opportunities"], config.pipelines)
    opps = out.get("opportunities")
    if opps is not None and has_users:
        out["opportunities"] = with_owner_attributes(opps, users, columns=("region", "team"))
    people = out.get("people")
    if people is not None and has_users:
        out["people"] = with_owner_attributes(people, users, columns=("region", "team"))
    return out


def _rows(frame: Any) -> int:
    lf = nw.from_native(frame)
    if isinstance(lf, nw.DataFrame):
        return len(lf)
    return int(lf.select(nw.len()).collect().item())


def _columns(frame: Any) -> list[str]:
    return lazy(frame, name="frame").collect_schema().names()


def groupable_columns(definition: KPIDefinition, frames: Mapping[str, Any]) -> list[str] | None:
    """The columns ``by=`` may name for ``definition``: those every entity it groups has
    (None when one of them is not in ``frames``)."""
    names: list[str] | None = None
    for entity in definition.grouped_by:
        if frames.get(entity) is None:
            return None
        cols = _columns(frames[entity])
        names = cols if names is None else [c for c in names if c in cols]
    return names


def check_options(
    definition: KPIDefinition,
    frames: Mapping[str, Any],
    *,
    by: Sequence[str] | None,
    every: str | None,
) -> None:
    """Raise :class:`MetricInputError` for a ``by`` or ``every`` the KPI cannot honour: it
    never ignores one. ``by`` columns must be on every entity the KPI groups."""
    if by and not definition.takes_by:
        raise MetricInputError(
            f"{definition.name} cannot be grouped: by= does not apply to it",
            hint="leave out by= (--by), or choose another KPI",
        )
    if every and not definition.takes_every:
        raise MetricInputError(
            f"{definition.name} cannot be split into periods: every= does not apply to it",
            hint="leave out every= (--every), or choose another KPI",
        )
    parse_every(every)
    valid = groupable_columns(definition, frames)
    if by and valid is not None:
        bad = [c for c in by if c not in valid]
        if bad:
            where = " and ".join(definition.grouped_by)
            close = by_closeness(bad[0], valid)
            raise MetricInputError(
                f"{definition.name} cannot group by {bad[0]!r}: no such column on {where}; "
                f"the columns, closest first: {', '.join(close)}",
                hint=f"did you mean {close[0]!r}?" if close else None,
            )


def compute(
    name: str,
    frames: Mapping[str, Any],
    config: Config,
    *,
    by: Sequence[str] | None = None,
    every: str | None = None,
    as_of: datetime | date | str | None = None,
    prepared: bool = False,
) -> Any:
    """Compute KPI ``name`` on snapshot frames (as :meth:`SnapshotStore.frames` gives them).

    ``as_of`` (default now) cuts the frames to what had happened by then
    (:func:`prepare_frames`); with ``prepared=True`` the frames were prepared with that
    ``as_of`` already. With ``kpis.fiscal_calendar``, quarters and years follow the fiscal
    year (``company.fiscal_year_start_month``). A ``by`` or ``every`` the KPI cannot honour
    raises :class:`MetricInputError`.
    """
    definition = get_kpi(name)
    moment = naive_utc(as_of)
    ready = frames if prepared else prepare_frames(frames, config, as_of=moment)
    missing = [e for e in definition.inputs if e not in ready]
    if missing:
        raise MetricInputError(
            f"{name} needs {', '.join(missing)}, which the snapshot lacks",
            hint="map them in the source's entities and pull again",
        )
    check_options(definition, ready, by=by, every=every)
    if config.kpis.fiscal_calendar:
        every = fiscal_every(every, config.company.fiscal_year_start_month)
    ctx = RunContext(
        frames=ready,
        config=config,
        by=list(by) if by else None,
        every=every,
        as_of=moment,
    )
    return definition.run(ctx)


def row_count(frame: Any) -> int:
    """Rows in any supported frame (collects a count only)."""
    return _rows(frame)
