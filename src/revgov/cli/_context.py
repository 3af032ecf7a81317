"""What the commands that read a snapshot share: finding the config, the reference time of a
demo snapshot, reading ``--as-of``, and choosing the snapshot version (``--version N`` or
``--at TIME``) that they read and stamp on their output.

``revgov audit``, ``revgov metrics``, ``revgov forecast`` and ``revgov report`` resolve these
the same way (:func:`open_with_definitions`), so a snapshot gives the same definitions, the
same ``as_of`` and the same data to each of them. Without ``--config`` they use the
definitions the snapshot was pulled with (saved in it by the pull), not whatever revgov.toml
happens to be in the working directory; a config whose hash differs from the snapshot's stamp
is a warning in every output, and an error (RG104) with ``--strict``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from revgov.config import Config, config_from_dict, load_config
from revgov.errors import ConfigMismatchError
from revgov.store import SnapshotStore

__all__ = [
    "AtOpt",
    "ConfigOpt",
    "Definitions",
    "SnapshotOpt",
    "StrictOpt",
    "VersionOpt",
    "demo_as_of",
    "find_config",
    "open_snapshot",
    "open_with_definitions",
    "parse_as_of",
    "quarantine_line",
    "stamp_line",
]

#: ``--version N`` of the commands that read a snapshot.
VersionOpt = Annotated[
    int | None,
    typer.Option(
        "--version",
        min=1,
        help="Read this version of the snapshot (see `revgov snapshot history`; default: latest).",
    ),
]
#: ``--at TIME`` of the commands that read a snapshot.
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Read the snapshot as it was at this time (ISO, UTC without a zone).",
    ),
]

#: ``--config`` of the commands that read a snapshot (found as :func:`find_config` says).
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="The governed definitions (default: those the snapshot was pulled with, else "
        "./revgov.toml, else the one beside the snapshot).",
    ),
]
#: ``--strict`` of the commands that read a snapshot.
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Fail (RG104) when the config is not the one the snapshot was pulled with.",
    ),
]
#: ``--snapshot`` of every command that reads or writes one.
SnapshotOpt = Annotated[
    Path | None,
    typer.Option(
        "--snapshot",
        "-s",
        help="Snapshot directory (default: revgov-snapshot/ beside the config).",
    ),
]


def find_config(config: Path | None, snapshot: Path | None) -> Config:
    """``config`` if given; else ./revgov.toml, else the revgov.toml beside ``snapshot``;
    else the default definitions (``Config()``, whose ``path`` is None)."""
    if config is not None:
        return load_config(config)
    candidates = [Path("revgov.toml")]
    if snapshot is not None:
        candidates.append(snapshot.parent / "revgov.toml")
    for c in candidates:
        if c.is_file():
            return load_config(c)
    return Config()


@dataclass(frozen=True)
class Definitions:
    """The config a command reads a snapshot with, where it came from, and the warning to
    print in every output when it is not the one the snapshot was pulled with."""

    config: Config
    #: "--config", "snapshot" (saved by its pull), "revgov.toml" (found) or "default".
    origin: str
    warning: str | None = None

    def warnings(self) -> list[str]:
        return [self.warning] if self.warning else []


def _pulled_with(store: SnapshotStore) -> Config | None:
    """The definitions saved in the snapshot for the hash it is stamped with, if any."""
    stamped = store.config_hash
    data = store.stored_config(stamped) if stamped is not None else None
    if data is None or stamped is None:
        return None
    cfg = config_from_dict(data)
    cfg._path = Path(store.config_file(stamped))
    return cfg


def open_with_definitions(
    config: Path | None,
    snapshot: Path | None,
    version: int | None = None,
    at: str | None = None,
    *,
    strict: bool = False,
) -> tuple[Definitions, SnapshotStore]:
    """The snapshot (``--snapshot``, else the one beside the config found) and the config to
    read it with: ``--config``, else the one the snapshot was pulled with, else the one
    :func:`find_config` finds. A hash that differs from the snapshot's stamp is a warning,
    or :class:`~revgov.errors.ConfigMismatchError` when ``strict``."""
    from revgov.pull import default_snapshot_dir

    found = find_config(config, snapshot)
    path = snapshot if snapshot is not None else default_snapshot_dir(found)
    store = open_snapshot(path, version, at)
    cfg, origin = found, "--config" if config is not None else "revgov.toml"
    if config is None:
        pulled = _pulled_with(store)
        if pulled is not None:
            cfg, origin = pulled, "snapshot"
        elif found.path is None:
            origin = "default"
    stamped = store.config_hash
    if stamped is None or stamped == cfg.config_hash:
        return Definitions(cfg, origin), store
    if origin == "snapshot":
        # The saved definitions, validated by this revgov, no longer give the stamped hash
        # (a newer schema adds defaults): the numbers may differ from the pull's.
        message = (
            f"the definitions saved in {store.uri} now hash to {cfg.config_hash}, not "
            f"{stamped} as stamped at the pull: this revgov reads them with other defaults"
        )
        fix = "pull again to stamp the snapshot with this revgov's definitions"
        if strict:
            raise ConfigMismatchError(message, hint=fix)
        return Definitions(cfg, origin, f"{message}; {fix}"), store
    where = str(cfg.path) if cfg.path is not None else "the default definitions"
    message = (
        f"config hash {cfg.config_hash} ({where}) differs from the snapshot's {stamped}: "
        f"{store.uri} was pulled with other definitions"
    )
    fix = (
        "omit --config to use the definitions the snapshot was pulled with, or pull again "
        "with this config"
        if store.stored_config(stamped) is not None
        else "pass the config the snapshot was pulled with, or pull again with this one"
    )
    if strict:
        raise ConfigMismatchError(message, hint=fix)
    return Definitions(cfg, origin, f"{message}; {fix}"), store


def demo_as_of(snapshot: Path) -> datetime | None:
    """The reference time of a demo snapshot (demo_manifest.json beside it)."""
    manifest = snapshot.parent / "demo_manifest.json"
    if not manifest.is_file():
        return None
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("as_of")
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except (ValueError, OSError):
        return None


def parse_as_of(text: str, *, option: str = "--as-of") -> datetime:
    """``--as-of`` (or ``option``) as an aware UTC datetime (a time without a zone is UTC); a
    bad value is a usage error."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or time (e.g. 2026-07-01 or 2026-07-01T00:00:00Z)",
            param_hint=option,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def open_snapshot(
    snapshot: str | Path, version: int | None = None, at: str | None = None
) -> SnapshotStore:
    """The snapshot at ``--version`` or ``--at`` (both at once is a usage error)."""
    if version is not None and at is not None:
        raise typer.BadParameter("give --version or --at, not both", param_hint="--version/--at")
    moment = parse_as_of(at, option="--at") if at is not None else None
    return SnapshotStore(snapshot, version=version, at=moment)


def stamp_line(stamp: dict[str, Any]) -> str:
    """The version stamp for a terminal: which version was read, and when it was written."""
    latest = (
        "" if stamp["version"] == stamp["latest_version"] else (f" of {stamp['latest_version']}")
    )
    return (
        f"snapshot {stamp['snapshot']} version {stamp['version']}{latest} "
        f"(written {stamp['written_at'] or 'never'})"
    )


def quarantine_line(
    store: SnapshotStore, touched: dict[str, list[str]] | None = None
) -> str | None:
    """How many rows of each input are in quarantine (so out of every rule and KPI), with the
    KPIs each entity feeds when ``touched`` says; None when nothing is quarantined."""
    counts = store.quarantine_counts()
    if not counts:
        return None
    parts = []
    for entity, n in counts.items():
        kpis = (touched or {}).get(entity, [])
        shown = ", ".join(kpis[:6]) + (f" and {len(kpis) - 6} more" if len(kpis) > 6 else "")
        parts.append(f"{entity} {n:,}" + (f" (touches {shown})" if kpis else ""))
    return (
        "quarantined at pull, left out of every rule and KPI: "
        + "; ".join(parts)
        + f"; list them: revgov snapshot quarantine {store.uri}"
    )
