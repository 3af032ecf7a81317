"""``[[sources]]``: the systems records are pulled from, each validated by its connector."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from revgov._typing import Entity
from revgov.config.schema._base import Strict

if TYPE_CHECKING:
    from revgov.config._errors import Problem

__all__ = ["SourceConfig"]


class SourceConfig(Strict):
    """`[[sources]]`: one system records are pulled from.

    ``options`` and each table under ``entities`` are validated by the settings models the
    connector owns (see :mod:`revgov.connectors.settings`) when the config is loaded; the
    validated objects are :attr:`settings` and :meth:`entity_settings`.
    """

    name: str
    connector: str = Field(description="`files`, `salesforce`, `hubspot` or a plugin name.")
    entities: dict[Entity, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per canonical entity, the connector's entity settings and its mapping "
        "(`columns`, `values`, `constants`, `custom_fields`).",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Connector settings. Credentials never go here: name the environment "
        'variable that holds one with a `*_env` key, e.g. `token_env = "HUBSPOT_TOKEN"`.',
    )

    _settings: BaseModel | None = PrivateAttr(default=None)

    @field_validator("options")
    @classmethod
    def _no_inline_secrets(cls, options: dict[str, Any]) -> dict[str, Any]:
        from revgov.config.secrets import is_secret_key

        for key in options:
            if is_secret_key(key):
                raise ValueError(
                    f"options.{key} looks like a credential: never put secrets in revgov.toml; "
                    f'set it in the environment and write `{key}_env = "VARIABLE_NAME"`'
                )
        return options

    _entity_settings: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    def bind(self) -> list[Problem]:
        """Validate options and entity settings with the connector's own models.

        Returns the problems, located under this source; raises
        :class:`~revgov.errors.UnknownConnectorError` if no connector has this name.
        """
        from revgov.config._errors import nested_errors
        from revgov.connectors.registry import get_connector_spec

        spec = get_connector_spec(self.connector)
        problems: list[Problem] = []
        try:
            self._settings = spec.settings_model.model_validate(self.options)
        except ValidationError as exc:
            problems += nested_errors(exc, ("options",), spec.settings_model)
        for entity, raw in self.entities.items():
            try:
                settings = spec.entity_settings_model.model_validate(raw)
            except ValidationError as exc:
                problems += nested_errors(exc, ("entities", entity), spec.entity_settings_model)
                continue
            self._entity_settings[entity] = settings
        return problems

    def mapping_problems(self) -> list[Problem]:
        """Entity mappings that name no canonical column (see
        :func:`revgov.connectors.mapping.mapping_problems`), located under this source."""
        from revgov.config._errors import problem_at
        from revgov.connectors.mapping import mapping_problems
        from revgov.connectors.settings import EntityMapping

        return [
            problem_at(("entities", entity, *key), message, hint)
            for entity, settings in self._entity_settings.items()
            if isinstance(settings, EntityMapping)
            for key, message, hint in mapping_problems(entity, settings)
        ]

    def _bound(self) -> None:
        if self._settings is None:
            problems = self.bind()
            if problems:
                from revgov.config._errors import config_problems

                raise config_problems(problems, path=None, text=None)

    @property
    def settings(self) -> Any:
        """The validated ``options``: an instance of the connector's ``settings_model``."""
        self._bound()
        return self._settings

    def entity_settings(self, entity: str) -> Any:
        """The validated settings of one entity (the connector's ``entity_settings_model``)."""
        self._bound()
        return self._entity_settings[entity]
