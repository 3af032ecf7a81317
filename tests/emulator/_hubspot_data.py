"""The generated records of the HubSpot emulator's portal, with their planted defects.

Planted, so that tests can find them:

* contacts: UTM tags in portal-specific properties (``utm_source_c``...); every 17th contact
  has a truncated lifecycle history (only its current value, as after an import) whose earlier
  stages survive in the date-entered properties; every 23rd has a ``company_size_c`` that is
  not a number (``"500+"``); some are owned by archived owners.
* deals: two pipelines (the default one with named stage ids, "Renewals" with numeric ones);
  every 11th deal's stage history is truncated, its earlier stages only in the legacy
  ``hs_date_entered_*`` properties; the first deal has 150 contacts (associations past 100).
* engagements: calls, emails, meetings and tasks with timestamps, owners, outcomes, and
  associations to contacts and deals.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tests.emulator._hubspot_portal import (
    CALL_DISPOSITIONS,
    ENGAGEMENTS,
    EPOCH,
    FIRST_ID,
    LIFECYCLE,
    LIFECYCLE_LABELS,
    PIPELINES,
    TYPE_IDS,
    UTM_PROPERTIES,
    Link,
    ObjectTable,
    Portal,
    Rec,
    history_entry,
    stamp,
)

OWNERS_ACTIVE = 8
OWNERS_ARCHIVED = 3
FIRST_OWNER = 101
FIRST_USER = 9001
BIG_DEAL_CONTACTS = 150


def _rng(seed: int, rid: int) -> random.Random:
    return random.Random(seed * 1_000_003 + rid)


def _owner(rng: random.Random) -> str:
    # One in eight records belongs to an archived owner (a rep who left).
    if rng.random() < 0.125:
        return str(FIRST_OWNER + OWNERS_ACTIVE + rng.randrange(OWNERS_ARCHIVED))
    return str(FIRST_OWNER + rng.randrange(OWNERS_ACTIVE))


def _user(rng: random.Random) -> int:
    return FIRST_USER + rng.randrange(OWNERS_ACTIVE)


def _moment(base: datetime, rng: random.Random, hours: float) -> datetime:
    return base + timedelta(
        seconds=int(rng.uniform(0.2, 1.0) * hours * 3600),
        milliseconds=rng.choice([0, rng.randrange(1000)]),
    )


def _path_dates(
    stages: list[str], created: datetime, rng: random.Random
) -> list[tuple[str, datetime]]:
    out, at = [], created
    for stage in stages:
        out.append((stage, at))
        at = _moment(at, rng, 24 * 10)
    return out


def _history(
    path: list[tuple[str, datetime]], rng: random.Random, truncated: bool
) -> list[dict[str, Any]]:
    kept = path[-1:] if truncated else path
    entries = []
    for value, at in kept:
        if rng.random() < 0.2:
            entries.append(history_entry(value, at, "CALCULATED", None))
        else:
            entries.append(history_entry(value, at, rng.choice(["CRM_UI", "API"]), _user(rng)))
    return list(reversed(entries))  # newest first


def _date_columns(
    path: list[tuple[str, datetime]], *, legacy: str, v2: bool = True
) -> dict[str, str | None]:
    """Stage-calculated properties of a path: first entry (legacy), latest entry and exit (v2)."""
    props: dict[str, str | None] = {}
    for i, (stage, at) in enumerate(path):
        props.setdefault(legacy.format(stage=stage), stamp(at))
        if v2:
            props[f"hs_v2_date_entered_{stage}"] = stamp(at)
            if i + 1 < len(path):
                props[f"hs_v2_date_exited_{stage}"] = stamp(path[i + 1][1])
    return props


def contact(seed: int, rid: int, n_companies: int) -> Rec:
    rng = _rng(seed, rid)
    k = rid - FIRST_ID["contacts"]
    created = EPOCH + timedelta(minutes=37 * k, milliseconds=rng.randrange(1000))
    stages = LIFECYCLE[: rng.randint(1, len(LIFECYCLE))]
    path = _path_dates(stages, created, rng)
    truncated = k % 17 == 5
    history = {"lifecyclestage": _history(path, rng, truncated)}
    props: dict[str, str | None] = {
        "hs_object_id": str(rid),
        "email": f"person{k}@company{k % max(1, n_companies)}.example",
        "firstname": rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken"]),
        "lastname": rng.choice(["Lovelace", "Hopper", "Turing", "Liskov", "Thompson"]),
        "jobtitle": rng.choice(["CFO", "VP Sales", "RevOps Lead", None]),
        "phone": f"+1555{k:07d}",
        "company": f"Company {k % max(1, n_companies)}",
        "country": rng.choice(["US", "DE", "FR", "GB", None]),
        "lifecyclestage": stages[-1],
        "hs_lead_status": rng.choice(["NEW", "OPEN", "IN_PROGRESS", "CONNECTED", None]),
        "hubspot_owner_id": _owner(rng),
        "hs_analytics_source": rng.choice(["ORGANIC_SEARCH", "PAID_SEARCH", "DIRECT_TRAFFIC"]),
        "createdate": stamp(created),
        "lastmodifieddate": stamp(path[-1][1] + timedelta(minutes=5)),
        "company_size_c": "500+" if k % 23 == 7 else str(rng.choice([10, 50, 200, 1000])),
        UTM_PROPERTIES[0]: rng.choice(["google", "linkedin", "newsletter", None]),
        UTM_PROPERTIES[1]: rng.choice(["cpc", "social", "email", None]),
        UTM_PROPERTIES[2]: rng.choice(["2024-q1_search_na_demo", "brand", None]),
        **_date_columns(path, legacy="hs_lifecyclestage_{stage}_date"),
    }
    modified = path[-1][1] + timedelta(minutes=5)
    return Rec(rid, props, history, created, modified, truth=path)


def company(seed: int, rid: int) -> Rec:
    rng = _rng(seed, rid)
    k = rid - FIRST_ID["companies"]
    created = EPOCH - timedelta(days=30) + timedelta(hours=5 * k)
    modified = _moment(created, rng, 24 * 30)
    props: dict[str, str | None] = {
        "hs_object_id": str(rid),
        "name": f"Company {k}",
        "domain": f"company{k}.example",
        "industry": rng.choice(["COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "RETAIL", None]),
        "numberofemployees": rng.choice(["12", "85", "430", "2500", None]),
        "annualrevenue": rng.choice(["1200000", "45000000.5", None]),
        "country": rng.choice(["United States", "Germany", "France"]),
        "hubspot_owner_id": _owner(rng),
        "hs_parent_company_id": str(rid - 1) if k % 9 == 4 else None,
        "createdate": stamp(created),
        "hs_lastmodifieddate": stamp(modified),
    }
    return Rec(rid, props, {}, created, modified)


def deal(seed: int, rid: int) -> Rec:
    rng = _rng(seed, rid)
    k = rid - FIRST_ID["deals"]
    pipeline_id, _, stages = PIPELINES[0 if k % 4 else 1]
    open_stages = [s[0] for s in stages if not s[3]]
    closed = [s[0] for s in stages if s[3]]
    depth = rng.randint(1, len(open_stages))
    ids = open_stages[:depth]
    if rng.random() < 0.4:
        ids.append(rng.choice(closed))
    created = EPOCH + timedelta(hours=13 * k, milliseconds=rng.randrange(1000))
    path = _path_dates(ids, created, rng)
    truncated = k % 11 == 3
    current = ids[-1]
    meta = {s[0]: s for s in stages}[current]
    is_closed = meta[3]
    modified = path[-1][1] + timedelta(minutes=3)
    props: dict[str, str | None] = {
        "hs_object_id": str(rid),
        "dealname": f"Deal {k}",
        "pipeline": pipeline_id,
        "dealstage": current,
        "amount": rng.choice(["5000", "12500.50", "98000", None]),
        "deal_currency_code": "USD",
        "closedate": stamp(path[-1][1] + timedelta(days=30)),
        "createdate": stamp(created),
        "hs_lastmodifieddate": stamp(modified),
        "dealtype": rng.choice(["newbusiness", "existingbusiness", None]),
        "hubspot_owner_id": _owner(rng),
        "hs_is_closed": "true" if is_closed else "false",
        "hs_is_closed_won": "true" if is_closed and meta[2] == "1.0" else "false",
        "hs_analytics_source": rng.choice(["OFFLINE", "ORGANIC_SEARCH", None]),
        **_date_columns(path, legacy="hs_date_entered_{stage}"),
    }
    history = {"dealstage": _history(path, rng, truncated)}
    return Rec(rid, props, history, created, modified, truth=path)


def engagement(seed: int, object_type: str, rid: int) -> Rec:
    rng = _rng(seed, rid)
    k = rid - FIRST_ID[object_type]
    at = EPOCH + timedelta(hours=7 * k + 1, milliseconds=rng.randrange(1000))
    modified = at + timedelta(minutes=rng.randrange(1, 90))
    props: dict[str, str | None] = {
        "hs_object_id": str(rid),
        "hs_timestamp": stamp(at),
        "hs_createdate": stamp(at),
        "hs_lastmodifieddate": stamp(modified),
        "hubspot_owner_id": _owner(rng),
    }
    if object_type == "calls":
        props["hs_call_disposition"] = rng.choice(list(CALL_DISPOSITIONS))
        props["hs_call_direction"] = rng.choice(["OUTBOUND", "INBOUND"])
    elif object_type == "meetings":
        props["hs_meeting_outcome"] = rng.choice(["SCHEDULED", "COMPLETED", "NO_SHOW"])
    elif object_type == "tasks":
        props["hs_task_status"] = rng.choice(["COMPLETED", "NOT_STARTED"])
    else:
        props["hs_email_direction"] = rng.choice(["EMAIL", "INCOMING_EMAIL"])
        props["hs_email_status"] = rng.choice(["SENT", "BOUNCED", None])
    return Rec(rid, props, {}, at, modified)


def _link(pair: tuple[str, str], to_id: int, primary: bool) -> Link:
    plain, prim = TYPE_IDS[pair]
    return Link(to_id, (plain, prim) if primary and prim is not None else (plain,))


def _links(portal: Portal, seed: int, counts: dict[str, int]) -> None:
    n = {k: max(1, v) for k, v in counts.items()}

    def contact_companies(rid: int) -> list[Link]:
        k = rid - FIRST_ID["contacts"]
        first = FIRST_ID["companies"] + k % n["companies"]
        out = [_link(("contacts", "companies"), first, True)]
        if k % 13 == 0 and n["companies"] > 1:
            out.append(
                _link(
                    ("contacts", "companies"),
                    FIRST_ID["companies"] + (k + 1) % n["companies"],
                    False,
                )
            )
        return out

    def deal_companies(rid: int) -> list[Link]:
        k = rid - FIRST_ID["deals"]
        return [
            _link(("deals", "companies"), FIRST_ID["companies"] + (k * 3) % n["companies"], True)
        ]

    def deal_contacts(rid: int) -> list[Link]:
        k = rid - FIRST_ID["deals"]
        many = BIG_DEAL_CONTACTS if k == 0 else 1 + k % 3
        many = min(many, n["contacts"])
        ids = sorted({FIRST_ID["contacts"] + (k * 7 + j) % n["contacts"] for j in range(many)})
        return [_link(("deals", "contacts"), i, False) for i in ids]

    portal.links[("contacts", "companies")] = contact_companies
    portal.links[("deals", "companies")] = deal_companies
    portal.links[("deals", "contacts")] = deal_contacts
    for kind in ENGAGEMENTS:

        def to_contacts(rid: int, kind: str = kind) -> list[Link]:
            k = rid - FIRST_ID[kind]
            return [
                _link((kind, "contacts"), FIRST_ID["contacts"] + (k * 5) % n["contacts"], False)
            ]

        def to_deals(rid: int, kind: str = kind) -> list[Link]:
            k = rid - FIRST_ID[kind]
            if k % 3 == 0:
                return []
            return [_link((kind, "deals"), FIRST_ID["deals"] + (k * 2) % n["deals"], False)]

        portal.links[(kind, "contacts")] = to_contacts
        portal.links[(kind, "deals")] = to_deals


def _owners() -> list[dict[str, Any]]:
    names = [
        "Ava Stone",
        "Ben Ortiz",
        "Chloe Park",
        "Dev Patel",
        "Emma Novak",
        "Finn Lee",
        "Gia Rossi",
        "Hugo Berg",
        "Iris Vale",
        "Jon Marsh",
        "Kai Dunn",
    ]
    out = []
    for i, name in enumerate(names[: OWNERS_ACTIVE + OWNERS_ARCHIVED]):
        first, last = name.split()
        archived = i >= OWNERS_ACTIVE
        out.append(
            {
                "id": str(FIRST_OWNER + i),
                "email": f"{first.lower()}@seller.example",
                "firstName": first,
                "lastName": last,
                "userId": None if archived else FIRST_USER + i,
                "userIdIncludingInactive": FIRST_USER + i,
                "type": "PERSON",
                "teams": [
                    {"id": str(50 + i % 2), "name": ["SDR East", "AE West"][i % 2], "primary": True}
                ],
                "createdAt": stamp(EPOCH - timedelta(days=400 - i)),
                "updatedAt": stamp(EPOCH - timedelta(days=10)),
                "archived": archived,
            }
        )
    return out


def _pipelines() -> dict[str, list[dict[str, Any]]]:
    out = []
    for order, (pid, label, stages) in enumerate(PIPELINES):
        out.append(
            {
                "id": pid,
                "label": label,
                "displayOrder": order,
                "createdAt": "1970-01-01T00:00:00Z" if pid == "default" else stamp(EPOCH),
                "updatedAt": stamp(EPOCH),
                "archived": False,
                "stages": [
                    {
                        "id": sid,
                        "label": slabel,
                        "displayOrder": i,
                        "metadata": {
                            "isClosed": "true" if closed else "false",
                            "probability": prob,
                        },
                        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                        "createdAt": stamp(EPOCH),
                        "updatedAt": stamp(EPOCH),
                        "archived": False,
                    }
                    for i, (sid, slabel, prob, closed) in enumerate(stages)
                ],
            }
        )
    return {"deals": out}


def _prop(
    name: str, type_: str = "string", field_type: str = "text", **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.replace("_", " ").title(),
        "type": type_,
        "fieldType": field_type,
        "groupName": "revgov_emulator",
        "options": extra.pop("options", []),
        "calculated": extra.pop("calculated", False),
        "hubspotDefined": not name.endswith("_c"),
        "hidden": False,
        "createdAt": stamp(EPOCH),
        "updatedAt": stamp(EPOCH),
        "archived": False,
        **extra,
    }


def _options(values: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(values.items())
    ]


def _properties() -> dict[str, list[dict[str, Any]]]:
    dt = {"type_": "datetime", "field_type": "date"}
    common = [
        _prop("hs_object_id", "number", "number"),
        _prop("hubspot_owner_id", "enumeration", "select"),
    ]
    contacts = [
        *common,
        *(
            _prop(n)
            for n in (
                "email",
                "firstname",
                "lastname",
                "jobtitle",
                "phone",
                "company",
                "country",
                "company_size_c",
                *UTM_PROPERTIES,
            )
        ),
        _prop(
            "lifecyclestage",
            "enumeration",
            "radio",
            options=_options({v: LIFECYCLE_LABELS[v] for v in [*LIFECYCLE, "evangelist", "other"]}),
        ),
        _prop("hs_lead_status", "enumeration", "select"),
        _prop("hs_analytics_source", "enumeration", "select", calculated=True),
        _prop("hs_merged_object_ids", "enumeration", "checkbox", calculated=True),
        _prop("createdate", **dt),
        _prop("lastmodifieddate", **dt),
    ]
    companies = [
        *common,
        *(_prop(n) for n in ("name", "domain", "industry", "country")),
        _prop("numberofemployees", "number", "number"),
        _prop("annualrevenue", "number", "number"),
        _prop("hs_parent_company_id", "number", "number"),
        _prop("hs_merged_object_ids", "enumeration", "checkbox", calculated=True),
        _prop("createdate", **dt),
        _prop("hs_lastmodifieddate", **dt),
    ]
    deals = [
        *common,
        _prop("dealname"),
        _prop("pipeline", "enumeration", "select"),
        _prop("dealstage", "enumeration", "radio"),
        _prop("amount", "number", "number"),
        _prop("deal_currency_code", "enumeration", "select"),
        _prop("closedate", **dt),
        _prop("createdate", **dt),
        _prop("hs_lastmodifieddate", **dt),
        _prop("dealtype", "enumeration", "radio"),
        _prop("hs_is_closed", "bool", "booleancheckbox", calculated=True),
        _prop("hs_is_closed_won", "bool", "booleancheckbox", calculated=True),
        _prop("hs_analytics_source", "enumeration", "select", calculated=True),
        _prop("hs_merged_object_ids", "enumeration", "checkbox", calculated=True),
    ]
    engagement = [
        *common,
        _prop("hs_timestamp", **dt),
        _prop("hs_createdate", **dt),
        _prop("hs_lastmodifieddate", **dt),
    ]
    out: dict[str, list[dict[str, Any]]] = {
        "contacts": contacts,
        "companies": companies,
        "deals": deals,
    }
    out["calls"] = [
        *engagement,
        _prop("hs_call_disposition", "enumeration", "select", options=_options(CALL_DISPOSITIONS)),
        _prop("hs_call_direction", "enumeration", "select"),
    ]
    out["emails"] = [
        *engagement,
        _prop("hs_email_direction", "enumeration", "select"),
        _prop("hs_email_status", "enumeration", "select"),
    ]
    out["meetings"] = [*engagement, _prop("hs_meeting_outcome", "enumeration", "select")]
    out["tasks"] = [*engagement, _prop("hs_task_status", "enumeration", "select")]
    return out


def build_portal(
    *,
    seed: int = 7,
    contacts: int = 300,
    companies: int = 60,
    deals: int = 120,
    engagements: int = 40,
) -> Portal:
    portal = Portal()
    counts = {"contacts": contacts, "companies": companies, "deals": deals}
    portal.tables["companies"] = ObjectTable(
        "companies", FIRST_ID["companies"], companies, lambda rid: company(seed, rid)
    )
    portal.tables["contacts"] = ObjectTable(
        "contacts", FIRST_ID["contacts"], contacts, lambda rid: contact(seed, rid, companies)
    )
    portal.tables["deals"] = ObjectTable(
        "deals", FIRST_ID["deals"], deals, lambda rid: deal(seed, rid)
    )
    for kind in ENGAGEMENTS:
        portal.tables[kind] = ObjectTable(
            kind, FIRST_ID[kind], engagements, lambda rid, kind=kind: engagement(seed, kind, rid)
        )
    _links(portal, seed, counts)
    portal.owners = _owners()
    portal.pipelines = _pipelines()
    portal.properties = _properties()
    return portal
