"""Logging in: the SOAP login and the OAuth 2.0 token exchanges, against the configured URL.

simple-salesforce's own login flows build ``https://{domain}.salesforce.com/...`` URLs, so a
My Domain login URL with a port, a sandbox proxy or the test emulator cannot be reached
through them. revgov does the exchanges itself with httpx against ``login_url`` and hands
simple-salesforce the session id and instance URL it got ("direct" mode). Re-authenticating
after an expired session is the same call again (see :class:`SalesforceClient`).

Failures are decided on the status and the vendor's error code (``invalid_grant``,
``INVALID_LOGIN``...), never on message text, and never echo a credential.
"""

from __future__ import annotations

import ssl
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import httpx
from pydantic import SecretStr

from revgov.connectors.salesforce.credentials import Flow, SalesforceCredentials
from revgov.errors import AuthenticationError

__all__ = ["LoginTarget", "SessionInfo", "login"]

_PARTNER = "urn:partner.soap.sforce.com"
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: How long a signed JWT assertion is valid (Salesforce allows at most 3 minutes).
_JWT_SECONDS = 180

#: OAuth error codes (RFC 6749 and Salesforce's) to the fix.
_OAUTH_HINTS = {
    "invalid_client_id": "check {p}CONSUMER_KEY (the connected app's consumer key)",
    "invalid_client": "check {p}CONSUMER_KEY and {p}CONSUMER_SECRET",
    "invalid_grant": "for JWT: the user must be pre-authorized for the connected app, the "
    "certificate must match {p}PRIVATE_KEY and the audience the login URL; for client "
    "credentials: set a run-as user on the connected app",
    "unsupported_grant_type": "enable the flow on the connected app (docs/salesforce.md)",
    "invalid_request": "the login URL must be the org's login or My Domain URL",
}


@dataclass(frozen=True)
class SessionInfo:
    """A live session: the token to send and the org's instance URL."""

    session_id: SecretStr
    instance_url: str


@dataclass(frozen=True)
class LoginTarget:
    """Where and how to log in."""

    login_url: str
    api_version: str
    verify: ssl.SSLContext | bool
    timeout: float
    env_prefix: str
    jwt_audience: str | None = None


def login(creds: SalesforceCredentials, flow: Flow, target: LoginTarget) -> SessionInfo:
    """Log in with ``flow``; :class:`~revgov.errors.AuthenticationError` if refused.

    Transport failures (connection errors, 5xx) propagate as httpx exceptions for the
    resilience layer to retry.
    """
    if flow == "session":
        assert creds.session_id is not None and creds.instance_url is not None
        return SessionInfo(creds.session_id, creds.instance_url.rstrip("/"))
    with httpx.Client(verify=target.verify, timeout=target.timeout) as http:
        if flow == "password":
            return _soap_login(http, creds, target)
        if flow == "jwt":
            data = {"grant_type": _JWT_GRANT, "assertion": _assertion(creds, target)}
            return _token(http, target, data, auth=None)
        assert creds.consumer_key is not None and creds.consumer_secret is not None
        basic = (creds.consumer_key.get_secret_value(), creds.consumer_secret.get_secret_value())
        return _token(http, target, {"grant_type": "client_credentials"}, auth=basic)


def _assertion(creds: SalesforceCredentials, target: LoginTarget) -> str:
    import jwt  # PyJWT (with cryptography), installed with revgov[salesforce]

    assert creds.consumer_key is not None and creds.username is not None
    if creds.private_key is not None:
        key = creds.private_key.get_secret_value()
    else:
        assert creds.private_key_file is not None
        try:
            key = Path(creds.private_key_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise AuthenticationError(
                f"cannot read the private key file named by {target.env_prefix}PRIVATE_KEY_FILE "
                f"({type(exc).__name__})",
                hint="point it at the PEM private key of the connected app's certificate",
            ) from None
    claims = {
        "iss": creds.consumer_key.get_secret_value(),
        "sub": creds.username,
        "aud": (target.jwt_audience or target.login_url).rstrip("/"),
        "exp": int(time.time()) + _JWT_SECONDS,
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise AuthenticationError(
            f"{target.env_prefix}PRIVATE_KEY is not a usable RSA private key "
            f"({type(exc).__name__})",
            hint="give the PEM text of the key whose certificate the connected app holds",
        ) from None


def _token(
    http: httpx.Client, target: LoginTarget, data: dict[str, str], auth: tuple[str, str] | None
) -> SessionInfo:
    url = f"{target.login_url.rstrip('/')}/services/oauth2/token"
    headers = {"Accept": "application/json"}
    if auth is None:
        reply = http.post(url, data=data, headers=headers)
    else:
        reply = http.post(url, data=data, headers=headers, auth=httpx.BasicAuth(*auth))
    if reply.status_code >= 500:
        reply.raise_for_status()
    body = _json(reply)
    if reply.status_code != 200 or not body.get("access_token"):
        code = str(body.get("error") or f"HTTP {reply.status_code}")
        hint = _OAUTH_HINTS.get(code, "check the connected app and the credential variables")
        raise AuthenticationError(
            f"Salesforce refused the {data['grant_type'].rsplit(':', 1)[-1]} token exchange "
            f"at {url} ({code})",
            hint=hint.format(p=target.env_prefix),
        )
    return SessionInfo(SecretStr(str(body["access_token"])), _instance(body.get("instance_url")))


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _instance(url: object) -> str:
    text = str(url or "")
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc:
        raise AuthenticationError(
            "the login answer has no https instance URL",
            hint="check the login URL: it must be Salesforce's login or My Domain URL",
        )
    return f"{parts.scheme}://{parts.netloc}"


def _soap_login(
    http: httpx.Client, creds: SalesforceCredentials, target: LoginTarget
) -> SessionInfo:
    assert creds.username is not None and creds.password is not None
    assert creds.security_token is not None
    secret = creds.password.get_secret_value() + creds.security_token.get_secret_value()
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<env:Envelope xmlns:env="{_SOAP_ENV}" xmlns:urn="{_PARTNER}">'
        "<env:Body><urn:login>"
        f"<urn:username>{escape(creds.username)}</urn:username>"
        f"<urn:password>{escape(secret)}</urn:password>"
        "</urn:login></env:Body></env:Envelope>"
    )
    url = f"{target.login_url.rstrip('/')}/services/Soap/u/{target.api_version}"
    reply = http.post(
        url,
        content=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
    )
    if reply.status_code >= 500 and b"Fault" not in reply.content:
        reply.raise_for_status()
    try:
        root = ET.fromstring(reply.content)
    except ET.ParseError:
        root = None
    session = _find(root, "sessionId")
    server = _find(root, "serverUrl")
    if reply.status_code != 200 or not session or not server:
        code = _find(root, "exceptionCode") or _fault_code(root) or f"HTTP {reply.status_code}"
        raise AuthenticationError(
            f"Salesforce refused the username-password login at {url} ({code})",
            hint=f"check {target.env_prefix}USERNAME, {target.env_prefix}PASSWORD and "
            f"{target.env_prefix}SECURITY_TOKEN (reset the token after a password change), "
            "and the login URL (test.salesforce.com for sandboxes)",
        )
    return SessionInfo(SecretStr(session), _instance(server))


def _find(root: ET.Element | None, local: str) -> str | None:
    if root is None:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == local and element.text:
            return element.text.strip()
    return None


def _fault_code(root: ET.Element | None) -> str | None:
    code = _find(root, "faultcode")
    return code.rsplit(":", 1)[-1] if code else None
