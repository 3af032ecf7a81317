"""The built-in baseline pack: the governance checks every CRM should pass, by topic.

Every rule reads its settings from the governed definitions (``revgov.toml``): vocabularies,
pipelines, routing table, SLA calendar. A rule whose input entity or column is absent is
skipped with the reason rather than failing, so the pack runs on partial exports too.

==================  ============================================================
``people``          contact data, lifecycle stage, conversion and account links
``accounts``        domain format and duplicates, country codes
``deals``           pipelines and stages, outcomes, amounts, dates, staleness
``ownership``       owners present, known, active, routed as the table says;
                    round-robin balance
``utm``             UTM tags: lowercase, vocabulary, tags required by channel
``sla``             speed to lead and follow-up attempts (business hours)
``history``         lifecycle and stage history: no regressions, no skipped stages
``campaigns``       campaign names follow the template
``links``           activities and stage events name existing records
``pulled``          rows quarantined at pull, per entity
==================  ============================================================
"""

from __future__ import annotations

from revgov.config import Config
from revgov.rules.base import Rule
from revgov.rules.packs.baseline._common import AS_OF_PARAM
from revgov.rules.packs.baseline.accounts import account_records
from revgov.rules.packs.baseline.campaigns import campaign_rules
from revgov.rules.packs.baseline.deals import DealState, deal_rules
from revgov.rules.packs.baseline.history import lifecycle_history_rules, stage_history_rules
from revgov.rules.packs.baseline.links import link_rules
from revgov.rules.packs.baseline.ownership import misrouting, ownership, round_robin
from revgov.rules.packs.baseline.people import people_records
from revgov.rules.packs.baseline.pulled import pulled_rules
from revgov.rules.packs.baseline.sla import sla_rules
from revgov.rules.packs.baseline.utm import utm_rules

__all__ = ["AS_OF_PARAM", "baseline"]


def baseline(config: Config) -> list[Rule]:
    """The baseline rules for ``config`` (order: people, accounts, opportunities, others)."""
    return [
        *_people(config),
        *ownership("accounts", config),
        *account_records(config),
        *misrouting("accounts", config),
        *_opportunities(config),
        *campaign_rules(config),
        *utm_rules(config, "campaign_touches"),
        *round_robin(config),
        *link_rules(),
        *pulled_rules(config),
    ]


def _people(config: Config) -> list[Rule]:
    records = people_records(config)
    contact, rest = records[:5], records[5:]
    return [
        *contact,
        *ownership("people", config),
        *misrouting("people", config),
        *utm_rules(config, "people"),
        *rest,
        *sla_rules(config),
        *lifecycle_history_rules(config),
    ]


def _opportunities(config: Config) -> list[Rule]:
    deal = DealState.of(config)
    return [
        *ownership("opportunities", config, open_deal=deal.is_open, keyed=deal.keyed),
        *deal_rules(config),
        *stage_history_rules(config),
        *misrouting("opportunities", config),
    ]
