"""Logging in from the environment: four flows, errors naming variables, secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.connectors.salesforce.conftest import connector, credential_env, frame, set_env
from tests.emulator.salesforce import CREDENTIALS, SalesforceEmulator, build
from tests.emulator.server import Emulator

from revgov.config import SourceConfig
from revgov.connectors.salesforce import SalesforceCredentials
from revgov.errors import AuthenticationError, ConfigValidationError

SECRETS = (CREDENTIALS["password"], CREDENTIALS["security_token"], CREDENTIALS["consumer_secret"])


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.fixture
def jwt_org(emulator: Emulator) -> tuple[SalesforceEmulator, str]:
    private, public = _key_pair()
    return build(emulator, jwt_public_key=public), private


@pytest.mark.parametrize("flow", ["password", "jwt", "client_credentials", "session"])
def test_each_login_flow_pulls_the_org(
    flow: str,
    jwt_org: tuple[SalesforceEmulator, str],
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    org, private = jwt_org
    set_env(monkeypatch, credential_env(org, flow, private_key=private))
    conn = connector(make_source({"auth": flow}))
    users = frame(list(conn.fetch("users")))
    assert sorted(users["user_id"]) == sorted(org.org.frame("User")["Id"])
    assert conn.client.flow == flow
    # A session id from the environment is used as is; the others log in once.
    assert org.logins == (0 if flow == "session" else 1)


def test_auto_picks_the_flow_whose_variables_are_set(
    org: SalesforceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    set_env(monkeypatch, credential_env(org, "client_credentials"))
    conn = connector(make_source())
    assert conn.client.flow == "client_credentials"
    assert frame(list(conn.fetch("pipeline_stages"))).height == 7


def test_a_missing_variable_is_named_and_checked_before_any_pull(
    org: SalesforceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    env = credential_env(org)
    del env["SALESFORCE_SECURITY_TOKEN"]
    set_env(monkeypatch, env)
    conn = connector(make_source({"auth": "password"}))
    problems = conn.check()
    assert len(problems) == 1 and "SALESFORCE_SECURITY_TOKEN" in problems[0]
    with pytest.raises(AuthenticationError, match="SALESFORCE_SECURITY_TOKEN") as info:
        list(conn.fetch("users"))
    assert info.value.code == "RG410"
    assert org.emulator.hits.total() == 0  # nothing was sent


def test_no_credentials_at_all_lists_every_flow(
    monkeypatch: pytest.MonkeyPatch, make_source: Callable[..., SourceConfig]
) -> None:
    set_env(monkeypatch, {})
    with pytest.raises(AuthenticationError) as info:
        list(connector(make_source()).fetch("users"))
    text = info.value.render()
    for variable in ("SALESFORCE_SESSION_ID", "SALESFORCE_PRIVATE_KEY", "SALESFORCE_PASSWORD"):
        assert variable in text


def test_a_prefix_reads_another_orgs_variables(
    org: SalesforceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    set_env(monkeypatch, {})
    for key, value in credential_env(org).items():
        monkeypatch.setenv(key.replace("SALESFORCE_", "SF_EU_"), value)
    conn = connector(make_source({"env_prefix": "SF_EU_"}))
    assert frame(list(conn.fetch("users"))).height == org.org.frame("User").height


@pytest.mark.parametrize(
    ("flow", "variable", "code"),
    [
        ("password", "SALESFORCE_PASSWORD", "INVALID_LOGIN"),
        ("client_credentials", "SALESFORCE_CONSUMER_SECRET", "invalid_client"),
        ("jwt", "SALESFORCE_PRIVATE_KEY", "invalid_grant"),
    ],
)
def test_a_refused_login_names_the_vendor_code_and_never_the_secret(
    flow: str,
    variable: str,
    code: str,
    jwt_org: tuple[SalesforceEmulator, str],
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    org, private = jwt_org
    env = credential_env(org, flow, private_key=private)
    env[variable] = _key_pair()[0] if flow == "jwt" else "wrong-" + env[variable]
    set_env(monkeypatch, env)
    with pytest.raises(AuthenticationError) as info:
        list(connector(make_source({"auth": flow})).fetch("users"))
    text = info.value.render() + repr(info.value)
    assert code in text
    for secret in (*SECRETS, env[variable], private):
        assert secret not in text


def test_an_expired_environment_session_cannot_be_renewed(
    org: SalesforceEmulator,
    monkeypatch: pytest.MonkeyPatch,
    make_source: Callable[..., SourceConfig],
) -> None:
    env = credential_env(org, "session")
    set_env(monkeypatch, env)
    org.expire_sessions()
    with pytest.raises(AuthenticationError, match="session expired") as info:
        list(connector(make_source()).fetch("users"))
    assert env["SALESFORCE_SESSION_ID"] not in info.value.render()


def test_credentials_never_print(org: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, credential_env(org, "session") | credential_env(org))
    creds = SalesforceCredentials()
    shown = repr(creds) + str(creds) + str(creds.model_dump())
    assert creds.password is not None and creds.session_id is not None
    for secret in (creds.password.get_secret_value(), creds.session_id.get_secret_value()):
        assert secret not in shown
    assert CREDENTIALS["security_token"] not in shown


def test_secrets_and_bad_names_are_refused_in_the_config(
    make_source: Callable[..., SourceConfig],
) -> None:
    with pytest.raises(ConfigValidationError, match="credential"):
        make_source({"password": "hunter2"})
    with pytest.raises(ConfigValidationError, match="API name"):
        make_source(
            entities={"people": {"objects": {"Lead": {"columns": {"email": "Email FROM User --"}}}}}
        )
    with pytest.raises(ConfigValidationError, match=r"bulk_treshold.*bulk_threshold"):
        make_source({"bulk_treshold": 10})


def test_loading_the_connector_does_not_import_simple_salesforce() -> None:
    code = (
        "import sys; from revgov.connectors.registry import get_connector_spec; "
        "get_connector_spec('salesforce'); "
        "print('simple_salesforce' in sys.modules, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
