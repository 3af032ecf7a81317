"""Reference pages generated from the code, so they cannot drift from it.

    python -m revgov.docgen model     > docs/model.md
    python -m revgov.docgen config    > docs/config.md
    python -m revgov.docgen rules     > docs/rules.md
    python -m revgov.docgen maturity  > docs/maturity.md
    python -m revgov.docgen metrics   > docs/metrics.md
    python -m revgov.docgen all docs  # every page, written into the docs folder

Tests regenerate each page and compare it with the committed file.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PAGES", "render_page"]


def _model() -> str:
    from revgov.docgen.reference import model_reference

    return model_reference() + "\n"


def _config() -> str:
    from revgov.docgen.reference import config_reference

    return config_reference() + "\n"


def _rules() -> str:
    from revgov.docgen.rules_page import rules_page

    return rules_page() + "\n"


def _maturity() -> str:
    from revgov.docgen.rules_page import maturity_page

    return maturity_page() + "\n"


def _metrics() -> str:
    from revgov.docgen.metrics_page import render

    return render()


#: Page name to (file under docs/, renderer).
PAGES: dict[str, tuple[str, Callable[[], str]]] = {
    "model": ("model.md", _model),
    "config": ("config.md", _config),
    "rules": ("rules.md", _rules),
    "maturity": ("maturity.md", _maturity),
    "metrics": ("metrics.md", _metrics),
}


def render_page(name: str) -> str:
    """The full text of one generated page."""
    return PAGES[name][1]()
