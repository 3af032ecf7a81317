"""The top-level API: what `import revgov` offers, and that it stays cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import revgov


def test_every_public_name_resolves() -> None:
    for name in revgov.__all__:
        assert getattr(revgov, name) is not None, name


def test_heavy_parts_load_on_first_use() -> None:
    code = (
        "import sys, revgov; print('revgov.rules' in sys.modules, 'revgov.metrics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="nope"):
        getattr(revgov, "nope")  # noqa: B009
