"""The built-in baseline pack: the governance checks every CRM should pass.

Every rule reads its settings from the governed definitions (``revgov.toml``): vocabularies,
pipelines, routing table, SLA calendar. A rule whose input entity or column is absent is
skipped with the reason rather than failing, so the pack runs on partial exports too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import narwhals as nw

from revgov.config import Config
from revgov.rules import kinds
from revgov.rules._derive import first_touch, lookup, owner_lookup, speed_to_lead
from revgov.rules._expr import (
    any_of,
    fmt_number,
    is_in,
    join_words,
    lit_str,
    not_null,
    text,
)
from revgov.rules._history import HISTORY_ENTITY_NAMES, lifecycle_history, stage_history
from revgov.rules._naming import compile_template, naming_expressions
from revgov.rules._pipeline import Pipelines
from revgov.rules._routing import pool_columns, round_robin_load, routing, segment_derivation
from revgov.rules.base import Check, Derivation, DeriveContext, Frame, Rule
from revgov.rules.from_config import RulesSettings, config_location, rules_settings

__all__ = ["AS_OF_PARAM", "baseline"]

#: Rules that compare against the audit's reference time read it from this derivation.
AS_OF_PARAM = "__as_of"

_OPS = "revops"
_MOPS = "marketing-ops"
_SOPS = "sales-ops"


def _b(**meta: Any) -> dict[str, Any]:
    return {"origin": "builtin", "optional": True, **meta}


def _as_of_column(entity: str) -> Derivation:
    """``__as_of`` (the reference time) and ``__as_of_date`` as columns, so rule expressions
    built before the audit can compare against it."""

    def build(frame: Frame, ctx: DeriveContext) -> Frame:
        return frame.with_columns(
            nw.lit(ctx.as_of).alias(AS_OF_PARAM),
            nw.lit(ctx.as_of.date()).alias(f"{AS_OF_PARAM}_date"),
        )

    return Derivation(
        name=f"{entity}.as_of", build=build, provides=(AS_OF_PARAM, f"{AS_OF_PARAM}_date")
    )


def baseline(config: Config, settings: RulesSettings | None = None) -> list[Rule]:
    """The baseline rules for ``config`` (order: people, accounts, opportunities, others)."""
    s = settings or rules_settings(config)
    return [
        *_people(config, s),
        *_accounts(config, s),
        *_opportunities(config, s),
        *_routed_opportunities(config),
        *_campaigns(config),
        *_utm_rules(config, "campaign_touches"),
        *_users(config, s),
        *_links(),
    ]


# -- people ------------------------------------------------------------------------------


def _people(config: Config, s: RulesSettings) -> list[Rule]:
    fmt = s.formats
    owners = owner_lookup("people")
    out = [
        kinds.required(
            "people.email_missing",
            "people",
            ["email"],
            description="Every person has an email address.",
            remediation="Enrich or ask for the email; block lead forms and imports that "
            "create people without one.",
            owner=_MOPS,
            **_b(),
        ),
        kinds.formatted(
            "people.email_format",
            "people",
            "email",
            "email",
            regex=fmt.email,
            remediation="Correct the address (typos such as 'at' for '@'); add email "
            "validation to forms and imports.",
            owner=_MOPS,
            **_b(),
        ),
        kinds.unique(
            "people.duplicate_email",
            "people",
            "email",
            normalize="email",
            description="No two people share an email address (compared trimmed, lowercase).",
            remediation="Merge the duplicates, keeping the oldest record and its activity; "
            "turn on duplicate matching by email at import.",
            owner=_OPS,
            severity="warn",
            **_b(),
        ),
        kinds.formatted(
            "people.phone_format",
            "people",
            "phone",
            "e164",
            regex=fmt.e164,
            severity="warn",
            remediation="Store phone numbers in E.164 (+ country code, digits only); "
            "normalize at entry.",
            owner=_OPS,
            **_b(),
        ),
        kinds.formatted(
            "people.country_format",
            "people",
            "country",
            "iso_country",
            severity="warn",
            remediation="Use a country picklist of ISO codes; map typed names to codes.",
            owner=_OPS,
            **_b(),
        ),
        kinds.required(
            "people.owner_missing",
            "people",
            ["owner_id"],
            dimension="routing",
            description="Every person is assigned to an owner (no unassigned records).",
            remediation="Route the records through the assignment rules; alert on "
            "unassigned leads.",
            owner=_SOPS,
            **_b(),
        ),
        _owner_unknown("people"),
        _owner_inactive("people", owners),
        _misrouted("people", config),
        *_utm_rules(config, "people"),
        kinds.allowed_values(
            "people.lifecycle_stage_unknown",
            "people",
            "lifecycle_stage",
            list(config.lifecycle.stages),
            description="lifecycle_stage, when present, is a stage of [lifecycle].stages.",
            remediation="Map the vendor value in [lifecycle.map] or correct the record.",
            owner=_OPS,
            settings=("lifecycle.stages",),
            **_b(),
        ),
        Rule(
            id="people.converted_without_account",
            entity="people",
            dimension="integrity",
            kind="lifecycle",
            description="A converted lead is linked to an account.",
            checks=(
                Check(
                    violation=nw.col("account_id").is_null(),
                    field="account_id",
                    message="converted lead has no account",
                ),
            ),
            scope=(nw.col("is_converted") == True).fill_null(False),  # noqa: E712
            columns=("is_converted", "account_id"),
            remediation="Re-run the conversion against the right account, or link the "
            "contact to its account.",
            owner=_OPS,
            **_b(),
        ),
        kinds.references(
            "people.account_missing",
            "people",
            "account_id",
            "accounts",
            remediation="Relink the person to an existing account or restore the account.",
            owner=_OPS,
            **_b(),
        ),
        *_sla_people(config, s),
        *_lifecycle_rules(config),
    ]
    return out


def _owner_unknown(entity: str) -> Rule:
    return kinds.references(
        f"{entity}.owner_unknown",
        entity,
        "owner_id",
        "users",
        description=f"owner_id of {entity}, when present, is a known user.",
        remediation="Reassign the records of users that do not exist (deleted or mistyped "
        "ids) through the routing rules.",
        owner=_SOPS,
        **_b(),
    ).replace(dimension="integrity")


def _owner_inactive(entity: str, owners: Derivation, *, scope: nw.Expr | None = None) -> Rule:
    found = nw.col("__owner_found").fill_null(False)
    return Rule(
        id=f"{entity}.owner_inactive",
        entity=entity,
        dimension="routing",
        kind="routing",
        description=f"{entity.capitalize()} are not owned by deactivated users"
        + (" (open deals)." if scope is not None else "."),
        checks=(
            Check(
                violation=nw.col("__owner_active") == False,  # noqa: E712
                field="owner_id",
                message=text("owner ", nw.col("owner_id"), " is an inactive user"),
            ),
        ),
        scope=found if scope is None else found & scope,
        columns=("owner_id",),
        derivations=(owners,),
        remediation="Reassign the departed user's records through the routing rules before "
        "deactivating the user.",
        owner=_SOPS,
        **_b(),
    )


def _misrouted(entity: str, config: Config) -> Rule:
    owners = owner_lookup(entity)
    route = routing(entity, config)
    owner = nw.col("owner_id")
    expected = text(
        "owner ",
        owner,
        " is not the routing table's owner ",
        nw.col("__route_owner"),
        " (rule '",
        nw.col("__route_rule"),
        "')",
    )
    pool = text(
        "owner ",
        owner,
        " is not in pool '",
        nw.col("__route_pool"),
        "' (rule '",
        nw.col("__route_rule"),
        "')",
    )
    return Rule(
        id=f"{entity}.misrouted",
        entity=entity,
        dimension="routing",
        kind="routing",
        description="The owner is the one the routing table expects: the first matching "
        "[[routing.rules]] entry's owner, or a member of its round-robin pool.",
        checks=(
            Check(
                violation=nw.col("__route_ok") == False,  # noqa: E712
                field="owner_id",
                message=nw.when(not_null("__route_owner")).then(expected).otherwise(pool),
            ),
        ),
        # Unassigned and inactive owners are reported by their own rules.
        scope=(
            not_null("owner_id")
            & (nw.col("__owner_active") == True)  # noqa: E712
            & not_null("__route_rule")
        ).fill_null(False),
        columns=("owner_id",),
        derivations=(owners, route),
        remediation="Reassign the record to the expected owner or pool and fix the "
        "assignment rule that sent it elsewhere.",
        owner=_SOPS,
        settings=("routing.rules", "routing.pools", "segments"),
        **_b(),
    )


def _utm_rules(config: Config, entity: str) -> list[Rule]:
    """UTM conventions on ``entity`` (people, and campaign touches when there are any)."""
    utm = config.utm
    vocab = {tag: [v.lower() for v in values] for tag, values in utm.vocabulary.items()}
    governed = list(vocab) or ["utm_source", "utm_medium"]
    drift_checks = []
    vocab_checks = []
    for tag in governed:
        col = nw.col(tag)
        low = col.str.to_lowercase()
        would_be_ok = is_in(low, vocab[tag]) if tag in vocab else nw.lit(True)
        drift_checks.append(
            Check(
                violation=not_null(tag) & (col != low) & would_be_ok,
                field=tag,
                message=text(f"{tag} '", col, "' is not lowercase; use '", low, "'"),
            )
        )
        if tag in vocab:
            value = low if utm.lowercase else col
            vocab_checks.append(
                Check(
                    violation=not_null(tag) & ~is_in(value, vocab[tag]),
                    field=tag,
                    message=text(
                        f"{tag} '", col, f"' is not in the vocabulary ({join_words(vocab[tag])})"
                    ),
                )
            )
    medium = nw.col("utm_medium").str.to_lowercase()
    by_channel = {m.lower(): tags for m, tags in utm.required_by_channel.items()}
    req_tags = sorted({t for tags in by_channel.values() for t in tags})
    req_checks = [
        Check(
            violation=is_in(medium, [m for m, tags in by_channel.items() if t in tags])
            & nw.col(t).is_null(),
            field=t,
            message=text(f"{t} is empty but required for utm_medium '", medium, "'"),
        )
        for t in req_tags
    ]
    tagged = any_of([not_null(t) for t in ("utm_source", "utm_medium", "utm_campaign")])
    incomplete_checks = [
        Check(violation=nw.col(t).is_null(), field=t, message=f"tagged record without {t}")
        for t in utm.required
    ]
    rules = [
        Rule(
            id=f"{entity}.utm_case_drift",
            entity=entity,
            dimension="conformity",
            kind="utm",
            description=f"UTM tags of {entity} are lowercase: a tag that is valid once "
            "lowercased (LinkedIn for linkedin) is case drift. The report groups spellings "
            "into families (LinkedIn / linkedin / linked-in) with counts.",
            checks=tuple(drift_checks),
            scope=nw.lit(utm.lowercase),
            columns=tuple(governed),
            remediation="Lowercase the tags at capture (form hidden fields, ad templates) and "
            "backfill; fix the links that carry capitals.",
            owner=_MOPS,
            severity="warn",
            settings=("utm.lowercase", "utm.vocabulary"),
            **_b(),
        ),
        Rule(
            id=f"{entity}.utm_vocabulary",
            entity=entity,
            dimension="conformity",
            kind="utm",
            description=f"utm_* tags of {entity} with a vocabulary in [utm.vocabulary] use "
            "one of its values.",
            checks=tuple(vocab_checks) or (Check(violation=nw.lit(False)),),
            scope=nw.lit(bool(vocab_checks)),
            columns=tuple(vocab),
            remediation="Map the stray value to its vocabulary term and fix the link or ad "
            "template that produced it; add new sources to the vocabulary deliberately.",
            owner=_MOPS,
            severity="warn",
            settings=("utm.vocabulary",),
            **_b(),
        ),
        Rule(
            id=f"{entity}.utm_required_by_channel",
            entity=entity,
            dimension="completeness",
            kind="utm",
            description=f"{entity.capitalize()} from a paid medium carry the tags "
            "[utm.required_by_channel] lists for it (campaign, term, content...).",
            checks=tuple(req_checks) or (Check(violation=nw.lit(False)),),
            scope=is_in(medium, list(by_channel)).fill_null(False),
            columns=("utm_medium", *req_tags),
            remediation="Add the missing parameters to the paid links (ad platform URL "
            "templates) so spend can be attributed.",
            owner=_MOPS,
            settings=("utm.required_by_channel",),
            **_b(),
        ),
        Rule(
            id=f"{entity}.utm_incomplete",
            entity=entity,
            dimension="completeness",
            kind="utm",
            description=f"Tagged {entity} (any of source, medium, campaign set) outside the "
            "media of [utm.required_by_channel] carry every tag of utm.required.",
            checks=tuple(incomplete_checks) or (Check(violation=nw.lit(False)),),
            scope=(tagged & ~is_in(medium, list(by_channel)).fill_null(False)).fill_null(False),
            columns=("utm_source", "utm_medium", "utm_campaign", *utm.required),
            remediation="Tag every link with at least the required parameters.",
            owner=_MOPS,
            severity="info",
            settings=("utm.required",),
            **_b(),
        ),
    ]
    return rules


def _speed_limit(config: Config) -> nw.Expr:
    """Hours allowed to first touch: ``segment:kind`` > segment > kind > ``default``."""
    limits = config.sla.speed_to_lead_hours
    segments = {seg.name for seg in config.segments}
    # The segment as every other rule derives it (segment column, else [[segments]]).
    seg, kind = nw.col("__segment"), nw.col("kind").str.to_lowercase()
    chain: nw.Expr = nw.lit(limits.get("default"), nw.Float64())
    kinds_: list[tuple[str, float]] = []
    segs: list[tuple[str, float]] = []
    both: list[tuple[str, str, float]] = []
    for key, hours in limits.items():
        if key == "default":
            continue
        if ":" in key:
            a, b = key.split(":", 1)
            both.append((a, b.lower(), hours))
        elif key in segments or key not in ("lead", "contact"):
            segs.append((key, hours))
        else:
            kinds_.append((key, hours))
    for k, h in reversed(kinds_):
        chain = nw.when(kind == k).then(nw.lit(h, nw.Float64())).otherwise(chain)
    for sg, h in reversed(segs):
        chain = nw.when(seg == sg).then(nw.lit(h, nw.Float64())).otherwise(chain)
    for sg, k, h in reversed(both):
        chain = nw.when((seg == sg) & (kind == k)).then(nw.lit(h, nw.Float64())).otherwise(chain)
    return chain


def _sla_people(config: Config, s: RulesSettings) -> list[Rule]:
    sla = config.sla
    start = s.speed_to_lead.start
    since = "MQL" if start == "mql_at" else "creation"
    limit = _speed_limit(config)
    hours = nw.col("__stl_seconds") / 3600
    shown = fmt_number(hours)
    never = text(
        "no qualifying activity yet, ",
        shown,
        f" business hours after {since} (limit ",
        fmt_number(limit),
        "h)",
    )
    late = text(
        "first qualifying activity ",
        shown,
        f" business hours after {since} (limit ",
        fmt_number(limit),
        "h)",
    )
    window_start = datetime_param(-sla.follow_up_within_days)
    return [
        Rule(
            id="people.speed_to_lead_breach",
            entity="people",
            dimension="sla",
            kind="sla",
            description="MQLs get a first qualifying activity (sla.qualifying_activity_types) "
            "within sla.speed_to_lead_hours business hours of becoming MQL (or of creation, "
            "per [rules.speed_to_lead].start), by segment or lead kind (keys `default`, a "
            "segment, `lead`/`contact`, or `segment:kind`); time zone, working days and "
            "holidays from [sla]. A lead with no touch yet is a breach once the limit has "
            "passed.",
            checks=(
                Check(
                    violation=hours > limit,
                    field=start,
                    value=shown,
                    message=nw.when(nw.col("__first_touch_at").is_null())
                    .then(never)
                    .otherwise(late),
                ),
            ),
            scope=(not_null(start) & ~limit.is_null()).fill_null(False),
            columns=("person_id", start, "kind"),
            derivations=(segment_derivation("people"), speed_to_lead(start=start)),
            remediation="Alert the owner on new MQLs and route them to someone working now; "
            "review the queue of untouched MQLs daily.",
            owner=_SOPS,
            settings=(
                "sla.speed_to_lead_hours",
                "sla.business_hours",
                "sla.holidays",
                "rules.speed_to_lead.start",
            ),
            **_b(),
        ),
        Rule(
            id="people.follow_up_attempts",
            entity="people",
            dimension="sla",
            kind="sla",
            description="Touched MQLs get at least sla.follow_up_attempts qualifying "
            "activities within sla.follow_up_within_days days of becoming MQL (checked once "
            "the window has passed; untouched MQLs are speed-to-lead breaches).",
            checks=(
                Check(
                    violation=nw.col("__attempts") < sla.follow_up_attempts,
                    field=start,
                    value=nw.col("__attempts").cast(nw.String()),
                    message=text(
                        nw.col("__attempts").cast(nw.String()),
                        f" attempts within {sla.follow_up_within_days} days of {since} "
                        f"(expected {sla.follow_up_attempts})",
                    ),
                ),
            ),
            scope=(
                not_null("__first_touch_at")
                & (nw.col(start) <= nw.col(window_start.column))
                & nw.lit(sla.follow_up_attempts > 0)
            ).fill_null(False),
            columns=("person_id", start),
            derivations=(first_touch(start=start), window_start.derivation("people")),
            remediation="Put MQLs in a follow-up cadence (sequence) with the expected number "
            "of touches.",
            owner=_SOPS,
            severity="warn",
            settings=("sla.follow_up_attempts", "sla.follow_up_within_days"),
            **_b(),
        ),
    ]


class _TimeParam:
    """A column holding ``as_of + days`` (known only at audit time)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.column = f"__as_of_{'m' if days < 0 else 'p'}{abs(days)}d"

    def derivation(self, entity: str) -> Derivation:
        days, column = self.days, self.column

        def build(frame: Frame, ctx: DeriveContext) -> Frame:
            return frame.with_columns(nw.lit(ctx.as_of + timedelta(days=days)).alias(column))

        return Derivation(name=f"{entity}.{column}", build=build, provides=(column,))


def datetime_param(days: int) -> _TimeParam:
    return _TimeParam(days)


def _history_rules(
    entity: str,
    field: str,
    label: str,
    hist: Derivation,
    required: Sequence[str],
    *,
    columns: tuple[str, ...],
    regression: dict[str, Any],
    skipped: dict[str, Any],
) -> list[Rule]:
    """The regression and skipped-stage rules over one stage history (``_history``)."""
    has_events = not_null("__hist_events")
    skip_checks = tuple(
        Check(
            violation=(nw.col(f"__hist_beyond_{i}").fill_null(0) > 0)
            & (nw.col(f"__hist_seen_{i}").fill_null(0) == 0),
            field=field,
            value=lit_str(stage),
            message=f"moved past '{stage}' without entering it",
        )
        for i, stage in enumerate(required)
    )
    common: dict[str, Any] = {
        "entity": entity,
        "dimension": "integrity",
        "kind": "lifecycle",
        "columns": columns,
        "derivations": (hist,),
        **_b(),
    }
    return [
        Rule(
            checks=(
                Check(
                    violation=nw.col("__hist_regressions") > 0,
                    field=field,
                    value=nw.col("__hist_first_back"),
                    message=text(
                        f"{label} moved back ",
                        nw.col("__hist_regressions").cast(nw.String()),
                        " time(s), first: ",
                        nw.col("__hist_first_back"),
                    ),
                ),
            ),
            scope=has_events,
            **regression,
            **common,
        ),
        Rule(
            checks=skip_checks or (Check(violation=nw.lit(False)),),
            scope=has_events & nw.lit(bool(required)),
            **skipped,
            **common,
        ),
    ]


def _lifecycle_rules(config: Config) -> list[Rule]:
    required = list(config.lifecycle.required_stages)
    return _history_rules(
        "people",
        "lifecycle_stage",
        "lifecycle stage",
        lifecycle_history(required),
        required,
        columns=("person_id",),
        regression={
            "id": "people.lifecycle_regression",
            "description": "Lifecycle history (stage_events of lifecycle_stage) never moves a "
            "person back to an earlier stage of [lifecycle].stages.",
            "remediation": "Stop automations that reset lifecycle stages; use a recycle status "
            "instead of moving people back.",
            "owner": _MOPS,
            "settings": ("lifecycle.stages", "lifecycle.map"),
        },
        skipped={
            "id": "people.skipped_lifecycle_stage",
            "description": "People do not move past a stage of lifecycle.required_stages "
            "without entering it (per stage_events).",
            "remediation": "Make the lifecycle automation pass through every required stage "
            "(and stamp its date).",
            "owner": _MOPS,
            "severity": "warn",
            "settings": ("lifecycle.required_stages",),
        },
    )


# -- accounts ----------------------------------------------------------------------------


def _accounts(config: Config, s: RulesSettings) -> list[Rule]:
    owners = owner_lookup("accounts")
    out = [
        kinds.required(
            "accounts.owner_missing",
            "accounts",
            ["owner_id"],
            dimension="routing",
            description="Every account has an owner.",
            remediation="Assign the account by territory; alert on unowned accounts.",
            owner=_SOPS,
            **_b(),
        ),
        _owner_unknown("accounts"),
        _owner_inactive("accounts", owners),
        kinds.formatted(
            "accounts.domain_format",
            "accounts",
            "domain",
            "domain",
            regex=s.formats.domain,
            remediation="Store the bare host name (acme.com): strip schemes, paths and "
            "spaces at entry.",
            owner=_OPS,
            **_b(),
        ),
        kinds.unique(
            "accounts.duplicate_domain",
            "accounts",
            "domain",
            normalize="domain",
            description="No two accounts share a domain (lowercase, without a leading 'www.').",
            remediation="Merge duplicate accounts (or link subsidiaries with "
            "parent_account_id and distinct domains).",
            owner=_OPS,
            severity="warn",
            **_b(),
        ),
        kinds.formatted(
            "accounts.country_format",
            "accounts",
            "country",
            "iso_country",
            severity="warn",
            remediation="Use a country picklist of ISO codes; map typed names to codes.",
            owner=_OPS,
            **_b(),
        ),
    ]
    if any(r.entity == "accounts" for r in config.routing.rules):
        out.append(_misrouted("accounts", config))
    return out


def _routed_opportunities(config: Config) -> list[Rule]:
    if any(r.entity == "opportunities" for r in config.routing.rules):
        return [_misrouted("opportunities", config)]
    return []


# -- opportunities -----------------------------------------------------------------------


def _opportunities(config: Config, s: RulesSettings) -> list[Rule]:
    p = Pipelines.of(config)
    pipe = p.pipe()
    stage = nw.col("stage")
    known = p.known(stage, pipe)
    open_known = p.open(stage, pipe)
    is_open = (
        nw.when(known).then(open_known).otherwise(nw.col("is_closed") == False)  # noqa: E712
    ).fill_null(False)
    pipe_ok = (nw.col("pipeline").is_null() | p.pipeline_known()).fill_null(False)
    owners = owner_lookup("opportunities")
    as_of = _as_of_column("opportunities")
    stale_dt, stale_params = _stale_thresholds(config)
    stale_days = _stale_days(config)
    required = list(s.skipped_stage.required)
    configured = nw.lit(bool(p.pipelines))
    rules = [
        kinds.required(
            "opportunities.owner_missing",
            "opportunities",
            ["owner_id"],
            dimension="routing",
            description="Every opportunity has an owner.",
            remediation="Assign the deal to the account owner.",
            owner=_SOPS,
            **_b(),
        ),
        _owner_unknown("opportunities"),
        _owner_inactive("opportunities", owners, scope=is_open).replace(
            columns=("owner_id", "stage", "pipeline", "is_closed")
        ),
        kinds.references(
            "opportunities.account_missing",
            "opportunities",
            "account_id",
            "accounts",
            required=True,
            description="Every opportunity is linked to an existing account.",
            remediation="Link the deal to its account (create it if needed); make the "
            "account lookup required on deals.",
            owner=_OPS,
            **_b(),
        ),
        Rule(
            id="opportunities.pipeline_unknown",
            entity="opportunities",
            dimension="conformity",
            kind="allowed_values",
            description="pipeline, when present, names a configured [[pipelines]] entry.",
            checks=(
                Check(
                    violation=~p.pipeline_known(),
                    field="pipeline",
                    message=f"not a configured pipeline ({join_words(p.names)})",
                ),
            ),
            scope=(not_null("pipeline") & configured).fill_null(False),
            columns=("pipeline",),
            remediation="Add the pipeline to revgov.toml or map the deal to a configured one.",
            owner=_OPS,
            settings=("pipelines",),
            **_b(),
        ),
        Rule(
            id="opportunities.stage_unknown",
            entity="opportunities",
            dimension="conformity",
            kind="allowed_values",
            description="stage is a stage of the deal's pipeline (the first pipeline when "
            "pipeline is blank).",
            checks=(
                Check(
                    violation=~known,
                    field="stage",
                    message=text("stage '", stage, "' is not a stage of pipeline '", pipe, "'"),
                ),
            ),
            scope=(not_null("stage") & pipe_ok & configured).fill_null(False),
            columns=("stage", "pipeline"),
            remediation="Map the value to a pipeline stage (add it to the stage's aliases) "
            "or correct the deal.",
            owner=_OPS,
            settings=("pipelines.stages",),
            **_b(),
        ),
        kinds.in_range(
            "opportunities.amount_negative",
            "opportunities",
            "amount",
            min=0,
            description="amount, when present, is not negative.",
            remediation="Correct the amount; record credits and refunds outside deals.",
            owner=_OPS,
            **_b(),
        ),
        kinds.compare(
            "opportunities.close_before_created",
            "opportunities",
            "close_date",
            ">=",
            "created_at",
            description="close_date is not before the day the deal was created.",
            message=text(
                "close date before creation (", nw.col("created_at").dt.to_string("%Y-%m-%d"), ")"
            ),
            remediation="Correct the close date (imports often swap the two dates).",
            owner=_OPS,
            **_b(),
        ),
        Rule(
            id="opportunities.close_date_missing",
            entity="opportunities",
            dimension="completeness",
            kind="required",
            description="Open deals have a close date (needed for forecasts and coverage).",
            checks=(
                Check(
                    violation=nw.col("close_date").is_null(),
                    field="close_date",
                    message="open deal without a close date",
                ),
            ),
            scope=is_open,
            columns=("close_date", "stage", "pipeline", "is_closed"),
            remediation="Set the expected close date; make it required on open deals.",
            owner=_SOPS,
            **_b(),
        ),
        Rule(
            id="opportunities.stale_in_stage",
            entity="opportunities",
            dimension="sla",
            kind="sla",
            description="Open deals have not sat in their stage longer than the pipeline's "
            "stale_days for it (else sla.stale_days_default), measured at as_of.",
            checks=(
                Check(
                    violation=nw.col("stage_entered_at") < stale_dt,
                    field="stage_entered_at",
                    message=text(
                        "in '",
                        stage,
                        "' since ",
                        nw.col("stage_entered_at").dt.to_string("%Y-%m-%d"),
                        "; stale after ",
                        stale_days,
                        " days",
                    ),
                ),
            ),
            scope=(open_known & not_null("stage_entered_at") & pipe_ok).fill_null(False),
            columns=("stage", "pipeline", "stage_entered_at"),
            derivations=stale_params,
            remediation="Review the deal with its owner: advance it, set a next step, or "
            "close it lost.",
            owner=_SOPS,
            severity="warn",
            settings=("pipelines.stale_days", "sla.stale_days_default"),
            **_b(),
        ),
        Rule(
            id="opportunities.past_close_date",
            entity="opportunities",
            dimension="sla",
            kind="sla",
            description="Open deals do not have a close date before as_of.",
            checks=(
                Check(
                    violation=nw.col("close_date") < nw.col(f"{AS_OF_PARAM}_date"),
                    field="close_date",
                    message="open deal whose close date has passed",
                ),
            ),
            scope=(is_open & not_null("close_date")).fill_null(False),
            columns=("close_date", "stage", "pipeline", "is_closed"),
            derivations=(as_of,),
            remediation="Update the close date or close the deal; review overdue deals in "
            "the weekly pipeline call.",
            owner=_SOPS,
            severity="warn",
            **_b(),
        ),
        Rule(
            id="opportunities.closed_won_without_amount",
            entity="opportunities",
            dimension="integrity",
            kind="lifecycle",
            description="Won deals have a non-zero amount.",
            checks=(
                Check(
                    violation=nw.col("amount").is_null() | (nw.col("amount") == 0),
                    field="amount",
                    message="won deal without an amount",
                ),
            ),
            scope=(nw.col("is_won") == True).fill_null(False),  # noqa: E712
            columns=("is_won", "amount"),
            remediation="Enter the booked amount; require it when closing won.",
            owner=_SOPS,
            **_b(),
        ),
        Rule(
            id="opportunities.won_flags_mismatch",
            entity="opportunities",
            dimension="integrity",
            kind="lifecycle",
            description="is_closed and is_won agree with the stage's definition in "
            "[[pipelines.stages]].",
            checks=(
                Check(
                    violation=nw.col("is_closed") != p.closed(stage, pipe),
                    field="is_closed",
                    message=text("is_closed disagrees with stage '", stage, "'"),
                ),
                Check(
                    violation=nw.col("is_won") != p.won(stage, pipe),
                    field="is_won",
                    message=text("is_won disagrees with stage '", stage, "'"),
                ),
            ),
            scope=known,
            columns=("stage", "pipeline", "is_closed", "is_won"),
            remediation="Fix the stage mapping (is_closed / is_won per stage) or the record.",
            owner=_OPS,
            settings=("pipelines.stages",),
            **_b(),
        ),
    ]
    rules += _history_rules(
        "opportunities",
        "stage",
        "stage",
        stage_history(required),
        required,
        columns=("opportunity_id", "pipeline"),
        regression={
            "id": "opportunities.stage_regression",
            "description": "Stage history (stage_events of stage) never moves a deal back to "
            "an earlier open stage.",
            "remediation": "Coach reps to keep deals moving forward; use a next-step field "
            "instead of moving stages back.",
            "owner": _SOPS,
            "severity": "warn",
            "settings": ("pipelines.stages",),
        },
        skipped={
            "id": "opportunities.skipped_stage",
            "description": "Deals do not move to a later open or won stage without passing "
            "through each stage of [rules.skipped_stage].required.",
            "remediation": "Enforce stage entry criteria (stage gates) so that qualification "
            "is recorded.",
            "owner": _SOPS,
            "severity": "warn",
            "settings": ("rules.skipped_stage.required",),
        },
    )
    return rules


def _stale_thresholds(config: Config) -> tuple[nw.Expr, tuple[Derivation, ...]]:
    """Per (pipeline, stage): the instant before which a deal that entered it is stale
    (as_of minus the stage's stale days), with the derivations holding those instants."""
    days_expr = _stale_days_int(config)
    chain: nw.Expr = nw.lit(None)
    derivations = []
    for d in sorted(set(_all_stale_days(config))):
        param = datetime_param(-d)
        derivations.append(param.derivation("opportunities"))
        chain = nw.when(days_expr == d).then(nw.col(param.column)).otherwise(chain)
    return chain, tuple(derivations)


def _all_stale_days(config: Config) -> list[int]:
    out = [config.sla.stale_days_default]
    for p in config.pipelines:
        out += list(p.stale_days.values())
    return out


def _stale_days_int(config: Config) -> nw.Expr:
    default = config.sla.stale_days_default
    pipe, stage = Pipelines.of(config).pipe(), nw.col("stage")
    chain: nw.Expr = nw.lit(default)
    for p in reversed(config.pipelines):
        for st, d in p.stale_days.items():
            chain = nw.when((pipe == p.name) & (stage == st)).then(nw.lit(d)).otherwise(chain)
    return chain


def _stale_days(config: Config) -> nw.Expr:
    return _stale_days_int(config).cast(nw.String())


# -- campaigns, users, links ------------------------------------------------------------


def _campaigns(config: Config) -> list[Rule]:
    naming = config.campaign_naming

    def locate(*key: str) -> str:
        return f"{config_location(config, 'campaign_naming', *key)}: rule campaigns.naming"

    tpl = compile_template(naming.template, naming.tokens, locate=locate)
    exprs = naming_expressions("name", tpl)
    return [
        Rule(
            id="campaigns.naming",
            entity="campaigns",
            dimension="conformity",
            kind="naming",
            description="Campaign names follow campaign_naming.template with each token in "
            "its vocabulary; the finding says which token is wrong and why.",
            checks=(Check(violation=exprs.violation, field="name", message=exprs.message),),
            scope=not_null("name"),
            columns=("name",),
            remediation="Rename the campaign to the template (use the naming builder); "
            "reports group spend by these tokens.",
            owner=_MOPS,
            severity="warn",
            settings=("campaign_naming.template", "campaign_naming.tokens"),
            **_b(),
        )
    ]


def _users(config: Config, s: RulesSettings) -> list[Rule]:
    pools = list(config.routing.pools.items())
    tol = s.round_robin.tolerance
    tolerance = config.routing.round_robin_tolerance if tol is None else tol
    checks = []
    for i, (name, _members) in enumerate(pools):
        member, load, share = pool_columns(i)
        dev = (nw.col(load) - nw.col(share)).abs()
        checks.append(
            Check(
                scope=nw.col(member),
                violation=(nw.col(share) > 0) & (dev > nw.col(share) * tolerance),
                field="owner_id",
                value=nw.col(load).cast(nw.String()),
                message=text(
                    f"pool '{name}': owns ",
                    nw.col(load).cast(nw.String()),
                    " routed records; even share ",
                    fmt_number(nw.col(share), 1),
                    f" (tolerance {tolerance:.0%})",
                ),
            )
        )
    members = [pool_columns(i)[0] for i in range(len(pools))]
    return [
        Rule(
            id="users.round_robin_imbalance",
            entity="users",
            dimension="routing",
            kind="routing",
            description="Active members of each round-robin pool own an even share of the "
            "records routed to the pool, within routing.round_robin_tolerance.",
            checks=tuple(checks) or (Check(violation=nw.lit(False)),),
            scope=any_of([nw.col(m) for m in members]) if members else nw.lit(False),
            columns=("user_id", "is_active"),
            derivations=(round_robin_load(config),),
            owner_column="user_id",
            remediation="Check the round-robin assignment (skipped or paused members, manual "
            "reassignments) and rebalance new records.",
            owner=_SOPS,
            severity="warn",
            settings=("routing.pools", "routing.round_robin_tolerance"),
            **_b(),
        )
    ]


def _links() -> list[Rule]:
    opp_ref = lookup(
        "stage_events.ref.opportunities",
        key="record_id",
        target="opportunities",
        target_key="opportunity_id",
        values={},
        found="__ref_opp",
    )
    person_ref = lookup(
        "stage_events.ref.people",
        key="record_id",
        target="people",
        target_key="person_id",
        values={},
        found="__ref_person",
    )
    ent = nw.col("record_entity").str.to_lowercase()
    is_opp = is_in(ent, HISTORY_ENTITY_NAMES["opportunities"]).fill_null(False)
    is_person = is_in(ent, HISTORY_ENTITY_NAMES["people"]).fill_null(False)
    return [
        kinds.references(
            "activities.person_missing",
            "activities",
            "person_id",
            "people",
            description="An activity's person_id, when present, is an existing person.",
            remediation="Relink the activity or restore the person; check merge jobs that "
            "delete people without moving their activities.",
            owner=_OPS,
            severity="warn",
            **_b(),
        ),
        Rule(
            id="stage_events.record_missing",
            entity="stage_events",
            dimension="integrity",
            kind="reference",
            description="Every stage event belongs to an existing opportunity or person.",
            checks=(
                Check(
                    violation=(is_opp & ~nw.col("__ref_opp").fill_null(False))
                    | (is_person & ~nw.col("__ref_person").fill_null(False)),
                    field="record_id",
                    message=text(
                        "no ", nw.col("record_entity"), " record '", nw.col("record_id"), "'"
                    ),
                ),
            ),
            scope=(is_opp | is_person) & not_null("record_id"),
            columns=("record_entity", "record_id"),
            derivations=(opp_ref, person_ref),
            owner_column="changed_by",
            remediation="Purge history of deleted records, or restore the records.",
            owner=_OPS,
            severity="info",
            **_b(),
        ),
    ]
