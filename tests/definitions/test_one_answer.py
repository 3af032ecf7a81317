"""One definition gives one answer: the audit, the KPIs and the mapping layer read the
governed definitions through the same modules (revgov.definitions), so they agree.

* SLA: the people the audit flags as speed-to-lead breaches are exactly the breaches that
  ``sla_compliance_rate`` counts, on the demo CRM and on hand-made edge cases (a touch after
  as_of, a segment from [[segments]], a limit by lead kind, types in capitals), on polars
  and DuckDB.
* Stages: every spelling of a stage (its name or an alias, any case, padded) is the same
  stage to the mapping layer (pull), the rules and the KPIs; a spelling of no stage is
  unknown to all three.
* Lifecycle: every spelling of a lifecycle stage or ``[lifecycle.map]`` key is the same stage
  to the mapping layer, the rules and the MQL-to-SQL KPI.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import narwhals as nw
import polars as pl
import pytest

from revgov.config import Config, config_from_dict
from revgov.connectors.mapping import apply_definitions
from revgov.demo import generate
from revgov.metrics import mql_to_sql, sla_compliance_rate, with_stage_attributes
from revgov.model.frames import polars_schema
from revgov.rules import audit

# -- the SLA ---------------------------------------------------------------------------------


def _breaches_by_audit(frames: dict[str, Any], config: Config, as_of: datetime) -> set[str]:
    report = audit(frames, config=config, as_of=as_of, only=["people.speed_to_lead_breach"])
    found = report.findings_df.filter(pl.col("rule_id") == "people.speed_to_lead_breach")
    return set(found["record_id"].to_list())


def _breaches_by_kpi(
    people: Any, activities: Any, config: Config, as_of: datetime
) -> tuple[set[str], int]:
    kwargs: dict[str, Any] = {
        "sla": config.sla,
        "segments": config.segments,
        "as_of": as_of,
    }
    per_person = (
        nw.from_native(sla_compliance_rate(people, activities, by="person_id", **kwargs))
        .lazy()
        .collect("polars")
        .to_native()
    )
    total = nw.from_native(sla_compliance_rate(people, activities, **kwargs))
    breached = int(total.lazy().collect("polars").to_native()["breached"].sum())
    return set(per_person.filter(pl.col("breached") > 0)["person_id"].to_list()), breached


def test_demo_sla_breaches_are_the_same_people_in_the_audit_and_the_kpi() -> None:
    data = generate(scale=0.1, seed=11)
    as_of = datetime.fromisoformat(str(data.manifest["as_of"]))
    frames = {e: f.lazy() for e, f in data.frames.items()}
    flagged = _breaches_by_audit(frames, data.config, as_of)
    counted, total = _breaches_by_kpi(
        data.frames["people"], data.frames["activities"], data.config, as_of
    )
    planted = set(
        data.ground_truth.filter(pl.col("defect_kind") == "people.speed_to_lead_breach")[
            "record_id"
        ].to_list()
    )
    assert planted and planted <= flagged
    assert flagged == counted
    assert total == len(flagged)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Business hours 9-17 New York; as_of Wednesday 2026-06-03 18:00 NY (22:00 UTC).
EDGE_CONFIG: dict[str, Any] = {
    "segments": [{"name": "enterprise", "employees_min": 1000}],
    "sla": {
        "timezone": "America/New_York",
        "speed_to_lead_hours": {"default": 4, "enterprise": 1, "contact": 8},
        "qualifying_activity_types": ["call", "email"],
    },
}
EDGE_AS_OF = _utc(2026, 6, 3, 22)
MQL = _utc(2026, 6, 1, 14)  # Monday 10:00 NY


def _edge_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    def person(pid: str, **kw: Any) -> dict[str, Any]:
        return {"person_id": pid, "mql_at": MQL, "kind": "lead"} | kw

    people = [
        person("late_touch", segment="smb"),  # touched after 5 business hours: breach
        person("on_time", segment="smb"),  # touched after 2: met
        # No segment column value: [[segments]] says enterprise (1 hour); touched after 2.
        person("big_by_headcount", employees=5000),
        person("contact", kind="contact", segment="smb"),  # 8 hours; touched after 5: met
        person("caps", segment="smb"),  # CALL in capitals after 5 hours: breach
        person("touch_after_as_of", segment="smb", mql_at=_utc(2026, 6, 3, 19)),  # pending
        person("never", segment="smb"),  # untouched for days: breach
        person("future", segment="smb", mql_at=_utc(2026, 6, 10, 14)),  # not a lead yet
        person("Enterprise_case", segment="Enterprise"),  # segment in capitals: 1 hour
    ]
    acts = [
        ("late_touch", "call", MQL + timedelta(hours=5)),
        ("on_time", "email", MQL + timedelta(hours=2)),
        ("big_by_headcount", "call", MQL + timedelta(hours=2)),
        ("contact", "call", MQL + timedelta(hours=5)),
        ("caps", "CALL", MQL + timedelta(hours=5)),
        ("touch_after_as_of", "call", EDGE_AS_OF + timedelta(hours=1)),
        ("Enterprise_case", "call", MQL + timedelta(hours=2)),
        ("never", "task", MQL + timedelta(hours=1)),  # not a qualifying type
    ]
    people_df = _canonical("people", people)
    acts_df = _canonical(
        "activities",
        [
            {"activity_id": f"a{i}", "person_id": p, "type": t, "occurred_at": at}
            for i, (p, t, at) in enumerate(acts)
        ],
    )
    return people_df, acts_df


def _canonical(entity: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = polars_schema(entity)
    raw = pl.DataFrame(rows, infer_schema_length=None)
    return pl.select(
        *[
            (raw[c] if c in raw.columns else pl.repeat(None, len(rows), dtype=schema[c]))
            .cast(schema[c])
            .alias(c)
            for c in schema.names()
        ]
    )


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_edge_case_breaches_agree(engine: str) -> None:
    config = config_from_dict(EDGE_CONFIG)
    people, acts = _edge_frames()
    if engine == "duckdb":
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        people_in: Any = con.from_arrow(people.to_arrow())
        acts_in: Any = con.from_arrow(acts.to_arrow())
    else:
        people_in, acts_in = people.lazy(), acts.lazy()
    flagged = _breaches_by_audit({"people": people_in, "activities": acts_in}, config, EDGE_AS_OF)
    counted, total = _breaches_by_kpi(people_in, acts_in, config, EDGE_AS_OF)
    expected = {"late_touch", "big_by_headcount", "caps", "never", "Enterprise_case"}
    assert flagged == expected
    assert counted == expected
    assert total == len(expected)


# -- pipeline stages -------------------------------------------------------------------------

STAGE_CONFIG: dict[str, Any] = {
    "pipelines": [
        {
            "name": "sales",
            "stages": [
                {"name": "Qualification", "order": 1, "probability": 0.1},
                {"name": "Proposal", "order": 2, "probability": 0.5, "aliases": ["Quote Sent"]},
                {
                    "name": "Closed Won",
                    "order": 3,
                    "probability": 1.0,
                    "is_closed": True,
                    "is_won": True,
                    "aliases": ["Won"],
                },
                {"name": "Closed Lost", "order": 4, "probability": 0.0, "is_closed": True},
            ],
        }
    ]
}


def _spellings(config: Config) -> list[tuple[str, str]]:
    """(spelling, canonical stage) for every way a stage may be written."""
    out = []
    for stage in config.pipeline().stages:
        for s in stage.spellings:
            out += [(v, stage.name) for v in (s, s.upper(), s.lower(), f"  {s} ")]
    return out


def test_every_spelling_of_a_stage_is_one_stage_everywhere() -> None:
    config = config_from_dict(STAGE_CONFIG)
    cases = [*_spellings(config), ("Mystery", None)]
    ids = [f"o{i}" for i in range(len(cases))]
    stages = {s.name: s for s in config.pipeline().stages}
    expected = [stages[c] if c else None for _, c in cases]

    # The mapping layer (what a pull stores), for deals and for their stage history.
    raw = pl.DataFrame({"opportunity_id": ids, "stage": [s for s, _ in cases]})
    mapped = apply_definitions("opportunities", raw, config)
    assert mapped["stage"].to_list() == [c or s for s, c in cases]
    assert mapped["is_won"].to_list() == [str(e.is_won).lower() if e else None for e in expected]
    events = pl.DataFrame(
        {
            "record_entity": ["deal"] * len(cases),
            "record_id": ids,
            "field": ["stage"] * len(cases),
            "from_value": [s for s, _ in cases],
            "to_value": [s for s, _ in cases],
        }
    )
    ev = apply_definitions("stage_events", events, config)
    assert ev["to_value"].to_list() == ev["from_value"].to_list() == [c or s for s, c in cases]

    # The rules, on the raw spellings: known stages, and flags checked against them.
    deals = _canonical(
        "opportunities",
        [
            {
                "opportunity_id": i,
                "stage": s,
                "is_closed": e.is_closed if e else False,
                "is_won": e.is_won if e else False,
            }
            for i, (s, _), e in zip(ids, cases, expected, strict=True)
        ],
    )
    rules = ["opportunities.stage_unknown", "opportunities.won_flags_mismatch"]
    report = audit({"opportunities": deals.lazy()}, config=config, only=rules)
    unknown = report.findings_df.filter(pl.col("rule_id") == rules[0])["record_id"].to_list()
    assert unknown == [ids[-1]]
    assert report.result(rules[1]).checked == len(cases) - 1
    assert report.result(rules[1]).violating == 0
    flipped = deals.with_columns(~pl.col("is_won"))
    report = audit({"opportunities": flipped.lazy()}, config=config, only=rules[1:])
    assert report.result(rules[1]).violating == len(cases) - 1

    # The KPIs' stage attributes.
    enriched = with_stage_attributes(deals.drop("is_closed", "is_won"), config.pipelines)
    assert enriched["stage_order"].to_list() == [e.order if e else None for e in expected]
    assert enriched["is_won"].to_list() == [e.is_won if e else None for e in expected]


# -- lifecycle stages ------------------------------------------------------------------------


def test_every_spelling_of_a_lifecycle_stage_is_one_stage_everywhere() -> None:
    config = config_from_dict(
        {"lifecycle": {"map": {"Sales Qualified Lead": "sql", "MQL (scored)": "mql"}}}
    )
    cases = [
        ("sql", "sql"),
        ("SQL", "sql"),
        (" Sql ", "sql"),
        ("Sales Qualified Lead", "sql"),
        ("sales qualified lead", "sql"),
        ("MQL (scored)", "mql"),
        ("Customer", "customer"),
        ("Prospect", None),
    ]
    ids = [f"p{i}" for i in range(len(cases))]
    raw = pl.DataFrame({"person_id": ids, "lifecycle_stage": [s for s, _ in cases]})
    mapped = apply_definitions("people", raw, config)
    assert mapped["lifecycle_stage"].to_list() == [c or s for s, c in cases]

    people = _canonical(
        "people",
        [
            {"person_id": i, "lifecycle_stage": s, "mql_at": _utc(2026, 5, 1)}
            for i, (s, _) in zip(ids, cases, strict=True)
        ],
    )
    report = audit(
        {"people": people.lazy()}, config=config, only=["people.lifecycle_stage_unknown"]
    )
    flagged = report.findings_df["record_id"].to_list()
    assert flagged == [ids[-1]]

    sqls = mql_to_sql(
        people, qualified=config.qualified, lifecycle=config.lifecycle, by="person_id"
    )
    got = dict(zip(sqls["person_id"].to_list(), sqls["sqls"].to_list(), strict=True))
    # SQL stages by default: sql, opportunity, customer.
    assert {p for p, n in got.items() if n} == {
        i for i, (_, c) in zip(ids, cases, strict=True) if c in ("sql", "customer")
    }
