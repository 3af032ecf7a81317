"""Which failure a Salesforce call met: decided on HTTP status and ``errorCode``, never text.

Salesforce error bodies are JSON arrays, ``[{"message": "...", "errorCode": "..."}]``;
simple-salesforce raises a :class:`~simple_salesforce.exceptions.SalesforceError` subclass
chosen by status with that array as ``content``. This module maps each to a
:class:`~revgov.connectors._resilience.Failure` for the shared resilience layer.
"""

from __future__ import annotations

import json
from typing import Any

from revgov.connectors._resilience import Failure, FailureKind

__all__ = ["BulkPageError", "classify", "error_code"]

#: Error codes that mean "try again" whatever their status.
_TRANSIENT_CODES = frozenset({"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW", "QUERY_TIMEOUT"})

#: The fix to show for a request Salesforce refused, by error code.
_HINTS = {
    "INVALID_FIELD": "a mapped field does not exist on the object or the integration user "
    "cannot see it: check the source's mapping and the user's field-level security",
    "INVALID_TYPE": "the object does not exist or the integration user cannot read it: check "
    "the object name and the user's profile or permission sets",
    "MALFORMED_QUERY": "the SOQL is not valid for this org: check the mapped field names",
    "INVALID_QUERY_FILTER_OPERATOR": "a cursor field cannot be filtered: report this to revgov",
    "API_DISABLED_FOR_ORG": "the org's edition has no API access, or the user lacks 'API Enabled'",
    "INSUFFICIENT_ACCESS": "grant the integration user read access (and 'View All Data' to "
    "read every record)",
    "INSUFFICIENT_ACCESS_OR_READONLY": "grant the integration user read access",
    "NOT_FOUND": "the resource does not exist (a wrong object name, API version or job id)",
    "INVALIDENTITY": "the object is not supported by this API",
    "INVALID_SESSION_ID": "check the credential variables: the session could not be renewed",
    "API_CURRENTLY_DISABLED": "an administrator disabled API access for the integration user",
}


class BulkPageError(Exception):
    """A Bulk 2.0 result page that arrived without its required headers (a cut response)."""


def error_code(content: Any) -> str | None:
    """The ``errorCode`` of a Salesforce error body (a JSON array, or its text)."""
    if isinstance(content, bytes | str):
        try:
            content = json.loads(content)
        except ValueError:
            return None
    if isinstance(content, list) and content and isinstance(content[0], dict):
        code = content[0].get("errorCode")
        return str(code) if code else None
    if isinstance(content, dict) and content.get("errorCode"):
        return str(content["errorCode"])
    return None


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


def _vendor(exc: BaseException, status: int, code: str | None) -> Failure:
    detail = f"HTTP {status}" + (f" {code}" if code else "")
    if status == 401 and code == "INVALID_SESSION_ID":
        return Failure(FailureKind.SESSION_EXPIRED, detail)
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return Failure(
            FailureKind.BUDGET_EXHAUSTED,
            detail + " (the org's daily API limit is used up)",
            hint="run the pull again after the limit resets (rolling 24 hours), or ask "
            "Salesforce for a higher limit; it resumes from the last committed page",
        )
    if status == 429:
        return Failure(FailureKind.RATE_LIMITED, detail, retry_after=_retry_after(exc))
    if status >= 500 or code in _TRANSIENT_CODES:
        return Failure(FailureKind.TRANSIENT, detail, retry_after=_retry_after(exc))
    hint = _HINTS.get(code or "")
    if hint is None and status == 401:
        hint = "check the credential variables of the source"
    return Failure(FailureKind.FATAL, detail, hint=hint or "check the request and the mapping")


def classify(exc: BaseException) -> Failure | None:
    """The failure kind of ``exc``, or None if it is not a failure of a Salesforce call."""
    import httpx
    import requests
    from simple_salesforce.exceptions import SalesforceError

    if isinstance(exc, SalesforceError):
        return _vendor(exc, int(exc.status), error_code(exc.content))
    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        code = error_code(response.content)
        return _vendor(exc, response.status_code, code)
    if isinstance(exc, requests.exceptions.JSONDecodeError | json.JSONDecodeError):
        return Failure(FailureKind.TRANSIENT, "an incomplete JSON response")
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | BulkPageError):
        return Failure(FailureKind.TRANSIENT, "a truncated response")
    if isinstance(exc, requests.exceptions.Timeout | httpx.TimeoutException):
        return Failure(FailureKind.TRANSIENT, "a request timed out")
    if isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.ContentDecodingError
        | httpx.TransportError,
    ):
        return Failure(FailureKind.TRANSIENT, "the connection was dropped")
    return None
