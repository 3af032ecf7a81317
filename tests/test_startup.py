"""What loads at start: `import revgov` nothing heavy, `import revgov.rules` not the packs
(an audit with rules of its own never needs them). Timings are in benchmarks/bench_startup.py;
these tests check which modules load, which does not depend on the machine."""

from __future__ import annotations

import subprocess
import sys


def _loaded(code: str, modules: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys\nprint(*[m for m in {modules!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_revgov_loads_no_engine_nor_pydantic() -> None:
    heavy = ("polars", "narwhals", "pydantic", "revgov.config", "revgov.store", "revgov.model")
    assert _loaded("import revgov", heavy) == []
    assert _loaded("import revgov; revgov.__version__", heavy) == []


def test_a_public_name_loads_its_module_on_first_use() -> None:
    assert _loaded("import revgov; revgov.Config", ("revgov.config", "revgov.rules")) == [
        "revgov.config"
    ]


def test_import_revgov_rules_leaves_the_packs_until_they_run() -> None:
    lazy = ("revgov.rules.packs", "revgov.rules._naming")
    assert _loaded("import revgov.rules", lazy) == []
    assert _loaded("from revgov.rules import builtin_rules", lazy) == list(lazy)
    code = (
        "import polars as pl\n"
        "from revgov.rules import audit, kinds\n"
        "audit({'x': pl.LazyFrame({'id': [1, None]})}, [kinds.required('x.id', 'x', ['id'])],"
        " keys={'x': 'id'})"
    )
    assert _loaded(code, lazy) == []
