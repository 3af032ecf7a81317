"""Salesforce credentials, read from environment variables only (pydantic-settings).

Variables (prefix ``SALESFORCE_`` unless a source's ``env_prefix`` says otherwise):

==========================  =====================================================================
flow                        variables
==========================  =====================================================================
``password``                ``USERNAME``, ``PASSWORD``, ``SECURITY_TOKEN`` (SOAP login)
``jwt``                     ``USERNAME``, ``CONSUMER_KEY``, ``PRIVATE_KEY`` or ``PRIVATE_KEY_FILE``
``client_credentials``      ``CONSUMER_KEY``, ``CONSUMER_SECRET`` (login URL: the org's My Domain)
``session``                 ``SESSION_ID``, ``INSTANCE_URL``
==========================  =====================================================================

``LOGIN_URL`` and ``CA_BUNDLE`` may also come from the environment. Every secret is a
:class:`~pydantic.SecretStr`: it prints as ``**********`` in reprs, logs and errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from revgov.errors import AuthenticationError

__all__ = ["FLOWS", "Flow", "SalesforceCredentials", "choose_flow"]

Flow = Literal["password", "jwt", "client_credentials", "session"]


@dataclass(frozen=True)
class _FlowSpec:
    #: Variables every one of which must be set (alternatives joined by ``|``).
    needs: tuple[str, ...]
    what: str


#: The flows in the order ``auth = "auto"`` tries them.
FLOWS: dict[Flow, _FlowSpec] = {
    "session": _FlowSpec(("SESSION_ID", "INSTANCE_URL"), "a session id and instance URL"),
    "jwt": _FlowSpec(
        ("USERNAME", "CONSUMER_KEY", "PRIVATE_KEY|PRIVATE_KEY_FILE"), "OAuth 2.0 JWT bearer"
    ),
    "client_credentials": _FlowSpec(
        ("CONSUMER_KEY", "CONSUMER_SECRET"), "OAuth 2.0 client credentials"
    ),
    "password": _FlowSpec(
        ("USERNAME", "PASSWORD", "SECURITY_TOKEN"), "username, password and security token"
    ),
}


class SalesforceCredentials(BaseSettings):
    """What the environment holds for one org. Build it with
    ``SalesforceCredentials(_env_prefix="SALESFORCE_")``; nothing is read from files."""

    model_config = SettingsConfigDict(
        env_prefix="SALESFORCE_", extra="ignore", frozen=True, case_sensitive=False
    )

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    private_key_file: Path | None = None
    session_id: SecretStr | None = None
    instance_url: str | None = None
    login_url: str | None = None
    ca_bundle: Path | None = None

    def has(self, variable: str) -> bool:
        value = getattr(self, variable.lower())
        if isinstance(value, SecretStr):
            return bool(value.get_secret_value())
        return value is not None and str(value) != ""


def _missing(creds: SalesforceCredentials, flow: Flow) -> list[str]:
    return [
        need for need in FLOWS[flow].needs if not any(creds.has(alt) for alt in need.split("|"))
    ]


def choose_flow(creds: SalesforceCredentials, wanted: str, prefix: str) -> Flow:
    """The login flow to use: ``wanted`` if its variables are set, or with ``auto`` the first
    complete one. Raises :class:`~revgov.errors.AuthenticationError` naming the variables that
    are missing (never their values)."""

    def names(vars_: list[str]) -> str:
        return ", ".join(" or ".join(f"{prefix}{v}" for v in need.split("|")) for need in vars_)

    if wanted != "auto":
        flow: Flow = wanted  # type: ignore[assignment]
        missing = _missing(creds, flow)
        if missing:
            raise AuthenticationError(
                f"Salesforce login ({FLOWS[flow].what}) needs {names(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not set",
                hint=f"export {names(missing)} (see docs/salesforce.md, set-up)",
            )
        return flow
    for flow in FLOWS:
        if not _missing(creds, flow):
            return flow
    options = "; ".join(f"{spec.what}: {names(list(spec.needs))}" for spec in FLOWS.values())
    raise AuthenticationError(
        "no Salesforce credentials in the environment",
        hint=f"set the variables of one login flow ({options}); see docs/salesforce.md",
    )
