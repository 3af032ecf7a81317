"""HubSpot failures as the shared resilience layer's kinds, decided on status and category.

hubspot-api-client raises one ``ApiException`` class per API package (``status``, ``headers``
and the raw JSON ``body``); with urllib3's own retries disabled, transport failures arrive as
urllib3 exceptions. :func:`classifier` turns both into :class:`~revgov.connectors._resilience.Failure`
by HTTP status, HubSpot's ``category`` and, for 429, the ``policyName`` of the body; the
message text is never read, and never shown (it may echo what was sent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import urllib3.exceptions

from revgov.connectors._resilience import Classifier, Failure, FailureKind

__all__ = [
    "ErrorBody",
    "MalformedResponseError",
    "classifier",
    "error_body",
    "header",
    "retry_after",
]

#: Statuses HubSpot documents as temporary: timeouts, a locked record, a portal migration.
_TRANSIENT_STATUSES = frozenset({408, 423, 477, 502, 503, 504})


class MalformedResponseError(Exception):
    """A 2xx response whose body is not the JSON HubSpot documents (e.g. cut short)."""


@dataclass(frozen=True)
class ErrorBody:
    """The parts of a HubSpot error body that are safe to show and to decide on."""

    category: str | None = None
    policy: str | None = None
    error_type: str | None = None
    correlation_id: str | None = None
    sub_category: str | None = None
    #: From MISSING_SCOPES errors: the scopes the request needed.
    scopes: tuple[str, ...] = ()

    def describe(self, status: int) -> str:
        parts = [f"HTTP {status}"]
        parts += [p for p in (self.category or self.error_type, self.policy) if p]
        if self.sub_category:
            parts.append(self.sub_category)
        text = " ".join(parts)
        return f"{text} (correlationId {self.correlation_id})" if self.correlation_id else text


def _scopes(data: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for err in data.get("errors") or []:
        context = err.get("context") if isinstance(err, Mapping) else None
        if isinstance(context, Mapping):
            for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
                values = context.get(key) or []
                found += [str(v) for v in values if isinstance(v, str)]
    return tuple(dict.fromkeys(found))


def error_body(body: Any) -> ErrorBody:
    """Parse an error body (text or bytes); anything unreadable gives an empty one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body) if isinstance(body, str) and body else None
    except ValueError:
        data = None
    if not isinstance(data, Mapping):
        return ErrorBody()

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if isinstance(value, str | int) and value != "" else None

    sub = data.get("subCategory")
    return ErrorBody(
        category=text("category"),
        policy=text("policyName"),
        error_type=text("errorType"),
        correlation_id=text("correlationId"),
        sub_category=sub if isinstance(sub, str) else None,
        scopes=_scopes(data),
    )


def header(headers: Any, name: str) -> str | None:
    """A response header by name, any case, from a header mapping or a list of pairs (what
    ``getheaders()`` gives, depending on the HTTP layer underneath)."""
    if headers is None:
        return None
    pairs = headers.items() if hasattr(headers, "items") else headers
    wanted = name.lower()
    for key, value in pairs:
        if str(key).lower() == wanted:
            return str(value)
    return None


def retry_after(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds form; HubSpot sends no dates)."""
    value = header(headers, "Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _rate_limited(status: int, body: ErrorBody, headers: Any) -> Failure:
    detail = body.describe(status)
    wait = retry_after(headers)
    if body.policy == "DAILY":
        return Failure(
            FailureKind.BUDGET_EXHAUSTED,
            detail,
            hint="HubSpot's daily request limit is spent (it resets at midnight in the "
            "account's time zone); run the pull again then: it resumes where it stopped",
        )
    if wait is None and body.policy == "SECONDLY":
        wait = 1.0  # the search API's per-second window
    return Failure(FailureKind.RATE_LIMITED, detail, retry_after=wait)


def _api_failure(status: int, body: ErrorBody, headers: Any) -> Failure:
    detail = body.describe(status)
    if status == 429:
        return _rate_limited(status, body, headers)
    if status == 401:
        return Failure(FailureKind.SESSION_EXPIRED, detail)
    if status == 0:
        return Failure(
            FailureKind.FATAL,
            "the TLS connection to HubSpot could not be set up",
            hint="check the network's proxy and the `ca_bundle` option (or $HUBSPOT_CA_BUNDLE)",
        )
    if status in _TRANSIENT_STATUSES or status >= 500:
        return Failure(FailureKind.TRANSIENT, detail, retry_after=retry_after(headers))
    if status == 403 or body.category == "MISSING_SCOPES":
        scopes = f" ({', '.join(body.scopes)})" if body.scopes else ""
        return Failure(
            FailureKind.FATAL,
            detail,
            hint=f"give the private app (or OAuth app) the scopes this request needs{scopes}; "
            "docs/hubspot.md lists them",
        )
    if status == 404 or body.category == "OBJECT_NOT_FOUND":
        return Failure(
            FailureKind.FATAL,
            detail,
            hint="check the object type (custom objects are named like 2-1234567 or p_name) "
            "in the source's `objects`",
        )
    if status == 414:
        return Failure(
            FailureKind.FATAL,
            detail,
            hint="lower the source's `max_query_chars` option so property lists are split",
        )
    return Failure(
        FailureKind.FATAL,
        detail,
        hint="check the property names in the source's entity tables against HubSpot's "
        "properties (revgov init --hubspot lists them)",
    )


def classifier(api_exceptions: tuple[type[BaseException], ...]) -> Classifier:
    """A classifier for hubspot-api-client's ``ApiException`` classes and urllib3 errors."""

    def classify(exc: BaseException) -> Failure | None:
        if isinstance(exc, api_exceptions):
            status = int(getattr(exc, "status", 0) or 0)
            headers = getattr(exc, "headers", None)
            return _api_failure(status, error_body(getattr(exc, "body", None)), headers)
        if isinstance(exc, MalformedResponseError):
            return Failure(FailureKind.TRANSIENT, f"malformed response ({exc})")
        if isinstance(exc, urllib3.exceptions.SSLError):
            return _api_failure(0, ErrorBody(), None)
        if isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
            return Failure(FailureKind.TRANSIENT, f"connection failed ({type(exc).__name__})")
        return None

    return classify
