"""Routing outcomes: unassigned, owner_inactive, no_pool, wrong_pool and wrong_owner, each
with its configured severity and whether it counts as misrouted. An inactive owner in no
pool is reported (owner_inactive), never left out."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from revgov.config import config_from_dict, config_from_text
from revgov.errors import ConfigError
from revgov.rules import builtin_rules

from .conftest import flagged, run

ROUTING: dict[str, Any] = {
    "pools": {"smb": ["u_smb1", "u_smb2"], "mid": ["u_mid"]},
    "rules": [
        {"name": "ent", "countries": ["US"], "employees_min": 1000, "owner": "u_ent"},
        {"name": "smb", "countries": ["US"], "employees_max": 999, "pool": "smb"},
    ],
}
USERS = [
    {"user_id": u, "is_active": u != "u_gone", "team": "t"}
    for u in ("u_ent", "u_smb1", "u_smb2", "u_mid", "u_free", "u_gone")
]
# Planted: each record's expected outcome (None: routed right, or not judged).
PEOPLE: list[tuple[str, int, str | None, str | None]] = [
    ("ok_owner", 5000, "u_ent", None),
    ("ok_pool", 50, "u_smb2", None),
    ("wrong_owner", 5000, "u_smb1", "wrong_owner"),
    ("wrong_pool", 50, "u_mid", "wrong_pool"),
    ("no_pool", 50, "u_free", "no_pool"),
    ("gone_no_pool", 50, "u_gone", "owner_inactive"),  # inactive AND in no pool
    ("gone_ent", 5000, "u_gone", "owner_inactive"),
    ("nobody", 50, None, "unassigned"),
]


def _audit(outcomes: dict[str, Any] | None = None) -> Any:
    routing = {**ROUTING, **({"outcomes": outcomes} if outcomes else {})}
    config = config_from_dict({"routing": routing})
    rules = [r for r in builtin_rules(config) if r.id == "people.misrouted"]
    people = [
        {"person_id": pid, "country": "US", "employees": n, "owner_id": owner}
        for pid, n, owner, _ in PEOPLE
    ]
    return run(rules, {"people": people, "users": USERS}, config=config)


def _outcomes(report: Any) -> dict[str, str]:
    rows = report.findings_df.filter(pl.col("rule_id") == "people.misrouted")
    return {
        r: m.split("(", 1)[1].split(";")[0]
        for r, m in rows.select("record_id", "message").iter_rows()
    }


def test_every_outcome_is_named_and_counted_by_default() -> None:
    report = _audit()
    planted = {pid: o for pid, _, _, o in PEOPLE if o is not None}
    assert _outcomes(report) == planted
    result = report.result("people.misrouted")
    assert (result.checked, result.violating, result.severity) == (8, 6, "error")
    assert set(report.findings_df["severity"]) == {"error"}


def test_outcomes_take_their_severity_and_can_be_left_out() -> None:
    report = _audit(
        {
            "unassigned": {"misrouted": False},
            "owner_inactive": {"severity": "warn"},
            "no_pool": {"severity": "info"},
        }
    )
    assert flagged(report, "people.misrouted") == {
        "wrong_owner",
        "wrong_pool",
        "no_pool",
        "gone_no_pool",
        "gone_ent",
    }
    sev = dict(report.findings_df.select("record_id", "severity").iter_rows())
    assert sev["gone_no_pool"] == sev["gone_ent"] == "warn"
    assert sev["no_pool"] == "info" and sev["wrong_pool"] == "error"
    # An outcome not counted is not judged: the unassigned lead is neither checked nor passed.
    assert report.result("people.misrouted").checked == 7
    description = report.result("people.misrouted").description
    assert "not counted: unassigned" in description


def test_rule_severity_is_the_worst_counted_outcome() -> None:
    outcomes = {o: {"severity": "warn"} for o in ("unassigned", "owner_inactive", "no_pool")}
    outcomes |= {"wrong_pool": {"severity": "info"}, "wrong_owner": {"misrouted": False}}
    report = _audit(outcomes)
    assert report.result("people.misrouted").severity == "warn"
    assert report.failing("error") == []


def test_unknown_outcome_keys_are_load_errors_with_a_suggestion() -> None:
    with pytest.raises(ConfigError) as err:
        config_from_text("[routing.outcomes]\nno_pol = { misrouted = false }\n")
    assert "no_pol" in str(err.value) and "no_pool" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config_from_text('[routing.outcomes.wrong_pool]\nseverity = "fatal"\n')
    assert "severity" in str(err.value)


def test_a_rule_severity_override_applies_to_every_outcome() -> None:
    config = config_from_dict(
        {
            "routing": {**ROUTING, "outcomes": {"no_pool": {"severity": "info"}}},
            "rules": {"people.misrouted": {"severity": "warn"}},
        }
    )
    rules = [r for r in builtin_rules(config) if r.id == "people.misrouted"]
    people = [
        {"person_id": pid, "country": "US", "employees": n, "owner_id": owner}
        for pid, n, owner, _ in PEOPLE
    ]
    report = run(rules, {"people": people, "users": USERS}, config=config)
    assert set(report.findings_df["severity"]) == {"warn"}
