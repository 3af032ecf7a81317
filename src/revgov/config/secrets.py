"""Recognise and redact credentials, so they never reach logs, errors, reports or diffs.

A credential never belongs in revgov.toml, whatever form it takes: a secret-named key
(``password``, ``access_token``...), an ``Authorization`` header or a ``Bearer``/``Basic``
value, a URL carrying a password (``https://user:pw@host``), or a value shaped like a token
under any key, including a ``*_env`` key, whose value must be the *name* of an environment
variable. :func:`secret_problems` finds each one, located by its key path; messages never
show the value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

__all__ = [
    "REDACTED",
    "SECRET_KEY",
    "SecretProblem",
    "is_secret_key",
    "looks_like_token",
    "redact",
    "secret_problems",
]

#: Keys whose values are credentials: a credential word as a whole part of the key
#: (``access_token``, ``client-secret``, ``apikey``), not inside another word (``tokens`` of
#: campaign naming is not one). A key ending in ``_env`` names an environment variable that
#: holds the credential, which is not secret.
SECRET_KEY = re.compile(
    r"(?:^|[_\-.])(pass(?:word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|"
    r"credentials?|session[_-]?id|authorization|bearer|apikey)(?:$|[_\-.])",
    re.I,
)
REDACTED = "***"

#: ``Authorization`` header values.
_AUTH_VALUE = re.compile(
    r"^\s*(bearer|basic|token|digest|negotiate)\s+(?=[^\s]*\d)[A-Za-z0-9+/=._~\-]{8,}\s*$", re.I
)
#: A URL with a password in its user info; ``${VAR}`` in its place is a reference, not one.
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s:@]*:(?P<pw>[^/\s@]+)@", re.I)
#: Prefixes of well-known token formats (HubSpot, Slack, GitHub, Stripe, AWS, OpenAI,
#: Google, GitLab) and JSON web tokens.
_TOKEN_PREFIX = re.compile(
    r"^(pat-(na|eu|ap)\d-|xox[abposr]-|gh[pousr]_|github_pat_|sk_(live|test)_|rk_live_|"
    r"AKIA[0-9A-Z]{16}$|ASIA[0-9A-Z]{16}$|sk-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{20,}|"
    r"glpat-|eyJ[A-Za-z0-9_\-]{8,}\.eyJ)"
)
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-+/=.~]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: (key path, what it is, the fix): never the value.
SecretProblem = tuple[tuple[str | int, ...], str, str]


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not key.lower().endswith("_env")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_token(value: str) -> bool:
    """A known token format, or a long random-looking string of token characters (more
    varied than hex, so ids, hashes and UUIDs are not taken for tokens)."""
    text = value.strip()
    if _TOKEN_PREFIX.match(text):
        return True
    # Paths and dotted names have the same characters; generic tokens seldom do.
    if len(text) < 32 or not _TOKEN_CHARS.match(text) or "/" in text or "." in text:
        return False
    letters = sum(c.isalpha() for c in text)
    digits = sum(c.isdigit() for c in text)
    return letters >= 8 and digits >= 4 and _entropy(text) > 4.2


def _env_hint(key: str) -> str:
    return f'set it in the environment and write `{key or "token"}_env = "VARIABLE_NAME"`'


def _leaf_problem(key: str, value: str) -> tuple[str, str] | None:
    """What kind of credential ``value`` under ``key`` is (and the fix), if it is one."""
    env_hint = _env_hint(key)
    if not value.strip():
        return None
    if key.lower().endswith("_env"):
        if not _ENV_NAME.match(value) or looks_like_token(value):
            return (
                "should name an environment variable, but its value is not a variable name "
                "(it looks like the credential itself)",
                f'move the value into an environment variable and write `{key} = "VARIABLE_NAME"`',
            )
        return None
    if _AUTH_VALUE.match(value) or key.lower().endswith("authorization"):
        return ("is an Authorization header value: never put credentials in revgov.toml", env_hint)
    if is_secret_key(key):
        return ("looks like a credential: never put secrets in revgov.toml", env_hint)
    url = _URL_PASSWORD.search(value)
    if url and not url.group("pw").startswith("${"):
        return (
            "is a URL with a password in it: never put credentials in revgov.toml",
            "drop `user:password@` from the URL and give the password through the environment "
            "(e.g. `${DB_PASSWORD}` or the connector's `*_env` option)",
        )
    if looks_like_token(value):
        return ("holds a value shaped like an access token or key", env_hint)
    return None


def secret_problems(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[SecretProblem]:
    """Every credential in parsed revgov.toml ``data``, by key path (values never shown)."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = (*loc, str(key))
            if isinstance(value, str):
                found = _leaf_problem(str(key), value)
                if found is not None:
                    yield (here, *found)
            elif is_secret_key(str(key)) and isinstance(value, int | float):
                message = "looks like a credential: never put secrets in revgov.toml"
                yield (here, message, _env_hint(str(key)))
            else:
                yield from secret_problems(value, here)
    elif isinstance(data, list | tuple):
        for i, item in enumerate(data):
            key = str(loc[-1]) if loc and isinstance(loc[-1], str) else ""
            if isinstance(item, str):
                found = _leaf_problem(key, item)
                if found is not None:
                    yield ((*loc, i), *found)
            else:
                yield from secret_problems(item, (*loc, i))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-keyed value (at any depth) replaced by ``***``."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value
