"""A Salesforce org on 127.0.0.1 for the connector's tests: REST, Bulk 2.0, describe, logins.

Routes (any API version ``vNN.N``), answered in Salesforce's documented wire formats:

* ``GET /services/data/vNN/query?q=`` and ``queryAll`` (deleted rows too): pages with
  ``attributes``, nested parent records, ``+0000`` datetimes, ``nextRecordsUrl`` locators
  whose pages read the records' *current* values (as Salesforce's do); ``SELECT COUNT()``.
* ``GET /services/data/vNN/sobjects`` and ``/sobjects/NAME/describe``; ``GET .../limits``.
* Bulk 2.0: ``POST /jobs/query``, ``GET /jobs/query/ID`` (``UploadComplete`` → ``InProgress``
  → ``JobComplete`` or ``Failed``), ``GET /jobs/query/ID/results?maxRecords=&locator=`` (CSV
  with ``Z`` datetimes, ``Sforce-Locator``, ``Sforce-NumberOfRecords``), ``PATCH``/``DELETE``.
  Objects Bulk does not support answer 400 ``INVALIDENTITY``; compound fields fail the job.
* ``POST /services/oauth2/token`` (JWT bearer, checked against the test's public key; client
  credentials) and ``POST /services/Soap/u/NN`` (username, password + security token).

Every data response carries ``Sforce-Limit-Info`` (``api-usage``, ``per-app-api-usage``,
``api-bursts``); past the daily limit the answer is 403 ``REQUEST_LIMIT_EXCEEDED``. Sessions
can be expired at will (:meth:`SalesforceEmulator.expire_on`), and the shared harness injects
the transport faults. Run it in its own process with
``python -m tests.emulator tests.emulator.salesforce:build --state-dir DIR --option leads=1000``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import string
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import polars as pl
from tests.emulator._salesforce_org import Org, generate
from tests.emulator._salesforce_soql import SoqlError, parse
from tests.emulator.server import Emulator, Request, Response

__all__ = ["CREDENTIALS", "ORG_ID", "SalesforceEmulator", "build", "login_environment"]

ORG_ID = "00D5g000004EmUl"
#: The integration user's credentials in the emulated org (fake, for tests only).
CREDENTIALS = {
    "username": "integration@revgov.test",
    "password": "Emulated-pass-1",
    "security_token": "EMULATEDtoken42",
    "consumer_key": "3MVG9EMULATED.consumer.key",
    "consumer_secret": "EMULATED-consumer-secret-0042",
}
_V = r"/services/data/v(?P<version>\d+\.\d)"


def login_environment(url: str, ca: str | None) -> dict[str, str]:
    """The ``SALESFORCE_*`` variables a deployment would set to log in to the emulated org at
    ``url`` with username, password and security token."""
    env = {
        "SALESFORCE_LOGIN_URL": url,
        "SALESFORCE_USERNAME": CREDENTIALS["username"],
        "SALESFORCE_PASSWORD": CREDENTIALS["password"],
        "SALESFORCE_SECURITY_TOKEN": CREDENTIALS["security_token"],
    }
    return env | ({"SALESFORCE_CA_BUNDLE": ca} if ca else {})


_REST_TIME = "%Y-%m-%dT%H:%M:%S%.3f+0000"
_BULK_TIME = "%Y-%m-%dT%H:%M:%S%.3fZ"
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response.json([{"message": message, "errorCode": code}], status, headers)


@dataclass
class _Locator:
    sobject: str
    fields: list[str]
    positions: pl.Series
    batch: int
    kind: str


@dataclass
class _Job:
    id: str
    operation: str
    sobject: str
    query: str
    fields: list[str]
    frame: pl.DataFrame | None
    created: str
    failure: str | None = None
    polls: int = 0
    state: str = "UploadComplete"


@dataclass
class _Expiry:
    pattern: re.Pattern[str]
    after: int
    seen: int = 0
    fired: bool = False


@dataclass
class SalesforceEmulator:
    """The emulated org's API; tests reach the org (``org``) and the controls below."""

    emulator: Emulator
    org: Org
    api_limit: int = 15_000
    api_used: int = 100
    app_limit: int = 250_000
    polls_to_complete: int = 1
    jwt_public_key: str | None = None
    credentials: dict[str, str] = field(default_factory=lambda: dict(CREDENTIALS))
    sessions: set[str] = field(default_factory=set)
    logins: int = 0
    bulk_jobs: list[str] = field(default_factory=list)
    deleted_jobs: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    _locators: dict[str, _Locator] = field(default_factory=dict)
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _expiries: list[_Expiry] = field(default_factory=list)
    _fail_jobs: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        add = self.emulator.add
        add("POST", r"/services/oauth2/token", self._token)
        add("POST", r"/services/Soap/u/(?P<version>\d+\.\d)", self._soap_login)
        add("GET", _V + r"/(?P<kind>query|queryAll)/?", self._data(self._query))
        add(
            "GET",
            _V + r"/(?P<kind>query|queryAll)/(?P<locator>[0-9A-Za-z]+)-(?P<offset>\d+)",
            self._data(self._more),
        )
        add("GET", _V + r"/sobjects/?", self._data(self._global_describe))
        add("GET", _V + r"/sobjects/(?P<sobject>\w+)/describe/?", self._data(self._describe))
        add("GET", _V + r"/limits/?", self._data(self._limits))
        add("POST", _V + r"/jobs/query/?", self._data(self._create_job))
        add("GET", _V + r"/jobs/query/(?P<job>\w+)/?", self._data(self._job_info))
        add("PATCH", _V + r"/jobs/query/(?P<job>\w+)/?", self._data(self._abort_job))
        add("DELETE", _V + r"/jobs/query/(?P<job>\w+)/?", self._data(self._delete_job))
        add("GET", _V + r"/jobs/query/(?P<job>\w+)/results/?", self._data(self._results))

    # -- controls --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.emulator.url

    def issue_session(self) -> str:
        """A valid session id (as a browser login would give), e.g. for SESSION_ID tests."""
        token = f"{ORG_ID}!AQ" + "".join(secrets.choice(_TOKEN_CHARS) for _ in range(96))
        with self._lock:
            self.sessions.add(token)
        return token

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def expire_on(self, path: str, *, after: int = 0) -> None:
        """Expire every session when the ``after``+1-th request matching ``path`` arrives
        (that request gets 401 INVALID_SESSION_ID)."""
        with self._lock:
            self._expiries.append(_Expiry(re.compile(path), after))

    def fail_bulk_jobs(self, count: int = 1) -> None:
        """The next ``count`` Bulk 2.0 jobs end ``Failed``."""
        with self._lock:
            self._fail_jobs += count

    # -- plumbing --------------------------------------------------------------------------

    def _limit_info(self) -> str:
        used = self.api_used
        return (
            f"api-usage={used}/{self.api_limit}; per-app-api-usage={used // 2}/"
            f"{self.app_limit}(appName=revgov-tests); api-bursts={used % 750}/750"
        )

    def _expired(self, request: Request) -> bool:
        with self._lock:
            for expiry in self._expiries:
                if expiry.fired or not expiry.pattern.search(request.path):
                    continue
                expiry.seen += 1
                if expiry.seen > expiry.after:
                    expiry.fired = True
                    self.sessions.clear()
                    return True
        return False

    def _data(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            auth = request.header("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip()
            if self._expired(request) or token not in self.sessions:
                return _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            with self._lock:
                self.api_used += 1
                over = self.api_used > self.api_limit
            if over:
                return _error(
                    403,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                    {"Sforce-Limit-Info": self._limit_info()},
                )
            try:
                response = handler(request)
            except SoqlError as exc:
                response = _error(400, exc.code, exc.message)
            response.headers["Sforce-Limit-Info"] = self._limit_info()
            return response

        return serve

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            n = next(self._ids)
        return f"{prefix}5g{n:010d}AAA"[:18]

    # -- REST ------------------------------------------------------------------------------

    def _query(self, request: Request) -> Response:
        soql = request.arg("q") or ""
        self.queries.append(soql)
        query = parse(soql)
        include_deleted = request.params["kind"] == "queryAll"
        positions = self.org.evaluate(query, include_deleted=include_deleted)
        if query.count:
            return Response.json({"totalSize": len(positions), "done": True, "records": []})
        options = request.header("Sforce-Query-Options") or ""
        found = re.search(r"batchSize=(\d+)", options)
        batch = min(2000, max(200, int(found.group(1)))) if found else 2000
        locator = self._next_id("01g")
        self._locators[locator] = _Locator(
            query.sobject, query.fields, positions, batch, request.params["kind"]
        )
        return self._page(locator, 0, request.params["version"])

    def _more(self, request: Request) -> Response:
        locator = request.params["locator"]
        if locator not in self._locators:
            return _error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(request.params["offset"]), request.params["version"])

    def _page(self, locator_id: str, offset: int, version: str) -> Response:
        loc = self._locators[locator_id]
        chunk = loc.positions.slice(offset, loc.batch)
        done = offset + loc.batch >= len(loc.positions)
        head = f'{{"totalSize": {len(loc.positions)}, "done": {json.dumps(done)}, '
        if not done:
            url = f"/services/data/v{version}/{loc.kind}/{locator_id}-{offset + loc.batch}"
            head += f'"nextRecordsUrl": "{url}", '
        records = self._records(loc.sobject, loc.fields, chunk, version)
        return Response(
            200, head + '"records": ' + records + "}", {"Content-Type": "application/json"}
        )

    def _records(
        self, sobject: str, fields: Sequence[str], positions: pl.Series, version: str
    ) -> str:
        """The records as REST sends them (a JSON array), written by polars in one pass:
        ``attributes`` first, parent records nested (null when the lookup is empty)."""
        frame = _as_text_times(self.org.select(sobject, fields, positions), _REST_TIME)
        if frame.height == 0:
            return "[]"
        base = f"/services/data/v{version}/sobjects/"
        url = pl.lit(base + sobject + "/") + (pl.col("Id") if "Id" in fields else pl.lit(""))
        columns = [pl.struct(pl.lit(sobject).alias("type"), url.alias("url")).alias("attributes")]
        parents: dict[str, list[str]] = {}
        for name in fields:
            head, _, rest = name.partition(".")
            if rest:
                parents.setdefault(head, []).append(rest)
            else:
                columns.append(pl.col(name))
        types = {f.relationship: f for f in self.org.visible(sobject) if f.relationship}
        for head, parts in parents.items():
            attributes = pl.struct(
                pl.lit(types[head].reference_to[-1]).alias("type"), pl.lit("").alias("url")
            ).alias("attributes")
            empty = pl.all_horizontal([pl.col(f"{head}.{p}").is_null() for p in parts])
            nested = pl.struct(attributes, *[pl.col(f"{head}.{p}").alias(p) for p in parts])
            columns.append(pl.when(empty).then(None).otherwise(nested).alias(head))
        return frame.select(columns).write_json()

    def _global_describe(self, request: Request) -> Response:
        version = request.params["version"]
        objects = [
            {
                "name": m.name,
                "label": m.name,
                "keyPrefix": m.key_prefix,
                "queryable": True,
                "custom": m.custom,
                "urls": {"describe": f"/services/data/v{version}/sobjects/{m.name}/describe"},
            }
            for m in self.org.objects()
        ]
        return Response.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})

    def _describe(self, request: Request) -> Response:
        sobject = request.params["sobject"]
        try:
            meta = self.org.meta(sobject)
        except SoqlError:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response.json(
            {
                "name": meta.name,
                "label": meta.name,
                "keyPrefix": meta.key_prefix,
                "queryable": True,
                "custom": meta.custom,
                "fields": [f.describe() for f in self.org.visible(sobject)],
                "childRelationships": [],
            }
        )

    def _limits(self, request: Request) -> Response:
        return Response.json(
            {
                "DailyApiRequests": {
                    "Max": self.api_limit,
                    "Remaining": self.api_limit - self.api_used,
                },
                "DailyBulkV2QueryJobs": {"Max": 10_000, "Remaining": 10_000 - len(self.bulk_jobs)},
            }
        )

    # -- Bulk 2.0 --------------------------------------------------------------------------

    def _job_body(self, job: _Job, version: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.sobject,
            "createdById": "0055g0000000000AAA",
            "createdDate": job.created,
            "systemModstamp": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if job.state == "JobComplete" and job.frame is not None:
            body["numberRecordsProcessed"] = job.frame.height
        if job.state == "Failed":
            body["errorMessage"] = job.failure
        return body

    def _create_job(self, request: Request) -> Response:
        payload = request.json() or {}
        soql = str(payload.get("query", ""))
        self.queries.append(soql)
        query = parse(soql)
        if query.count:
            return _error(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0")
        self.org.meta(query.sobject)
        if not self.org.bulk_supported(query.sobject):
            return _error(
                400, "INVALIDENTITY", f"Entity '{query.sobject}' is not supported by the Bulk API."
            )
        job = _Job(
            id=self._next_id("750"),
            operation=str(payload.get("operation", "query")),
            sobject=query.sobject,
            query=soql,
            fields=query.fields,
            frame=None,
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        )
        compound = [
            f for f in query.fields if (m := self.org.meta(query.sobject).field(f)) and not m.stored
        ]
        with self._lock:
            failing = self._fail_jobs > 0
            self._fail_jobs -= int(failing)
        if compound:
            job.failure = (
                "FUNCTIONALITY_NOT_ENABLED: Selecting compound data not supported in Bulk Query"
            )
        elif failing:
            job.failure = "InternalServerError: the job failed, retry later"
        else:
            positions = self.org.evaluate(query, include_deleted=job.operation == "queryAll")
            # The job's results are fixed when it runs: written as Bulk 2.0 text once.
            selected = self.org.select(query.sobject, query.fields, positions)
            job.frame = _as_text_times(selected, _BULK_TIME)
        self._jobs[job.id] = job
        self.bulk_jobs.append(job.id)
        return Response.json(self._job_body(job, request.params["version"]))

    def _job(self, request: Request) -> _Job | None:
        return self._jobs.get(request.params["job"])

    def _job_info(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            job.state = "InProgress"
            if job.polls >= self.polls_to_complete:
                job.state = "Failed" if job.failure else "JobComplete"
        return Response.json(self._job_body(job, request.params["version"]))

    def _abort_job(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        job.state = "Aborted"
        return Response.json(self._job_body(job, request.params["version"]))

    def _delete_job(self, request: Request) -> Response:
        job = self._jobs.pop(request.params["job"], None)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        self.deleted_jobs.append(job.id)
        return Response(204, b"")

    def _results(self, request: Request) -> Response:
        job = self._job(request)
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.state != "JobComplete" or job.frame is None:
            return _error(412, "JOB_NOT_COMPLETE", "the job is not complete")
        size = int(request.arg("maxRecords") or 50_000)
        locator = request.arg("locator")
        offset = int(base64.b64decode(locator + "==").decode()) if locator else 0
        page = job.frame.slice(offset, size)
        after = offset + page.height
        following = (
            base64.b64encode(str(after).encode()).decode().rstrip("=")
            if after < job.frame.height
            else "null"
        )
        text = page.write_csv(null_value="")
        headers = {
            "Content-Type": "text/csv",
            "Sforce-Locator": following,
            "Sforce-NumberOfRecords": str(page.height),
        }
        return Response(200, text, headers)

    # -- logins ----------------------------------------------------------------------------

    def _session_answer(self) -> dict[str, Any]:
        token = self.issue_session()
        with self._lock:
            self.logins += 1
        return {
            "access_token": token,
            "instance_url": self.url,
            "id": f"{self.url}/id/{ORG_ID}/0055g0000000000AAA",
            "token_type": "Bearer",
            "issued_at": str(int(datetime.now(UTC).timestamp() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }

    def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        creds = self.credentials
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            if self._jwt_ok(form.get("assertion", "")):
                return Response.json(self._session_answer())
            return Response.json(
                {"error": "invalid_grant", "error_description": "invalid assertion"}, 400
            )
        if grant == "client_credentials":
            auth = request.header("Authorization") or ""
            expected = base64.b64encode(
                f"{creds['consumer_key']}:{creds['consumer_secret']}".encode()
            ).decode()
            if auth == f"Basic {expected}":
                return Response.json(self._session_answer())
            return Response.json(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, 400
            )
        return Response.json(
            {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
            400,
        )

    def _jwt_ok(self, assertion: str) -> bool:
        import jwt

        if self.jwt_public_key is None:
            return False
        try:
            claims = jwt.decode(
                assertion,
                self.jwt_public_key,
                algorithms=["RS256"],
                audience=self.url,
                issuer=self.credentials["consumer_key"],
            )
        except jwt.PyJWTError:
            return False
        return bool(claims.get("sub") == self.credentials["username"])

    def _soap_login(self, request: Request) -> Response:
        root = ET.fromstring(request.body)
        values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        creds = self.credentials
        if values.get("username") != creds["username"] or values.get("password") != (
            creds["password"] + creds["security_token"]
        ):
            fault = (
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
                "<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid "
                "username, password, security token; or user locked out.</faultstring><detail>"
                "<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
                "<sf:exceptionMessage>Invalid username, password, security token; or user "
                "locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
                "</soapenv:Body></soapenv:Envelope>"
            )
            return Response(500, fault, {"Content-Type": "text/xml; charset=utf-8"})
        token = self._session_answer()["access_token"]
        version = request.params["version"]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{self.url}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{self.url}/services/Soap/u/{version}/{ORG_ID}</serverUrl>"
            f"<sessionId>{token}</sessionId><userId>0055g0000000000AAA</userId>"
            "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Response(200, body, {"Content-Type": "text/xml; charset=utf-8"})


def _as_text_times(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """Datetimes in Salesforce's spelling for the API (REST ``+0000``, Bulk ``Z``)."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.strftime(fmt))
        elif dtype == pl.Date():
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
    return frame.with_columns(exprs) if exprs else frame


def build(
    emulator: Emulator,
    *,
    org: Org | None = None,
    hidden: str = "Lead.Lead_Score__c",
    absent: str = "",
    no_bulk: str = "",
    jwt_public_key: str | None = None,
    api_limit: int = 15_000,
    api_used: int = 100,
    polls_to_complete: int = 1,
    seed: int = 7,
    **sizes: int,
) -> SalesforceEmulator:
    """Register the Salesforce routes on ``emulator`` for ``org`` (default: a generated org of
    ``sizes``, see :func:`tests.emulator._salesforce_org.generate`)."""

    def names(text: str) -> list[str]:
        return [n.strip() for n in text.split(",") if n.strip()]

    if org is None:
        org = Org(
            generate(seed, **sizes),
            hidden=names(hidden),
            absent=names(absent),
            no_bulk=names(no_bulk),
        )
    return SalesforceEmulator(
        emulator,
        org,
        api_limit=api_limit,
        api_used=api_used,
        polls_to_complete=polls_to_complete,
        jwt_public_key=jwt_public_key,
    )
