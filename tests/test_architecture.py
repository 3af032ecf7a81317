"""docs/architecture.md matches the tree: the modules it names exist, and the layers it
draws import only downwards (definitions below rules, metrics and the mapping layer; rules
and metrics never import each other or a connector)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "revgov"
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("revgov")}


def _modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_every_definition_module_in_the_table_exists_and_every_module_is_in_it() -> None:
    table = re.findall(r"^\| `(\w+\.py)` \|", PAGE, re.M)
    on_disk = sorted(p.name for p in (SRC / "definitions").glob("[!_]*.py"))
    assert sorted(table) == on_disk


def test_every_path_the_page_names_exists() -> None:
    """Paths under src/revgov/ (by their tail, e.g. ``packs/``) or the repository root."""
    names = set(re.findall(r"`([\w/]+(?:\.py|/))`", PAGE))
    files = {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")}
    dirs = {p.relative_to(SRC).as_posix() + "/" for p in SRC.rglob("*") if p.is_dir()}
    for name in names:
        if (ROOT / name).exists():
            continue
        if name.endswith("/"):
            assert any(d == name or d.endswith("/" + name) for d in dirs), name
        else:
            assert any(f == name or f.endswith("/" + name) for f in files), name


ALLOWED = {
    # package: what it may import from revgov (any module below these prefixes)
    "definitions": ("revgov.definitions", "revgov.config", "revgov.errors", "revgov._typing"),
    "config": (
        "revgov.config",
        "revgov.definitions",
        "revgov.errors",
        "revgov._typing",
        # Loading binds what plugins define: lazily, inside functions only (checked below).
        "revgov.rules",
        "revgov.connectors",
        "revgov.model",
    ),
}


@pytest.mark.parametrize("package", ["definitions", "config"])
def test_lower_layers_import_only_downwards(package: str) -> None:
    allowed = ALLOWED[package]
    for path in _modules(package):
        for module in _imports(path, top_level_only=False):
            assert module.startswith(allowed), f"{path.relative_to(SRC)} imports {module}"
    if package == "config":
        for path in _modules(package):
            for module in _imports(path, top_level_only=True):
                assert not module.startswith(("revgov.rules", "revgov.connectors")), (
                    f"{path.relative_to(SRC)} imports {module} when imported"
                )


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("rules", ("revgov.metrics", "revgov.connectors", "revgov.cli")),
        ("metrics", ("revgov.rules", "revgov.connectors", "revgov.cli")),
        ("connectors", ("revgov.rules", "revgov.metrics", "revgov.cli")),
        ("demo", ("revgov.rules", "revgov.metrics", "revgov.connectors", "revgov.cli")),
    ],
)
def test_rules_metrics_and_connectors_stay_apart(package: str, forbidden: tuple[str, ...]) -> None:
    for path in _modules(package):
        for module in _imports(path, top_level_only=False):
            assert not module.startswith(forbidden), f"{path.relative_to(SRC)} imports {module}"
