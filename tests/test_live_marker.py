"""Tests marked ``live`` are deselected unless asked for (``--live`` or ``-m live``)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")
TESTS = """
import pytest

@pytest.mark.live
def test_real_crm():
    pass

def test_offline():
    pass
"""


@pytest.mark.parametrize(
    ("args", "passed", "deselected"),
    [((), 1, 1), (("--live",), 2, 0), (("-m", "live"), 1, 1), (("-m", "not live"), 1, 1)],
)
def test_live_tests_run_only_when_asked(
    pytester: pytest.Pytester, args: tuple[str, ...], passed: int, deselected: int
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    live: talks to a real CRM\n")
    pytester.makepyfile(test_marked=TESTS)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=passed, deselected=deselected)
