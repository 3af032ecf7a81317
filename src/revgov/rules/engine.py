"""The audit engine: every row-level rule of an entity in one lazy pass, on any engine.

For each entity the engine builds one lazy frame: the input (deleted records dropped), the
derivations its rules need (joins, windows, each computed once however many rules use it),
and one boolean column per (rule, check) plus one per rule scope. That frame is computed once,
keeping only the columns findings and counts read (polars: all entities collected together;
DuckDB: ``materialize()``; PySpark: an eager local checkpoint). Findings are the union of it
filtered on each check column, selecting the violating rows' id, owner, value and message, so
strings are built for violations only; counts (rows checked, rows violating) are one
aggregate over it. Findings come back in the kind of frame that went in.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import narwhals as nw
import polars as pl

from revgov.config import Config
from revgov.errors import RuleDefinitionError, RuleError
from revgov.model.frames import ENTITIES
from revgov.rules import _reasons
from revgov.rules._expr import fmt_value, lit_str
from revgov.rules.base import (
    DIMENSIONS,
    Check,
    Derivation,
    DeriveContext,
    Frame,
    Rule,
    expr_columns,
)
from revgov.rules.findings import FINDINGS_SCHEMA, SpilledFindings, empty_findings
from revgov.rules.report import Report, RuleResult

__all__ = ["RuleSource", "audit", "resolve_rules"]

RuleSource = Rule | Callable[[Config], Sequence[Rule]]

#: The polars engine the audit collects with ("auto": polars' default, streaming; measured
#: faster than in-memory on 10M rows, even at 1M; see benchmarks/bench_rules.py).
POLARS_ENGINE: Literal["auto", "in-memory", "streaming"] = "auto"

#: With a spill folder and lazy polars input, an audit finding more than this many rows
#: keeps them on disk (:class:`~revgov.rules.findings.SpilledFindings`) rather than in
#: memory: on 5M deals they are some 16M rows, nearly 3 GB as one frame.
FINDINGS_IN_MEMORY_MAX = 1_000_000


@dataclass
class _Input:
    frames: dict[str, Frame]
    implementation: nw.Implementation
    eager: bool


@dataclass
class _Run:
    rule: Rule
    index: int
    checks: list[tuple[int, Check]] = field(default_factory=list)


def resolve_rules(rules: Iterable[RuleSource] | None, config: Config) -> list[Rule]:
    """The concrete rules to run: the config's packs and declared rules by default, else the
    given rules and packs, each bound to ``config``; ``[rules]`` overrides applied; each
    rule's definition named (rules resting on revgov defaults only run at severity info)."""
    from revgov.rules.from_config import apply_settings
    from revgov.rules.governance import govern

    settings = config.rules
    if rules is None:
        from revgov.rules.packs import builtin_rules  # the packs load only when they run

        return builtin_rules(config)
    out: list[Rule] = []
    for item in rules:
        if isinstance(item, Rule):
            out.append(item.bind(config))
        elif callable(item):
            out.extend(r.bind(config) for r in item(config))
        else:
            raise RuleDefinitionError(
                f"not a rule or a pack: a {type(item).__name__} ({_short(item)})",
                hint="pass Rule objects (see revgov.rules.rule) or functions config -> rules",
            )
    _check_unique(out)
    return govern(apply_settings(out, settings, config, known_only=True), config)


def _check_unique(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for r in rules:
        if r.id in seen:
            raise RuleDefinitionError(
                f"two rules share the id {r.id!r}", hint="rule ids must be unique; rename one"
            )
        seen.add(r.id)


def _select_rules(
    rules: list[Rule], only: Sequence[str] | None, dimensions: Sequence[str] | None
) -> list[Rule]:
    if only:
        ids = [r.id for r in rules]
        for rid in only:
            if rid not in ids:
                close = difflib.get_close_matches(rid, ids, n=1)
                raise RuleDefinitionError(
                    f"no rule has the id {rid!r}",
                    hint=f"did you mean {close[0]!r}?"
                    if close
                    else "list the rule ids with `revgov audit --format json`",
                )
        rules = [r for r in rules if r.id in set(only)]
    if dimensions:
        for d in dimensions:
            if d not in DIMENSIONS:
                close = difflib.get_close_matches(d, DIMENSIONS, n=1)
                raise RuleDefinitionError(
                    f"unknown dimension {d!r}",
                    hint=(f"did you mean {close[0]!r}? " if close else "")
                    + f"dimensions: {', '.join(DIMENSIONS)}",
                )
        rules = [r for r in rules if r.dimension in set(dimensions)]
    return rules


def _wrap(frames: Mapping[str, Any]) -> _Input:
    out: dict[str, Frame] = {}
    impl: nw.Implementation | None = None
    eager = False
    for name, native in frames.items():
        if isinstance(native, nw.LazyFrame | nw.DataFrame):
            wrapped: Any = native
        else:
            try:
                wrapped = nw.from_native(native)
            except TypeError as exc:
                raise RuleError(
                    f"frame {name!r} is a {type(native).__name__}, not a data frame revgov "
                    "can audit",
                    hint="pass polars (Lazy)Frames, DuckDB relations or PySpark DataFrames",
                ) from exc
        if isinstance(wrapped, nw.DataFrame):
            eager = True
            if wrapped.implementation is not nw.Implementation.POLARS:
                wrapped = nw.from_native(wrapped.to_polars())
            wrapped = wrapped.lazy()
        lazy: Frame = wrapped
        if impl is None:
            impl = lazy.implementation
        elif lazy.implementation is not impl:
            raise RuleError(
                f"frames mix engines ({impl.name.lower()} and {lazy.implementation.name.lower()})",
                hint="give every entity as the same kind of frame (all polars, all DuckDB "
                "relations on one connection, or all Spark DataFrames of one session)",
            )
        out[name] = lazy
    _check_time_zone(out)
    return _Input(out, impl or nw.Implementation.POLARS, eager)


def _check_time_zone(frames: Mapping[str, Frame]) -> None:
    """DuckDB and Spark read timestamp parts in the session's time zone: require UTC (of
    every frame: DuckDB relations of one audit may come from different connections)."""
    for name, frame in frames.items():
        native = frame.to_native()
        impl: nw.Implementation = frame.implementation
        tz: str | None = None
        if impl is nw.Implementation.DUCKDB:
            tz = str(native.query("t", "select current_setting('TimeZone')").fetchall()[0][0])
        elif impl is nw.Implementation.PYSPARK:
            tz = str(native.sparkSession.conf.get("spark.sql.session.timeZone"))
        if tz is not None and tz not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
            raise RuleError(
                f"the {impl.name.lower()} session of frame {name!r} uses time "
                f"zone {tz!r}; revgov needs UTC to read timestamps",
                hint="DuckDB: con.execute(\"SET TimeZone = 'UTC'\"); Spark: "
                "spark.conf.set('spark.sql.session.timeZone', 'UTC')",
            )


def _prepare(frame: Frame) -> Frame:
    """Deleted or archived records (``is_deleted``) are not audited."""
    if "is_deleted" in frame.collect_schema().names():
        return frame.filter(~nw.col("is_deleted").fill_null(False))
    return frame


def _key_of(entity: str, keys: Mapping[str, str]) -> str:
    if entity in keys:
        return keys[entity]
    model = ENTITIES.get(entity)
    if model is None or len(model.primary_key) != 1:
        raise RuleDefinitionError(
            f"no record id column known for entity {entity!r}",
            hint=f"pass keys={{{entity!r}: '<id column>'}} to audit()",
        )
    return model.primary_key[0]


def _maybe_key(entity: str, keys: Mapping[str, str]) -> str | None:
    try:
        return _key_of(entity, keys)
    except RuleDefinitionError:
        return None


def _missing_column(
    rule: Rule, column: str, entity: str, available: Sequence[str]
) -> RuleDefinitionError:
    close = difflib.get_close_matches(column, available, n=1)
    return RuleDefinitionError(
        f"rule {rule.id} reads column {column!r}, which {entity} does not have",
        hint=(f"did you mean {close[0]!r}? " if close else "")
        + f"available columns: {', '.join(available)}",
    )


def _missing_frame(rule: Rule, entity: str, frames: Mapping[str, Frame]) -> RuleDefinitionError:
    close = difflib.get_close_matches(entity, list(frames), n=1, cutoff=0.5)
    reads = "audits" if entity == rule.entity else "reads"
    return RuleDefinitionError(
        f"rule {rule.id} {reads} {entity!r}, which is not among the frames audited "
        f"({', '.join(frames) or 'none'})",
        hint=(f"did you mean {close[0]!r}? " if close else "")
        + f"pass a {entity!r} frame to audit(), or fix the rule's entity",
    )


def _derivation_order(rules: Sequence[Rule]) -> list[Derivation]:
    seen: dict[str, Derivation] = {}

    def add(d: Derivation) -> None:
        for dep in d.after:
            add(dep)
        seen.setdefault(d.name, d)

    for r in rules:
        for d in r.derivations:
            add(d)
    return list(seen.values())


def _all_derivations(rule: Rule) -> list[Derivation]:
    out: list[Derivation] = []

    def add(d: Derivation) -> None:
        for dep in d.after:
            add(dep)
        out.append(d)

    for d in rule.derivations:
        add(d)
    return out


def _plan(
    rules: Sequence[Rule],
    frames: Mapping[str, Frame],
    schemas: Mapping[str, Sequence[str]],
    keys: Mapping[str, str],
) -> tuple[dict[str, list[Rule]], dict[str, str]]:
    """Runnable rules by entity, and the reason each other rule is not applicable.

    A rule that reads another entity is not applicable when that entity has no rows (and its own
    has some): with no users pulled every owner would be "unknown", with no activities every
    MQL "untouched".
    """
    runnable: dict[str, list[Rule]] = {}
    not_applicable: dict[str, str] = {}
    empty: dict[str, bool] = {}

    def is_empty(entity: str) -> bool:
        if entity not in empty:
            # One column: the first row of a filtered frame (deleted records dropped) is
            # found by reading the filter's input, every column of it with head(1) alone.
            frame = frames[entity]
            first = frame.collect_schema().names()[:1]
            probe = frame.select(first).head(1).collect(backend="polars").to_native()
            empty[entity] = probe.height == 0
        return empty[entity]

    for r in rules:
        if r.entity not in frames:
            if not r.optional:
                raise _missing_frame(r, r.entity, frames)
            not_applicable[r.id] = _reasons.missing_frame(r.entity)
            continue
        cols = schemas[r.entity]
        key = _key_of(r.entity, keys)
        reason = None
        for c in (key, *r.all_columns()):
            if c not in cols:
                if not r.optional:
                    raise _missing_column(r, c, r.entity, cols)
                reason = _reasons.missing_column(r.entity, c)
                break
        if reason is None:
            for d in _all_derivations(r):
                for ent, needed in d.requires.items():
                    if ent not in frames:
                        if not r.optional:
                            raise _missing_frame(r, ent, frames)
                        reason = _reasons.missing_frame(ent)
                        break
                    missing = [c for c in needed if c not in schemas[ent]]
                    if missing:
                        if not r.optional:
                            raise _missing_column(r, missing[0], ent, schemas[ent])
                        reason = _reasons.missing_column(ent, missing[0])
                        break
                    if ent != r.entity and is_empty(ent) and not is_empty(r.entity):
                        reason = _reasons.no_rows(ent, against=True)
                        break
                if reason:
                    break
        if reason:
            not_applicable[r.id] = reason
        else:
            runnable.setdefault(r.entity, []).append(r)
    return runnable, not_applicable


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC).replace(microsecond=0)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _short(item: object) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."


def audit(
    frames: Mapping[str, Any],
    rules: Iterable[RuleSource] | Config | None = None,
    *,
    config: Config | None = None,
    as_of: datetime | None = None,
    keys: Mapping[str, str] | None = None,
    only: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
    spill_dir: str | os.PathLike[str] | None = None,
) -> Report:
    """Audit ``frames`` (entity name to a polars, DuckDB or PySpark frame) against ``rules``.

    ``rules`` defaults to the packs and rules of ``config`` (the built-in baseline pack plus
    ``[[required_fields]]`` and ``[[rules.custom]]``); otherwise give Rule objects and packs
    (functions ``config -> rules``). ``as_of`` is the reference time of staleness and SLA
    rules (default: now). ``keys`` names the record id column of entities outside the
    canonical model. ``only`` and ``dimensions`` narrow the rules run. With ``spill_dir`` (an
    existing directory; polars input), each entity's flagged frame is streamed to a Parquet
    file there instead of collected in memory, so memory stays bounded on a snapshot larger
    than RAM; the files are not needed once ``audit`` returns (``revgov audit`` uses a
    temporary directory). The findings go the same way, and past
    :data:`FINDINGS_IN_MEMORY_MAX` of them (LazyFrame input) stay on disk in a temporary
    folder the report owns (:class:`~revgov.rules.findings.SpilledFindings`).

    Returns a :class:`~revgov.rules.report.Report` whose ``findings`` are of the same kind as
    the input (a polars LazyFrame for polars input).
    """
    if isinstance(rules, Config):
        # `audit(frames, config)`: the config given where the rules go is meant as the config.
        if config is not None:
            raise RuleDefinitionError(
                "audit() was given two configs: one in place of the rules, one as config=",
                hint="call audit(frames, config=cfg), and pass rules= only for Rule objects "
                "or packs",
            )
        rules, config = None, rules
    cfg = config if config is not None else Config()
    moment = _as_utc(as_of)
    key_map = dict(keys or {})
    all_rules = _select_rules(resolve_rules(rules, cfg), only, dimensions)
    inp = _wrap(frames)
    prepared = {name: _prepare(f) for name, f in inp.frames.items()}
    schemas = {name: f.collect_schema().names() for name, f in prepared.items()}
    runnable, not_applicable = _plan(all_rules, prepared, schemas, key_map)
    ctx = DeriveContext(
        frames=prepared,
        config=cfg,
        as_of=moment,
        keys={e: k for e in prepared if (k := _maybe_key(e, key_map)) is not None},
        spill_dir=Path(spill_dir)
        if spill_dir is not None and inp.implementation is nw.Implementation.POLARS
        else None,
    )

    plans = []
    for entity, entity_rules in runnable.items():
        base, runs = _entity_frame(entity, entity_rules, prepared[entity], ctx)
        plans.append((entity, _key_of(entity, key_map), base, runs))
    inputs: dict[str, list[str]] = {}
    for entity, _key, base, runs in plans:
        inputs[entity] = _input_columns(base, runs)
    plans = _materialize(plans, inp.implementation, inputs, spill_dir)
    branches: list[Frame] = []
    count_frames: list[tuple[str, Frame, list[_Run]]] = []
    for entity, key, base, runs in plans:
        branches += _branches(entity, key, base, runs)
        count_frames.append((entity, _counts(base, runs, inputs[entity]), runs))

    if branches:
        findings: Frame = nw.concat(branches, how="vertical")
    else:
        findings = _empty_like(prepared, inp.implementation)
    found, counts = _execute(inp, findings, [c for _, c, _ in count_frames], ctx.spill_dir)

    results, rows = _results(all_rules, count_frames, counts, not_applicable, inputs)
    native = _native_findings(inp, findings, found)
    extras = _report_extras(prepared, cfg, inp)
    return Report(
        results=tuple(results),
        findings=native,
        findings_rows=found,
        config_hash=cfg.config_hash,
        as_of=moment,
        engine=inp.implementation.name.lower(),
        rows=rows,
        users=extras["users"],
        utm_families=extras["utm_families"],
        has_stage_history=extras["has_stage_history"],
    )


def _results(
    rules: Sequence[Rule],
    count_frames: Sequence[tuple[str, Frame, list[_Run]]],
    counts: Sequence[dict[str, Any]],
    not_applicable: Mapping[str, str],
    inputs: Mapping[str, Sequence[str]],
) -> tuple[list[RuleResult], dict[str, int]]:
    """Each rule's result from the per-entity counts, and each entity's rows audited."""
    per_rule: dict[str, tuple[int, int, int]] = {}
    rows: dict[str, int] = {}
    filled: dict[str, dict[str, int]] = {}
    for (entity, _, runs), row in zip(count_frames, counts, strict=True):
        rows[entity] = int(row["__rows"])
        filled[entity] = {c: int(row[f"__nn{j}"]) for j, c in enumerate(inputs[entity])}
        for run in runs:
            i = run.index
            per_rule[run.rule.id] = (int(row[f"c{i}"]), int(row[f"v{i}"]), int(row[f"f{i}"]))
    results = []
    for r in rules:
        checked, violating, n_findings = per_rule.get(r.id, (0, 0, 0))
        reason = not_applicable.get(r.id)
        if reason is None and checked == 0:
            reason = _nothing_checked(r, rows.get(r.entity, 0), filled.get(r.entity, {}))
        results.append(
            RuleResult.of(
                r, checked=checked, violating=violating, findings=n_findings, reason=reason
            )
        )
    return results, rows


def _nothing_checked(rule: Rule, rows: int, filled: Mapping[str, int]) -> str:
    """Why a rule that ran checked no row: no rows, an input blank everywhere, or no row in
    its scope (and what would put rows there)."""
    if rows == 0:
        return _reasons.no_rows(rule.entity)
    blank = [c for c in rule.all_columns() if filled.get(c) == 0]
    if blank:
        return _reasons.blank_column(rule.entity, blank[0], rows)
    return _reasons.out_of_scope(rule.entity, rows, rule.needs)


def _entity_frame(
    entity: str, rules: Sequence[Rule], frame: Frame, ctx: DeriveContext
) -> tuple[Frame, list[_Run]]:
    base = frame
    for d in _derivation_order(rules):
        base = d.build(base, ctx)
    runs: list[_Run] = []
    flags: list[nw.Expr] = []
    check_no = 0
    for i, r in enumerate(rules):
        run = _Run(r, i)
        # A rule checking present values only needs no scope column: count() gives it.
        scope = r.scope if r.scope is None or r.present is None else r.effective_scope
        if scope is not None:
            flags.append(scope.fill_null(False).alias(f"__s{i}"))
        for c in r.checks:
            cond = c.violation if r.effective_scope is None else r.effective_scope & c.violation
            if c.scope is not None:
                cond = cond & c.scope
            flags.append(cond.fill_null(False).alias(f"__v{check_no}"))
            run.checks.append((check_no, c))
            check_no += 1
        runs.append(run)
    return base.with_columns(*flags), runs


_Plan = tuple[str, str, Frame, list[_Run]]


def _needed_columns(key: str, base: Frame, runs: Sequence[_Run]) -> list[str] | None:
    """Columns the findings and counts read from an entity's flagged frame (None: all)."""
    names = base.collect_schema().names()
    keep: dict[str, None] = {key: None}
    for run in runs:
        if run.rule.scope is not None:
            keep[f"__s{run.index}"] = None
        elif run.rule.present is not None:
            keep[run.rule.present] = None
        if run.rule.owner_column and run.rule.owner_column in names:
            keep[run.rule.owner_column] = None
        for n, c in run.checks:
            keep[f"__v{n}"] = None
            if c.field is not None and c.field in names and c.value is None:
                keep[c.field] = None
            for e in (c.value, c.message):
                if isinstance(e, nw.Expr):
                    cols = expr_columns(e)
                    if cols is None:
                        return None
                    keep.update(dict.fromkeys(cols))
    return [c for c in names if c in keep]


def _materialize(
    plans: list[_Plan],
    implementation: nw.Implementation,
    inputs: Mapping[str, Sequence[str]],
    spill_dir: str | os.PathLike[str] | None = None,
) -> list[_Plan]:
    """Compute every entity's flagged frame once, keeping only the columns that findings and
    counts read, so the per-check filters do not recompute joins and derivations.

    polars: collected together (in parallel), or with ``spill_dir`` streamed one by one to
    Parquet there and scanned back (memory bounded by the streaming engine, not by the
    snapshot); DuckDB: ``materialize()``; PySpark: an eager local checkpoint. Other engines
    stay lazy.
    """
    narrowed = []
    for entity, key, base, runs in plans:
        cols = _needed_columns(key, base, runs)
        if cols is not None:
            cols += [c for c in inputs.get(entity, ()) if c not in cols]
        narrowed.append((entity, key, base if cols is None else base.select(cols), runs))
    if implementation is nw.Implementation.POLARS and spill_dir is not None:
        spilled = []
        for i, (entity, key, base, runs) in enumerate(narrowed):
            # Numbered: an entity name need not be a safe file name.
            path = Path(spill_dir) / f"flags-{i}.parquet"
            base.to_native().sink_parquet(path)
            spilled.append((entity, key, nw.from_native(pl.scan_parquet(path)), runs))
        return spilled
    if implementation is nw.Implementation.POLARS:
        done = pl.collect_all([b.to_native() for _, _, b, _ in narrowed], engine=POLARS_ENGINE)
        return [
            (entity, key, nw.from_native(df.lazy()), runs)
            for (entity, key, _b, runs), df in zip(narrowed, done, strict=True)
        ]
    out: list[_Plan] = []
    for entity, key, base, runs in narrowed:
        native = base.to_native()
        if implementation is nw.Implementation.DUCKDB:
            native = native.materialize()
        elif implementation is nw.Implementation.PYSPARK:
            native = native.localCheckpoint(eager=True)
        out.append((entity, key, nw.from_native(native), runs))
    return out


def _branches(entity: str, key: str, base: Frame, runs: Sequence[_Run]) -> list[Frame]:
    schema = base.collect_schema()
    out = []
    for run in runs:
        r = run.rule
        owner = (
            nw.col(r.owner_column).cast(nw.String())
            if r.owner_column and r.owner_column in schema
            else lit_str(None)
        )
        for n, c in run.checks:
            if c.value is not None:
                value = c.value
            elif c.field is not None and c.field in schema:
                value = fmt_value(c.field, schema[c.field])
            else:
                value = lit_str(None)
            message = lit_str(c.message) if isinstance(c.message, str) else c.message
            out.append(
                base.filter(nw.col(f"__v{n}")).select(
                    lit_str(r.id).alias("rule_id"),
                    lit_str(c.severity or r.severity).alias("severity"),
                    lit_str(r.dimension).alias("dimension"),
                    lit_str(entity).alias("entity"),
                    nw.col(key).cast(nw.String()).alias("record_id"),
                    owner.alias("owner_id"),
                    lit_str(c.field).alias("field"),
                    value.cast(nw.String()).alias("value"),
                    message.cast(nw.String()).alias("message"),
                )
            )
    return out


def _input_columns(base: Frame, runs: Sequence[_Run]) -> list[str]:
    """The entity columns the rules read, in the flagged frame (their non-blank counts say
    which input is blank everywhere when a rule has nothing to check)."""
    names = base.collect_schema().names()
    wanted = dict.fromkeys(c for run in runs for c in run.rule.all_columns())
    return [c for c in wanted if c in names]


def _counts(base: Frame, runs: Sequence[_Run], columns: Sequence[str]) -> Frame:
    aggs = [nw.len().alias("__rows")]
    aggs += [nw.col(c).count().alias(f"__nn{j}") for j, c in enumerate(columns)]
    for run in runs:
        i = run.index
        if run.rule.scope is not None:
            checked = nw.col(f"__s{i}").cast(nw.Int64()).sum()
        elif run.rule.present is not None:
            checked = nw.col(run.rule.present).count()
        else:
            checked = nw.len()
        aggs.append(checked.alias(f"c{i}"))
        flags = [nw.col(f"__v{n}") for n, _ in run.checks]
        anyv = nw.any_horizontal(*flags, ignore_nulls=True) if len(flags) > 1 else flags[0]
        aggs.append(anyv.cast(nw.Int64()).sum().alias(f"v{i}"))
        found = [f.cast(nw.Int64()).sum() for f in flags]
        aggs.append((nw.sum_horizontal(*found) if len(found) > 1 else found[0]).alias(f"f{i}"))
    return base.select(*aggs)


def _empty_like(prepared: Mapping[str, Frame], implementation: nw.Implementation) -> Frame:
    """No findings, as a frame of the input's kind (a DuckDB relation for DuckDB input)."""
    if implementation is not nw.Implementation.POLARS:
        for frame in prepared.values():
            # with_columns keeps the zero rows of head(0); a select of literals alone would
            # broadcast them to one row.
            empty = frame.head(0).with_columns(
                *[lit_str(None).alias(c) for c in FINDINGS_SCHEMA.names()]
            )
            return empty.select(*FINDINGS_SCHEMA.names())
    return nw.from_native(empty_findings().lazy())


def _execute(
    inp: _Input, findings: Frame, counts: Sequence[Frame], spill_dir: Path | None = None
) -> tuple[pl.DataFrame | SpilledFindings, list[dict[str, Any]]]:
    if inp.implementation is nw.Implementation.POLARS and spill_dir is not None:
        # Streamed to disk and read back: collected in memory, each finding's strings would
        # keep alive the whole buffers (of a page of the flagged frame) they were cut from,
        # and the chunks of the stream would be copied once more to join them up. The counts
        # first: what their scans hold is freed before the findings are read into memory.
        path = spill_dir / "findings.parquet"
        findings.to_native().cast(FINDINGS_SCHEMA).sink_parquet(path)
        rows = pl.collect_all([c.to_native() for c in counts], engine=POLARS_ENGINE)
        height = pl.scan_parquet(path).select(pl.len()).collect().item()
        # Many findings stay on disk (eager input asked for eager findings: those are read).
        if height > FINDINGS_IN_MEMORY_MAX and not inp.eager:
            return SpilledFindings(path, height), [r.row(0, named=True) for r in rows]
        found = pl.read_parquet(path)
    elif inp.implementation is nw.Implementation.POLARS:
        natives = [findings.to_native(), *[c.to_native() for c in counts]]
        done = pl.collect_all(natives, engine=POLARS_ENGINE)
        found, rows = done[0], done[1:]
    else:
        found = findings.collect(backend="polars").to_native()
        rows = [c.collect(backend="polars").to_native() for c in counts]
    found = found.cast(FINDINGS_SCHEMA)
    return found, [r.row(0, named=True) for r in rows]


def _native_findings(inp: _Input, findings: Frame, found: pl.DataFrame | SpilledFindings) -> Any:
    if isinstance(found, SpilledFindings):
        return found.scan()
    if inp.implementation is nw.Implementation.POLARS:
        return found if inp.eager else found.lazy()
    return findings.to_native()


def _report_extras(prepared: Mapping[str, Frame], config: Config, inp: _Input) -> dict[str, Any]:
    """Small side tables for the report: users (for teams) and UTM spelling families."""
    from revgov.rules.report import utm_family_frame

    users = pl.DataFrame(schema={"user_id": pl.String, "name": pl.String, "team": pl.String})
    if "users" in prepared:
        cols = prepared["users"].collect_schema().names()
        if "user_id" in cols:
            sel = [nw.col("user_id").cast(nw.String())]
            sel += [
                (nw.col(c).cast(nw.String()) if c in cols else lit_str(None)).alias(c)
                for c in ("name", "team")
            ]
            users = prepared["users"].select(*sel).collect(backend="polars").to_native()
    families = utm_family_frame(prepared, config)
    history = False
    if "stage_events" in prepared:
        history = bool(
            prepared["stage_events"].select(nw.len()).collect(backend="polars").item() > 0
        )
    return {"users": users, "utm_families": families, "has_stage_history": history}
