"""docs/exports.md runs as written: its commands, its config edits, and the rules it says fail.

The page marks what the test does with each block by an HTML comment before it:
``<!-- run: VENDOR -->`` (console commands, run in order from a copy of the repository's
``examples/``), ``<!-- replace: VENDOR stale_days -->`` (the line replaces the config's
``stale_days`` line), ``<!-- append: VENDOR -->`` (appended to the config) and
``<!-- failing: VENDOR -->`` (the rule ids listed fail in that vendor's audit).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from revgov.cli import main

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "exports.md"
MARKER = re.compile(r"^<!-- (run|replace|append|failing): (\w+)(?: [\w ]+)? -->$")
CONFIGS = {"salesforce": "revgov.toml", "hubspot": "hubspot.toml"}
RULE_ID = re.compile(r"`(\w+\.\w+)`")


def _steps() -> list[tuple[str, str, list[str]]]:
    """(action, vendor, lines) for each marked block or list, in page order."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    steps: list[tuple[str, str, list[str]]] = []
    i = 0
    while i < len(lines):
        match = MARKER.match(lines[i])
        i += 1
        if not match:
            continue
        action, vendor = match.groups()
        body: list[str] = []
        if action == "failing":
            while i < len(lines) and (lines[i].startswith(("- ", "  ")) or not body):
                body.append(lines[i])
                i += 1
        else:
            assert lines[i].startswith("```"), f"a code block follows {lines[i - 1]}"
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
        steps.append((action, vendor, body))
    return steps


def test_the_page_marks_both_walkthroughs() -> None:
    actions = {(a, v) for a, v, _ in _steps()}
    for vendor in CONFIGS:
        assert {("run", vendor), ("replace", vendor), ("failing", vendor)} <= actions


def test_exports_walkthrough_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("salesforce_export", "hubspot_export"):
        shutil.copytree(ROOT / "examples" / name, tmp_path / "examples" / name)
    monkeypatch.chdir(tmp_path)
    for action, vendor, body in _steps():
        config = tmp_path / CONFIGS[vendor]
        if action == "run":
            for line in body:
                assert line.startswith("$ revgov "), line
                args = shlex.split(line[2:])[1:]
                code = main(args)
                # An audit exits 1 when rules fail, as the page says.
                assert code in ((0, 1) if args[0] == "audit" else (0,)), (line, code)
        elif action == "replace":
            (line,) = body
            text = config.read_text(encoding="utf-8")
            pattern = re.compile(r"^stale_days = .*$", flags=re.M)
            text, n = pattern.subn(line.replace("\\", "\\\\"), text, count=1)
            assert n == 1, "init writes a stale_days line to replace"
            config.write_text(text, encoding="utf-8")
        elif action == "append":
            with config.open("a", encoding="utf-8") as fh:
                fh.write("\n" + "\n".join(body) + "\n")
        else:
            named = [m for line in body for m in RULE_ID.findall(line)]
            assert named
            capsys.readouterr()
            as_of = "2026-06-01T00:00:00+00:00"
            main(
                [
                    "audit",
                    "--config",
                    str(config),
                    "--as-of",
                    as_of,
                    "-f",
                    "json",
                    "--fail-on",
                    "never",
                ]
            )
            report = json.loads(capsys.readouterr().out)
            status = {r["id"]: r["status"] for r in report["rules"]}
            assert {rule: status.get(rule) for rule in named} == dict.fromkeys(named, "fail")
