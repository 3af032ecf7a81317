"""Account records: domain format, duplicate domains, country codes."""

from __future__ import annotations

from revgov.config import Config
from revgov.rules import kinds
from revgov.rules.base import Rule
from revgov.rules.packs.baseline._common import OPS, builtin

__all__ = ["account_records"]


def account_records(config: Config) -> list[Rule]:
    """Domain format (``[rules.formats].domain`` may replace it), duplicates, country."""
    return [
        kinds.formatted(
            "accounts.domain_format",
            "accounts",
            "domain",
            "domain",
            regex=config.rules.formats.domain,
            remediation="Store the bare host name (acme.com): strip schemes, paths and "
            "spaces at entry.",
            owner=OPS,
            **builtin(),
        ),
        kinds.unique(
            "accounts.duplicate_domain",
            "accounts",
            "domain",
            normalize="domain",
            description="No two accounts share a domain (lowercase, without a leading 'www.').",
            remediation="Merge duplicate accounts (or link subsidiaries with "
            "parent_account_id and distinct domains).",
            owner=OPS,
            severity="warn",
            **builtin(),
        ),
        kinds.formatted(
            "accounts.country_format",
            "accounts",
            "country",
            "iso_country",
            severity="warn",
            remediation="Use a country picklist of ISO codes; map typed names to codes.",
            owner=OPS,
            **builtin(),
        ),
    ]
