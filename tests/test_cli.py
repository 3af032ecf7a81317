"""The command line as a whole: commands load on use (so --help and --version import next to
nothing), the listed help is each command's own, the CLI uses only public APIs, and output
formats come from one vocabulary."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

import revgov
from revgov import _typing
from revgov.cli import COMMANDS, EXIT_USAGE, load_command, main

CLI_DIR = Path(__file__).parents[1] / "src" / "revgov" / "cli"

HEAVY = ("polars", "narwhals", "pydantic", "numpy", "revgov.config", "revgov.metrics")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], []])
def test_help_and_version_load_no_engine(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from revgov.cli import main\n"
        f"code = main({argv!r})\n"
        f"print(code, *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # No arguments prints the help and exits 2 (usage), as before; nothing heavy was loaded.
    assert out.stderr.split() == (["2"] if not argv else ["0"])
    assert ("Usage" in out.stdout) if argv != ["--version"] else (revgov.__version__ in out.stdout)


def test_help_lists_every_command_with_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    shown = " ".join(capsys.readouterr().out.translate({ord("│"): " "}).split())
    for name, (_, line) in COMMANDS.items():
        command = load_command(name)
        own = " ".join((command.help or "").split("\n\n")[0].split())
        assert own == line, f"COMMANDS[{name!r}] says {line!r}; the command says {own!r}"
        assert name in shown and " ".join(line.split()[:6]) in shown


def test_a_command_module_loads_only_when_its_command_runs() -> None:
    code = (
        "import sys\n"
        "from revgov.cli import main\n"
        "main(['snapshot', '--help'])\n"
        "print('revgov.cli.snapshot' in sys.modules, 'revgov.cli.metrics' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["True", "False"]


def _imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("revgov")
        for alias in node.names
    ]


@pytest.mark.parametrize("path", sorted(CLI_DIR.glob("*.py")), ids=lambda p: p.name)
def test_the_cli_uses_only_public_apis(path: Path) -> None:
    for module, name in _imports(path):
        if module.startswith("revgov.cli") or module == "revgov":
            continue
        parts = module.split(".")
        # revgov._typing is the one home of the shared vocabularies (its names are public).
        private = [p for p in parts if p.startswith("_") and p != "_typing"]
        assert not private, f"{path.name} imports {name} from the private module {module}"
        public = importlib.import_module(module).__all__
        assert name in public, f"{path.name} imports {name}, not in {module}.__all__"


def test_each_commands_formats_are_a_subset_of_the_one_vocabulary() -> None:
    every = set(_typing.OUTPUT_FORMATS)
    assert every == set(get_args(_typing.OutputFormat))
    for subset in (_typing.ReportFormat, _typing.TableFormat, _typing.SummaryFormat):
        assert set(get_args(subset)) <= every


@pytest.mark.parametrize(
    ("argv", "refused"),
    [
        (["audit", "-s", "none"], "csv"),
        (["metrics", "-s", "none"], "md"),
        (["forecast", "-s", "none"], "text"),
        (["pull", "-c", "none.toml"], "table"),
        (["snapshot", "info", "none"], "csv"),
    ],
)
def test_a_format_outside_a_commands_subset_is_a_usage_error(
    argv: list[str], refused: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--format", refused]) == EXIT_USAGE
    assert refused in capsys.readouterr().err
