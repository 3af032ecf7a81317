"""What changed between two audit runs: findings new, resolved and persisting.

A finding is the same finding in both runs when its rule, entity, record and field are the
same (its value and message may have changed: the record is still wrong in the same way).
Each side is first reduced to distinct findings, so a count is a count of record problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

__all__ = ["FINDING_KEY", "RunDiff", "diff_findings"]

FINDING_KEY = ("rule_id", "entity", "record_id", "field")
Change = Literal["new", "resolved", "persisting"]
CHANGES: tuple[Change, ...] = ("new", "resolved", "persisting")
_CARRIED = ("severity", "dimension", "owner_id", "owner_name", "team", "value", "message")


def _distinct(findings: pl.DataFrame) -> pl.DataFrame:
    cols = [*FINDING_KEY, *[c for c in _CARRIED if c in findings.columns]]
    frame = findings.select(cols)
    for c in _CARRIED:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(c))
    return frame.unique(list(FINDING_KEY), keep="first", maintain_order=True).select(
        *FINDING_KEY, *_CARRIED
    )


@dataclass(frozen=True)
class RunDiff:
    """Findings of run ``after`` against run ``before`` (ids; None for an unrecorded run).

    ``records`` has one row per distinct finding with its ``change``: ``new`` (only in
    ``after``), ``resolved`` (only in ``before``; owner as it was then) or ``persisting``
    (in both; owner as it is now).
    """

    before: str | None
    after: str | None
    records: pl.DataFrame

    def of(self, change: Change) -> pl.DataFrame:
        return self.records.filter(pl.col("change") == change).drop("change")

    @property
    def new(self) -> pl.DataFrame:
        return self.of("new")

    @property
    def resolved(self) -> pl.DataFrame:
        return self.of("resolved")

    @property
    def persisting(self) -> pl.DataFrame:
        return self.of("persisting")

    def counts(self) -> dict[str, int]:
        got = dict(self.records.group_by("change").len().iter_rows())
        return {c: int(got.get(c, 0)) for c in CHANGES}

    def _by(self, keys: list[str]) -> pl.DataFrame:
        frame = self.records.with_columns(
            pl.col("owner_id").fill_null("(unassigned)"), pl.col("team").fill_null("(no team)")
        )
        counts = [(pl.col("change") == c).sum().cast(pl.Int64).alias(c) for c in CHANGES]
        return (
            frame.group_by(keys)
            .agg(*counts)
            .sort(["new", "resolved", keys[0]], descending=[True, True, False])
        )

    def by_owner(self) -> pl.DataFrame:
        """Per owner: ``owner_id, owner_name, team, new, resolved, persisting``."""
        return self._by(["owner_id", "owner_name", "team"])

    def by_team(self) -> pl.DataFrame:
        return self._by(["team"])

    def by_rule(self) -> pl.DataFrame:
        """Per rule: ``rule_id, severity, new, resolved, persisting``."""
        return self._by(["rule_id", "severity"])

    def to_polars(self) -> pl.DataFrame:
        return self.records

    def to_dict(self, *, records: int = 200) -> dict[str, Any]:
        """Counts, per owner and per rule, and up to ``records`` rows of each change."""
        return {
            "before": self.before,
            "after": self.after,
            "counts": self.counts(),
            "by_owner": self.by_owner().to_dicts(),
            "by_rule": self.by_rule().to_dicts(),
            "records": {c: self.of(c).head(records).to_dicts() for c in CHANGES},
            "records_shown_per_change": records,
        }

    def _repr_html_(self) -> str:
        from revgov.reports.views import frame_html

        c = self.counts()
        head = (
            f"<p><strong>{c['new']:,}</strong> new, <strong>{c['resolved']:,}</strong> "
            f"resolved, <strong>{c['persisting']:,}</strong> persisting findings</p>"
        )
        return head + frame_html(self.by_owner(), caption="per owner")


def diff_findings(
    before: pl.DataFrame,
    after: pl.DataFrame,
    *,
    before_id: str | None = None,
    after_id: str | None = None,
) -> RunDiff:
    """Compare the findings of two runs (frames with at least the columns of
    :data:`FINDING_KEY`; owner, severity and message columns are carried when present)."""
    a, b = _distinct(before), _distinct(after)
    keys = list(FINDING_KEY)
    new = b.join(a, on=keys, how="anti", nulls_equal=True)
    resolved = a.join(b, on=keys, how="anti", nulls_equal=True)
    persisting = b.join(a.select(keys), on=keys, how="semi", nulls_equal=True)
    records = pl.concat(
        [
            new.with_columns(pl.lit("new").alias("change")),
            resolved.with_columns(pl.lit("resolved").alias("change")),
            persisting.with_columns(pl.lit("persisting").alias("change")),
        ]
    ).sort(["change", "rule_id", "record_id", "field"], nulls_last=True)
    return RunDiff(before=before_id, after=after_id, records=records)
