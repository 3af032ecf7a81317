"""No internal errors (issue 12, item 3): every failure a user can cause by input or
environment is a revgov error with a code, the offending value and the fix (exit 3), never an
internal error (exit 4) or a traceback. The last test feeds generated CSV exports through
``pull``, ``audit`` and ``metrics``."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from revgov import audit
from revgov.cli import EXIT_INTERNAL, EXIT_REVGOV_ERROR, main
from revgov.config import load_config
from revgov.demo import generate

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"


def _run(*args: str) -> tuple[int, str, str]:
    """``revgov ARGS`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the quickstart project (config and exports)."""
    shutil.copytree(QUICKSTART, tmp_path / "project")
    return tmp_path / "project"


def _assert_answered(code: int, err: str, error_code: str) -> None:
    assert code == EXIT_REVGOV_ERROR, err
    assert f"[{error_code}]" in err and "fix:" in err, err
    assert "internal error" not in err and "Traceback" not in err


# -- the config --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"[company]\nname = 'x'\n" + b"\x89PNG\r\n\x1a\n" + bytes(range(256)), 3),
        (b"\x00" * 300, 1),
        (b'[company]\nname = "a' + b"\x00" * 100 + b'"\n', 2),
        ("[company]\nname = 'Müller'\n".encode("latin-1"), 2),
    ],
    ids=["binary", "all-nul", "nul-in-value", "latin-1"],
)
def test_a_config_that_is_not_utf8_text_is_a_syntax_error_naming_its_line(
    tmp_path: Path, content: bytes, line: int
) -> None:
    path = tmp_path / "revgov.toml"
    path.write_bytes(content)
    for command in (["config", "check", str(path)], ["audit", "-c", str(path)]):
        code, _, err = _run(*command)
        _assert_answered(code, err, "RG101")
        assert f"revgov.toml:{line}:" in err
        # The bytes are never echoed (escaped or not).
        assert "\\x00" not in err and "\x00" not in err and "PNG" not in err


def test_a_bad_opportunity_min_stage_names_its_line_without_dumping_the_config(
    project: Path,
) -> None:
    config = project / "revgov.toml"
    text = config.read_text(encoding="utf-8")
    assert 'opportunity_min_stage = "Demo"' in text
    config.write_text(text.replace('min_stage = "Demo"', 'min_stage = "Demoo"'), encoding="utf-8")
    line = 1 + text.splitlines().index('opportunity_min_stage = "Demo"')
    code, _, err = _run("config", "check", str(config))
    _assert_answered(code, err, "RG102")
    assert f"revgov.toml:{line}: qualified.opportunity_min_stage" in err
    assert "did you mean 'Demo'?" in err
    assert "CompanyConfig" not in err and "Acme" not in err and len(err.splitlines()) <= 4


# -- the snapshot and output paths -------------------------------------------------------


def test_a_snapshot_path_that_is_a_file(project: Path) -> None:
    afile = project / "deals.csv"
    code, _, err = _run("pull", "-c", str(project / "revgov.toml"), "-s", str(afile))
    _assert_answered(code, err, "RG307")
    assert "is a file, not a directory" in err
    code, _, err = _run("audit", "-s", str(afile))
    _assert_answered(code, err, "RG301")
    assert "is a file, not a snapshot directory" in err
    code, _, err = _run("pull", "-c", str(project / "revgov.toml"), "-s", str(afile / "snap"))
    _assert_answered(code, err, "RG307")


def test_a_read_only_snapshot_is_refused_before_the_pull_writes(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, snap = str(project / "revgov.toml"), project / "snap"
    assert _run("pull", "-c", config, "-s", str(snap), "--no-progress")[0] == 0
    before = sorted(p.relative_to(snap) for p in snap.rglob("*"))
    modes = {p: p.stat().st_mode for p in [snap, *snap.rglob("*")]}
    for p in [snap, *snap.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)
    if os.geteuid() == 0:
        # root writes through permission bits: make the write check meet what any other user
        # meets on this directory (the kernel's EACCES).
        def refused(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("revgov.store.snapshot.tempfile.mkstemp", refused)
    try:
        code, _, err = _run("pull", "-c", config, "-s", str(snap), "--no-progress")
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    _assert_answered(code, err, "RG307")
    assert "Permission denied" in " ".join(err.split()) and str(snap) in err
    assert sorted(p.relative_to(snap) for p in snap.rglob("*")) == before


def test_findings_out_into_a_missing_folder_is_refused_before_the_audit(
    project: Path, tmp_path: Path
) -> None:
    config, snap = str(project / "revgov.toml"), str(project / "snap")
    assert _run("pull", "-c", config, "-s", snap, "--no-progress")[0] == 0
    target = tmp_path / "missing" / "findings.csv"
    code, out, err = _run("audit", "-s", snap, "--findings-out", str(target))
    _assert_answered(code, err, "RG704")
    assert "the folder" in err and "does not exist" in err and out == ""
    # A report --out whose folder cannot exist (its parent is a file).
    blocked = project / "deals.csv" / "report.html"
    code, _, err = _run("report", "-s", snap, "--out", str(blocked), "--no-record")
    _assert_answered(code, err, "RG704")
    assert "report.html" in err and "File exists" in err


# -- the library and the CLI's own options -----------------------------------------------


def test_audit_takes_the_config_positionally() -> None:
    data = generate(0.02, 3)
    frames = {e: f.lazy() for e, f in data.frames.items()}
    moment = datetime.fromisoformat(str(data.manifest["as_of"]))
    positional = audit(frames, data.config, as_of=moment)
    keyword = audit(frames, config=data.config, as_of=moment)
    assert positional.config_hash == keyword.config_hash == data.config.config_hash
    assert positional.summary() == keyword.summary()
    with pytest.raises(Exception, match="two configs") as info:
        audit(frames, data.config, config=data.config)
    assert getattr(info.value, "code", None) == "RG501"


def test_debug_is_shown_and_taken_as_a_flag(project: Path) -> None:
    code, out, _ = _run("--help")
    assert code == 0
    line = next(x for x in out.splitlines() if "--debug" in x)
    assert "<bool>" not in line and "Show tracebacks" in line
    code, out, _ = _run("audit", "--help")
    assert "<bool>" not in out
    # A revgov error with --debug: the traceback, then the same answer and exit code.
    code, _, err = _run("--debug", "audit", "-s", str(project / "nowhere"))
    assert code == EXIT_REVGOV_ERROR and "[RG301]" in err


# -- generated exports -------------------------------------------------------------------

HEADER = [
    "Deal ID",
    "Deal Name",
    "Company ID",
    "Deal Stage",
    "Amount",
    "Close Date",
    "Create Date",
    "Deal Owner",
    "Deal Type",
    "Lead Source",
    "Forecast Category",
]
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "D-1",
            "D-2",
            "A-001",
            "Closed - Won",
            "Demo",
            "Negotiation",
            "48000",
            "1,200.50",
            "1.200",
            "(12)",
            "$5",
            "NaN",
            "inf",
            "-0",
            "2026-02-27",
            "2024-03-01T23:30-0500",
            "31/12/2025",
            "Müller",
            "New Business",
            " ",
            '"',
            "a,b",
            "x\ny",
        ]
    ),
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12),
    st.text('ab;,\t"\r\n ', max_size=6),
)
_ROWS = st.lists(
    st.lists(_CELLS, min_size=len(HEADER) - 3, max_size=len(HEADER) + 2),
    min_size=0,
    max_size=12,
)


def _export(rows: list[list[str]], separator: str, encoding: str, garbage: bytes) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\n")
    writer.writerow(HEADER)
    for i, row in enumerate(rows):
        writer.writerow([f"D-{i}" if j == 0 and not cell else cell for j, cell in enumerate(row)])
    data = out.getvalue().encode(encoding, errors="replace")
    return data + garbage


@seed(20261204)
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=_ROWS,
    separator=st.sampled_from([",", ",", ",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]),
    declared=st.booleans(),
    garbage=st.sampled_from([b""] * 6 + [b"\x00\x01\xff", b"\n\n", b"\xef\xbb\xbf"]),
)
def test_generated_exports_never_end_in_an_internal_error(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    separator: str,
    encoding: str,
    declared: bool,
    garbage: bytes,
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(QUICKSTART, root, dirs_exist_ok=True)
    (root / "deals.csv").write_bytes(_export(rows, separator, encoding, garbage))
    if declared:
        # The export's separator and encoding set on its entity, as a user who knows them would.
        _declare(root / "revgov.toml", separator, encoding)
    config, snap = str(root / "revgov.toml"), str(root / "snap")
    code, out, err = _run("pull", "-c", config, "-s", snap, "--no-progress", "--format", "json")
    assert code in (0, EXIT_REVGOV_ERROR), err
    assert code != EXIT_INTERNAL and "Traceback" not in err and "internal error" not in err
    if code == EXIT_REVGOV_ERROR:
        assert err.startswith("error [RG") and "fix:" in err, err
        return
    summary = json.loads(out)
    deals = [e for e in summary["entities"] if e["entity"] == "opportunities"]
    # Every record of the export is typed or quarantined, none lost or invented.
    assert sum(e["rows_typed"] + e["rows_quarantined"] for e in deals) == _records(
        root, separator, encoding
    )
    for command in (
        ["audit", "-s", snap, "-f", "json", "--fail-on", "never", "--no-record"],
        ["metrics", "-s", snap, "-f", "json", "--as-of", "2026-07-01"],
    ):
        code, out, err = _run(*command)
        assert code == 0, err
        json.loads(out)


def _declare(config: Path, separator: str, encoding: str) -> None:
    text = config.read_text(encoding="utf-8")
    entity = '[sources.entities.opportunities]\npath = "deals.csv"\n'
    assert entity in text
    names = {"utf-8-sig": "utf8", "utf-8": "utf8"}
    options = f"separator = {json.dumps(separator)}\nencoding = {json.dumps(names.get(encoding, encoding))}\n"
    config.write_text(text.replace(entity, entity + options), encoding="utf-8")


def _records(root: Path, separator: str, encoding: str) -> int:
    """Data records of the export as Python's csv module reads it. A blank line counts: the
    files connector reads it as a record and quarantines it (no primary key), so it is seen."""
    data = (root / "deals.csv").read_bytes()
    text = data.decode(encoding if encoding != "utf-8" else "utf-8-sig", errors="replace")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=separator)) - 1


def test_the_generated_exports_reach_the_audit(tmp_path: Path) -> None:
    """The fuzz test's happy path is a real one: a clean generated export pulls, audits and
    measures (so the fuzz test does not pass by failing every pull)."""
    rows = [["", "Acme", "A-001", "Demo", "48000", "2026-02-27", "2025-10-06", "ana", "", "", ""]]
    shutil.copytree(QUICKSTART, tmp_path, dirs_exist_ok=True)
    (tmp_path / "deals.csv").write_bytes(_export(rows * 3, ",", "utf-8", b""))
    code, out, err = _run(
        "pull", "-c", str(tmp_path / "revgov.toml"), "-s", str(tmp_path / "s"), "--format", "json"
    )
    assert code == 0, err
    deals = [e for e in json.loads(out)["entities"] if e["entity"] == "opportunities"]
    assert [(e["rows_typed"], e["rows_quarantined"]) for e in deals] == [(3, 0)]
    assert pl.read_csv(tmp_path / "deals.csv").height == 3
    assert load_config(tmp_path / "revgov.toml").config_hash
