"""Open a report in headless Chromium (Debian's package, driven by Playwright): console
messages, network requests, screenshots and PDF prints.

Used by the browser tests and to make the README's screenshot::

    python -m tests.reports.browser docs/report-screenshot.png

Playwright never downloads a browser here: it launches /usr/bin/chromium (``scripts/test``
installs it) with background networking off, so the only requests a page makes are its own.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Every chart has been drawn (or has failed, which the tests then see).
ALL_DRAWN = (
    "document.querySelectorAll('.chart').length === "
    "document.querySelectorAll('.chart[data-rendered], .chart[data-error]').length"
)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Chromium is not installed: run scripts/test, which installs it")
    return path


@dataclass
class Visit:
    """What happened while a page was open."""

    page: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def open_report(
    html: Path,
    *,
    color_scheme: Literal["light", "dark"] = "light",
    width: int = 1280,
    height: int = 900,
) -> Iterator[Visit]:
    """``html`` opened from disk, every chart drawn; console and requests recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": width, "height": height}, color_scheme=color_scheme
            )
            visit = Visit(page)
            page.on("console", lambda m: visit.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: visit.errors.append(str(e)))
            page.on("request", lambda r: visit.requests.append(r.url))
            page.goto(html.resolve().as_uri())
            page.wait_for_function(ALL_DRAWN, timeout=30_000)
            yield visit
        finally:
            browser.close()


def screenshot(html: Path, png: Path, *, height: int = 1500) -> Path:
    """The top ``height`` pixels of the page as a PNG."""
    with open_report(html, height=height) as visit:
        visit.page.screenshot(path=str(png))
    return png


def print_pdf(html: Path, pdf: Path) -> int:
    """Print the page to PDF (A4, as a browser prints it) and return its page count."""
    with open_report(html) as visit:
        visit.page.emulate_media(media="print")
        visit.page.pdf(path=str(pdf), format="A4", print_background=False)
    return pdf_pages(pdf)


def pdf_pages(pdf: Path) -> int:
    """Pages of a PDF: the page objects Chromium writes (``/Type /Page``)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


def main(argv: list[str]) -> int:
    """Write the default demo's report to a temporary folder and screenshot it to argv[0]."""
    from revgov.cli import main as revgov

    out = Path(argv[0]) if argv else Path("docs/report-screenshot.png")
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        code = revgov(["demo", "--out", str(demo)])
        if code != 0:
            return code
        screenshot(demo / "report.html", out)
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    sys.exit(main(sys.argv[1:]))
