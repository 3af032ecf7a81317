"""Run an emulator in its own process: for kill-and-resume tests and benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunningEmulator", "spawn"]

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunningEmulator:
    url: str
    ca: str | None
    process: subprocess.Popen[bytes]


@contextmanager
def spawn(
    builder: str,
    state_dir: Path,
    options: Mapping[str, Any] | None = None,
    *,
    tls: bool = True,
    timeout: float = 60.0,
) -> Iterator[RunningEmulator]:
    """Start ``python -m tests.emulator BUILDER`` and yield its URL once it listens."""
    state_dir.mkdir(parents=True, exist_ok=True)
    info_file = state_dir / "emulator.json"
    info_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "tests.emulator", builder, "--state-dir", str(state_dir)]
    for key, value in (options or {}).items():
        cmd += ["--option", f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    if not tls:
        cmd.append("--no-tls")
    log = (state_dir / "emulator.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not info_file.exists():
            if proc.poll() is not None:
                raise RuntimeError(
                    f"emulator exited with {proc.returncode}: "
                    + (state_dir / "emulator.log").read_text(errors="replace")[-2000:]
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"emulator {builder} did not start in {timeout} s")
            time.sleep(0.05)
        info = json.loads(info_file.read_text(encoding="utf-8"))
        yield RunningEmulator(info["url"], info["ca"], proc)
    finally:
        proc.kill()
        proc.wait()
        log.close()
