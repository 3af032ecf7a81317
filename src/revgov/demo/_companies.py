"""Companies of the demo: firmographics, names and unique domains, in column arrays.

The first ``n_accounts`` companies are the CRM's accounts; the rest are companies that only
appear on leads. Domains are unique across all of them (duplicates are planted later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from revgov.demo._vocab import COUNTRIES, DESCRIPTORS, INDUSTRIES, NAME_PREFIXES, NAME_ROOTS

__all__ = ["SEGMENTS", "Companies", "make_companies", "segment_of"]

#: Segment names in order, and the employee ranges companies are drawn from. The ranges keep
#: clear of the config's band edges (199/200, 1999/2000) so no reading of "max" is ambiguous.
SEGMENTS = ("smb", "mid_market", "enterprise")
_SEGMENT_WEIGHTS = (0.55, 0.33, 0.12)
_EMPLOYEES = ((10, 190), (210, 1900), (2100, 60000))

Int = npt.NDArray[np.int64]


@dataclass
class Companies:
    name: pl.Series
    domain: pl.Series
    industry: pl.Series
    employees: Int
    annual_revenue: npt.NDArray[np.float64]
    country: Int  # index into COUNTRIES
    segment: Int  # index into SEGMENTS

    def __len__(self) -> int:
        return len(self.name)


def segment_of(employees: Int) -> Int:
    """Segment index from head count (the config's [[segments]] bands)."""
    return np.where(employees < 200, 0, np.where(employees < 2000, 1, 2)).astype(np.int64)


def make_companies(rng: np.random.Generator, n: int) -> Companies:
    weights = np.array([c.weight for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    seg = rng.choice(3, size=n, p=_SEGMENT_WEIGHTS)
    lo = np.array([r[0] for r in _EMPLOYEES], dtype=np.float64)[seg]
    hi = np.array([r[1] for r in _EMPLOYEES], dtype=np.float64)[seg]
    employees = np.exp(rng.uniform(np.log(lo), np.log(hi))).round().astype(np.int64)
    revenue = (employees * rng.uniform(80_000, 350_000, n) / 1000).round() * 1000

    prefix = np.array(NAME_PREFIXES)[rng.integers(len(NAME_PREFIXES), size=n)]
    root = np.array(NAME_ROOTS)[rng.integers(len(NAME_ROOTS), size=n)]
    desc = np.array(DESCRIPTORS)[rng.integers(len(DESCRIPTORS), size=n)]
    # Domain style: brand.tld, brand + descriptor.tld, or brand-descriptor.tld; the tld is the
    # country's or a generic one.
    style = rng.integers(3, size=n)
    cc_tld = np.array([c.tld for c in COUNTRIES])[country]
    generic = np.array(["com", "io", "co", "ai"])[rng.choice(4, size=n, p=[0.6, 0.2, 0.1, 0.1])]
    tld = np.where(rng.random(n) < 0.45, cc_tld, generic)
    frame = pl.DataFrame({"prefix": prefix, "root": root, "desc": desc, "style": style, "tld": tld})
    brand = pl.col("prefix") + pl.col("root")
    label = (
        pl.when(pl.col("style") == 0)
        .then(brand)
        .when(pl.col("style") == 1)
        .then(brand + pl.col("desc"))
        .otherwise(brand + "-" + pl.col("desc"))
        .str.to_lowercase()
    )
    out = frame.select(
        name=pl.col("prefix") + pl.col("root").str.to_lowercase() + " " + pl.col("desc"),
        domain=label + "." + pl.col("tld"),
    )
    # A repeated domain gets a number: brandlabs.io, brandlabs2.io, ... (only the repeated
    # ones are renumbered; a window over every row would be slow).
    repeated = np.flatnonzero(out["domain"].is_duplicated().to_numpy())
    nth = pl.int_range(1, pl.len() + 1).over("domain")
    renamed = (
        out[repeated]
        .select(
            pl.when(nth > 1)
            .then(
                pl.col("domain").str.extract(r"^([^.]+)", 1)
                + nth.cast(pl.String)
                + "."
                + pl.col("domain").str.extract(r"^[^.]+\.(.+)$", 1)
            )
            .otherwise(pl.col("domain"))
        )
        .to_series()
    )
    domain = out["domain"].clone().scatter(repeated, renamed)
    return Companies(
        name=out["name"],
        domain=domain.alias("domain"),
        industry=pl.Series("industry", INDUSTRIES).gather(rng.integers(len(INDUSTRIES), size=n)),
        employees=employees,
        annual_revenue=revenue,
        country=country.astype(np.int64),
        segment=seg.astype(np.int64),
    )
