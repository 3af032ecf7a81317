"""``[utm]`` and ``[campaign_naming]``: tagging conventions and the campaign name template."""

from __future__ import annotations

import difflib
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from revgov._typing import ENTITY_NAMES
from revgov.config.schema._base import Strict, did_you_mean, invalid

__all__ = ["UTM_TAGS", "CampaignNaming", "UTMConfig"]

#: The UTM tags of the canonical model, in URL order.
UTM_TAGS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _tag(value: str) -> str:
    if value not in UTM_TAGS:
        raise invalid(
            f"{value!r} is not a UTM tag", hint=did_you_mean(value, UTM_TAGS, "the tags are")
        )
    return value


Tag = Annotated[str, AfterValidator(_tag)]


class UTMConfig(Strict):
    """`[utm]`: UTM tagging conventions."""

    lowercase: bool = True
    required: list[Tag] = Field(
        default_factory=lambda: ["utm_source", "utm_medium", "utm_campaign"],
        description="Tags every tagged record must carry.",
    )
    required_by_channel: dict[str, list[Tag]] = Field(
        default_factory=dict, description="utm_medium value to the tags it requires."
    )
    vocabulary: dict[str, list[str]] = Field(
        default_factory=dict, description="Allowed values per tag."
    )

    @model_validator(mode="after")
    def _vocabulary_tags(self) -> UTMConfig:
        for tag in self.vocabulary:
            if tag not in UTM_TAGS:
                raise invalid(
                    f"[utm.vocabulary] names {tag!r}, which is not a UTM tag",
                    at=("vocabulary", tag),
                    hint=did_you_mean(tag, UTM_TAGS, "the tags are"),
                )
        return self


def _check_token(value: list[str] | str) -> list[str] | str:
    if isinstance(value, str):
        from revgov.definitions._regex import regex_problem

        problem = regex_problem(value)
        if problem is not None:
            raise invalid(problem.message, hint=problem.hint)
    elif not value:
        raise invalid("an empty list", hint="list the allowed values, or write a regex")
    return value


def _default_tokens() -> dict[str, list[str] | str]:
    return {"year": r"\d{4}", "quarter": r"q[1-4]"}


class CampaignNaming(Strict):
    """`[campaign_naming]`: the campaign name template and each token's vocabulary.

    The template is compiled when the config is loaded: an unbalanced brace, a token without
    a separator, a vocabulary key that is not a token, or a token regex that polars, DuckDB or
    Spark would reject is an error naming the key, its line and the position.
    """

    tokens: dict[str, Annotated[list[str] | str, AfterValidator(_check_token)]] = Field(
        default_factory=_default_tokens,
        description="Per token: a list of allowed values or a regular expression.",
    )
    template: str = Field(
        "{year}-{quarter}_{channel}_{region}_{offer}",
        description="Tokens in braces; literal separators between them.",
    )
    columns: list[str] = Field(
        default_factory=lambda: ["campaigns.name"],
        description="Where campaign names live, as `entity.column`: `campaigns.name`, "
        "`people.utm_campaign`, `campaign_touches.utm_campaign`, or a mapped custom "
        "column (an opportunity's primary campaign name, say).",
    )

    @field_validator("columns")
    @classmethod
    def _columns_name_entities(cls, columns: list[str]) -> list[str]:
        from revgov.model.frames import ENTITIES

        for i, spec in enumerate(columns):
            entity, _, column = spec.partition(".")
            if not column or entity not in ENTITY_NAMES:
                raise invalid(
                    f"{spec!r} is not <entity>.<column> of a canonical entity",
                    at=(i,),
                    hint=did_you_mean(entity, ENTITY_NAMES, "entities")
                    + "; e.g. 'people.utm_campaign'",
                )
            known = list(ENTITIES[entity].model_fields)
            found = difflib.get_close_matches(column, known, n=1, cutoff=0.92)
            close = found[0] if found else None
            # A custom column a source maps is allowed; a typo of a known one is not.
            if column not in known and close is not None:
                raise invalid(
                    f"{entity} has no column {column!r}",
                    at=(i,),
                    hint=f"did you mean '{entity}.{close}'?",
                )
            if columns.index(spec) != i:
                raise invalid(f"{spec!r} is listed twice", at=(i,))
        return columns

    @model_validator(mode="after")
    def _compiles(self) -> CampaignNaming:
        from revgov.definitions.naming import template_problem

        problem = template_problem(self.template, self.tokens)
        if problem is not None:
            raise invalid(problem.message, at=problem.key, hint=problem.hint)
        return self
