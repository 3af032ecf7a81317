"""UTM spelling families: ``LinkedIn`` / ``linkedin`` / ``linked-in`` counted as one family.

A family is the tag's values that agree once lowercased and stripped of everything but
letters and digits. Families with more than one spelling are case or punctuation drift; the
report lists each spelling with its count so the canonical one is obvious.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import narwhals as nw
import polars as pl

from revgov.config import Config

__all__ = ["FAMILY_SCHEMA", "utm_family_frame"]

FAMILY_SCHEMA = pl.Schema(
    {
        "entity": pl.String(),
        "tag": pl.String(),
        "family": pl.String(),
        "value": pl.String(),
        "count": pl.Int64(),
    }
)

_TAGS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def utm_family_frame(frames: Mapping[str, nw.LazyFrame[Any]], config: Config) -> pl.DataFrame:
    """Spellings of each governed tag (vocabulary tags, else source and medium) in people and
    campaign touches, for families that have more than one spelling."""
    tags = [t for t in config.utm.vocabulary] or ["utm_source", "utm_medium"]
    parts: list[pl.DataFrame] = []
    for entity in ("people", "campaign_touches"):
        frame = frames.get(entity)
        if frame is None:
            continue
        cols = frame.collect_schema().names()
        for tag in (t for t in tags if t in cols and t in _TAGS):
            counts = (
                frame.filter(~nw.col(tag).is_null())
                .group_by(tag)
                .agg(nw.len().cast(nw.Int64()).alias("count"))
                .collect(backend="polars")
                .to_native()
            )
            parts.append(
                counts.select(
                    pl.lit(entity).alias("entity"),
                    pl.lit(tag).alias("tag"),
                    pl.col(tag)
                    .str.to_lowercase()
                    .str.replace_all(r"[^a-z0-9]", "")
                    .alias("family"),
                    pl.col(tag).alias("value"),
                    pl.col("count"),
                )
            )
    if not parts:
        return pl.DataFrame(schema=FAMILY_SCHEMA)
    out = pl.concat(parts).cast(FAMILY_SCHEMA)
    spread = pl.col("value").n_unique().over("entity", "tag", "family")
    return out.filter(spread > 1).sort(
        ["entity", "tag", "family", "count", "value"], descending=[False, False, False, True, False]
    )
