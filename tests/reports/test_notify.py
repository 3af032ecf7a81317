"""Alerts posted to a local HTTPS webhook (the emulator harness): the summary's content, retries
on 429 and 5xx through the resilience layer, a refused webhook failing at once, and the URL
never shown in errors or logs."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.emulator.server import Emulator, Fault, Request, Response

from revgov.config import load_config
from revgov.errors import NotifyError
from revgov.reports import Alert, post_alert, webhook_from_env
from revgov.reports.publish import record_run
from revgov.rules import audit
from revgov.store import SnapshotStore

HOOK = "/services/T000/B000/XyZsecretToken123"


@pytest.fixture
def webhook() -> Iterator[tuple[Emulator, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    def handle(request: Request) -> Response:
        received.append(request.json())
        return Response(200, "ok", {"Content-Type": "text/plain"})

    with Emulator() as emu:
        emu.add("POST", HOOK, handle)
        yield emu, received


def _trust(emu: Emulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(emu.ca_pem))


@pytest.fixture
def alert(demo_copy: Path, as_of: datetime) -> Alert:
    """An alert of a second run after real changes: one fixed and one unowned record."""
    snapshot = demo_copy / "snapshot"
    cfg = load_config(demo_copy / "revgov.toml")

    def run():  # type: ignore[no-untyped-def]
        report = audit(SnapshotStore(snapshot).frames(), config=cfg, as_of=as_of)
        return record_run(report, snapshot=snapshot)

    run()
    store = SnapshotStore(snapshot)
    import polars as pl

    person = store.scan("people").filter(pl.col("owner_id").is_not_null()).head(1).collect()
    store.commit({"people": person.with_columns(pl.lit(None, pl.String).alias("owner_id"))})
    second = run()
    return Alert.of(
        second.report, second.diff, previous_score=second.previous_score, run_id=second.run_id
    )


def test_the_summary_is_posted(webhook, alert: Alert) -> None:  # type: ignore[no-untyped-def]
    emu, received = webhook
    post_alert(SecretStr(emu.url + HOOK), alert, verify=_trust(emu))
    assert len(received) == 1
    body = received[0]
    text = str(body["text"])
    assert body["blocks"][0]["text"]["text"] == text  # type: ignore[index]
    assert f"score {alert.score:.1%}" in text
    assert "new findings; by owner:" in text and alert.new_total and alert.new_total >= 1
    assert f"Worst rule: `{alert.worst_rule}`" in text
    assert alert.config_hash in text


def test_rate_limits_and_server_errors_are_retried(webhook, alert: Alert) -> None:  # type: ignore[no-untyped-def]
    emu, received = webhook
    emu.inject(
        Fault(status=429, path=HOOK, headers={"Retry-After": "7"}, body="rate_limited"),
        Fault(status=503, path=HOOK, times=2, body="service_unavailable"),
        Fault(kind="drop", path=HOOK),
    )
    waits: list[float] = []
    post_alert(SecretStr(emu.url + HOOK), alert, verify=_trust(emu), sleep=waits.append)
    assert len(received) == 1 and emu.faults_fired() == 4
    assert waits[0] == 7.0 and len(waits) == 4  # Retry-After honoured, then backoff


def test_a_refused_webhook_fails_at_once_without_showing_the_url(
    webhook,
    alert: Alert,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    emu, _ = webhook
    emu.inject(Fault(status=404, path=HOOK, body="no_service", times=5))
    caplog.set_level(logging.DEBUG)
    url = emu.url + HOOK
    with pytest.raises(NotifyError, match="HTTP 404") as err:
        post_alert(SecretStr(url), alert, verify=_trust(emu), sleep=lambda s: None)
    assert emu.faults_fired() == 1  # not retried
    assert "no longer exists" in str(err.value)
    shown = str(err.value) + repr(err.value) + str(err.value.__cause__) + str(err.value.__context__)
    assert "XyZsecretToken123" not in shown
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "httpx" in {r.name for r in caplog.records}  # httpx did log the request...
    assert "XyZsecretToken123" not in logged  # ...without the URL


def test_exhausted_retries_fail_clearly(webhook, alert: Alert) -> None:  # type: ignore[no-untyped-def]
    emu, _ = webhook
    emu.inject(Fault(status=500, path=HOOK, times=99))
    with pytest.raises(NotifyError, match=r"HTTP 500.*still failing after every retry"):
        post_alert(SecretStr(emu.url + HOOK), alert, verify=_trust(emu), sleep=lambda s: None)


def test_the_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOK_FOR_TEST", raising=False)
    with pytest.raises(NotifyError, match="HOOK_FOR_TEST holds no webhook URL"):
        webhook_from_env("HOOK_FOR_TEST")
    monkeypatch.setenv("HOOK_FOR_TEST", "not a url")
    with pytest.raises(NotifyError, match="does not hold an http") as err:
        webhook_from_env("HOOK_FOR_TEST")
    assert "not a url" not in str(err.value)
    monkeypatch.setenv("HOOK_FOR_TEST", "https://hooks.example.com/services/SECRET")
    secret = webhook_from_env("HOOK_FOR_TEST")
    assert "SECRET" not in repr(secret) and "SECRET" not in str(secret)
