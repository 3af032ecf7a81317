"""The demo company's sales and marketing team (fixed roster; the routing config names it)."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from revgov.demo._vocab import REGION_TIMEZONE

__all__ = ["EMAIL_DOMAIN", "ROSTER", "Member", "account_executives", "users_frame"]

EMAIL_DOMAIN = "northpeak.io"


class Member(NamedTuple):
    user_id: str
    name: str
    role: str
    team: str
    region: str | None
    segment: str | None
    manager_id: str | None
    is_active: bool = True


ROSTER: tuple[Member, ...] = (
    Member("usr_001", "Dana Whitfield", "vp_sales", "Sales Leadership", None, None, None),
    Member("usr_002", "Marcus Bell", "manager", "Sales NA", "NA", None, "usr_001"),
    Member("usr_003", "Sofia Lindqvist", "manager", "Sales EMEA", "EMEA", None, "usr_001"),
    Member("usr_004", "Hiro Tanaka", "manager", "Sales APAC", "APAC", None, "usr_001"),
    Member("usr_005", "Lucia Ferreira", "manager", "Sales LATAM", "LATAM", None, "usr_001"),
    Member("usr_006", "Priya Raman", "marketing", "Marketing", "NA", None, "usr_001"),
    Member("usr_007", "Owen Gallagher", "marketing", "Marketing", "EMEA", None, "usr_001"),
    # SDRs: a named SDR per region for enterprise, round-robin pools for the rest.
    Member("usr_010", "Grace Holloway", "sdr", "SDR NA", "NA", "enterprise", "usr_002"),
    Member("usr_011", "Tyler Brooks", "sdr", "SDR NA", "NA", "mid_market", "usr_002"),
    Member("usr_012", "Amara Okafor", "sdr", "SDR NA", "NA", "mid_market", "usr_002"),
    Member("usr_013", "Ben Carter", "sdr", "SDR NA", "NA", "mid_market", "usr_002"),
    Member("usr_014", "Chloe Nguyen", "sdr", "SDR NA", "NA", "smb", "usr_002"),
    Member("usr_015", "Diego Ramos", "sdr", "SDR NA", "NA", "smb", "usr_002"),
    Member("usr_016", "Ella Fischer", "sdr", "SDR NA", "NA", "smb", "usr_002"),
    Member("usr_020", "Felix Braun", "sdr", "SDR EMEA", "EMEA", "enterprise", "usr_003"),
    Member("usr_021", "Hannah Moreau", "sdr", "SDR EMEA", "EMEA", None, "usr_003"),
    Member("usr_022", "Isak Nilsson", "sdr", "SDR EMEA", "EMEA", None, "usr_003"),
    Member("usr_023", "Julia Rossi", "sdr", "SDR EMEA", "EMEA", None, "usr_003"),
    Member("usr_030", "Kenji Watanabe", "sdr", "SDR APAC", "APAC", "enterprise", "usr_004"),
    Member("usr_031", "Mei Lin", "sdr", "SDR APAC", "APAC", None, "usr_004"),
    Member("usr_032", "Arjun Mehta", "sdr", "SDR APAC", "APAC", None, "usr_004"),
    Member("usr_040", "Mateo Silva", "sdr", "SDR LATAM", "LATAM", "enterprise", "usr_005"),
    Member("usr_041", "Valentina Cruz", "sdr", "SDR LATAM", "LATAM", None, "usr_005"),
    Member("usr_042", "Rafael Gomez", "sdr", "SDR LATAM", "LATAM", None, "usr_005"),
    Member("usr_050", "Nora Quinn", "sdr", "SDR Global", "NA", None, "usr_002"),
    Member("usr_051", "Samir Haddad", "sdr", "SDR Global", "EMEA", None, "usr_003"),
    # Account executives by region and segment: they own accounts and deals.
    Member("usr_060", "Laura Mitchell", "ae", "AE NA SMB", "NA", "smb", "usr_002"),
    Member("usr_061", "Kevin Park", "ae", "AE NA SMB", "NA", "smb", "usr_002"),
    Member("usr_062", "Rachel Adams", "ae", "AE NA Mid-Market", "NA", "mid_market", "usr_002"),
    Member("usr_063", "Chris Turner", "ae", "AE NA Mid-Market", "NA", "mid_market", "usr_002"),
    Member("usr_064", "Victoria Hayes", "ae", "AE NA Enterprise", "NA", "enterprise", "usr_002"),
    Member("usr_065", "Daniel Reed", "ae", "AE NA Enterprise", "NA", "enterprise", "usr_002"),
    Member("usr_070", "Emma Schulz", "ae", "AE EMEA", "EMEA", "smb", "usr_003"),
    Member("usr_071", "Lucas Dubois", "ae", "AE EMEA", "EMEA", "mid_market", "usr_003"),
    Member("usr_072", "Charlotte Evans", "ae", "AE EMEA", "EMEA", "enterprise", "usr_003"),
    Member("usr_080", "Liam OConnor", "ae", "AE APAC", "APAC", "smb", "usr_004"),
    Member("usr_081", "Yuki Sato", "ae", "AE APAC", "APAC", "mid_market", "usr_004"),
    Member("usr_082", "Aisha Kapoor", "ae", "AE APAC", "APAC", "enterprise", "usr_004"),
    Member("usr_090", "Camila Torres", "ae", "AE LATAM", "LATAM", "smb", "usr_005"),
    Member("usr_091", "Pedro Alves", "ae", "AE LATAM", "LATAM", "mid_market", "usr_005"),
    Member("usr_092", "Isabel Navarro", "ae", "AE LATAM", "LATAM", "enterprise", "usr_005"),
    # Former staff: deactivated; they own nothing but the planted people.owner_inactive records.
    Member("usr_097", "Greg Palmer", "sdr", "SDR NA", "NA", None, "usr_002", False),
    Member("usr_098", "Olivia Grant", "ae", "AE EMEA", "EMEA", None, "usr_003", False),
    Member("usr_099", "Tom Becker", "sdr", "SDR APAC", "APAC", None, "usr_004", False),
)


def account_executives() -> dict[tuple[str, str], list[str]]:
    """Active AEs by (region, segment)."""
    out: dict[tuple[str, str], list[str]] = {}
    for m in ROSTER:
        if m.role == "ae" and m.is_active and m.region and m.segment:
            out.setdefault((m.region, m.segment), []).append(m.user_id)
    return out


def users_frame() -> pl.DataFrame:
    """The roster as a users frame (canonical columns, no lineage)."""
    first_last = [m.name.lower().split() for m in ROSTER]
    return pl.DataFrame(
        {
            "user_id": [m.user_id for m in ROSTER],
            "name": [m.name for m in ROSTER],
            "email": [f"{f}.{last}@{EMAIL_DOMAIN}" for f, last in first_last],
            "team": [m.team for m in ROSTER],
            "role": [m.role for m in ROSTER],
            "manager_id": [m.manager_id for m in ROSTER],
            "region": [m.region for m in ROSTER],
            "is_active": [m.is_active for m in ROSTER],
            "timezone": [REGION_TIMEZONE.get(m.region or "NA") for m in ROSTER],
        }
    )
