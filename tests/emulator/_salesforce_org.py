"""The emulated org: typed frames per object, generated with the traps real orgs hold.

:func:`generate` builds an org with stage history (OpportunityHistory rows per stage entered,
amount-only rows that repeat a stage, planted stage regressions and stale deals),
OpportunityFieldHistory and LeadHistory (lookup changes written twice: ids and names),
deleted records, a block of leads sharing one SystemModstamp, compound address fields,
formula fields, literal ``"NA"`` values and untypable text in a custom field. :class:`Org`
evaluates queries against it and lets tests change it mid-pull (late commits, updates,
deletions, formula changes that do not move SystemModstamp).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from tests.emulator._salesforce_schema import LEAD_STATUSES, OBJECTS, STAGES, ObjectMeta, dtype_of
from tests.emulator._salesforce_soql import Query, SoqlError, compile_filter

__all__ = ["Org", "generate", "make_ids"]

_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Ken", "Frances", "Tim", "Radia"]
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Thompson", "Allen"]
_COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell"]
_COUNTRIES = ["US", "GB", "DE", "FR", "NA", "CA", "AU"]  # "NA" is Namibia: text, not null
_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
_INDUSTRIES = ["Technology", "Finance", "Retail", "Healthcare", "Manufacturing"]
_BANDS = ["50", "200", "NA", "about 40", "1000"]  # "NA" and "about 40" cannot be an int


def make_ids(prefix: str, n: int, salt: int = 0, start: int = 0) -> pl.Series:
    """18-character ids with a key prefix, in increasing order."""
    numbers = pl.int_range(start, start + n, eager=True).cast(pl.String).str.zfill(9)
    return (f"{prefix}5g{salt}" + numbers + "AAA").alias("Id")


def _typed(sobject: str, columns: Mapping[str, Any]) -> pl.DataFrame:
    """A frame of ``sobject`` with every stored field, typed as its describe says."""
    meta = OBJECTS[sobject]
    n = len(next(iter(columns.values())))
    data = {}
    for f in meta.fields:
        if not f.stored:
            continue
        dtype = dtype_of(f.type)
        value = columns.get(f.name)
        data[f.name] = (
            pl.Series(f.name, value, dtype=dtype, strict=False)
            if value is not None
            else pl.Series(f.name, [None] * n, dtype=dtype)
        )
    return pl.DataFrame(data)


class _Clock:
    """Timestamps of the generated org: the past two years up to an hour ago."""

    def __init__(self, rng: np.random.Generator, now: datetime) -> None:
        self.rng = rng
        self.end = now.replace(microsecond=0) - timedelta(hours=1)
        self.start = self.end - timedelta(days=730)

    def between(
        self, n: int, low: datetime | None = None, high: datetime | None = None
    ) -> np.ndarray:
        lo = (low or self.start).timestamp() * 1000
        hi = (high or self.end).timestamp() * 1000
        return (lo + self.rng.random(n) * (hi - lo)).astype("int64")

    def after(self, created: np.ndarray) -> np.ndarray:
        end = self.end.timestamp() * 1000
        return (created + self.rng.random(len(created)) * (end - created)).astype("int64")


def _ms(values: np.ndarray) -> pl.Series:
    return pl.Series(values).cast(pl.Datetime("ms", "UTC"))


def _choice(rng: np.random.Generator, options: Sequence[Any], n: int) -> list[Any]:
    return [options[i] for i in rng.integers(0, len(options), n)]


def _users(rng: np.random.Generator, clock: _Clock, n: int) -> dict[str, pl.DataFrame]:
    roles = make_ids("00E", 3)
    ids = make_ids("005", n)
    created = clock.between(n, high=clock.start + timedelta(days=10))
    users = _typed(
        "User",
        {
            "Id": ids,
            "Name": [f"{_FIRST[i % len(_FIRST)]} Rep{i}" for i in range(n)],
            "Email": [f"rep{i}@example.com" for i in range(n)],
            "Department": _choice(rng, ["SDR", "AE East", "AE West"], n),
            "UserRoleId": _choice(rng, roles.to_list(), n),
            "ManagerId": [None] + [ids[0]] * (n - 1),
            "IsActive": [i != n - 1 for i in range(n)],
            "TimeZoneSidKey": _choice(rng, ["America/New_York", "Europe/London"], n),
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(created),
            "SystemModstamp": _ms(created),
        },
    )
    role_frame = _typed(
        "UserRole",
        {
            "Id": roles,
            "Name": ["SDR", "Account Executive", "Sales Manager"],
            "SystemModstamp": _ms(clock.between(3)),
        },
    )
    return {"User": users, "UserRole": role_frame}


def _accounts(rng: np.random.Generator, clock: _Clock, n: int, users: list[str]) -> pl.DataFrame:
    created = clock.between(n)
    ids = make_ids("001", n)
    return _typed(
        "Account",
        {
            "Id": ids,
            "Name": [f"{_COMPANIES[i % len(_COMPANIES)]} {i}" for i in range(n)],
            "Website": [f"https://www.company{i}.example" for i in range(n)],
            "Industry": _choice(rng, _INDUSTRIES, n),
            "NumberOfEmployees": rng.integers(5, 20_000, n),
            "AnnualRevenue": (rng.random(n) * 5e7).round(2),
            "BillingCity": _choice(rng, ["Boston", "London", "Berlin"], n),
            "BillingCountry": _choice(rng, _COUNTRIES, n),
            "OwnerId": _choice(rng, users, n),
            "ParentId": [None if i < 5 or rng.random() > 0.1 else ids[0] for i in range(n)],
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(clock.after(created)),
            "SystemModstamp": None,
            "IsDeleted": rng.random(n) < 0.03,
        },
    ).with_columns(pl.col("LastModifiedDate").alias("SystemModstamp"))


def _leads(
    rng: np.random.Generator, clock: _Clock, n: int, users: list[str], boundary: int
) -> pl.DataFrame:
    created = clock.between(n)
    stamps = clock.after(created)
    if boundary and n > boundary * 2:
        # A bulk update: one SystemModstamp on a block of leads (it straddles page limits).
        shared = int((clock.end - timedelta(days=3)).timestamp() * 1000) + 123
        lo = n // 3
        stamps[lo : lo + boundary] = shared
        created[lo : lo + boundary] = np.minimum(created[lo : lo + boundary], shared)
    converted = rng.random(n) < 0.1
    first = np.array(_FIRST)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST)[rng.integers(0, len(_LAST), n)]
    frame = pl.DataFrame(
        {
            "Id": make_ids("00Q", n),
            "FirstName": first,
            "LastName": last,
            "Company": np.array(_COMPANIES)[rng.integers(0, len(_COMPANIES), n)],
            "Status": np.array(LEAD_STATUSES)[rng.integers(0, len(LEAD_STATUSES), n)],
            "OwnerId": np.array(users)[rng.integers(0, len(users), n)],
            "LeadSource": np.array(_SOURCES)[rng.integers(0, len(_SOURCES), n)],
            "City": np.array(["Boston", "Windhoek", "Paris"])[rng.integers(0, 3, n)],
            "State": np.array(["MA", "NA", "IDF"])[rng.integers(0, 3, n)],
            "Country": np.array(_COUNTRIES)[rng.integers(0, len(_COUNTRIES), n)],
            "Latitude": (rng.random(n) * 180 - 90).round(5),
            "Industry": np.array(_INDUSTRIES)[rng.integers(0, len(_INDUSTRIES), n)],
            "NumberOfEmployees": rng.integers(1, 5000, n),
            "IsConverted": converted,
            "Region__c": np.array(["NA", "N/A", "EMEA", "APAC"])[rng.integers(0, 4, n)],
            "Employee_Band__c": np.array(_BANDS)[rng.integers(0, len(_BANDS), n)],
            "Fit_Grade__c": np.array(["A", "B", "C"])[rng.integers(0, 3, n)],
            "Lead_Score__c": (rng.random(n) * 100).round(1),
            "CreatedDate": created,
            "SystemModstamp": stamps,
            "IsDeleted": rng.random(n) < 0.02,
        }
    )
    frame = frame.with_columns(
        (
            pl.col("FirstName").str.to_lowercase()
            + "."
            + pl.col("LastName").str.to_lowercase()
            + pl.col("Id").str.slice(9, 9)
            + "@"
            + pl.col("Company").str.to_lowercase()
            + ".example"
        ).alias("Email"),
        pl.col("CreatedDate").cast(pl.Datetime("ms", "UTC")),
        pl.col("SystemModstamp").cast(pl.Datetime("ms", "UTC")),
    ).with_columns(
        pl.col("SystemModstamp").alias("LastModifiedDate"),
        pl.when(pl.col("IsConverted"))
        .then(pl.col("SystemModstamp").dt.date())
        .alias("ConvertedDate"),
    )
    return _typed("Lead", {c: frame[c] for c in frame.columns})


def _contacts(
    rng: np.random.Generator, clock: _Clock, n: int, users: list[str], accounts: list[str]
) -> pl.DataFrame:
    created = clock.between(n)
    return _typed(
        "Contact",
        {
            "Id": make_ids("003", n),
            "FirstName": _choice(rng, _FIRST, n),
            "LastName": _choice(rng, _LAST, n),
            "Email": [f"contact{i}@example.com" for i in range(n)],
            "Title": _choice(rng, ["CFO", "VP Sales", "Engineer"], n),
            "AccountId": [None if rng.random() < 0.05 else a for a in _choice(rng, accounts, n)],
            "OwnerId": _choice(rng, users, n),
            "LeadSource": _choice(rng, _SOURCES, n),
            "MailingCountry": _choice(rng, _COUNTRIES, n),
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(clock.after(created)),
            "IsDeleted": rng.random(n) < 0.02,
        },
    ).with_columns(pl.col("LastModifiedDate").alias("SystemModstamp"))


def _stage_path(rng: np.random.Generator, regress: bool, stale: bool) -> list[int]:
    """Indices into STAGES a deal went through (open stages 0-4, won 5, lost 6)."""
    final = int(rng.integers(0, 7))
    path = list(range(0, min(final, 4) + 1)) if final < 5 else [*range(0, int(rng.integers(1, 5)))]
    if final >= 5:
        path.append(final)
    if regress and len(path) >= 3 and path[-1] < 5:
        path += [path[-2], path[-1]]  # moved back one stage, then forward again
    if stale:
        path = path[: max(1, min(len(path), 3))]
        path = [p for p in path if p < 5] or [0]
    return path


def _deal_times(
    rng: np.random.Generator, clock: _Clock, stages: int, *, stale: bool
) -> tuple[datetime, list[datetime]]:
    """When a deal was created and entered each of its stages (a stale one: long ago)."""
    if stale:
        created = clock.end - timedelta(days=400 + int(rng.integers(0, 100)))
        steps = [created + timedelta(days=3 * k) for k in range(stages)]
    else:
        created = clock.end - timedelta(days=int(rng.integers(5, 600)))
        span = (clock.end - created).total_seconds()
        offsets = sorted(rng.random(stages - 1) * span * 0.9)
        steps = [created] + [created + timedelta(seconds=float(o)) for o in offsets]
    steps = [s.replace(microsecond=int(rng.integers(0, 1000)) * 1000) for s in steps]
    return steps[0], steps


def _opportunities(
    rng: np.random.Generator,
    clock: _Clock,
    n: int,
    users: list[str],
    accounts: list[str],
    campaigns: list[str],
) -> dict[str, pl.DataFrame]:
    opp_ids = make_ids("006", n).to_list()
    opps: list[dict[str, Any]] = []
    oh: list[dict[str, Any]] = []
    ofh: list[dict[str, Any]] = []
    for i, oid in enumerate(opp_ids):
        regress = i % 13 == 3
        stale = i % 11 == 5
        path = _stage_path(rng, regress, stale)
        created, steps = _deal_times(rng, clock, len(path), stale=stale)
        owner = users[i % len(users)]
        deleted = i % 29 == 7
        amount = float(rng.integers(1, 200)) * 1000.0
        for k, (stage_i, at) in enumerate(zip(path, steps, strict=True)):
            stage = STAGES[stage_i]
            oh.append(_oh_row(oid, stage[0], amount, stage[2], at, owner, deleted))
            if k:
                prev = STAGES[path[k - 1]][0]
                ofh.append(_ofh_row(oid, "StageName", "Text", prev, stage[0], at, owner, deleted))
            if k == 0 and rng.random() < 0.5:
                # An amount-only change: OpportunityHistory repeats the stage.
                amount += 500.0
                later = at + (steps[1] - at) / 2 if len(steps) > 1 else at + timedelta(hours=5)
                oh.append(_oh_row(oid, stage[0], amount, stage[2], later, owner, deleted))
        if i % 7 == 2:  # an owner change: two rows, ids and names
            at = steps[-1] - timedelta(minutes=30)
            new_owner = users[(i + 1) % len(users)]
            ofh.append(_ofh_row(oid, "Owner", "EntityId", owner, new_owner, at, owner, deleted))
            ofh.append(
                _ofh_row(oid, "Owner", "Text", f"Name {owner[-6:]}", "Name", at, owner, deleted)
            )
            owner = new_owner
        final = STAGES[path[-1]]
        last_change = steps[-1] if len(path) > 1 else None
        opps.append(
            {
                "Id": oid,
                "Name": f"Deal {i}",
                "AccountId": accounts[i % len(accounts)],
                "StageName": final[0],
                "Amount": amount if i % 17 else None,
                "CloseDate": (steps[-1] + timedelta(days=30)).date(),
                "IsClosed": final[3],
                "IsWon": final[4],
                "OwnerId": owner,
                "Type": "New Business" if i % 3 else "Renewal",
                "LeadSource": _SOURCES[i % len(_SOURCES)],
                "CampaignId": campaigns[i % len(campaigns)] if i % 4 == 0 else None,
                "Probability": float(final[2]),
                "ExpectedRevenue": amount * final[2] / 100,
                "LastStageChangeDate": last_change,
                "Days_Open__c": float((clock.end - created).days),
                "CreatedDate": created,
                "LastModifiedDate": steps[-1] + timedelta(minutes=1),
                "SystemModstamp": steps[-1] + timedelta(minutes=1),
                "IsDeleted": deleted,
            }
        )
    return {
        "Opportunity": _typed("Opportunity", _columns(opps)),
        "OpportunityHistory": _typed(
            "OpportunityHistory", {"Id": make_ids("008", len(oh)), **_columns(oh)}
        ),
        "OpportunityFieldHistory": _typed(
            "OpportunityFieldHistory", {"Id": make_ids("017", len(ofh), 1), **_columns(ofh)}
        ),
    }


def _oh_row(
    oid: str, stage: str, amount: float, prob: int, at: datetime, by: str, deleted: bool
) -> dict[str, Any]:
    return {
        "OpportunityId": oid,
        "StageName": stage,
        "Amount": amount,
        "Probability": float(prob),
        "CloseDate": (at + timedelta(days=30)).date(),
        "CreatedDate": at,
        "CreatedById": by,
        "SystemModstamp": at,
        "IsDeleted": deleted,
    }


def _ofh_row(
    oid: str, field: str, kind: str, old: str, new: str, at: datetime, by: str, deleted: bool
) -> dict[str, Any]:
    return {
        "OpportunityId": oid,
        "Field": field,
        "DataType": kind,
        "OldValue": old,
        "NewValue": new,
        "CreatedDate": at,
        "CreatedById": by,
        "IsDeleted": deleted,
    }


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = rows[0].keys() if rows else []
    return {k: [r[k] for r in rows] for k in keys}


def _lead_history(rng: np.random.Generator, leads: pl.DataFrame, limit: int) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    sample = leads.head(limit).select("Id", "Status", "OwnerId", "CreatedDate", "SystemModstamp")
    for lead_id, status, owner, created, stamp in sample.iter_rows():
        if rng.random() < 0.5 or stamp <= created:
            continue
        at = created + (stamp - created) / 2
        previous = LEAD_STATUSES[0] if status != LEAD_STATUSES[0] else LEAD_STATUSES[1]
        rows.append(_lh_row(lead_id, "Status", "Text", previous, status, at, owner))
        if rng.random() < 0.3:
            rows.append(_lh_row(lead_id, "Owner", "EntityId", "005OLD", owner, at, owner))
            rows.append(_lh_row(lead_id, "Owner", "Text", "Old Owner", "New Owner", at, owner))
    if not rows:
        return _typed("LeadHistory", {"Id": make_ids("017", 0, 2)})
    return _typed("LeadHistory", {"Id": make_ids("017", len(rows), 2), **_columns(rows)})


def _lh_row(
    lead: str, field: str, kind: str, old: str, new: str, at: datetime, by: str
) -> dict[str, Any]:
    return {
        "LeadId": lead,
        "Field": field,
        "DataType": kind,
        "OldValue": old,
        "NewValue": new,
        "CreatedDate": at,
        "CreatedById": by,
        "IsDeleted": False,
    }


def _activities(
    rng: np.random.Generator,
    clock: _Clock,
    tasks: int,
    events: int,
    people: Mapping[str, list[str]],
    targets: Mapping[str, list[str]],
    users: list[str],
) -> dict[str, pl.DataFrame]:
    def who(n: int) -> list[str | None]:
        out: list[str | None] = []
        for r in rng.random(n):
            pool = people["Lead"] if r < 0.45 else people["Contact"] if r < 0.8 else None
            out.append(pool[int(rng.integers(0, len(pool)))] if pool else None)
        return out

    def what(n: int) -> list[str | None]:
        out: list[str | None] = []
        for r in rng.random(n):
            pool = targets["Opportunity"] if r < 0.4 else targets["Account"] if r < 0.6 else None
            out.append(pool[int(rng.integers(0, len(pool)))] if pool else None)
        return out

    created = clock.between(tasks)
    completed = [c if rng.random() < 0.7 else None for c in created]
    task = _typed(
        "Task",
        {
            "Id": make_ids("00T", tasks),
            "WhoId": who(tasks),
            "WhatId": what(tasks),
            "OwnerId": _choice(rng, users, tasks),
            "Subject": _choice(rng, ["Call", "Email", "Follow up"], tasks),
            "Status": _choice(rng, ["Completed", "Not Started"], tasks),
            "TaskSubtype": _choice(rng, ["Call", "Email", "Task", None], tasks),
            "CallDisposition": _choice(rng, ["connected", "voicemail", None], tasks),
            "CompletedDateTime": _ms(np.array([c if c is not None else 0 for c in completed])),
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(clock.after(created)),
            "IsDeleted": rng.random(tasks) < 0.02,
        },
    ).with_columns(
        pl.when(pl.Series([c is None for c in completed]))
        .then(None)
        .otherwise(pl.col("CompletedDateTime"))
        .alias("CompletedDateTime"),
        pl.col("LastModifiedDate").alias("SystemModstamp"),
    )
    ev_created = clock.between(events)
    event = _typed(
        "Event",
        {
            "Id": make_ids("00U", events),
            "WhoId": who(events),
            "WhatId": what(events),
            "OwnerId": _choice(rng, users, events),
            "Subject": ["Meeting"] * events,
            "StartDateTime": _ms(clock.after(ev_created)),
            "CreatedDate": _ms(ev_created),
            "LastModifiedDate": _ms(clock.after(ev_created)),
            "IsDeleted": rng.random(events) < 0.02,
        },
    ).with_columns(
        pl.col("StartDateTime").alias("ActivityDateTime"),
        pl.col("LastModifiedDate").alias("SystemModstamp"),
    )
    return {"Task": task, "Event": event}


def _campaigns(rng: np.random.Generator, clock: _Clock, n: int, users: list[str]) -> pl.DataFrame:
    created = clock.between(n)
    return _typed(
        "Campaign",
        {
            "Id": make_ids("701", n),
            "Name": [f"2024-q{1 + i % 4}_webinar_{i}" for i in range(n)],
            "Type": _choice(rng, ["Webinar", "Email", "Paid Search"], n),
            "ActualCost": (rng.random(n) * 10_000).round(2),
            "StartDate": [c.date() for c in _ms(created).to_list()],
            "OwnerId": _choice(rng, users, n),
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(clock.after(created)),
            "IsDeleted": [False] * n,
        },
    ).with_columns(pl.col("LastModifiedDate").alias("SystemModstamp"))


def _members(
    rng: np.random.Generator,
    clock: _Clock,
    n: int,
    campaigns: list[str],
    people: Mapping[str, list[str]],
) -> pl.DataFrame:
    is_lead = rng.random(n) < 0.6
    leads = _choice(rng, people["Lead"], n)
    contacts = _choice(rng, people["Contact"], n)
    lead_ids = [lead if flag else None for lead, flag in zip(leads, is_lead, strict=True)]
    contact_ids = [None if flag else c for c, flag in zip(contacts, is_lead, strict=True)]
    created = clock.between(n)
    return _typed(
        "CampaignMember",
        {
            "Id": make_ids("00v", n),
            "CampaignId": _choice(rng, campaigns, n),
            "LeadId": lead_ids,
            "ContactId": contact_ids,
            "LeadOrContactId": [c or lead for c, lead in zip(contact_ids, lead_ids, strict=True)],
            "Status": ["Responded"] * n,
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(created),
            "IsDeleted": rng.random(n) < 0.02,
        },
    ).with_columns(pl.col("LastModifiedDate").alias("SystemModstamp"))


def _stages(clock: _Clock) -> pl.DataFrame:
    n = len(STAGES)
    at = _ms(np.array([int(clock.start.timestamp() * 1000)] * n))
    return _typed(
        "OpportunityStage",
        {
            "Id": make_ids("01J", n),
            "ApiName": [s[0] for s in STAGES],
            "MasterLabel": [s[1] for s in STAGES],
            "SortOrder": list(range(1, n + 1)),
            "DefaultProbability": [float(s[2]) for s in STAGES],
            "IsClosed": [s[3] for s in STAGES],
            "IsWon": [s[4] for s in STAGES],
            "IsActive": [True] * n,
            "CreatedDate": at,
            "LastModifiedDate": at,
            "SystemModstamp": at,
        },
    )


def generate(
    seed: int = 7,
    *,
    leads: int = 600,
    contacts: int = 200,
    accounts: int = 60,
    opportunities: int = 150,
    users: int = 8,
    campaigns: int = 6,
    members: int = 150,
    tasks: int = 300,
    events: int = 80,
    boundary: int = 150,
    history_leads: int = 2_000,
    deals: int = 20,
    now: datetime | None = None,
) -> dict[str, pl.DataFrame]:
    """Frames of every object of a generated org (see the module docstring)."""
    rng = np.random.default_rng(seed)
    clock = _Clock(rng, now or datetime.now(UTC))
    frames = _users(rng, clock, users)
    user_ids = frames["User"]["Id"].to_list()
    frames["Account"] = _accounts(rng, clock, accounts, user_ids)
    account_ids = frames["Account"]["Id"].to_list()
    frames["Campaign"] = _campaigns(rng, clock, campaigns, user_ids)
    campaign_ids = frames["Campaign"]["Id"].to_list()
    frames["Lead"] = _leads(rng, clock, leads, user_ids, boundary)
    frames["Contact"] = _contacts(rng, clock, contacts, user_ids, account_ids)
    frames.update(_opportunities(rng, clock, opportunities, user_ids, account_ids, campaign_ids))
    frames["LeadHistory"] = _lead_history(rng, frames["Lead"], history_leads)
    people = {
        "Lead": frames["Lead"]["Id"].head(5_000).to_list(),
        "Contact": frames["Contact"]["Id"].to_list(),
    }
    targets = {"Opportunity": frames["Opportunity"]["Id"].to_list(), "Account": account_ids}
    frames.update(_activities(rng, clock, tasks, events, people, targets, user_ids))
    frames["CampaignMember"] = _members(rng, clock, members, campaign_ids, people)
    frames["OpportunityStage"] = _stages(clock)
    frames["Deal__c"] = _deals(rng, clock, deals, account_ids)
    return frames


def _deals(rng: np.random.Generator, clock: _Clock, n: int, accounts: list[str]) -> pl.DataFrame:
    """A custom object some orgs keep deals in."""
    created = clock.between(n)
    return _typed(
        "Deal__c",
        {
            "Id": make_ids("a01", n),
            "Name": [f"Custom deal {i}" for i in range(n)],
            "Stage__c": _choice(rng, [s[0] for s in STAGES], n),
            "Amount__c": (rng.random(n) * 90_000).round(2),
            "Account__c": _choice(rng, accounts, n),
            "CreatedDate": _ms(created),
            "LastModifiedDate": _ms(clock.after(created)),
            "IsDeleted": [False] * n,
        },
    ).with_columns(pl.col("LastModifiedDate").alias("SystemModstamp"))


class Org:
    """An org's data and what the integration user can see of it."""

    def __init__(
        self,
        frames: dict[str, pl.DataFrame],
        *,
        hidden: Sequence[str] = ("Lead.Lead_Score__c",),
        absent: Sequence[str] = (),
        missing_objects: Sequence[str] = (),
        no_bulk: Sequence[str] = (),
    ) -> None:
        self._frames = dict(frames)
        self._lock = threading.Lock()
        self.hidden = {tuple(h.split(".", 1)) for h in hidden}
        self.absent = {tuple(a.split(".", 1)) for a in absent}
        self.missing_objects = set(missing_objects)
        self.no_bulk = set(no_bulk)

    # -- metadata --------------------------------------------------------------------------

    def objects(self) -> list[ObjectMeta]:
        return [
            m
            for name, m in OBJECTS.items()
            if name in self._frames and name not in self.missing_objects
        ]

    def meta(self, sobject: str) -> ObjectMeta:
        meta = OBJECTS.get(sobject)
        if meta is None or sobject not in self._frames or sobject in self.missing_objects:
            raise SoqlError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        return meta

    def visible(self, sobject: str) -> list[Any]:
        meta = self.meta(sobject)
        gone = self.hidden | self.absent
        return [f for f in meta.fields if (sobject, f.name) not in gone]

    def bulk_supported(self, sobject: str) -> bool:
        return self.meta(sobject).bulk and sobject not in self.no_bulk

    def frame(self, sobject: str) -> pl.DataFrame:
        with self._lock:
            return self._frames[sobject]

    def _field(self, sobject: str, name: str) -> Any:
        for f in self.visible(sobject):
            if f.name == name:
                return f
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")

    # -- changes (tests change the org between and during pulls) -----------------------------

    def _replace(self, sobject: str, frame: pl.DataFrame) -> None:
        with self._lock:
            self._frames[sobject] = frame

    def insert(self, sobject: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Add records (the Id is made if absent); returns their ids."""
        frame = self.frame(sobject)
        meta = self.meta(sobject)
        start = frame.height + 500_000
        ids = make_ids(meta.key_prefix, len(rows), 9, start).to_list()
        full = [{"Id": i, "IsDeleted": False, **r} for i, r in zip(ids, rows, strict=True)]
        keys = {k for r in full for k in r}
        new = _typed(sobject, {k: [r.get(k) for r in full] for k in keys})
        self._replace(sobject, pl.concat([frame, new.select(frame.columns)], how="vertical"))
        return [str(r["Id"]) for r in full]

    def update(
        self, sobject: str, ids: Sequence[str], values: Mapping[str, Any], *, stamp: datetime | None
    ) -> None:
        """Change fields of records; ``stamp`` moves SystemModstamp (None: a formula field
        recalculated, which does not)."""
        frame = self.frame(sobject)
        hit = pl.col("Id").is_in(list(ids))
        changes = dict(values)
        if stamp is not None:
            for name in ("SystemModstamp", "LastModifiedDate"):
                if name in frame.columns:
                    changes[name] = stamp
        exprs = [
            pl.when(hit).then(pl.lit(v, dtype=frame.schema[k])).otherwise(pl.col(k)).alias(k)
            for k, v in changes.items()
        ]
        self._replace(sobject, frame.with_columns(exprs))

    def delete(self, sobject: str, ids: Sequence[str], *, stamp: datetime) -> None:
        self.update(sobject, ids, {"IsDeleted": True}, stamp=stamp)

    # -- queries ---------------------------------------------------------------------------

    def column(self, sobject: str, name: str) -> tuple[pl.Expr, pl.DataType]:
        if "." in name:
            raise SoqlError("MALFORMED_QUERY", f"relationship filter {name} not supported here")
        f = self._field(sobject, name)
        if not f.stored:
            raise SoqlError("INVALID_FIELD", f"compound field {name} cannot be filtered")
        return pl.col(name), dtype_of(f.type)

    def check_fields(self, sobject: str, fields: Sequence[str]) -> None:
        for name in fields:
            head, _, rest = name.partition(".")
            if not rest:
                self._field(sobject, name)
                continue
            link = next((f for f in self.visible(sobject) if f.relationship == head), None)
            if link is None:
                raise SoqlError(
                    "INVALID_FIELD", f"Didn't understand relationship '{head}' in field path."
                )
            targets = [t for t in link.reference_to if t in self._frames]
            if not any(rest in {f.name for f in self.visible(t)} for t in targets):
                raise SoqlError("INVALID_FIELD", f"No such column '{rest}' on entity '{targets}'.")

    def evaluate(self, query: Query, *, include_deleted: bool) -> pl.Series:
        """Row positions of the records ``query`` selects, in its order."""
        self.check_fields(query.sobject, query.fields)
        frame = self.frame(query.sobject).with_row_index("__pos")
        cond = compile_filter(query.where, lambda n: self.column(query.sobject, n))
        if "IsDeleted" in frame.columns and not include_deleted:
            cond = cond & ~pl.col("IsDeleted").fill_null(False)
        rows = frame.filter(cond)
        if query.order:
            for name, _ in query.order:
                self.column(query.sobject, name)
            rows = rows.sort(
                [n for n, _ in query.order], descending=[d for _, d in query.order], nulls_last=True
            )
        elif "Id" in rows.columns:
            rows = rows.sort("Id")
        if query.limit is not None:
            rows = rows.head(query.limit)
        return rows["__pos"]

    def select(self, sobject: str, fields: Sequence[str], positions: pl.Series) -> pl.DataFrame:
        """The current values of ``fields`` (``Parent.Field`` joined) at ``positions``."""
        base = self.frame(sobject)[positions]
        out = {}
        for name in fields:
            head, _, rest = name.partition(".")
            if not rest:
                meta = self.meta(sobject).field(name)
                if meta is not None and not meta.stored:
                    parts = [f.name for f in self.meta(sobject).fields if f.compound == name]
                    out[name] = base.select(pl.struct(parts)).to_series()
                else:
                    out[name] = base[name]
                continue
            link = next(f for f in self.visible(sobject) if f.relationship == head)
            values = pl.Series(name, [None] * base.height, dtype=pl.String)
            for target in link.reference_to:
                if target not in self._frames or rest not in self._frames[target].columns:
                    continue
                parent = self.frame(target).select(
                    pl.col("Id").alias("__ref"), pl.col(rest).cast(pl.String)
                )
                joined = base.select(pl.col(link.name).alias("__ref")).join(
                    parent, on="__ref", how="left", maintain_order="left"
                )[rest]
                values = values.fill_null(joined)
            out[name] = values
        return pl.DataFrame(out) if out else pl.DataFrame()
