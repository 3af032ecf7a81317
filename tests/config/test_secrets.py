"""Secrets in any form are refused (issue 12, item 4): secret-named keys, Authorization headers,
credentials in URLs and token-shaped values under any key (a ``*_env`` key included), each
located by file, line and key, the value never shown; and an error about a file that is not a
readable export never echoes its contents."""

from __future__ import annotations

import contextlib
import io
import random
import shutil
import string
import uuid
from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, main
from revgov.config import config_from_dict, load_config
from revgov.config.diff import describe_changes
from revgov.config.secrets import looks_like_token
from revgov.errors import ConfigValidationError

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
#: A HubSpot private-app token's shape and a random 32-character key, made here from a fixed
#: seed so that no token-shaped literal sits in the test data (never real ones).
TOKEN = "pat-na1-" + str(uuid.UUID(int=random.Random(11).getrandbits(128)))
_rng = random.Random(7)
RANDOM_KEY = "".join(
    _rng.sample(_rng.choices(string.ascii_letters, k=24) + _rng.choices(string.digits, k=8), 32)
)
SOURCE = '[[sources]]\nname = "crm"\nconnector = "hubspot"\n'


@pytest.mark.parametrize(
    ("options", "key", "kind"),
    [
        (f'access_token = "{TOKEN}"', "options.access_token", "looks like a credential"),
        (
            f'headers = {{ Authorization = "Bearer {TOKEN}" }}',
            "options.headers.Authorization",
            "Authorization header",
        ),
        (f'base_url = "Basic {RANDOM_KEY}"', "options.base_url", "Authorization header"),
        (
            f'base_url = "https://rev-ops:{RANDOM_KEY}@api.example.com/v3"',
            "options.base_url",
            "a URL with a password",
        ),
        (f'access_token_env = "{TOKEN}"', "options.access_token_env", "should name an environment"),
        (f'portal_env = "{RANDOM_KEY}"', "options.portal_env", "should name an environment"),
        (f'note = "{RANDOM_KEY}"', "options.note", "shaped like an access token"),
        ("client_secret = 123456789", "options.client_secret", "looks like a credential"),
    ],
    ids=[
        "token",
        "auth-header",
        "basic-value",
        "url-password",
        "env-token",
        "env-key",
        "any-key",
        "number",
    ],
)
def test_a_credential_in_any_form_is_refused_without_echoing_it(
    tmp_path: Path, options: str, key: str, kind: str
) -> None:
    path = tmp_path / "revgov.toml"
    text = SOURCE + "[sources.options]\n" + options + "\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigValidationError) as info:
        load_config(path)
    message = info.value.render()
    assert info.value.code == "RG102"
    assert f"revgov.toml:5: sources[0].{key}: " in message and kind in message, message
    assert TOKEN not in message and RANDOM_KEY not in message
    assert TOKEN[:12] not in message and RANDOM_KEY[:12] not in message
    assert "_env" in message  # the fix: name an environment variable


def test_credentials_deep_in_the_config_are_found_too() -> None:
    data = {
        "sources": [
            {
                "name": "db",
                "connector": "files",
                "entities": {"opportunities": {"path": f"https://u:{RANDOM_KEY}@h/x.csv"}},
            }
        ]
    }
    with pytest.raises(ConfigValidationError, match=r"sources\[0\]\.entities\.opportunities\.path"):
        config_from_dict(data)


def test_what_is_not_a_credential_passes(tmp_path: Path) -> None:
    # Every shipped config loads (ids, hashes, paths, templates and env names are not tokens).
    for path in [*ROOT.glob("examples/*/revgov.toml"), ROOT / "src/revgov/demo/demo_config.toml"]:
        load_config(path)
    for value in [
        "123e4567-e89b-12d3-a456-426614174000",  # a UUID
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a SHA-1
        "exports/2026/opportunities_2026_01_15_full_refresh.csv",
        "{channel}_{region}_{yyyy}{mm}_{name}",
        "HUBSPOT_ACCESS_TOKEN",
        "0061U00000AbCdEfGhIj",  # a Salesforce id
        "Basic sanity of deal names",
    ]:
        assert not looks_like_token(value), value
    cfg = config_from_dict(
        {
            "sources": [
                {
                    "name": "hs",
                    "connector": "hubspot",
                    "options": {"refresh_token_env": "HUBSPOT_REFRESH"},
                }
            ],
        }
    )
    assert cfg.sources[0].options == {"refresh_token_env": "HUBSPOT_REFRESH"}
    source = {"name": "db", "connector": "files", "options": {"base_dir": "${EXPORTS:-data}"}}
    assert config_from_dict({"sources": [source]}).sources[0].name == "db"


def test_config_diff_shows_naming_token_changes() -> None:
    # `tokens` of campaign naming is vocabulary, not a secret: its changes are shown.
    old = {"campaign_naming": {"tokens": {"channel": ["paid", "email"]}}}
    new = {"campaign_naming": {"tokens": {"channel": ["paid", "email", "events"]}}}
    lines = describe_changes(old, new)
    assert lines == ["campaign_naming.tokens.channel: added 'events'"]
    assert describe_changes({"access_token": "a"}, {"access_token": "b"}) == [
        "access_token changed (value redacted)"
    ]


def test_a_file_that_is_not_the_export_is_never_echoed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(QUICKSTART, project)
    private = tmp_path / "notes.txt"
    private.write_text(f"admin:{RANDOM_KEY}:0:0\nsecond line\n", encoding="utf-8")
    config = project / "revgov.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "deals.csv"', f'path = "{private}"'), encoding="utf-8")
    args = ["pull", "-c", str(config), "-s", str(project / "snap"), "--no-progress"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(args) == EXIT_REVGOV_ERROR
    message = err.getvalue()
    assert "[RG403]" in message and "first line is not shown" in message
    assert RANDOM_KEY not in message and "admin" not in message
