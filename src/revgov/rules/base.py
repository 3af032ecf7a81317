"""The Rule value object, the checks it holds, and the ``@rule`` decorator.

A rule is data: an id (``<entity>.<name>``), the entity it audits, a severity, a governance
dimension, words for people (description, owner, remediation play), an optional threshold, and
one or more :class:`Check` objects whose ``violation`` is a narwhals expression over the
entity's columns. Rules declared in ``revgov.toml`` and rules written in Python with
:func:`rule` compile to the same object, so the engine treats them alike.

Rules that need other entities (owners from ``users``, first touches from ``activities``,
stage history from ``stage_events``) name :class:`Derivation` objects: the engine runs each
once per entity and adds its columns (joins, windows) before the row-level pass.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import narwhals as nw

from revgov._typing import DIMENSIONS, SEVERITIES, Dimension, RuleOrigin, Severity
from revgov.errors import RuleDefinitionError

if TYPE_CHECKING:
    from revgov.config import Config

__all__ = [
    "DIMENSIONS",
    "SEVERITIES",
    "Check",
    "Derivation",
    "DeriveContext",
    "Dimension",
    "Frame",
    "Rule",
    "Severity",
    "expr_columns",
    "rule",
    "severity_at_least",
]

_SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}

Frame: TypeAlias = "nw.LazyFrame[Any]"

_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9][a-z0-9_\-]*$")


def severity_at_least(severity: str, minimum: str) -> bool:
    """``severity`` is ``minimum`` or worse (info < warn < error)."""
    return _SEVERITY_RANK[severity] >= _SEVERITY_RANK[minimum]


@dataclass(frozen=True, kw_only=True)
class Check:
    """One violation test of a rule, reported against one field.

    ``value`` is a string expression for the offending value (default: ``field`` formatted by
    its type); ``message`` a fixed text or a string expression evaluated on violating rows only.
    ``scope`` narrows this check within the rule's scope (a rule checking several pools, say).
    ``severity`` is this check's findings' severity when it differs from the rule's (the
    routing outcomes of ``<entity>.misrouted``, each configured on its own).
    """

    violation: nw.Expr
    field: str | None = None
    value: nw.Expr | None = None
    message: str | nw.Expr = ""
    scope: nw.Expr | None = None
    severity: Severity | None = None

    def __post_init__(self) -> None:
        if self.severity is not None and self.severity not in SEVERITIES:
            raise RuleDefinitionError(
                f"check severity {self.severity!r} is not one of {', '.join(SEVERITIES)}"
            )


@dataclass(frozen=True)
class DeriveContext:
    """What a derivation may use: every input frame, the config and the reference time;
    ``spill_dir``, where one may write intermediate Parquet files (``audit(spill_dir=...)``)
    to bound its memory; ``spilled``, the folders written there that derivations share
    within one audit, by name (the stage events in hash buckets of record ids)."""

    frames: Mapping[str, Frame]
    config: Config
    as_of: datetime
    keys: Mapping[str, str]
    spill_dir: Path | None = None
    spilled: dict[str, Path] = field(default_factory=dict)

    def frame(self, entity: str) -> Frame:
        return self.frames[entity]

    def key(self, entity: str) -> str:
        return self.keys[entity]


@dataclass(frozen=True, eq=False)
class Derivation:
    """Columns the engine adds to an entity's frame before the rules run (joins, windows).

    ``name`` identifies it: rules naming the same derivation share one computation.
    ``requires`` maps the other entities it reads to the columns it needs from them, so the
    engine can skip (and say why) instead of failing when an input is absent.
    ``columns`` are the columns of the audited entity it reads. ``provides`` are the columns
    it adds (by convention prefixed ``__``).
    """

    name: str
    build: Callable[[Frame, DeriveContext], Frame]
    provides: tuple[str, ...]
    columns: tuple[str, ...] = ()
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    after: tuple[Derivation, ...] = ()


@dataclass(frozen=True, kw_only=True, eq=False)
class Rule:
    """A governance rule: what is checked, how bad a violation is, and what to do about it.

    ``threshold`` is a fraction of checked rows: the rule fails only when more than that
    share violates (violations are still listed as findings). ``needs`` says what a rule
    needs to have rows to check (the reason it gives, as ``not_applicable``, when it has
    none). ``definition`` names where the rule's definition comes from (a key of
    revgov.toml, or a revgov default); ``governed`` is false for a rule that rests only on
    defaults the company never set (see :mod:`revgov.rules.governance`). ``columns`` are the entity's
    columns the rule reads; the engine validates them before running anything. ``present``
    names a column whose blank rows are not checked (a format rule checks the values that
    are there; blanks are the business of a required-field rule). A rule whose
    entity has no frame, or whose inputs lack a column, is not_applicable with the reason when
    ``optional`` (built-in rules), and is a :class:`~revgov.errors.RuleDefinitionError`
    otherwise (rules you declared).
    """

    id: str
    entity: str
    dimension: Dimension
    description: str
    checks: tuple[Check, ...] = ()
    severity: Severity = "error"
    scope: nw.Expr | None = None
    present: str | None = None
    columns: tuple[str, ...] = ()
    derivations: tuple[Derivation, ...] = ()
    kind: str = "custom"
    owner: str | None = None
    remediation: str = ""
    threshold: float | None = None
    owner_column: str | None = "owner_id"
    optional: bool = False
    origin: RuleOrigin = "python"
    settings: tuple[str, ...] = ()
    binder: Callable[[Config], Rule] | None = None
    needs: str = ""
    definition: str = ""
    governed: bool = True

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise RuleDefinitionError(
                f"rule id {self.id!r} is not of the form <entity>.<name>",
                hint="use lowercase letters, digits and underscores, e.g. 'people.email_missing'",
            )
        if self.severity not in SEVERITIES:
            raise RuleDefinitionError(
                f"rule {self.id}: severity {self.severity!r} is not one of {', '.join(SEVERITIES)}"
            )
        if self.dimension not in DIMENSIONS:
            raise RuleDefinitionError(
                f"rule {self.id}: dimension {self.dimension!r} is not one of "
                f"{', '.join(DIMENSIONS)}"
            )
        if self.threshold is not None and not 0 <= self.threshold <= 1:
            raise RuleDefinitionError(
                f"rule {self.id}: threshold {self.threshold!r} is not a fraction in [0, 1]",
                hint="write 0.02 for 'fail only if more than 2% of rows violate'",
            )
        if not self.checks and self.binder is None:
            raise RuleDefinitionError(f"rule {self.id} has no checks")

    @property
    def effective_scope(self) -> nw.Expr | None:
        """The rows checked, as one expression (None: every row)."""
        if self.present is None:
            return self.scope
        present = ~nw.col(self.present).is_null()
        return present if self.scope is None else self.scope & present

    @property
    def name(self) -> str:
        """The id without its entity prefix (``email_missing``)."""
        return self.id.split(".", 1)[1]

    def replace(self, **changes: Any) -> Rule:
        """A copy with some attributes changed (rules are immutable)."""
        return dataclasses.replace(self, **changes)

    def bind(self, config: Config) -> Rule:
        """The concrete rule for ``config`` (rules written as ``def r(config)`` need one)."""
        if self.binder is None:
            return self
        bound = self.binder(config)
        return bound.replace(
            severity=self.severity,
            threshold=self.threshold,
            owner=self.owner,
            remediation=self.remediation,
        )

    def all_columns(self) -> tuple[str, ...]:
        """Entity columns the rule and its derivations read, in first-seen order."""
        seen: dict[str, None] = dict.fromkeys(self.columns)
        for d in self.derivations:
            for dep in (*d.after, d):
                seen.update(dict.fromkeys(dep.columns))
        return tuple(seen)


RuleBody: TypeAlias = "nw.Expr | Check | Sequence[Check]"


def _as_checks(body: RuleBody, *, field: str | None, message: str) -> tuple[Check, ...]:
    if isinstance(body, nw.Expr):
        return (Check(violation=body, field=field, message=message),)
    if isinstance(body, Check):
        return (body,)
    checks = tuple(body)
    if not checks or not all(isinstance(c, Check) for c in checks):
        raise RuleDefinitionError(
            "a @rule function must return a narwhals expression, a Check or a list of Checks"
        )
    return checks


_WIDE_NODES = frozenset({"all", "nth", "exclude", "selector", "selectors", "by_dtype"})


def expr_columns(expr: nw.Expr) -> tuple[str, ...] | None:
    """Column names an expression reads, or None when it cannot tell.

    It walks the expression's node tree, which narwhals does not promise to keep stable, so
    any surprise (or a node that selects columns by position or type) gives None and the
    callers fall back to keeping every column or to the backend's own error.
    """
    names: dict[str, None] = {}

    def walk(e: Any, depth: int = 0) -> bool:
        if depth > 64:
            return False
        nodes = getattr(e, "_nodes", None)
        if nodes is None:
            return False
        for node in nodes:
            name = getattr(node, "name", None)
            kwargs = getattr(node, "kwargs", {}) or {}
            if name in _WIDE_NODES:
                return False
            if name == "col":
                names.update(
                    dict.fromkeys(n for n in kwargs.get("names", ()) if isinstance(n, str))
                )
            if name == "over":
                for k in ("partition_by", "order_by"):
                    names.update(
                        dict.fromkeys(n for n in kwargs.get(k) or () if isinstance(n, str))
                    )
            for sub in getattr(node, "exprs", ()):
                if isinstance(sub, nw.Expr) and not walk(sub, depth + 1):
                    return False
        return True

    try:
        ok = walk(expr)
    except Exception:  # internals moved: callers fall back
        return None
    return tuple(names) if ok else None


def rule(
    id: str,
    *,
    dimension: Dimension,
    entity: str | None = None,
    severity: Severity = "error",
    field: str | None = None,
    message: str = "",
    scope: nw.Expr | None = None,
    columns: Sequence[str] | None = None,
    owner: str | None = None,
    remediation: str = "",
    threshold: float | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., RuleBody]], Rule]:
    """Turn a function returning a violation expression into a :class:`Rule`.

    The function returns a narwhals expression that is true on violating rows (or a
    :class:`Check`, or a list of them). If it takes a ``config`` parameter it is called with
    the audit's :class:`~revgov.config.Config`, so one rule can read the governed
    definitions. The docstring is the description unless ``description`` is given::

        @rule("opportunities.big_deal_no_product", dimension="completeness", field="product")
        def big_deal_no_product() -> nw.Expr:
            "Deals over 100k name their product."
            return (nw.col("amount") > 100_000) & nw.col("product").is_null()
    """

    def decorate(fn: Callable[..., RuleBody]) -> Rule:
        ent = entity or id.split(".", 1)[0]
        desc = description or inspect.cleandoc(fn.__doc__ or "") or id
        params = inspect.signature(fn).parameters
        common: dict[str, Any] = {
            "id": id,
            "entity": ent,
            "dimension": dimension,
            "description": desc,
            "severity": severity,
            "scope": scope,
            "owner": owner,
            "remediation": remediation,
            "threshold": threshold,
            "origin": "python",
            "kind": "custom",
        }

        def build(body: RuleBody) -> Rule:
            checks = _as_checks(body, field=field, message=message or desc)
            cols = tuple(columns) if columns is not None else _infer_columns(checks, scope)
            return Rule(checks=checks, columns=cols, **common)

        if params:
            if list(params) != ["config"]:
                raise RuleDefinitionError(
                    f"rule {id}: the function may take only a `config` parameter, "
                    f"not {', '.join(params)}"
                )
            return Rule(binder=lambda config: build(fn(config=config)), **common)
        return build(fn())

    return decorate


def _infer_columns(checks: Sequence[Check], scope: nw.Expr | None) -> tuple[str, ...]:
    found: dict[str, None] = {}
    exprs: list[nw.Expr] = [c.violation for c in checks]
    exprs += [c.scope for c in checks if c.scope is not None]
    exprs += [c.value for c in checks if c.value is not None]
    if scope is not None:
        exprs.append(scope)
    for e in exprs:
        found.update(dict.fromkeys(expr_columns(e) or ()))
    for c in checks:
        if c.field is not None:
            found.setdefault(c.field, None)
    return tuple(n for n in found if not n.startswith("__"))
