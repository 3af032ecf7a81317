"""``python -m revgov.docgen PAGE`` prints one page; ``python -m revgov.docgen all DIR`` writes all."""

from __future__ import annotations

import sys
from pathlib import Path

from revgov.docgen import PAGES, render_page


def main(argv: list[str]) -> int:
    if argv[:1] == ["all"] and len(argv) == 2:
        for name, (filename, _) in PAGES.items():
            (Path(argv[1]) / filename).write_text(render_page(name), encoding="utf-8")
        return 0
    if len(argv) != 1 or argv[0] not in PAGES:
        print(f"usage: python -m revgov.docgen {'|'.join(PAGES)} | all DIR", file=sys.stderr)
        return 2
    sys.stdout.write(render_page(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
