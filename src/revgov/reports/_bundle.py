"""The charting library's JavaScript, inlined in every HTML report.

vl-convert bundles Vega, Vega-Lite and Vega-Embed into one script with no external
dependencies (about 0.9 MB). Bundling takes about 1.5 s of CPU, so the result is cached on
disk per vl-convert version (``$REVGOV_CACHE_DIR``, else ``$XDG_CACHE_HOME/revgov``, else
``~/.cache/revgov``) and in memory per process; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from importlib.metadata import version
from pathlib import Path

__all__ = ["cache_dir", "vega_bundle", "vega_versions"]


def cache_dir() -> Path:
    override = os.environ.get("REVGOV_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "revgov"


def vega_versions() -> dict[str, str]:
    """The versions of the inlined libraries (stamped on the report)."""
    import vl_convert as vlc

    return {
        "vl-convert": version("vl-convert-python"),
        "vega": vlc.get_vega_version(),
        "vega-lite": vlc.get_vegalite_versions()[-1],
        "vega-embed": vlc.get_vega_embed_version(),
    }


@cache
def vega_bundle() -> str:
    """The bundled script; ``</script`` never occurs in it (checked: it would end the tag)."""
    key = hashlib.sha256(repr(sorted(vega_versions().items())).encode()).hexdigest()[:16]
    path = cache_dir() / f"vega-bundle-{key}.js"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    if not text:
        import vl_convert as vlc

        text = vlc.javascript_bundle(None)  # type: ignore[arg-type]  # None: the default snippet
        _write_quietly(path, text)
    if "</script" in text.lower():  # pragma: no cover - a new vl-convert release would show it
        raise RuntimeError("the Vega bundle contains '</script' and cannot be inlined")
    return text


def _write_quietly(path: Path, text: str) -> None:
    """Write atomically (a reader never sees half a file); a read-only home is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vega-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except OSError:
        return
