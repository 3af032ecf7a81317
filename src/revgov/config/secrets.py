"""Recognise and redact credentials, so they never reach logs, errors, reports or diffs."""

from __future__ import annotations

import re
from typing import Any

#: Keys whose values are credentials. A key ending in ``_env`` names an environment variable
#: that holds the credential, which is not secret.
SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|session[_-]?id)", re.I
)
REDACTED = "***"


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not key.lower().endswith("_env")


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-keyed value (at any depth) replaced by ``***``."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value
