"""Alerts: a short Slack-compatible summary of an audit run, posted to a webhook.

The summary says the score (and its change since the previous run), the new findings by
owner and the worst failing rule. It is posted with httpx through the connectors'
resilience layer: 429 waits for ``Retry-After``, 5xx and dropped connections back off and
retry, any other 4xx fails at once with what it means for a webhook.

The webhook URL is a secret (anyone holding it can post to the channel): it is read from an
environment variable, held as a ``SecretStr``, and never appears in messages, errors, reprs
or logs (httpx's request log lines are redacted while the alert is sent).
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr

from revgov.connectors._resilience import Failure, FailureKind, Resilience, RetryPolicy
from revgov.errors import NotifyError, RevgovError
from revgov.reports.diff import RunDiff
from revgov.rules import SEVERITIES, Report, RuleResult

__all__ = [
    "DEFAULT_ENV",
    "Alert",
    "classify_webhook",
    "post_alert",
    "webhook_from_env",
]

DEFAULT_ENV = "REVGOV_NOTIFY_URL"
#: How long one alert may keep retrying: a scheduled job should not hang on a chat service.
ALERT_POLICY = RetryPolicy(
    attempts=5, initial_wait=1.0, max_wait=20.0, max_elapsed=120.0, max_retry_after=60.0
)

_FATAL_HINTS = {
    400: "the webhook refused the message's format (Slack: invalid_payload)",
    401: "the webhook's token is not valid any more: create a new webhook URL",
    403: "the webhook may not post here (Slack: action_prohibited or an invalid token)",
    404: "the webhook or its channel no longer exists: create a new webhook URL",
    410: "the webhook's channel is archived: unarchive it or create a new webhook URL",
}


def webhook_from_env(var: str = DEFAULT_ENV) -> SecretStr:
    """The webhook URL from the environment variable ``var`` (its value is never shown)."""
    value = os.environ.get(var, "").strip()
    if not value:
        raise NotifyError(
            f"the environment variable {var} holds no webhook URL",
            hint=f"export {var}=https://hooks.slack.com/services/... (keep it out of "
            "revgov.toml and of command lines)",
        )
    if not value.startswith(("https://", "http://")):
        raise NotifyError(
            f"the environment variable {var} does not hold an http(s) URL",
            hint="set it to the webhook URL your chat tool gave you",
        )
    return SecretStr(value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def classify_webhook(exc: BaseException) -> Failure | None:
    """What a webhook failure is, by status (and transport error type); None for anything
    that is not a failure of the call."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        detail = f"HTTP {status}"
        if status == 429:
            return Failure(FailureKind.RATE_LIMITED, detail, _retry_after(exc.response))
        if status >= 500 or status == 408:
            return Failure(FailureKind.TRANSIENT, detail, _retry_after(exc.response))
        return Failure(
            FailureKind.FATAL,
            detail,
            hint=_FATAL_HINTS.get(status, "the webhook refused the alert; check its URL"),
        )
    if isinstance(exc, httpx.TransportError):
        return Failure(FailureKind.TRANSIENT, type(exc).__name__)
    return None


def _worst(report: Report) -> RuleResult | None:
    """The failing rule of the highest severity with the most violating records."""
    failing = report.failing()
    if not failing:
        return None
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return max(failing, key=lambda r: (rank.get(r.severity, 0), r.violating, r.id))


@dataclass(frozen=True)
class Alert:
    """The summary of one run, as posted."""

    score: float | None
    previous_score: float | None
    stage: int
    stage_name: str
    findings: int
    new_by_owner: list[tuple[str, int]]
    new_total: int | None
    worst_rule: str | None
    worst_detail: str
    config_hash: str
    snapshot_label: str
    run_id: str | None

    @classmethod
    def of(
        cls,
        report: Report,
        diff: RunDiff | None,
        *,
        previous_score: float | None = None,
        snapshot_version: int | None = None,
        run_id: str | None = None,
    ) -> Alert:
        worst = _worst(report)
        owners: list[tuple[str, int]] = []
        new_total = None
        if diff is not None:
            by = diff.by_owner().filter(diff.by_owner()["new"] > 0)
            owners = [
                (str(r["owner_name"] or r["owner_id"]), int(r["new"]))
                for r in by.head(5).iter_rows(named=True)
            ]
            new_total = diff.counts()["new"]
        return cls(
            score=report.score,
            previous_score=previous_score,
            stage=report.maturity.stage,
            stage_name=report.maturity.name,
            findings=report.findings_count,
            new_by_owner=owners,
            new_total=new_total,
            worst_rule=worst.id if worst else None,
            worst_detail=(
                f"{worst.severity}, {worst.violating:,} of {worst.checked:,} records"
                if worst
                else ""
            ),
            config_hash=report.config_hash,
            snapshot_label="unversioned" if snapshot_version is None else f"v{snapshot_version}",
            run_id=run_id,
        )

    def text(self) -> str:
        score = "n/a" if self.score is None else f"{self.score:.1%}"
        if self.score is not None and self.previous_score is not None:
            score += f" ({(self.score - self.previous_score) * 100:+.1f} pts)"
        lines = [
            f"*revgov audit*: score {score}, maturity stage {self.stage} ({self.stage_name}), "
            f"{self.findings:,} findings",
        ]
        if self.new_total is None:
            lines.append("No earlier run to compare with.")
        elif self.new_total == 0:
            lines.append("No new findings since the previous run.")
        else:
            who = ", ".join(f"{o} {n:,}" for o, n in self.new_by_owner)
            lines.append(f"{self.new_total:,} new findings; by owner: {who}")
        if self.worst_rule:
            lines.append(f"Worst rule: `{self.worst_rule}` ({self.worst_detail})")
        lines.append(
            f"config `{self.config_hash}` · snapshot {self.snapshot_label}"
            + (f" · run `{self.run_id}`" if self.run_id else "")
        )
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """Slack's incoming-webhook JSON: ``text`` (the fallback) and one mrkdwn block."""
        text = self.text()
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }


class _Redact(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<webhook URL>"), ()
        return True


@contextmanager
def _redacted_logs(secret: str) -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore")]
    flt = _Redact(secret)
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


def post_alert(
    url: SecretStr,
    alert: Alert,
    *,
    verify: ssl.SSLContext | bool = True,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Post ``alert`` to the webhook; raise :class:`~revgov.errors.NotifyError` when it is
    not delivered after the retries (the URL never appears in the error)."""
    secret = url.get_secret_value()
    resilience = Resilience(classify_webhook, policy=policy or ALERT_POLICY, sleep=sleep)

    def send() -> None:
        with httpx.Client(timeout=10.0, verify=verify) as client:
            client.post(secret, json=alert.payload()).raise_for_status()

    try:
        with _redacted_logs(secret):
            resilience.call(send, what="alert webhook")
    except RevgovError as exc:
        # Not chained: httpx's own exception text contains the URL.
        raise NotifyError(f"the alert was not delivered: {exc.message}", hint=exc.hint) from None
