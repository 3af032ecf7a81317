"""Settings of the HubSpot connector: the source's ``options``, each entity's table, and the
credentials it reads from the environment.

Nothing here imports hubspot-api-client: loading a config validates these models only.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from pydantic import AliasChoices, Field, SecretStr, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from revgov._typing import Entity
from revgov.connectors.settings import ConnectorSettings, EntityMapping

__all__ = [
    "DEFAULT_BASE_URL",
    "HubSpotCredentials",
    "HubSpotEntitySettings",
    "HubSpotSettings",
]

DEFAULT_BASE_URL = "https://api.hubapi.com"


class HubSpotSettings(ConnectorSettings):
    """``[sources.options]`` of a ``connector = "hubspot"`` source. Every key is optional."""

    token_env: str = Field(
        "HUBSPOT_ACCESS_TOKEN", description="Variable holding a private app access token."
    )
    client_id_env: str = Field("HUBSPOT_CLIENT_ID", description="Variable: OAuth client id.")
    client_secret_env: str = Field(
        "HUBSPOT_CLIENT_SECRET", description="Variable: OAuth client secret."
    )
    refresh_token_env: str = Field(
        "HUBSPOT_REFRESH_TOKEN", description="Variable: OAuth refresh token."
    )
    base_url: str | None = Field(
        None,
        description="API address (default: $HUBSPOT_BASE_URL, else https://api.hubapi.com).",
    )
    ca_bundle: Path | None = Field(
        None, description="CA bundle to trust (default: $HUBSPOT_CA_BUNDLE, else the system's)."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds to wait for one response.")
    rate_limit: int = Field(
        100,
        ge=1,
        description="Requests per `rate_interval` until HubSpot's X-HubSpot-RateLimit-Max "
        "header says the real limit.",
    )
    rate_interval: float = Field(
        10.0, gt=0, description="Seconds of the burst window (until the headers say)."
    )
    rate_headroom: float = Field(
        0.05, ge=0, lt=1, description="Share of the burst window left unused, for other apps."
    )
    search_rate_limit: int = Field(
        4, ge=1, description="Search requests per second (the search API's own, lower limit)."
    )
    api_budget_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Stop, state saved, before this share of the daily allowance is used.",
    )
    retry_attempts: int = Field(8, ge=1, description="Attempts per request.")
    max_retry_after: float = Field(
        300.0, gt=0, description="Longest single wait for a Retry-After, in seconds."
    )
    lookback_seconds: float = Field(
        3600.0,
        ge=0,
        description="Incremental pulls re-read this much before the last cursor (late writes).",
    )
    holdback_seconds: float = Field(
        600.0,
        ge=0,
        description="Incremental pulls leave out the most recent changes this long (the search "
        "index lags behind writes); the next pull reads them.",
    )
    window_days: float = Field(
        30.0, gt=0, description="Longest time window of one incremental search."
    )
    max_query_chars: int = Field(
        12_000,
        ge=200,
        description="Longest property list in one request (URL characters); longer lists "
        "are split into chunks read separately and joined by record id.",
    )
    concurrency: int = Field(
        4, ge=1, le=16, description="Requests in flight at once (the rate limiter still rules)."
    )
    stage_labels: bool = Field(
        True,
        description="Show deal pipelines and stages by their labels (false: HubSpot's ids).",
    )
    entities: list[Entity] | None = Field(
        None,
        description="The entities to pull (default: pipeline_stages, users, accounts, people, "
        "opportunities, activities and stage_events, plus any other an entity table names).",
    )

    @model_validator(mode="after")
    def _lookback_covers_holdback(self) -> HubSpotSettings:
        if self.lookback_seconds < self.holdback_seconds:
            raise ValueError(
                "lookback_seconds must be at least holdback_seconds, or changes made during "
                "the hold-back horizon of one pull could be missed by the next"
            )
        return self


class HubSpotEntitySettings(EntityMapping):
    """``[sources.entities.NAME]`` of a HubSpot source: which objects feed the entity.

    ``columns`` maps canonical columns to HubSpot property names; they are merged over the
    connector's defaults (see docs/hubspot.md), so only changes and additions are written.
    """

    objects: list[str] | None = Field(
        None,
        description="HubSpot object types read for this entity (default per entity, e.g. "
        '["contacts"]; custom objects by id such as "2-1234567" or name such as "p_cars").',
    )
    history: bool = Field(
        True,
        description="Read stage / lifecycle history (opportunities, people): "
        "stage_entered_at and lifecycle timestamps come from it.",
    )
    associations: bool = Field(
        True, description="Read associations (accounts, contacts, deals of each record)."
    )
    modified_property: str | None = Field(
        None,
        description="Property incremental pulls search on (default: lastmodifieddate for "
        "contacts, hs_lastmodifieddate otherwise).",
    )
    lifecycle_timestamps: dict[str, str] | None = Field(
        None,
        description="people: timestamp column to the lifecycle stage value whose first "
        'entry it records (default {mql_at = "marketingqualifiedlead"}).',
    )
    option_labels: list[str] | None = Field(
        None,
        description="Properties whose option values are replaced by their labels "
        '(default for activities: ["hs_call_disposition"]).',
    )


class HubSpotCredentials(BaseSettings):
    """What authenticates the connector, read from the environment and never shown.

    Either ``access_token`` (a private app token) or the OAuth triple (client id, client
    secret, refresh token). Which variables hold them is the source's ``*_env`` options.
    """

    model_config = SettingsConfigDict(env_prefix="HUBSPOT_", extra="ignore", frozen=True)

    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    base_url: str | None = Field(
        None, validation_alias=AliasChoices("HUBSPOT_BASE_URL", "base_url")
    )
    ca_bundle: Path | None = Field(
        None, validation_alias=AliasChoices("HUBSPOT_CA_BUNDLE", "ca_bundle")
    )

    @property
    def is_oauth(self) -> bool:
        return self.access_token is None and None not in (
            self.client_id,
            self.client_secret,
            self.refresh_token,
        )

    @property
    def usable(self) -> bool:
        return self.access_token is not None or self.is_oauth

    @classmethod
    def from_environment(cls, settings: HubSpotSettings) -> HubSpotCredentials:
        """The credentials in the variables ``settings`` names (pydantic-settings reads them)."""
        names = {
            "access_token": settings.token_env,
            "client_id": settings.client_id_env,
            "client_secret": settings.client_secret_env,
            "refresh_token": settings.refresh_token_env,
        }
        fields = {
            field: (cls.model_fields[field].annotation, Field(None, validation_alias=variable))
            for field, variable in names.items()
        }
        reader = cast(
            "type[HubSpotCredentials]",
            create_model("HubSpotEnvironment", __base__=cls, **fields),  # type: ignore[call-overload]
        )
        return reader()
