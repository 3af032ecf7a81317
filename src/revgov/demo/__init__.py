"""A seeded synthetic CRM with planted governance defects and their ground truth.

:func:`generate` builds canonical frames for every entity (about 50,000 people, 5,000
accounts and 8,000 opportunities at ``scale=1``) against the packaged demo definitions
(``demo_config.toml``). Apart from the planted defects, listed one row per record and kind in
``ground_truth``, every record satisfies the definitions. The same ``seed``, ``scale`` and
``as_of`` always give the same data: all randomness comes from numpy generators seeded from
them, and all dates are relative to ``as_of``, never to the wall clock.

:func:`write_demo` writes it all to a directory::

    revgov.toml             the demo's governed definitions
    snapshot/               a snapshot store with every entity
    ground_truth.parquet    entity, record_id, defect_kind (and ground_truth.csv)
    demo_manifest.json      seed, scale, as_of, rates, counts per kind and per entity
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from revgov import __version__
from revgov.config import Config, config_from_dict
from revgov.config._errors import parse_toml
from revgov.demo._assemble import GENERATION_STEPS, assemble
from revgov.demo._defects import DEFECTS
from revgov.demo._plays import plant_plays
from revgov.errors import DemoOutputExistsError
from revgov.model.frames import ENTITIES
from revgov.store import SnapshotStore

__all__ = [
    "DEFAULT_AS_OF",
    "DEFECT_RATES",
    "STEPS",
    "DemoData",
    "DemoOutput",
    "demo_config_text",
    "generate",
    "write_demo",
]

DEFAULT_AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
#: defect kind (= built-in rule id) -> planted fraction of the entity's rows.
DEFECT_RATES: dict[str, float] = {kind: d.rate for kind, d in DEFECTS.items()}
OUTPUT_FILES = ("revgov.toml", "ground_truth.parquet", "ground_truth.csv", "demo_manifest.json")
SNAPSHOT_DIR = "snapshot"

#: Every step :func:`write_demo` reports through ``on_step``, in order (for progress bars).
STEPS: tuple[str, ...] = (
    *GENERATION_STEPS,
    *(f"write {entity}" for entity in ENTITIES),
    "write ground truth",
)

StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class DemoData:
    """What :func:`generate` returns."""

    frames: dict[str, pl.DataFrame]
    config_text: str
    config: Config
    ground_truth: pl.DataFrame
    manifest: dict[str, Any]

    def row_counts(self) -> dict[str, int]:
        return {e: f.height for e, f in self.frames.items()}

    def defect_counts(self) -> dict[str, int]:
        return dict(self.manifest["defect_counts"])


@dataclass(frozen=True)
class DemoOutput:
    """Where :func:`write_demo` put things, and the data it wrote."""

    out_dir: Path
    snapshot_dir: Path
    config_path: Path
    ground_truth_path: Path
    ground_truth_csv_path: Path
    manifest_path: Path
    data: DemoData


def demo_config_text() -> str:
    """The packaged ``revgov.toml`` of the demo company."""
    return (resources.files("revgov.demo") / "demo_config.toml").read_text(encoding="utf-8")


def _as_utc(as_of: datetime) -> datetime:
    return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)


def generate(
    scale: float = 1.0,
    seed: int = 7,
    as_of: datetime = DEFAULT_AS_OF,
    *,
    on_step: StepCallback | None = None,
) -> DemoData:
    """Generate the demo CRM. ``scale`` multiplies every row count (1.0 is about 50,000
    people); ``on_step`` is called with the name of each step as it starts (for progress)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    moment = _as_utc(as_of)
    text = demo_config_text()
    config = config_from_dict(parse_toml(text, path=None))
    frames, ground_truth = assemble(
        config,
        scale=scale,
        seed=seed,
        as_of=moment,
        on_step=on_step or (lambda _step: None),
    )
    plays = plant_plays(frames, config, as_of=moment, seed=seed)
    counts = ground_truth.group_by("defect_kind").len()
    per_kind = dict(zip(counts["defect_kind"].to_list(), counts["len"].to_list(), strict=True))
    manifest: dict[str, Any] = {
        "generator": "revgov.demo",
        "revgov_version": __version__,
        "seed": seed,
        "scale": scale,
        "as_of": moment.isoformat(),
        "config_hash": config.config_hash,
        "rates": {
            k: {"entity": d.entity, "rate": d.rate, "what": d.what} for k, d in DEFECTS.items()
        },
        "defect_counts": {k: int(per_kind.get(k, 0)) for k in DEFECTS},
        "row_counts": {e: frames[e].height for e in ENTITIES},
        "ground_truth_rows": ground_truth.height,
        "plays": plays,
    }
    return DemoData(
        frames=frames, config_text=text, config=config, ground_truth=ground_truth, manifest=manifest
    )


def _clear_outputs(out: Path, *, force: bool) -> None:
    """Refuse a non-empty directory unless ``force``; then remove only the demo's own outputs."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DemoOutputExistsError(
            f"{str(out)!r} exists and is not a directory", hint="choose another --out"
        )
    if not force:
        if any(out.iterdir()):
            raise DemoOutputExistsError(
                f"the output directory {str(out)!r} is not empty",
                hint="choose another --out, or pass --force to replace the demo files in it",
            )
        return
    if (out / SNAPSHOT_DIR).exists():
        shutil.rmtree(out / SNAPSHOT_DIR)
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)


def write_demo(
    out_dir: str | Path,
    *,
    scale: float = 1.0,
    seed: int = 7,
    as_of: datetime = DEFAULT_AS_OF,
    force: bool = False,
    on_step: StepCallback | None = None,
) -> DemoOutput:
    """Generate the demo and write the snapshot, config, ground truth and manifest.

    A non-empty ``out_dir`` is refused unless ``force``, which replaces only the demo's own
    files and ``snapshot/`` in it.
    """
    step = on_step or (lambda _step: None)
    out = Path(out_dir)
    _clear_outputs(out, force=force)
    data = generate(scale, seed, as_of, on_step=step)
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "revgov.toml"
    config_path.write_text(data.config_text, encoding="utf-8")

    store = SnapshotStore.create(out / SNAPSHOT_DIR, config_hash=data.config.config_hash)
    store.save_config(data.config.config_hash, data.config.model_dump(mode="json"))
    for entity in ENTITIES:
        step(f"write {entity}")
        store.commit(
            {entity: data.frames[entity]},
            cursors={("demo", entity): data.manifest["as_of"]},
        )
    step("write ground truth")
    gt_path, csv_path = out / "ground_truth.parquet", out / "ground_truth.csv"
    data.ground_truth.write_parquet(gt_path)
    data.ground_truth.write_csv(csv_path)
    manifest_path = out / "demo_manifest.json"
    manifest = data.manifest | {
        "files": {
            "config": config_path.name,
            "snapshot": SNAPSHOT_DIR,
            "ground_truth": [gt_path.name, csv_path.name],
        }
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return DemoOutput(
        out_dir=out,
        snapshot_dir=out / SNAPSHOT_DIR,
        config_path=config_path,
        ground_truth_path=gt_path,
        ground_truth_csv_path=csv_path,
        manifest_path=manifest_path,
        data=data,
    )
