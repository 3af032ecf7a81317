"""``[rules]``: which packs run, rules left out, per-rule overrides, the settings of built-in
rules, and ``[[rules.custom]]``, rules of your own.

::

    [rules]
    packs = ["baseline"]                 # built-in or plugin packs to run (default: baseline)
    disabled = ["people.phone_format"]   # rule ids to leave out

    [rules."people.email_missing"]       # per-rule overrides, keyed by rule id
    severity = "warn"
    threshold = 0.02                     # fail only if more than 2% of rows violate

    [rules.skipped_stage]                # settings of a built-in rule
    required = ["Qualification"]

    [[rules.custom]]                     # a rule of your own, of any registered kind
    id = "opportunities.next_step_missing"
    kind = "required"
    fields = ["next_step"]

Everything is validated when the config is loaded. A ``[[rules.custom]]`` entry is validated
by the model of its ``kind`` (a discriminated union over the registered rule kinds, see
:mod:`revgov.rules.kinds`); rule ids in ``disabled`` and overrides are checked against the
packs when the rules are built (``revgov config check`` does that too).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from revgov._typing import ENTITY_NAMES, Dimension, Entity, Severity
from revgov.config.schema._base import Strict, did_you_mean, invalid

if TYPE_CHECKING:
    from revgov.config._errors import Problem

__all__ = [
    "RULE_ID",
    "Column",
    "CustomRuleBase",
    "FormatSettings",
    "Regex",
    "RoundRobinSettings",
    "RuleOverride",
    "RulesSettings",
    "SkippedStageSettings",
]

#: A rule id: ``<entity>.<name>`` in lowercase letters, digits and underscores.
RULE_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_\-]*$")


def _regex(pattern: str) -> str:
    from revgov.definitions._regex import regex_problem

    problem = regex_problem(pattern)
    if problem is not None:
        raise invalid(problem.message, hint=problem.hint)
    return pattern


#: A regular expression every engine (polars, DuckDB, Spark) runs the same, checked at load.
Regex = Annotated[str, AfterValidator(_regex)]

#: The column a rule checks (a column of the entity, or a custom field a source keeps).
Column = Annotated[str, Field(min_length=1, description="The column checked.")]


class RuleOverride(Strict):
    """``[rules."<rule id>"]``: change a rule without rewriting it."""

    enabled: bool = True
    severity: Severity | None = None
    threshold: float | None = Field(None, ge=0, le=1, description="Fraction of checked rows.")
    owner: str | None = None
    remediation: str | None = None


class SkippedStageSettings(Strict):
    required: list[str] = Field(
        default_factory=list, description="Stages a deal may not skip on its way forward."
    )


class RoundRobinSettings(Strict):
    tolerance: float | None = Field(
        None, ge=0, description="Overrides routing.round_robin_tolerance."
    )


class FormatSettings(Strict):
    email: Regex | None = Field(None, description="Regex replacing the built-in email format.")
    e164: Regex | None = Field(None, description="Regex replacing the built-in phone format.")
    domain: Regex | None = Field(None, description="Regex replacing the built-in domain format.")


class CustomRuleBase(Strict):
    """What every ``[[rules.custom]]`` entry has, whatever its kind: its id, the entity it
    audits, the rows it checks (``when``) and the words of its findings. Each rule kind
    derives its own model from this one, with ``kind`` a literal of its name."""

    id: str = Field(description="`<entity>.<name>`, e.g. `opportunities.next_step_missing`.")
    kind: str = Field(description="The rule kind (see the kinds below).")
    entity: Entity | None = Field(None, description="Default: the id's prefix.")
    when: dict[str, list[str]] = Field(
        default_factory=dict, description="Only rows whose column is one of the values."
    )
    severity: Severity = "error"
    dimension: Dimension | None = Field(None, description="Default: the kind's dimension.")
    threshold: float | None = Field(None, ge=0, le=1)
    description: str | None = None
    owner: str | None = None
    remediation: str = ""

    @model_validator(mode="after")
    def _id_ok(self) -> CustomRuleBase:
        prefix = self.id.split(".", 1)[0]
        if "." not in self.id:
            raise invalid(
                f"rule id {self.id!r} is not of the form <entity>.<name>",
                at=("id",),
                hint=f"e.g. id = '{self.entity or 'people'}.{self.id}'",
            )
        if not RULE_ID.match(self.id):
            raise invalid(
                f"rule id {self.id!r} is not of the form <entity>.<name>",
                at=("id",),
                hint="use lowercase letters, digits and underscores, e.g. 'people.email_missing'",
            )
        if self.entity is None and prefix not in ENTITY_NAMES:
            raise invalid(
                f"rule {self.id}: {prefix!r} is not an entity of the canonical model",
                at=("id",),
                hint=did_you_mean(prefix, ENTITY_NAMES, "entities"),
            )
        return self

    @property
    def target(self) -> Entity:
        """The entity the rule audits."""
        if self.entity is not None:
            return self.entity
        prefix = self.id.split(".", 1)[0]
        return next(e for e in ENTITY_NAMES if e == prefix)

    def columns(self) -> tuple[str, ...]:
        """Columns of :attr:`target` the rule reads (each kind says which it names)."""
        return tuple(self.when)


_SETTINGS_HINT = (
    'rule overrides are keyed by a rule id in quotes, e.g. [rules."people.email_missing"]'
)


class RulesSettings(BaseModel):
    """The ``[rules]`` table: settings keys, and overrides keyed by rule id."""

    # Keys with a dot are rule ids: their tables are overrides (typed extras).
    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, RuleOverride] = Field(init=False)

    packs: list[str] = Field(default_factory=lambda: ["baseline"], description="Rule packs to run.")
    disabled: list[str] = Field(default_factory=list, description="Rule ids to leave out.")
    skipped_stage: SkippedStageSettings = Field(default_factory=SkippedStageSettings)
    round_robin: RoundRobinSettings = Field(default_factory=RoundRobinSettings)
    formats: FormatSettings = Field(default_factory=FormatSettings)
    custom: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Rules of your own (`[[rules.custom]]`): each table is validated by its "
        "`kind`'s model; the kinds and their keys are in rules.md.",
    )

    _custom: tuple[CustomRuleBase, ...] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key in data:
            if "." in key or key in cls.model_fields:
                continue
            if key == "speed_to_lead":
                raise invalid(
                    "[rules.speed_to_lead] moved: the SLA clock's start is governed in [sla]",
                    at=(key,),
                    hint='write speed_to_lead_start = "mql_at" (or "created_at", '
                    '"assigned_at") and speed_to_lead_clock = "business_hours" (or '
                    '"wall_clock") under [sla]',
                )
            raise invalid(
                f"unknown key {key!r} in [rules]",
                at=(key,),
                hint=did_you_mean(key, cls.model_fields, "keys of [rules]") + "; " + _SETTINGS_HINT,
            )
        return data

    @property
    def overrides(self) -> dict[str, RuleOverride]:
        """Per-rule overrides, by rule id."""
        return dict(self.__pydantic_extra__ or {})

    def bind(self) -> list[Problem]:
        """Validate each ``[[rules.custom]]`` table with its kind's model; the problems,
        located at ``rules.custom[i]`` of revgov.toml."""
        if not self.custom:  # the kinds (and the rules package) load only when needed
            self._custom = ()
            return []
        from revgov.rules.kinds import validate_custom_rules

        rules, problems = validate_custom_rules(self.custom, prefix=("rules", "custom"))
        self._custom = None if problems else tuple(rules)
        return problems

    @property
    def custom_rules(self) -> tuple[CustomRuleBase, ...]:
        """The ``[[rules.custom]]`` tables, validated by their kinds' models."""
        if self._custom is None:
            problems = self.bind()
            if problems:
                from revgov.config._errors import config_problems

                raise config_problems(problems, path=None, text=None)
        return self._custom or ()
