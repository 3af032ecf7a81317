"""Every TOML block in docs/config-guide.md is a valid config on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from revgov.config import config_from_dict
from revgov.config._errors import parse_toml

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "config-guide.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), re.S)


def test_guide_has_an_example_per_table() -> None:
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_each_block_is_valid(block: str) -> None:
    cfg = config_from_dict(parse_toml(block, path=None))
    assert cfg.config_hash
