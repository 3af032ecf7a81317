"""``python -m tests.emulator MODULE:BUILDER --state-dir DIR [--option KEY=VALUE ...]``.

Builds an :class:`~tests.emulator.server.Emulator` with ``BUILDER(emulator, **options)``,
writes ``DIR/emulator.json`` (its URL and CA bundle) once it listens, and serves until killed.
Option values are parsed as JSON when they can be (numbers, booleans), else kept as text.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from tests.emulator.server import Emulator


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator")
    parser.add_argument("builder", help="module:function that registers the vendor's routes")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-tls", action="store_true")
    args = parser.parse_args()
    module, _, name = args.builder.partition(":")
    build = getattr(importlib.import_module(module), name)
    options = {k: _value(v) for k, _, v in (o.partition("=") for o in args.option)}
    emulator = Emulator(tls=not args.no_tls)
    build(emulator, **options)
    info = {"url": emulator.url, "ca": str(emulator.ca_pem) if emulator.ca_pem else None}
    tmp = args.state_dir / "emulator.json.tmp"
    tmp.write_text(json.dumps(info), encoding="utf-8")
    tmp.replace(args.state_dir / "emulator.json")
    emulator.serve_forever()


if __name__ == "__main__":
    main()
