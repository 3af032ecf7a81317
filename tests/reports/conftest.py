"""Fixtures of the report tests: a written demo, its run history, a PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from revgov.demo import DemoOutput, write_demo

PG_PASSWORD = "s3cret-pg-password"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutput:
    """A small demo (2,500 people) written to disk, shared by the report tests (read-only:
    tests that record runs copy it first)."""
    return write_demo(tmp_path_factory.mktemp("reports") / "demo", scale=0.05, seed=11)


@pytest.fixture
def demo_copy(demo: DemoOutput, tmp_path: Path) -> Path:
    """A private copy of the demo directory (its snapshot gets a run history)."""
    target = tmp_path / "demo"
    shutil.copytree(demo.out_dir, target)
    return target


def hostile_html(demo_dir: Path, as_of: datetime, evil: str) -> str:
    """The audit report's HTML after every user's team became ``evil`` (markup from the CRM)."""
    import polars as pl

    from revgov.config import load_config
    from revgov.reports import build_report
    from revgov.store import SnapshotStore

    store = SnapshotStore(demo_dir / "snapshot")
    users = store.scan("users").collect()
    store.commit({"users": users.with_columns(pl.lit(evil).alias("team"))})
    cfg = load_config(demo_dir / "revgov.toml")
    return build_report(SnapshotStore(demo_dir / "snapshot").frames(), cfg, as_of=as_of).to_html()


@pytest.fixture(scope="session")
def as_of(demo: DemoOutput) -> datetime:
    return datetime.fromisoformat(str(demo.data.manifest["as_of"]))


def _pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True)
        if (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed: run scripts/test, which installs it")
    return versions[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[tuple[str, int]]:
    """A PostgreSQL server of a fresh cluster on 127.0.0.1 (user ``revgov``, password
    :data:`PG_PASSWORD`): yields (host, port); stopped and deleted after the session.

    PostgreSQL refuses to run as root, so as root the cluster belongs to ``postgres``."""
    bindir = _pg_bindir()
    base = Path(tempfile.mkdtemp(prefix="revgov-pg-"))
    base.chmod(0o755)
    root = os.geteuid() == 0
    if root:
        shutil.chown(base, "postgres")

    def run(*cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if root else list(cmd)
        subprocess.run(full, check=True, capture_output=True, timeout=120)

    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORD, encoding="utf-8")
    if root:
        shutil.chown(pwfile, "postgres")
    data, port = base / "data", _free_port()
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "revgov",
        "-A",
        "scram-sha-256",
        f"--pwfile={pwfile}",
        "-E",
        "UTF8",
        "--no-sync",
    )
    opts = f"-h 127.0.0.1 -p {port} -k {base} -F"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w", "start")
    try:
        yield "127.0.0.1", port
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: tuple[str, int]) -> Iterator[str]:
    """A URL of a new, empty database on the session's server."""
    import psycopg

    host, port = postgres
    name = f"t{os.getpid()}_{_free_port()}"
    admin = f"postgresql://revgov:{PG_PASSWORD}@{host}:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}".encode())
    yield f"postgresql://revgov:{PG_PASSWORD}@{host}:{port}/{name}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE {name} WITH (FORCE)".encode())
