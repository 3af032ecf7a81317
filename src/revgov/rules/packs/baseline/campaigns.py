"""Campaign names follow the naming template (:mod:`revgov.definitions.naming`) wherever
they live: ``[campaign_naming].columns`` lists them (campaigns, a person's or a touch's UTM
campaign, an opportunity's primary campaign), configured once."""

from __future__ import annotations

from revgov.config import Config
from revgov.rules._expr import not_null
from revgov.rules._naming import compile_template, naming_expressions
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import MOPS, builtin

__all__ = ["campaign_rules", "naming_rule_id"]


def naming_rule_id(entity: str, column: str) -> str:
    """``campaigns.naming`` for campaign names, ``<entity>.<column>_naming`` elsewhere (a
    custom column's name in lowercase, other characters as ``_``)."""
    return (
        "campaigns.naming"
        if (entity, column) == ("campaigns", "name")
        else (f"{entity}.{column}_naming")
    )


def campaign_rules(config: Config) -> list[Rule]:
    """One naming rule per column of ``[campaign_naming].columns`` (the template was
    compiled when the config was loaded)."""
    naming = config.campaign_naming
    tpl = compile_template(naming.template, naming.tokens)
    out = []
    for spec in naming.columns:
        entity, column = spec.split(".", 1)
        exprs = naming_expressions(column, tpl)
        out.append(
            Rule(
                id=naming_rule_id(entity, column),
                entity=entity,
                dimension="conformity",
                kind="naming",
                description=f"Campaign names in {entity}.{column} follow "
                "campaign_naming.template with each token in its vocabulary; the finding "
                "names a wrong shape (separator, number of tokens) first, else the token "
                "that is wrong and why. Where names live: campaign_naming.columns.",
                checks=(Check(violation=exprs.violation, field=column, message=exprs.message),),
                scope=not_null(column),
                columns=(column,),
                remediation="Rename the campaign to the template (use the naming builder); "
                "reports group spend by these tokens.",
                owner=MOPS,
                severity="warn",
                settings=("campaign_naming.template", "campaign_naming.tokens"),
                **builtin(),
            )
        )
    return out
