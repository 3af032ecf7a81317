"""The audit report: per-rule results, scores, maturity, offenders, and its renderings.

Every rendering (JSON, Markdown, terminal) carries the config hash and the ``as_of`` time, so
a number can always be traced to the definitions and the moment that produced it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from revgov._typing import RuleStatus
from revgov.errors import FindingsError
from revgov.rules._families import FAMILY_SCHEMA, utm_family_frame
from revgov.rules.base import DIMENSIONS, SEVERITIES, Rule, Severity, severity_at_least
from revgov.rules.findings import SpilledFindings, sort_findings
from revgov.rules.maturity import Maturity, assess

if TYPE_CHECKING:
    from rich.console import RenderableType

__all__ = ["Report", "RuleResult", "Status", "utm_family_frame"]

Status = RuleStatus


@dataclass(frozen=True)
class RuleResult:
    """How one rule did: rows checked, rows violating, and whether it fails.

    ``reason`` says why a rule is ``not_applicable`` (its inputs are absent or blank, or no
    row is in its scope), naming the column and how to provide it. ``definition`` says where
    the rule's definition comes from; an ungoverned rule (``governed`` false: it rests only
    on revgov defaults the company never set) runs at severity info and is left out of the
    dimension scores.
    """

    id: str
    entity: str
    severity: Severity
    dimension: str
    kind: str
    description: str
    owner: str | None
    remediation: str
    threshold: float | None
    checked: int
    violating: int
    findings: int
    reason: str | None = None
    definition: str = ""
    governed: bool = True

    @classmethod
    def of(
        cls, rule: Rule, *, checked: int, violating: int, findings: int, reason: str | None
    ) -> RuleResult:
        return cls(
            id=rule.id,
            entity=rule.entity,
            severity=rule.severity,
            dimension=rule.dimension,
            kind=rule.kind,
            description=rule.description,
            owner=rule.owner,
            remediation=rule.remediation,
            threshold=rule.threshold,
            checked=checked,
            violating=violating,
            findings=findings,
            reason=reason,
            definition=rule.definition,
            governed=rule.governed,
        )

    @property
    def violation_rate(self) -> float | None:
        """Violating / checked (null when nothing was checked)."""
        return self.violating / self.checked if self.checked else None

    @property
    def pass_rate(self) -> float | None:
        rate = self.violation_rate
        return None if rate is None else 1.0 - rate

    @property
    def failed(self) -> bool:
        """Violations beyond the threshold (any violation when there is no threshold)."""
        if self.reason is not None or self.violating == 0:
            return False
        rate = self.violation_rate or 0.0
        return self.threshold is None or rate > self.threshold

    @property
    def status(self) -> Status:
        # A rule that saw nothing never passes: not_applicable, with its reason.
        if self.reason is not None or self.checked == 0:
            return "not_applicable"
        if self.failed:
            return "fail"
        if self.violating:
            return "within_threshold"
        return "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": self.entity,
            "severity": self.severity,
            "dimension": self.dimension,
            "kind": self.kind,
            "status": self.status,
            "checked": self.checked,
            "violating": self.violating,
            "findings": self.findings,
            "pass_rate": _round(self.pass_rate),
            "threshold": self.threshold,
            "reason": self.reason,
            "definition": self.definition,
            "governed": self.governed,
            "description": self.description,
            "owner": self.owner,
            "remediation": self.remediation,
        }


def _round(x: float | None, digits: int = 6) -> float | None:
    return None if x is None else round(x, digits)


@dataclass(frozen=True)
class Report:
    """The result of :func:`revgov.rules.audit`.

    ``findings`` is of the same kind as the audited frames (a polars LazyFrame for polars
    input, a DuckDB relation, a Spark DataFrame); ``findings_df`` is the same rows as an
    eager polars frame, for rendering and tests.

    ``findings_rows`` holds them in memory, or, for an audit with a spill folder that found
    many (``revgov audit`` on a large snapshot), on disk (:class:`SpilledFindings`): then
    ``findings`` scans that file, counts, offenders and samples read it lazily, and only
    ``findings_df`` reads every finding into memory.
    """

    results: tuple[RuleResult, ...]
    findings: Any
    findings_rows: pl.DataFrame | SpilledFindings
    config_hash: str
    as_of: datetime
    engine: str
    rows: Mapping[str, int] = field(default_factory=dict)
    users: pl.DataFrame = field(default_factory=lambda: pl.DataFrame())
    utm_families: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FAMILY_SCHEMA))
    has_stage_history: bool = False

    # -- findings ------------------------------------------------------------------------

    @property
    def findings_df(self) -> pl.DataFrame:
        """Every finding as an eager polars frame (read into memory when kept on disk)."""
        rows = self.findings_rows
        return rows.read() if isinstance(rows, SpilledFindings) else rows

    @property
    def findings_count(self) -> int:
        rows = self.findings_rows
        return rows.rows if isinstance(rows, SpilledFindings) else rows.height

    @property
    def spilled(self) -> bool:
        """Whether the findings are kept on disk (too many to hold in memory)."""
        return isinstance(self.findings_rows, SpilledFindings)

    def findings_lazy(self) -> pl.LazyFrame:
        """The findings as a polars LazyFrame (a scan of the file when kept on disk)."""
        rows = self.findings_rows
        return rows.scan() if isinstance(rows, SpilledFindings) else rows.lazy()

    # -- lookups -------------------------------------------------------------------------

    def result(self, rule_id: str) -> RuleResult:
        for r in self.results:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def pass_rates(self) -> dict[str, float | None]:
        return {r.id: r.pass_rate for r in self.results}

    def failing(self, min_severity: Severity = "info") -> list[RuleResult]:
        """Rules that fail (beyond their threshold) at ``min_severity`` or worse."""
        return [r for r in self.results if r.failed and severity_at_least(r.severity, min_severity)]

    @property
    def not_applicable(self) -> list[RuleResult]:
        """Rules that could not check anything, each with its reason."""
        return [r for r in self.results if r.status == "not_applicable"]

    @property
    def nothing_audited(self) -> bool:
        """Rules ran and none checked a single row (an empty snapshot, or none of the
        rules' inputs): such an audit says nothing, and must not read as a pass. (Filters
        that select no rule ask for nothing: that is not this.)"""
        return bool(self.results) and all(r.checked == 0 for r in self.results)

    @property
    def scores(self) -> dict[str, float | None]:
        """Per dimension: the mean pass rate of its evaluated rules that the company
        governs (rules resting only on revgov defaults are left out; null if none)."""
        out: dict[str, float | None] = {}
        for dim in DIMENSIONS:
            rates = [
                r.pass_rate
                for r in self.results
                if r.dimension == dim and r.governed and r.pass_rate is not None
            ]
            out[dim] = sum(rates) / len(rates) if rates else None
        return out

    @property
    def score(self) -> float | None:
        """The mean of the dimension scores."""
        vals = [v for v in self.scores.values() if v is not None]
        return sum(vals) / len(vals) if vals else None

    @property
    def maturity(self) -> Maturity:
        return assess(self.pass_rates, self.scores, has_stage_history=self.has_stage_history)

    def top_offenders(self, by: Literal["owner", "team"] = "owner", n: int = 10) -> pl.DataFrame:
        """Owners (or their teams) with the most findings: findings, records, errors."""
        # Lazy, three columns: a join on the findings themselves would copy every one of them.
        f = self.findings_lazy().select("owner_id", "record_id", "severity")
        users = self.users if self.users.width else None
        names = (
            users.select(
                pl.col("user_id").alias("owner_id"),
                pl.col("name").alias("owner_name") if "name" in users.columns else pl.lit(None),
                pl.col("team") if "team" in users.columns else pl.lit(None).alias("team"),
            )
            .unique("owner_id")
            .lazy()
            if users is not None
            else None
        )
        aggs = [
            pl.len().alias("findings"),
            pl.col("record_id").n_unique().alias("records"),
            (pl.col("severity") == "error").sum().alias("errors"),
        ]
        if by == "owner":
            # Per owner first, then their names: an owner has one name and team.
            f = f.group_by("owner_id").agg(*aggs)
        if names is not None:
            f = f.join(names, on="owner_id", how="left")
        else:
            f = f.with_columns(
                pl.lit(None, pl.String).alias("owner_name"), pl.lit(None, pl.String).alias("team")
            )
        f = f.with_columns(
            pl.col("owner_id").fill_null("(unassigned)"), pl.col("team").fill_null("(no team)")
        )
        key = ["owner_id", "owner_name", "team"] if by == "owner" else ["team"]
        out = (
            f.select(*key, "findings", "records", "errors")
            if by == "owner"
            else (f.group_by(key).agg(*aggs))
        )
        return out.sort(["findings", key[0]], descending=[True, False]).head(n).collect()

    # -- failing on findings -------------------------------------------------------------

    def raise_for_findings(self, min_severity: Severity = "error") -> None:
        """Raise :class:`~revgov.errors.FindingsError` if any rule at ``min_severity`` or
        worse fails (violations beyond its threshold); return quietly otherwise."""
        if min_severity not in SEVERITIES:
            close = difflib.get_close_matches(str(min_severity), SEVERITIES, n=1)
            raise FindingsError(
                f"min_severity {min_severity!r} is not one of {', '.join(SEVERITIES)}",
                hint=f"did you mean {close[0]!r}?" if close else None,
            )
        bad = self.failing(min_severity)
        if not bad:
            return
        listed = "; ".join(f"{r.id} ({r.violating} of {r.checked})" for r in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise FindingsError(
            f"{len(bad)} rule(s) at severity {min_severity} or worse failed: {listed}{more}",
            hint="see report.findings for the records, or raise the rules' thresholds in "
            '[rules."<rule id>"] if the rate is acceptable',
        )

    # -- renderings ----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = dict.fromkeys(("pass", "fail", "within_threshold"), 0)
        counts |= {"not_applicable": 0}
        for r in self.results:
            counts[r.status] += 1
        return {
            "rules": len(self.results),
            **counts,
            "ungoverned": sum(not r.governed for r in self.results),
            "findings": self.findings_count,
            "score": _round(self.score),
        }

    def to_dict(self, *, findings: int = 0) -> dict[str, Any]:
        """Everything but the findings rows (``findings`` > 0 includes that many)."""
        from revgov import __version__

        m = self.maturity
        out: dict[str, Any] = {
            "revgov_version": __version__,
            "config_hash": self.config_hash,
            "as_of": self.as_of.isoformat(),
            "engine": self.engine,
            "rows": dict(self.rows),
            "nothing_audited": self.nothing_audited,
            "summary": self.summary(),
            "scores": {k: _round(v) for k, v in self.scores.items()},
            "maturity": {
                "stage": m.stage,
                "name": m.name,
                "criteria": [
                    {
                        "stage": c.stage,
                        "name": c.name,
                        "description": c.description,
                        "value": _round(c.value),
                        "threshold": c.threshold,
                        "met": c.met,
                    }
                    for c in m.criteria
                ],
            },
            "rules": [r.to_dict() for r in self.results],
            "top_offenders": {
                "owners": self.top_offenders("owner").to_dicts(),
                "teams": self.top_offenders("team").to_dicts(),
            },
            "utm_families": self.utm_families.to_dicts(),
        }
        if findings:
            # Sorted then cut, lazily: the first ones without every finding in memory.
            first = sort_findings(self.findings_lazy()).head(findings).collect()
            out["findings"] = first.to_dicts()
        return out

    def to_json(self, *, indent: int | None = 2, findings: int = 0) -> str:
        return json.dumps(self.to_dict(findings=findings), indent=indent, default=str)

    def to_markdown(self, *, findings: int = 20) -> str:
        from revgov.rules._render import report_markdown

        return report_markdown(self, findings=findings)

    def __rich__(self) -> RenderableType:
        from revgov.rules._render import report_renderable

        return report_renderable(self)
