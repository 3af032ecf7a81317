"""HubSpot failures become the shared layer's kinds on status, category and policy, never on
message text."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import urllib3
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException
from urllib3.exceptions import ProtocolError
from urllib3.response import HTTPResponse

from revgov.connectors._resilience import FailureKind
from revgov.connectors.hubspot._api import API_EXCEPTIONS
from revgov.connectors.hubspot._errors import MalformedResponseError, classifier

classify = classifier(API_EXCEPTIONS)


def _error(
    status: int, body: dict[str, Any] | str, cls: type = ObjectsApiException, **headers: str
) -> Exception:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = HTTPResponse(
        body=io.BytesIO(raw.encode()), status=status, headers=headers, preload_content=False
    )
    exc = cls(http_resp=response)
    exc.body = exc.body.decode()  # as the client hands it over
    return exc


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"category": "EXPIRED_AUTHENTICATION"}, FailureKind.SESSION_EXPIRED),
        (401, {"category": "INVALID_AUTHENTICATION"}, FailureKind.SESSION_EXPIRED),
        (403, {"category": "MISSING_SCOPES"}, FailureKind.FATAL),
        (400, {"category": "VALIDATION_ERROR"}, FailureKind.FATAL),
        (404, {"category": "OBJECT_NOT_FOUND"}, FailureKind.FATAL),
        (414, "<html>URI Too Long</html>", FailureKind.FATAL),
        (423, {"category": "LOCKED"}, FailureKind.TRANSIENT),
        (477, {"category": "MIGRATION_IN_PROGRESS"}, FailureKind.TRANSIENT),
        (500, "<html>oops</html>", FailureKind.TRANSIENT),
        (502, "", FailureKind.TRANSIENT),
        (504, {"category": "GATEWAY_TIMEOUT"}, FailureKind.TRANSIENT),
        (
            429,
            {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
            FailureKind.RATE_LIMITED,
        ),
        (429, {"errorType": "RATE_LIMIT", "policyName": "SECONDLY"}, FailureKind.RATE_LIMITED),
        (429, {"errorType": "RATE_LIMIT", "policyName": "DAILY"}, FailureKind.BUDGET_EXHAUSTED),
    ],
)
def test_status_category_and_policy_decide_the_kind(
    status: int, body: dict[str, Any] | str, kind: FailureKind
) -> None:
    failure = classify(_error(status, body))
    assert failure is not None and failure.kind is kind
    assert failure.detail.startswith(f"HTTP {status}")


def test_the_message_text_is_never_read_nor_shown() -> None:
    a = _error(400, {"category": "VALIDATION_ERROR", "message": "rate limit daily expired token"})
    b = _error(400, {"category": "VALIDATION_ERROR", "message": "Property x does not exist"})
    fa, fb = classify(a), classify(b)
    assert fa is not None and fb is not None
    assert fa.kind is fb.kind is FailureKind.FATAL
    assert "rate limit" not in fa.detail and "does not exist" not in fb.detail


def test_every_api_package_has_its_own_exception_class_and_all_are_known() -> None:
    assert ObjectsApiException is not OwnersApiException
    failure = classify(_error(503, "", cls=OwnersApiException))
    assert failure is not None and failure.kind is FailureKind.TRANSIENT


def test_retry_after_and_the_policy_name_are_kept() -> None:
    body = {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "correlationId": "c-1"}
    failure = classify(_error(429, body, **{"Retry-After": "7"}))
    assert failure is not None
    assert failure.retry_after == 7.0
    assert failure.detail == "HTTP 429 RATE_LIMIT TEN_SECONDLY_ROLLING (correlationId c-1)"
    search = classify(_error(429, {"errorType": "RATE_LIMIT", "policyName": "SECONDLY"}))
    assert search is not None and search.retry_after == 1.0


def test_missing_scopes_are_named_in_the_fix() -> None:
    body = {
        "category": "MISSING_SCOPES",
        "errors": [{"context": {"requiredGranularScopes": ["crm.objects.deals.read"]}}],
    }
    failure = classify(_error(403, body))
    assert failure is not None and "crm.objects.deals.read" in (failure.hint or "")


def test_transport_failures_are_transient_and_other_exceptions_are_not_ours() -> None:
    for exc in (
        ProtocolError("Connection broken: IncompleteRead"),
        urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
        urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"),  # type: ignore[arg-type]
        MalformedResponseError("12 bytes that are not JSON"),
    ):
        failure = classify(exc)
        assert failure is not None and failure.kind is FailureKind.TRANSIENT, exc
    ssl = classify(urllib3.exceptions.SSLError("certificate verify failed"))
    assert ssl is not None and ssl.kind is FailureKind.FATAL and "ca_bundle" in (ssl.hint or "")
    assert classify(KeyError("bug")) is None
