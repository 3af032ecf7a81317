"""A snapshot on object storage: an S3 server (moto's server mode, started here on 127.0.0.1)
holds the snapshot; credentials come from the environment only. Pulls, reads, versions,
verify, conditional-write conflicts and concurrent pulls of two sources."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from revgov.config import load_config
from revgov.errors import ConcurrentWriteError
from revgov.model import type_records
from revgov.pull import pull
from revgov.store import SnapshotStore, verify_snapshot

pytestmark = pytest.mark.slow

CONFIG = """\
[[sources]]
name = "{name}"
connector = "files"
options = {{ page_size = 100 }}
[sources.entities.opportunities]
path = "{name}.csv"
"""


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    """An S3 server in its own process (delta-rs holds the GIL while it waits on the network,
    so a server thread in this process would never answer)."""
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    boto3.client("s3").create_bucket(Bucket="revgov")
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(timeout=10)


def _project(root: Path, name: str, n: int, amount: int) -> Path:
    pl.DataFrame(
        {"opportunity_id": [f"{name}-{i}" for i in range(n)], "amount": [str(amount)] * n}
    ).write_csv(root / f"{name}.csv")
    toml = root / f"{name}.toml"
    toml.write_text(CONFIG.format(name=name), encoding="utf-8")
    return toml


def test_pull_read_and_time_travel_on_s3(tmp_path: Path, s3_env: dict[str, str]) -> None:
    uri = "s3://revgov/snap-one"
    toml = _project(tmp_path, "crm", 350, 1)
    pull(load_config(toml), uri, progress=False)
    _project(tmp_path, "crm", 400, 2)
    result = pull(load_config(toml), uri, progress=False)
    assert result.snapshot == uri
    store = SnapshotStore(uri)
    got = store.scan("opportunities").select("opportunity_id", "amount").collect()
    assert got.height == 400 and set(got["amount"]) == {2.0}
    first = SnapshotStore(uri, version=1).scan("opportunities").collect()
    assert first.height == 350 and set(first["amount"]) == {1.0}
    assert [v.rows_added for v in store.history()] == [350, 50]
    assert not [p for c in verify_snapshot(uri) for p in c.problems]
    # Credentials stay in the environment: nothing of them is in the snapshot's logs.
    for run in store.history():
        assert s3_env["AWS_SECRET_ACCESS_KEY"] not in str(run)


def test_conditional_writes_stop_a_second_writer(s3_env: dict[str, str]) -> None:
    """Two writers extending one read at once: the S3 commit of the second is refused."""
    uri = "s3://revgov/snap-cas"
    store = SnapshotStore.create(uri)
    page = type_records("opportunities", [{"opportunity_id": "a"}], source_system="t")
    first = store.begin_read("crm", "opportunities")
    store.stage_page(first, page, cursor="1")
    one, two = store.begin_read("crm", "opportunities"), store.begin_read("crm", "opportunities")
    store.stage_page(one, page, cursor="2")
    with pytest.raises(ConcurrentWriteError, match="another pull"):
        store.stage_page(two, page, cursor="2b")
    store.publish(one)
    assert SnapshotStore(uri).cursor("crm", "opportunities") == "2"


def test_two_sources_pulled_at_once_into_s3_both_land(
    tmp_path: Path, s3_env: dict[str, str]
) -> None:
    uri = "s3://revgov/snap-two"
    env = os.environ | s3_env
    code = "import sys; from revgov.cli import main; sys.exit(main())"
    for round_ in (1, 2):
        procs = []
        for name in ("alpha", "beta"):
            toml = _project(tmp_path, name, 300 + round_, round_)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        code,
                        "pull",
                        "--config",
                        str(toml),
                        "--snapshot",
                        uri,
                        "--no-progress",
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        outcomes = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outcomes
        rows = SnapshotStore(uri).scan("opportunities").collect()
        assert rows.height == 2 * (300 + round_) and set(rows["amount"]) == {float(round_)}
