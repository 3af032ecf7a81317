"""docs/plays.md: its Python examples run as written, and its TOML example loads."""

from __future__ import annotations

import re
from pathlib import Path

from revgov.config import config_from_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "plays.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_python_examples_run_in_order() -> None:
    namespace: dict[str, object] = {}
    blocks = _blocks("python")
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert namespace["result"].verdict == "scale"  # type: ignore[attr-defined]


def test_the_toml_example_is_a_valid_play() -> None:
    (toml,) = _blocks("toml")
    play = config_from_text(toml).play("smb-meetings")
    assert play.primary_kpi == "meeting_rate" and play.control.share == 0.3
