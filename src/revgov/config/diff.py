"""Describe, in words, how two versions of the governed definitions differ."""

from __future__ import annotations

from typing import Any

from revgov.config.secrets import is_secret_key, redact

# Lists whose items have a `name` are compared by name, so reordering is not a change.
_NAMED_LISTS = {"pipelines", "stages", "segments", "rules", "sources"}


def _fmt(value: Any) -> str:
    text = repr(redact(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    if all(isinstance(i, dict) and "name" in i for i in items):
        return {str(i["name"]): i for i in items}
    return None


def describe_changes(old: Any, new: Any, path: str = "") -> list[str]:
    """Recursive structural diff of two JSON-like values, one sentence per change."""
    where = path or "the config"
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in old.keys() | new.keys():
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{sub} was removed (was {_fmt(old[key])})")
            elif key not in old:
                out.append(f"{sub} was added: {_fmt(new[key])}")
            elif is_secret_key(str(key)):
                if old[key] != new[key]:
                    out.append(f"{sub} changed (value redacted)")
            else:
                out.extend(describe_changes(old[key], new[key], sub))
        return sorted(out)
    if isinstance(old, list) and isinstance(new, list):
        leaf = path.rsplit(".", 1)[-1].split("[")[0]
        ko, kn = _keyed(old), _keyed(new)
        if leaf in _NAMED_LISTS and ko is not None and kn is not None:
            out = []
            for name in ko.keys() - kn.keys():
                out.append(f"{path} {name!r} was removed")
            for name in kn.keys() - ko.keys():
                out.append(f"{path} {name!r} was added")
            for name in ko.keys() & kn.keys():
                out.extend(describe_changes(ko[name], kn[name], f"{path}[{name}]"))
            return sorted(out)
        if all(not isinstance(i, dict | list) for i in old + new):
            added = [i for i in new if i not in old]
            removed = [i for i in old if i not in new]
            out = []
            if added:
                out.append(f"{where}: added {', '.join(map(_fmt, added))}")
            if removed:
                out.append(f"{where}: removed {', '.join(map(_fmt, removed))}")
            if not added and not removed and old != new:
                out.append(f"{where}: order changed")
            return out
    if old != new:
        return [f"{where} changed from {_fmt(old)} to {_fmt(new)}"]
    return []
