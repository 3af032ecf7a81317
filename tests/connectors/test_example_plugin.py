"""The example third-party connector (examples/tinycrm_connector) installed with pip, found
through its entry point, and pulled from by `revgov pull`, faults included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.emulator.process import REPO_ROOT
from tests.emulator.server import Emulator, Fault, Request, Response

from revgov.store import SnapshotStore

EXAMPLE = REPO_ROOT / "examples" / "tinycrm_connector"
TOKEN = "tinycrm-test-key"


def _records(kind: str, n: int) -> list[dict[str, object]]:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    out: list[dict[str, object]] = []
    for i in range(1, n + 1):
        row: dict[str, object] = {
            "id": i,
            "owner_id": 7 + i % 3,
            "add_time": (base + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
            "update_time": (base + timedelta(hours=i, minutes=5))
            .isoformat()
            .replace("+00:00", "Z"),
        }
        if kind == "organizations":
            row |= {"name": f"Org {i}", "tier": ["smb", "mid", "ent"][i % 3]}
        else:
            row |= {
                "title": f"Deal {i}",
                "org_id": 1 + i % 40,
                "stage": "Demo",
                "currency": "EUR",
                "value": "not a number" if i == 13 else 1000 * i,
            }
        out.append(row)
    return out


@pytest.fixture
def tinycrm() -> Iterator[Emulator]:
    """TinyCRM's API: Pipedrive-style offset paging, a token header."""
    data = {"organizations": _records("organizations", 250), "deals": _records("deals", 120)}

    def page(request: Request) -> Response:
        if request.header("x-api-token") != TOKEN:
            return Response.json({"success": False, "error": "unauthorized"}, 401)
        rows = data[request.params["kind"]]
        since = request.arg("since")
        rows = [r for r in rows if since is None or str(r["update_time"]) >= since]
        start, limit = int(request.arg("start", "0") or 0), int(request.arg("limit", "100") or 100)
        more = start + limit < len(rows)
        paging = {"start": start, "limit": limit, "more_items_in_collection": more}
        if more:
            paging["next_start"] = start + limit
        return Response.json(
            {
                "success": True,
                "data": rows[start : start + limit],
                "additional_data": {"pagination": paging},
            }
        )

    with Emulator(tls=False) as emulator:
        emulator.add("GET", r"/v1/(?P<kind>organizations|deals)", page)
        yield emulator


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed with pip into a directory of its own (no index: offline)."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(EXAMPLE, source)  # pip builds in the tree: keep the repository clean
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    assert (target / "tinycrm_revgov").is_dir()
    assert list(target.glob("tinycrm_revgov-0.1.0.dist-info/entry_points.txt"))
    return target


def _revgov(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO_ROOT)]),
        "TINYCRM_TOKEN": TOKEN,
    }
    code = "import sys; from revgov.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_installed_example_is_found_and_pulled(
    installed: Path, tinycrm: Emulator, tmp_path: Path
) -> None:
    config = tmp_path / "revgov.toml"
    config.write_text(
        "\n".join(
            [
                "[[sources]]",
                'name = "tiny"',
                'connector = "tinycrm"',
                f'options = {{ base_url = "{tinycrm.url}", page_size = 40 }}',
                "[sources.entities.accounts.columns]",
                'segment = "tier"',
                "[sources.entities.opportunities]",
            ]
        ),
        encoding="utf-8",
    )
    checked = _revgov(["config", "check", str(config)], installed, tmp_path)
    assert checked.returncode == 0, checked.stderr
    tinycrm.inject(
        Fault(
            status=429,
            body={"success": False},
            headers={"Retry-After": "0"},
            path="/v1/deals",
            after=1,
        ),
        Fault(status=503, path="/v1/organizations", after=2),
        Fault(kind="drop", path="/v1/organizations", after=4),
    )
    pulled = _revgov(
        ["pull", "--config", str(config), "--no-progress", "--format", "json"], installed, tmp_path
    )
    assert pulled.returncode == 0, pulled.stderr
    result = {e["entity"]: e for e in json.loads(pulled.stdout)["entities"]}
    assert result["accounts"]["rows_typed"] == 250
    assert (result["opportunities"]["rows_typed"], result["opportunities"]["rows_quarantined"]) == (
        119,
        1,
    )
    assert tinycrm.faults_fired() == 3  # each retried by the shared layer
    store = SnapshotStore(tmp_path / "revgov-snapshot")
    accounts = store.scan("accounts").collect()
    assert set(accounts["segment"]) == {"smb", "mid", "ent"}
    assert set(accounts["source_system"]) == {"tinycrm"}
    cursor = json.loads(store.cursor("tiny", "accounts") or "{}")
    assert cursor == {"since": "2024-03-11T10:05:00Z"}  # the next pull asks for newer changes only


def test_without_the_package_the_name_is_unknown(tmp_path: Path) -> None:
    config = tmp_path / "revgov.toml"
    config.write_text('[[sources]]\nname = "tiny"\nconnector = "tinycrm"\n', encoding="utf-8")
    checked = _revgov(["config", "check", str(config)], tmp_path / "nothing-installed", tmp_path)
    assert checked.returncode != 0
    assert "unknown connector 'tinycrm'" in checked.stderr
