"""hubspot-api-client behind the shared resilience layer: one place every request goes through.

* The client is built once, with ``host`` (the emulator in tests), the CA bundle, and urllib3's
  own retries **disabled** (``Retry(total=False)``): urllib3 does not retry POSTs (search,
  batch read) and, when its retries run out, raises ``MaxRetryError`` instead of
  ``ApiException``. Every retry is the shared layer's, for every method.
* Each request passes the current bearer token as the client's per-request auth, so an OAuth
  token refreshed on one thread is used by the next request of every thread.
* Responses are read with ``_preload_content=False`` and parsed as JSON: the client's model
  classes cost ~18 ms per page of 50 records (80x the JSON parse), which alone would keep a pull
  under HubSpot's rate limit; the wire's string values are what revgov types in bulk anyway.
* Every response's rate-limit headers feed :class:`~._limits.HubSpotLimits`; 429 bodies are
  counted by policy.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import SecretStr
from urllib3.util.retry import Retry

from revgov.connectors._resilience import ApiBudget, RateLimiter, Resilience, RetryPolicy
from revgov.connectors.hubspot._auth import IssuedToken, TokenSource
from revgov.connectors.hubspot._errors import MalformedResponseError, classifier, error_body
from revgov.connectors.hubspot._limits import HubSpotLimits
from revgov.connectors.hubspot.settings import (
    DEFAULT_BASE_URL,
    HubSpotCredentials,
    HubSpotSettings,
)
from revgov.errors import AuthenticationError, VendorRequestError

__all__ = ["API_EXCEPTIONS", "HubSpotApi"]

#: The client's API packages revgov calls; each defines its own ApiException class.
_PACKAGES = (
    "crm.objects",
    "crm.associations.v4",
    "crm.owners",
    "crm.pipelines",
    "crm.properties",
    "oauth",
)
API_EXCEPTIONS: tuple[type[Exception], ...] = tuple(
    importlib.import_module(f"hubspot.{p}.exceptions").ApiException for p in _PACKAGES
)

#: Largest batch read (100 records; 50 when history is asked for, HubSpot's own limits).
BATCH_READ = 100
BATCH_READ_HISTORY = 50


class HubSpotApi:
    """The HubSpot calls revgov makes, each returning the response's JSON."""

    def __init__(
        self,
        settings: HubSpotSettings,
        credentials: HubSpotCredentials,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        from hubspot import HubSpot

        base = (settings.base_url or credentials.base_url or DEFAULT_BASE_URL).rstrip("/")
        config: dict[str, Any] = {"host": base}
        ca = settings.ca_bundle or credentials.ca_bundle
        if ca is not None:
            config["ssl_ca_cert"] = str(ca)
        self._client = HubSpot(retry=Retry(total=False, redirect=False), **config)
        self._apis: dict[str, Any] = {}
        self._timeout = (min(10.0, settings.timeout), settings.timeout)
        limiter = RateLimiter(
            settings.rate_limit, settings.rate_interval, headroom=settings.rate_headroom
        )
        budget = ApiBudget(
            stop_share=settings.api_budget_share, what="HubSpot's daily request allowance"
        )
        self.limits = HubSpotLimits(limiter, RateLimiter(settings.search_rate_limit, 1.0), budget)
        self.tokens = TokenSource(credentials, exchange=self._exchange)
        self.resilience = Resilience(
            classifier(API_EXCEPTIONS),
            policy=RetryPolicy(
                attempts=settings.retry_attempts, max_retry_after=settings.max_retry_after
            ),
            reauthenticate=self.tokens.renew,
            limiter=limiter,
            budget=budget,
            sleep=sleep,
        )
        self._client_id = credentials.client_id
        self._client_secret = credentials.client_secret

    def __repr__(self) -> str:
        return f"HubSpotApi({self._client.config.get('host')!r}, {self.tokens!r})"

    # -- the calls ----------------------------------------------------------------------

    def list_page(
        self,
        object_type: str,
        *,
        after: str | None,
        properties: Sequence[str],
        history: Sequence[str] = (),
        archived: bool = False,
    ) -> Any:
        """``GET /crm/v3/objects/{type}``: one page (100 records, 50 with history)."""
        kwargs: dict[str, Any] = {
            "limit": BATCH_READ_HISTORY if history else BATCH_READ,
            "properties": list(properties),  # a list: a string would be split into letters
            "archived": archived,
        }
        if after is not None:
            kwargs["after"] = after
        if history:
            kwargs["properties_with_history"] = list(history)
        what = f"{object_type} list{' (archived)' if archived else ''} after {after or 'start'}"
        return self._call("crm.objects.basic_api", "get_page", object_type, what=what, **kwargs)

    def search(self, object_type: str, body: dict[str, Any]) -> Any:
        """``POST /crm/v3/objects/{type}/search`` (its own, lower rate limit)."""
        what = f"{object_type} search {json.dumps(body.get('filterGroups'))}"
        return self._call(
            "crm.objects.search_api", "do_search", object_type, body, what=what, search=True
        )

    def batch_read(
        self,
        object_type: str,
        ids: Sequence[str],
        *,
        properties: Sequence[str],
        history: Sequence[str] = (),
    ) -> Any:
        """``POST /crm/v3/objects/{type}/batch/read`` for up to 100 ids (50 with history)."""
        body: dict[str, Any] = {
            "inputs": [{"id": i} for i in ids],
            "properties": list(properties),
            "propertiesWithHistory": list(history),
        }
        what = f"{object_type} batch read of {len(ids)} records"
        return self._call(
            "crm.objects.batch_api", "read", object_type, body, archived=False, what=what
        )

    def associations_batch(self, from_type: str, to_type: str, ids: Sequence[str]) -> Any:
        """``POST /crm/v4/associations/{from}/{to}/batch/read``."""
        body = {"inputs": [{"id": i} for i in ids]}
        what = f"{from_type} to {to_type} associations of {len(ids)} records"
        return self._call(
            "crm.associations.v4.batch_api", "get_page", from_type, to_type, body, what=what
        )

    def associations_page(self, from_type: str, record_id: str, to_type: str, after: str) -> Any:
        """``GET /crm/v4/objects/{from}/{id}/associations/{to}``: a record's next page."""
        what = f"{from_type} {record_id} associations to {to_type} after {after}"
        return self._call(
            "crm.associations.v4.basic_api",
            "get_page",
            from_type,
            record_id,
            to_type,
            after=after,
            limit=500,
            what=what,
        )

    def owners_page(self, *, after: str | None, archived: bool) -> Any:
        """``GET /crm/v3/owners/``: active or archived owners."""
        kwargs: dict[str, Any] = {"limit": 500, "archived": archived}
        if after is not None:
            kwargs["after"] = after
        what = f"{'archived ' if archived else ''}owners after {after or 'start'}"
        return self._call("crm.owners.owners_api", "get_page", what=what, **kwargs)

    def pipelines(self, object_type: str) -> Any:
        """``GET /crm/v3/pipelines/{type}``: pipelines with their stages."""
        return self._call(
            "crm.pipelines.pipelines_api", "get_all", object_type, what=f"{object_type} pipelines"
        )

    def properties(self, object_type: str) -> Any:
        """``GET /crm/v3/properties/{type}``: the property definitions."""
        return self._call(
            "crm.properties.core_api",
            "get_all",
            object_type,
            archived=False,
            what=f"{object_type} properties",
        )

    # -- the plumbing -------------------------------------------------------------------

    def _api(self, dotted: str) -> Any:
        api = self._apis.get(dotted)
        if api is None:
            # Each attribute access on the client builds a new API object (and connection
            # pool): build each once.
            api = self._client
            for part in dotted.split("."):
                api = getattr(api, part)
            self._apis[dotted] = api
        return api

    def _call(
        self,
        api: str,
        method: str,
        *args: Any,
        what: str,
        search: bool = False,
        auth: bool = True,
        **kwargs: Any,
    ) -> Any:
        fn = getattr(self._api(api), f"{method}_with_http_info")

        def attempt() -> Any:
            extra = {"_request_auth": self.tokens.auth()} if auth else {}
            try:
                response = fn(
                    *args,
                    _preload_content=False,
                    _request_timeout=self._timeout,
                    **extra,
                    **kwargs,
                )
            except API_EXCEPTIONS as exc:
                self.limits.observe(getattr(exc, "headers", None))
                if getattr(exc, "status", None) == 429:
                    self.limits.rejected(error_body(getattr(exc, "body", None)).policy)
                raise
            except AttributeError as exc:
                # The client turns a TLS failure into an ApiException without a body, then
                # fails decoding that body: surface the ApiException itself.
                if isinstance(exc.__context__, API_EXCEPTIONS):
                    raise exc.__context__ from None
                raise
            try:
                data = response.data
            finally:
                response.release_conn()
            self.limits.observe(response.headers)
            try:
                return json.loads(data)
            except ValueError as exc:
                raise MalformedResponseError(f"{len(data)} bytes that are not JSON") from exc

        limiter = self.limits.search_limiter if search else None
        return self.resilience.call(attempt, what=what, limiter=limiter)

    def _exchange(self, refresh_token: SecretStr) -> IssuedToken:
        """The OAuth refresh-token grant (``POST /oauth/v1/token``)."""
        if self._client_id is None or self._client_secret is None:
            raise AuthenticationError(
                "an OAuth refresh needs the client id and secret",
                hint="set the source's client id and client secret variables",
            )
        try:
            data = self._call(
                "oauth.tokens_api",
                "create",
                what="OAuth token refresh",
                auth=False,
                grant_type="refresh_token",
                client_id=self._client_id,
                client_secret=self._client_secret.get_secret_value(),
                refresh_token=refresh_token.get_secret_value(),
            )
        except VendorRequestError as exc:
            raise AuthenticationError(
                f"HubSpot refused the OAuth refresh: {exc.message}",
                hint="check the client id, client secret and refresh token variables; a "
                "refresh token dies when the app is uninstalled",
            ) from exc
        try:
            return IssuedToken(
                access_token=SecretStr(str(data["access_token"])),
                expires_in=float(data.get("expires_in", 1800)),
                refresh_token=SecretStr(str(data["refresh_token"]))
                if data.get("refresh_token")
                else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise AuthenticationError(
                "the OAuth token response has no access token",
                hint="check the base_url option: it must be HubSpot's API address",
            ) from exc
