"""Campaigns: names follow the naming template (:mod:`revgov.definitions.naming`)."""

from __future__ import annotations

from revgov.config import Config
from revgov.rules._expr import not_null
from revgov.rules._naming import compile_template, naming_expressions
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import MOPS, builtin

__all__ = ["campaign_rules"]


def campaign_rules(config: Config) -> list[Rule]:
    """Campaign names follow the governed template (compiled when the config was loaded)."""
    naming = config.campaign_naming
    tpl = compile_template(naming.template, naming.tokens)
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
            owner=MOPS,
            severity="warn",
            settings=("campaign_naming.template", "campaign_naming.tokens"),
            **builtin(),
        )
    ]
