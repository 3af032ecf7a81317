"""The TinyCRM connector: settings, failure classes, and pages with a resumable cursor."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import polars as pl
from pydantic import Field

from revgov.config import SourceConfig
from revgov.connectors import (
    ConnectorContext,
    ConnectorSettings,
    Cursor,
    EntityMapping,
    Failure,
    FailureKind,
    Page,
    RateLimiter,
    Resilience,
    RetryPolicy,
)
from revgov.connectors.mapping import map_columns
from revgov.errors import AuthenticationError, UnknownEntityError

#: TinyCRM endpoint per canonical entity, and how its fields map by default.
ENDPOINTS = {"accounts": "organizations", "opportunities": "deals"}
DEFAULT_COLUMNS = {
    "accounts": {
        "account_id": "id",
        "name": "name",
        "owner_id": "owner_id",
        "created_at": "add_time",
    },
    "opportunities": {
        "opportunity_id": "id",
        "name": "title",
        "account_id": "org_id",
        "stage": "stage",
        "amount": "value",
        "currency": "currency",
        "owner_id": "owner_id",
        "created_at": "add_time",
    },
}


class TinyCRMSettings(ConnectorSettings):
    """``[sources.options]``: unknown keys are errors (ConnectorSettings forbids them)."""

    base_url: str = Field("https://api.tinycrm.example", description="API address.")
    token_env: str = Field("TINYCRM_TOKEN", description="Variable holding the API token.")
    page_size: int = Field(100, ge=1, le=500, description="Records per request.")
    requests_per_second: int = Field(10, ge=1, description="TinyCRM's rate limit.")


class TinyCRMEntity(EntityMapping):
    """``[sources.entities.NAME]``: columns/values/constants/custom_fields, plus ours."""

    endpoint: str | None = Field(None, description="Endpoint to read (default per entity).")


def classify(exc: BaseException) -> Failure | None:
    """TinyCRM's failures for the shared layer, decided on status codes only."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        detail = f"HTTP {status}"
        if status == 429:
            wait = exc.response.headers.get("Retry-After")
            return Failure(
                FailureKind.RATE_LIMITED, detail, retry_after=float(wait) if wait else None
            )
        if status == 401:
            return Failure(FailureKind.SESSION_EXPIRED, detail)
        if status >= 500:
            return Failure(FailureKind.TRANSIENT, detail)
        return Failure(FailureKind.FATAL, detail, hint="check the source's entity tables")
    if isinstance(exc, httpx.TransportError | json.JSONDecodeError):
        return Failure(FailureKind.TRANSIENT, f"connection failed ({type(exc).__name__})")
    return None  # not TinyCRM's: a bug, raised as it is


class TinyCRMConnector:
    """Reads organizations and deals from TinyCRM."""

    name = "tinycrm"
    settings_model = TinyCRMSettings
    entity_settings_model = TinyCRMEntity

    def __init__(self, source: SourceConfig, context: ConnectorContext) -> None:
        self.source = source
        self.settings: TinyCRMSettings = source.settings
        self.resilience = Resilience(
            classify,
            policy=RetryPolicy(attempts=5, initial_wait=0.1, max_wait=2.0),
            limiter=RateLimiter(self.settings.requests_per_second, 1.0),
        )

    def entities(self) -> Sequence[str]:
        return list(self.source.entities) or list(ENDPOINTS)

    def check(self) -> list[str]:
        """Problems `revgov config check` reports before any pull (no network)."""
        if not os.environ.get(self.settings.token_env):
            return [f"source {self.source.name!r}: set ${self.settings.token_env}"]
        return []

    def fetch(self, entity: str, cursor: Cursor = None) -> Iterator[Page]:
        """Pages of ``entity`` updated at or after the last pull (``>=``: ties re-read)."""
        if entity not in ENDPOINTS:
            raise UnknownEntityError(
                f"TinyCRM has no {entity!r}", hint="use accounts or opportunities"
            )
        spec = self._spec(entity)
        state = json.loads(cursor) if cursor else {}
        since, start = state.get("since"), int(state.get("start", 0))
        newest = state.get("newest") or since
        token = os.environ.get(self.settings.token_env)
        if not token:
            raise AuthenticationError("no TinyCRM token", hint=f"set ${self.settings.token_env}")
        with httpx.Client(base_url=self.settings.base_url, headers={"x-api-token": token}) as http:
            while True:
                body = self._page(http, spec.endpoint or ENDPOINTS[entity], start, since)
                rows = body.get("data") or []
                newest = max([newest or "", *(r.get("update_time") or "" for r in rows)]) or None
                paging = (body.get("additional_data") or {}).get("pagination") or {}
                more = bool(paging.get("more_items_in_collection"))
                start = int(paging.get("next_start", start + len(rows)))
                # Mid-read: resume at `start` with the same `since`; done: next pull from newest.
                state = (
                    {"since": since, "start": start, "newest": newest}
                    if more
                    else {"since": newest}
                )
                yield Page(
                    entity,
                    self._mapped(entity, spec, rows),
                    cursor=json.dumps(state),
                    extras=spec.custom_fields,
                )
                if not more:
                    return

    def _spec(self, entity: str) -> TinyCRMEntity:
        if entity in self.source.entities:
            spec: TinyCRMEntity = self.source.entity_settings(entity)
            return spec
        return TinyCRMEntity()

    def _page(
        self, http: httpx.Client, endpoint: str, start: int, since: str | None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"start": start, "limit": self.settings.page_size}
        if since:
            params["since"] = since

        def get() -> dict[str, Any]:
            response = http.get(f"/v1/{endpoint}", params=params)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data

        return self.resilience.call(get, what=f"TinyCRM {endpoint} from {start}")

    def _mapped(self, entity: str, spec: TinyCRMEntity, rows: list[dict[str, Any]]) -> pl.DataFrame:
        columns = {**DEFAULT_COLUMNS[entity], **spec.columns}
        mapping = EntityMapping(
            columns=columns,
            values=spec.values,
            constants=spec.constants,
            custom_fields=spec.custom_fields,
        )
        names = sorted({*columns.values(), *spec.custom_fields})
        raw = pl.DataFrame(
            {n: [None if r.get(n) is None else str(r[n]) for r in rows] for n in names},
            schema=dict.fromkeys(names, pl.String),
        )
        where = f"source {self.source.name!r}, TinyCRM {entity}"
        return map_columns(raw.lazy(), entity, mapping, where=where, auto_map=False).frame.collect()
