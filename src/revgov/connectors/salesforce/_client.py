"""The Salesforce client: simple-salesforce calls wrapped in the shared resilience layer.

One :class:`SalesforceClient` per pull. It logs in (:mod:`._auth`), hands simple-salesforce
the session, and runs every REST and Bulk 2.0 call through
:class:`~revgov.connectors._resilience.Resilience`: 429 and 5xx wait and retry, an expired
session logs in again once (on REST and Bulk 2.0 alike: the session is replaced under both),
the daily limit stops cleanly, other 4xx fail at once naming the request. A response hook reads
``Sforce-Limit-Info`` from every response into the :class:`ApiBudget` and the progress status.

This module imports simple-salesforce and requests at the top: it is imported only when a
connector starts pulling, never when a config is loaded.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import Operation, _Bulk2Client
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.util import call_salesforce

from revgov.connectors._resilience import ApiBudget, Resilience, RetryPolicy
from revgov.connectors.salesforce._auth import LoginTarget, SessionInfo, login
from revgov.connectors.salesforce._classify import BulkPageError, classify
from revgov.connectors.salesforce._frames import csv_frame
from revgov.connectors.salesforce._limits import Usage, parse_limit_info
from revgov.connectors.salesforce.credentials import SalesforceCredentials, choose_flow
from revgov.connectors.salesforce.settings import SalesforceSettings

__all__ = ["BulkJob", "SalesforceClient"]

T = TypeVar("T")

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
#: Salesforce states a Bulk 2.0 query job ends in.
_DONE, _FAILED = "JobComplete", ("Failed", "Aborted")


class _Session(requests.Session):
    """A requests session that keeps its own CA bundle and a timeout on every request.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify`` when a
    request does not pass ``verify`` itself; simple-salesforce never does, so the configured
    bundle is passed on each request here (proxies from the environment still apply).
    """

    def __init__(self, ca_bundle: Path | None, timeout: float) -> None:
        super().__init__()
        self._ca = str(ca_bundle) if ca_bundle is not None else None
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if self._ca is not None and kwargs.get("verify") is None:
            kwargs["verify"] = self._ca
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class BulkJob:
    """Simple-salesforce's Bulk 2.0 client for one object (create, poll, read pages, delete)."""

    def __init__(self, client: SalesforceClient, sobject: str) -> None:
        self._client = client
        self.sobject = sobject

    def _bulk(self, sf: Salesforce) -> _Bulk2Client:
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer " + sf.session_id,
            "X-PrettyPrint": "1",
        }
        return _Bulk2Client(self.sobject, sf.bulk2_url, headers, self._client.http)

    def create(self, soql: str, *, include_deleted: bool) -> str:
        operation = Operation.query_all if include_deleted else Operation.query
        info = self._client.call(
            lambda sf: self._bulk(sf).create_job(operation, soql),
            what=f"{self.sobject} Bulk 2.0 query job {soql!r}",
        )
        return str(info["id"])

    def state(self, job_id: str) -> dict[str, Any]:
        info: dict[str, Any] = self._client.call(
            lambda sf: self._bulk(sf).get_job(job_id, True),
            what=f"{self.sobject} Bulk 2.0 job {job_id}",
        )
        return info

    def wait(self, job_id: str, *, poll: float, timeout: float) -> str:
        """Poll until the job completes; its final state (``JobComplete``, ``Failed``,
        ``Aborted``, or ``Timeout`` when it took longer than ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            state = str(self.state(job_id).get("state"))
            if state == _DONE or state in _FAILED:
                return state
            if time.monotonic() >= deadline:
                self.abort(job_id)
                return "Timeout"
            self._client.sleep(poll)

    def results(
        self, job_id: str, locator: str | None, max_records: int, fields: Sequence[str]
    ) -> tuple[pl.DataFrame, str | None]:
        """One page of results as text columns, and the next locator (None after the last).

        The CSV is read from the response's bytes (simple-salesforce's ``get_query_results``
        would decode, filter and re-encode each multi-megabyte page) and checked against
        ``Sforce-NumberOfRecords``: a page cut short is retried.
        """

        def page(sf: Salesforce) -> tuple[pl.DataFrame, str | None]:
            bulk = self._bulk(sf)
            url = bulk._construct_request_url(job_id, True) + "/results"
            params: dict[str, str | int] = {"maxRecords": max_records}
            if locator:
                params["locator"] = locator
            headers = bulk._get_headers(bulk.JSON_CONTENT_TYPE, bulk.CSV_CONTENT_TYPE)
            reply = call_salesforce(url, "GET", self._client.http, headers, params=params)
            expected = reply.headers.get("Sforce-NumberOfRecords")
            body = reply.content
            if b"\x00" in body:  # NUL bytes break CSV readers (airbytehq/airbyte#8300)
                body = body.replace(b"\x00", b"")
            frame = csv_frame(body, fields)
            if expected is None or int(expected) != frame.height:
                raise BulkPageError(f"{frame.height} rows where {expected} were announced")
            following = reply.headers.get("Sforce-Locator")
            return frame, (None if following in (None, "", "null") else following)

        return self._client.call(page, what=f"{self.sobject} Bulk 2.0 results of job {job_id}")

    def abort(self, job_id: str) -> None:
        self._client.call(
            lambda sf: self._bulk(sf).abort_job(job_id, True),
            what=f"{self.sobject} Bulk 2.0 abort of job {job_id}",
        )

    def delete(self, job_id: str) -> None:
        # Salesforce answers 204 No Content: simple-salesforce's delete_job would parse it
        # as JSON and fail, so the request is sent through its plain call helper.
        def delete(sf: Salesforce) -> None:
            bulk = self._bulk(sf)
            url = bulk._construct_request_url(job_id, True)
            call_salesforce(url, "DELETE", self._client.http, bulk._get_headers())

        self._client.call(delete, what=f"{self.sobject} Bulk 2.0 delete of job {job_id}")


class SalesforceClient:
    """A logged-in org: REST queries, describes and Bulk 2.0 jobs, each resilient."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        ca_bundle: Path | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.creds = SalesforceCredentials(_env_prefix=settings.env_prefix)
        self.flow = choose_flow(self.creds, settings.auth, settings.env_prefix)
        ca = ca_bundle or settings.ca_bundle or self.creds.ca_bundle
        self.target = LoginTarget(
            login_url=(settings.login_url or self.creds.login_url or DEFAULT_LOGIN_URL),
            api_version=settings.api_version,
            verify=ssl.create_default_context(cafile=str(ca)) if ca else True,
            timeout=settings.timeout_seconds,
            env_prefix=settings.env_prefix,
        )
        self.sleep = sleep or time.sleep
        self.http = _Session(ca, settings.timeout_seconds)
        self.http.hooks["response"].append(self._observe)
        self.budget = ApiBudget(
            stop_share=settings.api_budget_share,
            what="the org's daily API limit (Sforce-Limit-Info api-usage)",
        )
        self.usage: dict[str, Usage] = {}
        self.logins = 0
        policy = RetryPolicy(attempts=settings.retry_attempts, max_wait=settings.retry_max_wait)
        self._login_resilience = Resilience(classify, policy=policy, sleep=sleep)
        self.resilience = Resilience(
            classify,
            policy=policy,
            # A session id from the environment cannot be renewed: expiry is an error at once.
            reauthenticate=None if self.flow == "session" else self._login,
            budget=self.budget,
            sleep=sleep,
        )
        self._sf: Salesforce | None = None
        self._retry_after: float | None = None

    # -- session -------------------------------------------------------------------------

    def _login(self) -> None:
        info: SessionInfo = self._login_resilience.call(
            lambda: login(self.creds, self.flow, self.target),
            what=f"Salesforce login ({self.flow}) at {self.target.login_url}",
        )
        self._sf = Salesforce(
            session_id=info.session_id.get_secret_value(),
            instance_url=info.instance_url,
            version=self.settings.api_version,
            session=self.http,
            object_pairs_hook=dict,
        )
        self.logins += 1

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._login()
        assert self._sf is not None
        return self._sf

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: API usage from every response; Retry-After of refusals."""
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage:
            self.usage.update(usage)
            org = usage.get("api-usage")
            if org is not None:
                self.budget.update(org.used, org.limit)
        self._retry_after = None
        if response.status_code in (429, 503):
            try:
                self._retry_after = float(response.headers.get("Retry-After", ""))
            except ValueError:
                self._retry_after = None

    def call(self, fn: Callable[[Salesforce], T], *, what: str) -> T:
        """``fn(sf)`` with retries; ``what`` names the object and the query for errors."""

        def attempt() -> T:
            try:
                return fn(self.sf)
            except SalesforceError as exc:
                exc.retry_after = self._retry_after  # type: ignore[attr-defined]
                raise

        return self.resilience.call(attempt, what=what)

    # -- REST ----------------------------------------------------------------------------

    def global_describe(self) -> dict[str, dict[str, Any]]:
        """Every object of the org by name (``keyPrefix``, ``queryable``...)."""
        found: Any = self.call(lambda sf: sf.describe(), what="the org's object list")
        return {str(o["name"]): o for o in (found or {}).get("sobjects", [])}

    def describe(self, sobject: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call(
            lambda sf: getattr(sf, sobject).describe(), what=f"{sobject} describe"
        )
        return found

    def query(self, soql: str, *, include_deleted: bool, what: str) -> dict[str, Any]:
        """The first page of a REST query (``queryAll`` with ``include_deleted``)."""
        headers = {"Sforce-Query-Options": f"batchSize={self.settings.rest_batch_size}"}
        page: dict[str, Any] = self.call(
            lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers),
            what=f"{what} {soql!r}",
        )
        return page

    def query_more(self, url: str, *, what: str) -> dict[str, Any]:
        page: dict[str, Any] = self.call(
            lambda sf: sf.query_more(url, identifier_is_url=True), what=f"{what} page {url}"
        )
        return page

    def bulk(self, sobject: str) -> BulkJob:
        return BulkJob(self, sobject)

    def status(self) -> dict[str, str | int | float]:
        """What the progress output shows beside the bar: calls made and the org's usage."""
        out: dict[str, str | int | float] = {"api calls": self.budget.calls}
        for segment, label in (
            ("api-usage", "org usage"),
            ("per-app-api-usage", "app usage"),
            ("api-bursts", "bursts"),
        ):
            if segment in self.usage:
                out[label] = self.usage[segment].text()
        return out
