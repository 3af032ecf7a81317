"""The emulator harness the vendor emulators build on: TLS, routes, injected faults, processes."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from tests.emulator.process import spawn
from tests.emulator.server import Emulator, Fault, echo


@pytest.fixture
def emulator() -> Emulator:
    with Emulator() as emu:
        echo(emu)
        yield emu


def trusting(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def client(emu: Emulator) -> httpx.Client:
    assert emu.ca_pem is not None
    return httpx.Client(base_url=emu.url, verify=trusting(str(emu.ca_pem)), trust_env=False)


def test_routes_answer_over_tls_with_the_tests_own_ca(emulator: Emulator) -> None:
    assert emulator.url.startswith("https://127.0.0.1:")
    with client(emulator) as http:
        reply = http.get("/echo/ada", params={"x": "1"})
    assert reply.json() == {"greeting": "hello", "name": "ada", "q": {"x": ["1"]}}
    with (
        httpx.Client(base_url=emulator.url, trust_env=False) as untrusting,
        pytest.raises(httpx.ConnectError),
    ):
        untrusting.get("/echo/ada")


def test_status_faults_fire_on_the_chosen_requests_only(emulator: Emulator) -> None:
    body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    emulator.inject(Fault(status=401, body=body, path=r"^/echo/", after=1, times=2))
    with client(emulator) as http:
        statuses = [http.get("/echo/x").status_code for _ in range(4)]
        assert statuses == [200, 401, 401, 200]
        emulator.inject(Fault(status=429, headers={"Retry-After": "2"}, path="/echo/"))
        limited = http.get("/echo/y")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert emulator.faults_fired() == 3


def test_dropped_and_truncated_responses_fail_in_the_client(emulator: Emulator) -> None:
    emulator.inject(Fault(kind="drop", path="/echo/"), Fault(kind="truncate", path="/echo/"))
    with client(emulator) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/echo/a")
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/echo/b")
        assert http.get("/echo/c").status_code == 200


def test_unrouted_paths_answer_404(emulator: Emulator) -> None:
    with client(emulator) as http:
        assert http.get("/nowhere").status_code == 404


def test_an_emulator_runs_in_its_own_process(tmp_path: Path) -> None:
    with spawn("tests.emulator.server:echo", tmp_path, {"greeting": "hi"}) as running:
        assert running.ca is not None
        with httpx.Client(
            base_url=running.url, verify=trusting(running.ca), trust_env=False
        ) as http:
            assert http.get("/echo/bob").json()["greeting"] == "hi"
    assert running.process.poll() is not None
