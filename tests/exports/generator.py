"""Vendor-layout CRM exports with planted defects, from a seed.

:func:`salesforce_export` writes what a Salesforce data export holds (``User.csv``,
``Account.csv``, ``Lead.csv``, ``LeadHistory.csv``, ``Opportunity.csv``,
``OpportunityHistory.csv``, ``Task.csv``, ``Campaign.csv``) in Salesforce's own field names,
formats and quirks: OpportunityHistory writes a row per stage entered and again whenever the
amount changes, with no "from" value; LeadHistory writes Field/OldValue/NewValue rows of many
fields; booleans are ``true``/``false``; timestamps are ``2026-03-02T14:05:00.000Z``.
:func:`hubspot_export` writes HubSpot's ``contacts.csv``, ``deals.csv`` and ``companies.csv``
in its column labels, with "Date entered <stage>" columns as the only deal history.

Both return the ground truth: per defect kind (the id of the baseline rule that must find
it), the ids of the records it was planted on. Kinds sit on disjoint records, and every record
not listed satisfies :data:`COMPANY_DEFINITIONS` (the definitions a company adds to what
``revgov init`` writes). The generator writes no revgov.toml: finding the layout is init's job.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "AS_OF",
    "COMPANY_DEFINITIONS",
    "HUBSPOT_KINDS",
    "ROUTING_DEPENDENT_KINDS",
    "SALESFORCE_KINDS",
    "SALESFORCE_ROUTING",
    "STALE_DAYS",
    "Export",
    "hubspot_export",
    "salesforce_export",
]

#: The reference time the exports are made at (audit with ``--as-of`` this).
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)

#: Kinds whose expected rule outcome depends on how routing outcomes are named (issue 11
#: item 4, being changed on another branch). They are expected as main behaves today:
#: a lead owned by an inactive user in no pool is found by ``people.owner_inactive`` (and
#: not by ``people.misrouted``); a lead left in a queue (an owner id that is no user) is
#: found by ``people.owner_unknown``. Update these expectations when routing outcomes land.
ROUTING_DEPENDENT_KINDS = frozenset(
    {"people.owner_inactive", "people.owner_unknown", "people.misrouted"}
)

SALESFORCE_KINDS = (
    "accounts.industry_missing",
    "campaigns.naming",
    "opportunities.amount_missing_late_stage",
    "opportunities.close_before_created",
    "opportunities.owner_inactive",
    "opportunities.past_close_date",
    "opportunities.skipped_stage",
    "opportunities.stage_regression",
    "opportunities.stage_unknown",
    "opportunities.stale_in_stage",
    "people.email_missing",
    "people.lifecycle_regression",
    "people.misrouted",
    "people.owner_inactive",
    "people.owner_unknown",
    "people.speed_to_lead_breach",
    "people.utm_case_drift",
    "people.utm_vocabulary",
)

HUBSPOT_KINDS = (
    "accounts.industry_missing",
    "opportunities.amount_missing_late_stage",
    "opportunities.close_before_created",
    "opportunities.past_close_date",
    "opportunities.stale_in_stage",
    "people.email_missing",
    "people.utm_case_drift",
    "people.utm_vocabulary",
)

#: The company's own definitions, added to the config ``revgov init`` writes (as TOML text:
#: these are what a company reviews and fills in; see docs/exports.md). ``{stages}`` is
#: replaced by each vendor's open stage names.
COMPANY_DEFINITIONS = """
[[required_fields]]
entity = "accounts"
fields = ["industry"]

[[required_fields]]
id = "amount_missing_late_stage"
entity = "opportunities"
fields = ["amount"]
when_stage = {late_stages}

[utm]
lowercase = true
required = ["utm_source", "utm_medium"]

[utm.vocabulary]
utm_source = ["google", "linkedin", "newsletter", "partner"]
utm_medium = ["cpc", "paid-social", "email", "referral"]

[campaign_naming]
template = "{{year}}-{{quarter}}_{{channel}}_{{region}}_{{offer}}"

[campaign_naming.tokens]
year = '20\\d{{2}}'
quarter = "q[1-4]"
channel = ["search", "social", "email", "event"]
region = ["na", "emea"]
offer = ["demo", "trial", "ebook"]

[sla]
timezone = "UTC"
speed_to_lead_hours = {{ default = 4.0 }}
qualifying_activity_types = ["call", "email"]
follow_up_attempts = 0

[sla.business_hours]
start = 09:00:00
end = 17:00:00
working_days = [1, 2, 3, 4, 5]
"""

#: The Salesforce company's routing: North America and EMEA pools, by country.
SALESFORCE_ROUTING = """
[routing.pools]
na = ["005000000000U01", "005000000000U02", "005000000000U03"]
emea = ["005000000000U04", "005000000000U05", "005000000000U06"]

[[routing.rules]]
name = "na"
countries = ["US", "CA"]
pool = "na"

[[routing.rules]]
name = "emea"
countries = ["GB", "DE"]
pool = "emea"

[rules.skipped_stage]
required = ["Qualification"]
"""

UTM_SOURCES = ("google", "linkedin", "newsletter", "partner")
UTM_MEDIA = ("cpc", "paid-social", "email", "referral")
NA, EMEA = ("US", "CA"), ("GB", "DE")

#: Salesforce's stages: name, probability (percent), closed, won.
SF_STAGES = (
    ("Prospecting", 10, False, False),
    ("Qualification", 20, False, False),
    ("Proposal/Price Quote", 50, False, False),
    ("Negotiation/Review", 75, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
#: HubSpot's default sales pipeline (labels, as a UI export writes them).
HS_STAGES = (
    ("Appointment Scheduled", 20, False, False),
    ("Qualified To Buy", 40, False, False),
    ("Presentation Scheduled", 60, False, False),
    ("Contract Sent", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
)
STALE_DAYS = 30


@dataclass
class Export:
    """What the generator wrote: the folder, the ground truth and the pipeline it used."""

    folder: Path
    planted: dict[str, set[str]] = field(default_factory=dict)
    #: The open stages and those where an amount is required (for the definitions).
    open_stages: tuple[str, ...] = ()
    late_stages: tuple[str, ...] = ()
    #: Definitions only this vendor's company has (routing, skipped stages).
    extra_definitions: str = ""

    def plant(self, kind: str, record_id: str) -> None:
        self.planted.setdefault(kind, set()).add(record_id)

    def definitions(self) -> str:
        """:data:`COMPANY_DEFINITIONS` for this export's pipeline."""
        late = "[" + ", ".join(f'"{s}"' for s in self.late_stages) + "]"
        return COMPANY_DEFINITIONS.format(late_stages=late) + self.extra_definitions


def _sf_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hs_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _write(path: Path, rows: list[dict[str, Any]], header: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, quoting=csv.QUOTE_MINIMAL)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in header})


def _business_moment(rng: random.Random, day: datetime) -> datetime:
    """A weekday at 10:00-12:00 UTC on or after ``day``."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(
        minutes=rng.randrange(0, 120)
    )


class _Kinds:
    """Hands out disjoint records to kinds: ``take(kind, n)`` from the shuffled pool."""

    def __init__(self, rng: random.Random, ids: list[str]) -> None:
        self.pool = list(ids)
        rng.shuffle(self.pool)
        self.of: dict[str, str] = {}

    def take(self, kind: str, n: int) -> None:
        for _ in range(n):
            self.of[self.pool.pop()] = kind


def _deal_path(
    rng: random.Random, created: datetime, stages: list[str], upto: int, last_entry: datetime
) -> list[tuple[str, datetime]]:
    """Stages 0..upto entered at increasing moments from ``created`` to ``last_entry``."""
    if upto == 0:
        return [(stages[0], last_entry)]
    span = (last_entry - created).total_seconds()
    cuts = sorted(rng.uniform(0.05, 0.95) * span for _ in range(upto - 1))
    moments = [created, *[created + timedelta(seconds=c) for c in cuts], last_entry]
    return list(zip(stages[: upto + 1], moments, strict=True))


def _deal_plan(
    rng: random.Random, kind: str | None, i: int, names: list[str]
) -> tuple[datetime, bool, list[tuple[str, datetime]]]:
    """A deal's creation, whether it is closed, and its stage path, as ``kind`` needs: a
    stale deal last entered its stage long ago, a clean open one within the stale limit."""
    created = _business_moment(rng, AS_OF - timedelta(days=rng.randrange(120, 300)))
    closed = kind == "opportunities.close_before_created" or (kind is None and i % 3 == 0)
    upto = rng.randrange(2, 4) if kind == "opportunities.amount_missing_late_stage" else 0
    if not closed and not upto:
        upto = rng.randrange(0, 4)
    if kind in ("opportunities.stage_regression", "opportunities.skipped_stage"):
        upto = 2
    last_entry = AS_OF - timedelta(days=rng.randrange(2, STALE_DAYS - 5))
    if kind == "opportunities.stale_in_stage":
        last_entry = AS_OF - timedelta(days=rng.randrange(STALE_DAYS + 15, 110))
    if kind == "opportunities.stage_regression":
        # Up to the third stage, then back to the second a few days ago.
        path = _deal_path(rng, created, names, 2, last_entry - timedelta(days=20))
        return created, closed, [*path, (names[1], last_entry)]
    if closed:
        path = _deal_path(rng, created, names, 3, AS_OF - timedelta(days=60))
        won_or_lost = rng.choice([n for n in names if n.startswith("Closed")])
        return created, closed, [*path, (won_or_lost, AS_OF - timedelta(days=50))]
    path = _deal_path(rng, created, names, upto, last_entry)
    if kind == "opportunities.skipped_stage":
        path = [p for p in path if p[0] != names[1]]
    return created, closed, path


def _close_date(
    rng: random.Random,
    kind: str | None,
    created: datetime,
    closed: bool,
    path: list[tuple[str, datetime]],
) -> date:
    if kind == "opportunities.past_close_date":
        return (AS_OF - timedelta(days=rng.randrange(5, 40))).date()
    if kind == "opportunities.close_before_created":
        return (created - timedelta(days=rng.randrange(3, 30))).date()
    if closed:
        return path[-1][1].date()
    return (AS_OF + timedelta(days=rng.randrange(10, 90))).date()


# -- Salesforce -------------------------------------------------------------------------------


def salesforce_export(
    folder: Path, *, seed: int = 1, leads: int = 240, deals: int = 120, accounts: int = 40
) -> Export:
    """Write a Salesforce data export with planted defects into ``folder``; return the truth."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = Export(
        folder,
        open_stages=tuple(s for s, _, closed, _ in SF_STAGES if not closed),
        late_stages=("Proposal/Price Quote", "Negotiation/Review"),
        extra_definitions=SALESFORCE_ROUTING,
    )
    na_pool = ["005000000000U01", "005000000000U02", "005000000000U03"]
    emea_pool = ["005000000000U04", "005000000000U05", "005000000000U06"]
    inactive = "005000000000U07"
    queue = "00G000000000Q01"
    users = [
        {
            "Id": uid,
            "Name": f"Rep {uid[-2:]}",
            "Email": f"rep{uid[-2:]}@example.com",
            "Department": "Sales NA" if uid in na_pool else "Sales EMEA",
            "IsActive": "false" if uid == inactive else "true",
            "TimeZoneSidKey": "America/New_York" if uid in na_pool else "Europe/London",
            "ManagerId": "",
        }
        for uid in [*na_pool, *emea_pool, inactive]
    ]
    _write(folder / "User.csv", users, list(users[0]))

    # Accounts
    acc_ids = [f"001000000000{i:03d}" for i in range(accounts)]
    kinds = _Kinds(rng, acc_ids)
    kinds.take("accounts.industry_missing", max(2, accounts // 10))
    account_rows = []
    for i, aid in enumerate(acc_ids):
        country = rng.choice(NA + EMEA)
        kind = kinds.of.get(aid)
        if kind:
            out.plant(kind, aid)
        account_rows.append(
            {
                "Id": aid,
                "Name": f"Company {i}",
                "Website": f"company{i}.com",
                "Industry": "" if kind == "accounts.industry_missing" else "Software",
                "NumberOfEmployees": rng.randrange(20, 5000),
                "AnnualRevenue": rng.randrange(1, 500) * 100_000,
                "BillingCountry": country,
                "OwnerId": rng.choice(na_pool if country in NA else emea_pool),
                "CreatedDate": _sf_time(AS_OF - timedelta(days=rng.randrange(400, 900))),
            }
        )
    _write(folder / "Account.csv", account_rows, list(account_rows[0]))

    _salesforce_leads(rng, out, leads, na_pool, emea_pool, inactive, queue)
    _salesforce_deals(rng, out, deals, acc_ids, [*na_pool, *emea_pool], inactive)
    _salesforce_campaigns(rng, out)
    return out


def _salesforce_leads(
    rng: random.Random,
    out: Export,
    n: int,
    na_pool: list[str],
    emea_pool: list[str],
    inactive: str,
    queue: str,
) -> None:
    ids = [f"00Q000000000{i:03d}" for i in range(n)]
    kinds = _Kinds(rng, ids)
    share = max(3, n // 40)
    for kind in (
        "people.email_missing",
        "people.misrouted",
        "people.owner_inactive",
        "people.owner_unknown",
        "people.utm_case_drift",
        "people.utm_vocabulary",
    ):
        kinds.take(kind, share)
    # Kinds that need an MQL are drawn from the leads that reach MQL below.
    mql_ids = [i for i in ids if i not in kinds.of and rng.random() < 0.7]
    rng.shuffle(mql_ids)
    for kind in ("people.speed_to_lead_breach", "people.lifecycle_regression"):
        for _ in range(share):
            kinds.of[mql_ids.pop()] = kind
    mql = set(mql_ids) | {i for i, k in kinds.of.items() if k.startswith("people.speed")}
    mql |= {i for i, k in kinds.of.items() if k == "people.lifecycle_regression"}
    counters = {"na": 0, "emea": 0}
    leads, history, tasks = [], [], []
    for i, lid in enumerate(ids):
        kind = kinds.of.get(lid)
        if kind:
            out.plant(kind, lid)
        region = "na" if i % 2 == 0 else "emea"
        country = rng.choice(NA if region == "na" else EMEA)
        pool = na_pool if region == "na" else emea_pool
        owner = pool[counters[region] % len(pool)]
        counters[region] += 1
        if kind == "people.misrouted":
            other = emea_pool if region == "na" else na_pool
            owner = rng.choice(other)
        elif kind == "people.owner_inactive":
            owner = inactive
        elif kind == "people.owner_unknown":
            owner = queue
        source, medium = rng.choice(UTM_SOURCES), rng.choice(UTM_MEDIA)
        if kind == "people.utm_case_drift":
            source = source.capitalize()
        elif kind == "people.utm_vocabulary":
            source = source[:-1] + "x"
        created = _business_moment(rng, AS_OF - timedelta(days=rng.randrange(20, 200)))
        working = created + timedelta(hours=1)
        status = "Working - Contacted"
        history.append((lid, "Status", "Open - Not Contacted", "Working - Contacted", working))
        if lid in mql:
            at = _business_moment(rng, working + timedelta(days=rng.randrange(1, 10)))
            history.append((lid, "Status", "Working - Contacted", "MQL", at))
            status = "MQL"
            if kind == "people.lifecycle_regression":
                back = at + timedelta(days=2)
                history.append((lid, "Status", "MQL", "Working - Contacted", back))
                status = "Working - Contacted"
            elif rng.random() < 0.4:
                history.append((lid, "Status", "MQL", "SQL", at + timedelta(days=3)))
                status = "SQL"
            # The first touch: within the hour, or days later for a breach.
            late = kind == "people.speed_to_lead_breach"
            first = at + (timedelta(days=6) if late else timedelta(minutes=rng.randrange(10, 90)))
            for k, when in enumerate((first, first + timedelta(days=1))):
                tasks.append(
                    {
                        "Id": f"00T{lid[3:]}{k}",
                        "WhoId": lid,
                        "WhatId": "",
                        "OwnerId": owner if owner.startswith("005") else pool[0],
                        "Subject": "Call" if k == 0 else "Follow-up email",
                        "TaskSubtype": "Call" if k == 0 else "Email",
                        "Status": "Completed",
                        "CreatedDate": _sf_time(when),
                    }
                )
        # Salesforce history also records fields nobody audits.
        history.append((lid, "Rating", "", "Warm", working + timedelta(minutes=5)))
        leads.append(
            {
                "Id": lid,
                "FirstName": f"First{i}",
                "LastName": f"Last{i}",
                "Email": "" if kind == "people.email_missing" else f"lead{i}@company{i}.com",
                "Company": f"Company {i}",
                "Status": status,
                "OwnerId": owner,
                "LeadSource": "Web",
                "Country": country,
                "NumberOfEmployees": rng.randrange(20, 5000),
                "IsConverted": "false",
                "CreatedDate": _sf_time(created),
                "utm_source__c": source,
                "utm_medium__c": medium,
                "utm_campaign__c": "2026-q1_search_na_demo",
            }
        )
    folder = out.folder
    _write(folder / "Lead.csv", leads, list(leads[0]))
    rows = [
        {
            "Id": f"017{lid[3:]}{k:02d}",
            "LeadId": lid,
            "Field": fld,
            "OldValue": old,
            "NewValue": new,
            "CreatedDate": _sf_time(at),
            "CreatedById": "005000000000U01",
        }
        for k, (lid, fld, old, new, at) in enumerate(history)
    ]
    rng.shuffle(rows)
    _write(folder / "LeadHistory.csv", rows, list(rows[0]))
    _write(folder / "Task.csv", tasks, list(tasks[0]))


def _salesforce_deals(
    rng: random.Random,
    out: Export,
    n: int,
    account_ids: list[str],
    owners: list[str],
    inactive: str,
) -> None:
    ids = [f"006000000000{i:03d}" for i in range(n)]
    kinds = _Kinds(rng, ids)
    share = max(3, n // 30)
    for kind in (
        "opportunities.stale_in_stage",
        "opportunities.stage_regression",
        "opportunities.skipped_stage",
        "opportunities.amount_missing_late_stage",
        "opportunities.past_close_date",
        "opportunities.close_before_created",
        "opportunities.owner_inactive",
        "opportunities.stage_unknown",
    ):
        kinds.take(kind, share)
    names = [s for s, *_ in SF_STAGES]
    probability = {s: p for s, p, *_ in SF_STAGES}
    deals, history = [], []
    for i, oid in enumerate(ids):
        kind = kinds.of.get(oid)
        if kind:
            out.plant(kind, oid)
        created, closed, path = _deal_plan(rng, kind, i, names)
        stage = path[-1][0]
        amount: int | None = rng.randrange(5, 200) * 1000
        for k, (st, at) in enumerate(path):
            history.append(
                {
                    "Id": f"008{oid[3:]}{k:02d}",
                    "OpportunityId": oid,
                    "StageName": st,
                    "Amount": amount,
                    "Probability": probability[st],
                    "CreatedDate": _sf_time(at),
                    "CreatedById": "005000000000U01",
                }
            )
        if not closed and rng.random() < 0.5:
            # An amount change: OpportunityHistory writes the same stage again (recently, even
            # on a stale deal: it is not a stage change).
            history.append(
                {
                    **history[-1],
                    "Id": f"008{oid[3:]}99",
                    "Amount": (amount or 0) + 1000,
                    "CreatedDate": _sf_time(AS_OF - timedelta(days=1)),
                }
            )
            amount = (amount or 0) + 1000
        close_date = _close_date(rng, kind, created, closed, path)
        if kind == "opportunities.amount_missing_late_stage":
            amount = None
        if kind == "opportunities.stage_unknown":
            stage = "Verbal Commit"
        is_closed, is_won = stage.startswith("Closed"), stage == "Closed Won"
        deals.append(
            {
                "Id": oid,
                "Name": f"Deal {i}",
                "AccountId": rng.choice(account_ids),
                "StageName": stage,
                "Amount": amount,
                "Probability": probability.get(stage, 50),
                "CloseDate": close_date.isoformat(),
                "CreatedDate": _sf_time(created),
                "IsClosed": str(is_closed).lower(),
                "IsWon": str(is_won).lower(),
                "OwnerId": inactive if kind == "opportunities.owner_inactive" else owners[i % 6],
                "Type": "New Business",
                "LeadSource": "Web",
            }
        )
    _write(out.folder / "Opportunity.csv", deals, list(deals[0]))
    rng.shuffle(history)
    _write(out.folder / "OpportunityHistory.csv", history, list(history[0]))


def _salesforce_campaigns(rng: random.Random, out: Export) -> None:
    good = [
        f"2026-q{q}_{channel}_{region}_{offer}"
        for q in (1, 2)
        for channel in ("search", "social", "email")
        for region in ("na", "emea")
        for offer in ("demo", "ebook")
    ]
    bad = ["2026_q1-search-na-demo", "2026-q1_search_na", "2026-q5_search_na_demo", "Spring Promo"]
    rows = []
    for i, name in enumerate([*good, *bad]):
        cid = f"701000000000{i:03d}"
        if name in bad:
            out.plant("campaigns.naming", cid)
        rows.append(
            {
                "Id": cid,
                "Name": name,
                "Type": "Webinar",
                "ActualCost": rng.randrange(1, 50) * 100,
                "StartDate": "2026-01-15",
                "CreatedDate": _sf_time(AS_OF - timedelta(days=200)),
            }
        )
    _write(out.folder / "Campaign.csv", rows, list(rows[0]))


# -- HubSpot ----------------------------------------------------------------------------------


def _date_entered(stage: str) -> str:
    return f'Date entered "{stage} (Sales Pipeline)"'


def hubspot_export(
    folder: Path, *, seed: int = 1, contacts: int = 200, deals: int = 90, companies: int = 30
) -> Export:
    """Write a HubSpot export (contacts, deals, companies) with planted defects."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = Export(
        folder,
        open_stages=tuple(s for s, _, closed, _ in HS_STAGES if not closed),
        late_stages=("Presentation Scheduled", "Contract Sent"),
    )
    owners = ["Ana Lopez", "Ben Okafor", "Chen Wei"]
    cids = [str(9_000 + i) for i in range(companies)]
    kinds = _Kinds(rng, cids)
    kinds.take("accounts.industry_missing", max(2, companies // 10))
    rows = []
    for i, cid in enumerate(cids):
        kind = kinds.of.get(cid)
        if kind:
            out.plant(kind, cid)
        rows.append(
            {
                "Record ID": cid,
                "Company name": f"Company {i}",
                "Company Domain Name": f"company{i}.com",
                "Industry": "" if kind else "COMPUTER_SOFTWARE",
                "Number of Employees": rng.randrange(20, 5000),
                "Annual Revenue": rng.randrange(1, 500) * 100_000,
                "Country/Region": rng.choice(NA + EMEA),
                "Company owner": rng.choice(owners),
                "Create Date": _hs_time(AS_OF - timedelta(days=rng.randrange(300, 900))),
            }
        )
    _write(folder / "companies.csv", rows, list(rows[0]))

    pids = [str(100_000 + i) for i in range(contacts)]
    kinds = _Kinds(rng, pids)
    for kind in ("people.email_missing", "people.utm_case_drift", "people.utm_vocabulary"):
        kinds.take(kind, max(3, contacts // 40))
    stages = ("Lead", "Marketing Qualified Lead", "Sales Qualified Lead")
    rows = []
    for i, pid in enumerate(pids):
        kind = kinds.of.get(pid)
        if kind:
            out.plant(kind, pid)
        source, medium = rng.choice(UTM_SOURCES), rng.choice(UTM_MEDIA)
        if kind == "people.utm_case_drift":
            medium = medium.upper()
        elif kind == "people.utm_vocabulary":
            medium = "banner"
        rows.append(
            {
                "Record ID": pid,
                "First Name": f"First{i}",
                "Last Name": f"Last{i}",
                "Email": "" if kind == "people.email_missing" else f"c{i}@company{i}.com",
                "Lifecycle Stage": "Lead" if i % 5 else rng.choice(stages),
                "Contact owner": rng.choice(owners),
                "Create Date": _hs_time(AS_OF - timedelta(days=rng.randrange(10, 300))),
                "Country/Region": rng.choice(NA + EMEA),
                "Associated Company IDs (Primary)": rng.choice(cids),
                "UTM Source": source,
                "UTM Medium": medium,
                "UTM Campaign": "2026-q1_search_na_demo",
            }
        )
    _write(folder / "contacts.csv", rows, list(rows[0]))
    _hubspot_deals(rng, out, deals, cids, owners)
    return out


def _hubspot_deals(
    rng: random.Random, out: Export, n: int, company_ids: list[str], owners: list[str]
) -> None:
    ids = [str(50_000 + i) for i in range(n)]
    kinds = _Kinds(rng, ids)
    for kind in (
        "opportunities.stale_in_stage",
        "opportunities.amount_missing_late_stage",
        "opportunities.past_close_date",
        "opportunities.close_before_created",
    ):
        kinds.take(kind, max(3, n // 30))
    names = [s for s, *_ in HS_STAGES]
    rows = []
    for i, did in enumerate(ids):
        kind = kinds.of.get(did)
        if kind:
            out.plant(kind, did)
        created, closed, path = _deal_plan(rng, kind, i, names)
        entered = dict(path)
        stage = path[-1][0]
        close_date = _close_date(rng, kind, created, closed, path)
        row: dict[str, Any] = {
            "Record ID": did,
            "Deal Name": f"Deal {i}",
            "Pipeline": "Sales Pipeline",
            "Deal Stage": stage,
            "Amount": "" if kind == "opportunities.amount_missing_late_stage" else i * 100 + 500,
            "Close Date": close_date.isoformat(),
            "Create Date": _hs_time(created),
            "Deal owner": rng.choice(owners),
            "Deal Type": "New Business",
            "Associated Company IDs (Primary)": rng.choice(company_ids),
        }
        for name in names:
            row[_date_entered(name)] = _hs_time(entered[name]) if name in entered else ""
        rows.append(row)
    _write(out.folder / "deals.csv", rows, list(rows[0]))
