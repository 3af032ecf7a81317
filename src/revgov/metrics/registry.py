"""The KPI registry: every KPI registered by :func:`kpi` beside its function, the source of
docs/metrics.md and of ``revgov metrics``.

A KPI is one decorated function in a topic module::

    @kpi(
        title="Bookings",
        unit="count; currency",
        basis="won deals by close period",
        owner=SALES,
        driver="Win rate, deal size and the pipeline maturing in the period.",
        remediation="Compare with the forecast; inspect slipped deals and late-stage losses.",
        inputs=("opportunities",),
        example='bookings(opportunities, every="1mo")',
        headline="bookings",
        headline_unit="currency",
    )
    def bookings(opportunities, *, by=None, every=None, ...):
        \"\"\"Closed-won deals, counted and summed.

        Formula: ...

        Returns: ...
        \"\"\"

The decorator returns the function unchanged and records its :class:`KPIDefinition`: the
governed definition (unit, basis, owner, driver, remediation play), the entities it reads,
a worked example over the example CRM, and how ``revgov metrics`` runs it on a snapshot
(:func:`kpi` explains how parameters are bound). The formula, summary and output columns
are read from the docstring, so the code, the registry and the docs say the same thing.

:data:`KPIS` is built on first use from an explicit list of modules, :data:`KPI_MODULES` (the
built-in topics, in catalogue order), then the modules that installed packages name in the
``revgov.kpis`` entry-point group (by entry-point name): it is complete and in one order
whatever was imported first.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import narwhals as nw

from revgov._typing import CONVERSION_BASES, ENTITY_NAMES
from revgov.errors import MetricInputError, PluginWarning
from revgov.metrics._cutoff import frames_as_of
from revgov.metrics._frames import lazy
from revgov.metrics._time import fiscal_every, naive_utc, parse_every
from revgov.metrics.enrich import enriched_by, with_enrichments, with_stage_attributes

if TYPE_CHECKING:
    from revgov.config import Config

__all__ = [
    "CONFIG_PARAMETERS",
    "ENTRY_POINT_GROUP",
    "FINANCE",
    "KPIS",
    "KPI_MODULES",
    "MARKETING",
    "REVENUE_OPERATIONS",
    "SALES",
    "SALES_DEVELOPMENT",
    "KPIDefinition",
    "RunContext",
    "by_closeness",
    "check_options",
    "compute",
    "docstring_section",
    "frame_columns",
    "get_kpi",
    "groupable_columns",
    "kpi",
    "kpi_notes",
    "kpis",
    "plain",
    "prepare_frames",
    "row_count",
]

#: The built-in KPI modules, in catalogue order; each KPI in a module in definition order.
KPI_MODULES: tuple[str, ...] = (
    "revgov.metrics.pipeline",
    "revgov.metrics.conversion",
    "revgov.metrics.velocity",
    "revgov.metrics.responsiveness",
    "revgov.metrics.efficiency",
    "revgov.metrics.marketing",
    "revgov.metrics.demand",
)

#: Entry-point group through which installed packages add KPI modules (``name = "module"``).
ENTRY_POINT_GROUP = "revgov.kpis"

# Who answers for a KPI (the ``owner=`` of :func:`kpi`).
REVENUE_OPERATIONS = "Revenue operations"
SALES = "Sales leadership"
MARKETING = "Marketing"
FINANCE = "Finance"
SALES_DEVELOPMENT = "Sales development"

#: KPI parameters bound from revgov.toml by name: parameter -> ``Config`` attribute.
CONFIG_PARAMETERS: dict[str, str] = {
    "pipelines": "pipelines",
    "stages": "pipelines",
    "qualified": "qualified",
    "sla": "sla",
    "icp": "icp",
    "choices": "kpis",
}

#: The parameters a KPI may take from the command line (``--by``, ``--every``, ``--as-of``,
#: and ``--basis`` for those registered with ``takes_basis``).
_OPTIONS = ("by", "every", "as_of", "basis")

#: Options passed only when given (else the function keeps its own default).
_OPTIONAL_OPTIONS = ("every", "basis")

#: The attribute :func:`kpi` sets on the functions it registers.
_MARK = "__revgov_kpi__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RunContext:
    """What ``revgov metrics`` passes each KPI: prepared frames, the definitions, the options."""

    frames: Mapping[str, Any]
    config: Config
    by: list[str] | None
    every: str | None
    as_of: datetime
    #: ``cohort`` or ``period`` (``--basis``), for the KPIs that take it.
    basis: str | None = None

    def __getitem__(self, entity: str) -> Any:
        return self.frames[entity]

    @property
    def pipelines(self) -> Any:
        """The configured pipelines; an error when there are none."""
        if not self.config.pipelines:
            raise MetricInputError(
                "this KPI needs the pipeline stages", hint="add [[pipelines]] to revgov.toml"
            )
        return self.config.pipelines


@dataclass(frozen=True)
class _Binding:
    """Where one parameter of a KPI function gets its value on a snapshot."""

    parameter: str
    source: str  # "input", "frame", "option" or "config"
    key: str  # the entity, option or Config attribute
    required: bool


@dataclass(frozen=True)
class SnapshotCall:
    """The default way ``revgov metrics`` runs a KPI: each parameter bound by name
    (see :func:`kpi`)."""

    function: Callable[..., Any]
    bindings: tuple[_Binding, ...]

    def __call__(self, ctx: RunContext) -> Any:
        kwargs: dict[str, Any] = {}
        for b in self.bindings:
            if b.source == "input":
                kwargs[b.parameter] = ctx[b.key]
            elif b.source == "frame":
                kwargs[b.parameter] = ctx.frames.get(b.key)
            elif b.source == "config":
                kwargs[b.parameter] = _config_value(ctx, b)
            elif b.key in _OPTIONAL_OPTIONS:
                value = getattr(ctx, b.key)
                if value is not None:  # else the function's own default
                    kwargs[b.parameter] = value
            else:
                kwargs[b.parameter] = getattr(ctx, b.key)
        return self.function(**kwargs)


def _config_value(ctx: RunContext, binding: _Binding) -> Any:
    if binding.key == "pipelines":
        # Pipelines are a list: a required parameter needs one, an optional one gets None.
        return ctx.pipelines if binding.required else (ctx.config.pipelines or None)
    return getattr(ctx.config, binding.key)


@dataclass(frozen=True)
class KPIDefinition:
    """The governed definition of one KPI (made by :func:`kpi`)."""

    name: str
    title: str
    function: Callable[..., Any]
    unit: str
    basis: str
    owner: str
    driver: str
    remediation: str
    #: Entities the KPI reads (all must have rows for ``revgov metrics`` to run it).
    inputs: tuple[str, ...]
    #: Python over the example CRM (names: the entities, ``config``, ``as_of``, the KPIs).
    example: str
    #: How ``revgov metrics`` computes it from a snapshot.
    run: Callable[[RunContext], Any] = field(repr=False)
    #: The column that summarises it in one number (first row, no grouping).
    headline: str | None = None
    #: The unit of the headline column (default: ``unit``, when it names only one).
    headline_unit: str | None = None
    #: Entities whose columns ``by=`` may name (default: the first input).
    by_entities: tuple[str, ...] | None = None
    #: Whether the KPI can be grouped (``by=``) and split into periods (``every=``).
    takes_by: bool = True
    takes_every: bool = True
    #: Whether it takes ``basis="cohort" | "period"`` (``--basis``).
    takes_basis: bool = False
    #: What a result on a snapshot leaves out or cannot say (:func:`kpi_notes`).
    notes: Callable[[RunContext], list[str]] | None = field(default=None, repr=False)

    @property
    def grouped_by(self) -> tuple[str, ...]:
        """The entities whose columns ``by=`` names."""
        return self.by_entities if self.by_entities is not None else self.inputs[:1]

    @property
    def headline_label(self) -> str:
        """The unit of the headline value as shown."""
        return self.headline_unit if self.headline_unit is not None else self.unit

    @property
    def formula(self) -> str:
        return docstring_section(self.function, "Formula")

    @property
    def returns(self) -> str:
        return docstring_section(self.function, "Returns")

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.function) or ""
        return plain(doc.split("\n\n")[0])


def kpi(
    *,
    title: str,
    unit: str,
    basis: str,
    owner: str,
    driver: str,
    remediation: str,
    inputs: Sequence[str],
    example: str,
    headline: str | None = None,
    headline_unit: str | None = None,
    by_entities: Sequence[str] | None = None,
    run: Callable[[RunContext], Any] | None = None,
    takes_by: bool | None = None,
    takes_every: bool | None = None,
    takes_basis: bool = False,
    notes: Callable[[RunContext], list[str]] | None = None,
) -> Callable[[F], F]:
    """Register the decorated function as a KPI (see :class:`KPIDefinition` for the fields).

    Its docstring must have a ``Formula:`` and a ``Returns:`` paragraph. Without ``run``,
    ``revgov metrics`` calls it with each parameter bound by name:

    - a parameter without a default takes the next of ``inputs`` (the snapshot's frames, in
      order), unless it names a section of revgov.toml;
    - ``by``, ``every`` and ``as_of`` take the command-line options (``every`` keeps the
      function's default when none is given);
    - a parameter named in :data:`CONFIG_PARAMETERS` takes that section of the config
      (``pipelines`` and ``stages``: an error when none are configured, or None when the
      parameter is optional);
    - any other parameter named after an entity takes that frame when the snapshot has it;
    - the rest keep their defaults.

    ``run`` replaces this for a KPI computed from another's output (it gets a
    :class:`RunContext`). ``takes_by`` and ``takes_every`` default to whether the function
    has a ``by`` and an ``every`` parameter; ``takes_basis`` says that its ``basis``
    parameter is a :data:`~revgov._typing.ConversionBasis` (``--basis cohort|period``).
    ``notes`` computes, from the same :class:`RunContext`, what a result leaves out or
    cannot say (rows left out and why, a degenerate value): :func:`kpi_notes` and every
    output of ``revgov metrics`` show them. A definition that cannot work (an unknown
    entity, a docstring without its formula, a parameter nothing binds) fails at import.
    """

    def register(function: F) -> F:
        name = function.__name__
        for label in ("Formula", "Returns"):
            if not docstring_section(function, label):
                raise TypeError(f"KPI {name}: its docstring has no {label!r} paragraph")
        unknown = [e for e in (*inputs, *(by_entities or ())) if e not in ENTITY_NAMES]
        if unknown or not inputs:
            raise TypeError(f"KPI {name}: inputs must name entities, got {unknown or inputs}")
        params = inspect.signature(function).parameters
        if takes_basis and "basis" not in params:
            raise TypeError(f"KPI {name}: takes_basis needs a 'basis' parameter")
        definition = KPIDefinition(
            name=name,
            title=title,
            function=function,
            unit=unit,
            basis=basis,
            owner=owner,
            driver=driver,
            remediation=remediation,
            inputs=tuple(inputs),
            example=example,
            run=run or SnapshotCall(function, _bindings(function, tuple(inputs), takes_basis)),
            headline=headline,
            headline_unit=headline_unit,
            by_entities=tuple(by_entities) if by_entities is not None else None,
            takes_by="by" in params if takes_by is None else takes_by,
            takes_every="every" in params if takes_every is None else takes_every,
            takes_basis=takes_basis,
            notes=notes,
        )
        setattr(function, _MARK, definition)
        return function

    return register


def _bindings(
    function: Callable[..., Any], inputs: tuple[str, ...], takes_basis: bool = False
) -> tuple[_Binding, ...]:
    """Where each parameter of ``function`` comes from on a snapshot (see :func:`kpi`)."""
    name = function.__name__
    pending = list(inputs)
    out: list[_Binding] = []
    for p in inspect.signature(function).parameters.values():
        required = p.default is inspect.Parameter.empty
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if p.name in CONFIG_PARAMETERS:
            out.append(_Binding(p.name, "config", CONFIG_PARAMETERS[p.name], required))
        elif p.name == "basis" and not takes_basis:
            continue  # another kind of basis (count/amount...): from the config or its default
        elif p.name in _OPTIONS:
            out.append(_Binding(p.name, "option", p.name, required))
        elif required:
            if not pending:
                raise TypeError(f"KPI {name}: nothing binds its parameter {p.name!r}")
            entity = pending.pop(0)
            if p.name in ENTITY_NAMES and p.name != entity:
                raise TypeError(f"KPI {name}: parameter {p.name!r} would get the {entity}")
            out.append(_Binding(p.name, "input", entity, True))
        elif p.name in ENTITY_NAMES:
            if p.name in pending:
                pending.remove(p.name)
            out.append(_Binding(p.name, "frame", p.name, False))
    if pending:
        raise TypeError(f"KPI {name}: no parameter takes its input(s) {', '.join(pending)}")
    return tuple(out)


def docstring_section(func: Callable[..., Any], label: str) -> str:
    """The paragraph of ``func``'s docstring that starts with ``label`` (its text after the
    first colon, on one line)."""
    doc = inspect.getdoc(func) or ""
    for para in doc.split("\n\n"):
        if para.startswith(label):
            text = para[len(label) :].removeprefix(":")
            return plain(text)
    return ""


def plain(text: str) -> str:
    """Docstring text as one line of Markdown: ``x`` and :func:`x` become `x`."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text.replace("``", "`"))
    return " ".join(text.split())


# -- the registry -------------------------------------------------------------------------


def _definitions(module: ModuleType) -> Iterator[KPIDefinition]:
    """The KPIs defined in ``module``, in definition order (imported ones are not its own)."""
    for obj in vars(module).values():
        definition = getattr(obj, _MARK, None)
        if isinstance(definition, KPIDefinition) and obj.__module__ == module.__name__:
            yield definition


def _plugin_modules() -> list[tuple[str, ModuleType]]:
    """The KPI modules installed packages declare, by entry-point name; a module that fails
    to import is skipped with a :class:`~revgov.errors.PluginWarning`."""
    out = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        try:
            module = importlib.import_module(ep.value)
        except Exception as exc:
            warnings.warn(
                f"KPI plugin {ep.name} = {ep.value!r} is skipped: it fails to import "
                f"({type(exc).__name__}: {exc})",
                PluginWarning,
                stacklevel=3,
            )
            continue
        out.append((ep.name, module))
    return out


def _builtins() -> dict[str, KPIDefinition]:
    """The KPIs of :data:`KPI_MODULES`, in catalogue order."""
    out: dict[str, KPIDefinition] = {}
    for module_name in KPI_MODULES:
        for d in _definitions(importlib.import_module(module_name)):
            if d.name in out:  # pragma: no cover - a built-in bug, caught by the tests
                raise TypeError(f"two built-in KPIs are named {d.name!r}")
            out[d.name] = d
    return out


def _build() -> dict[str, KPIDefinition]:
    """The built-in KPIs, then the plugins' (a plugin KPI never replaces one already there)."""
    out = _builtins()
    for plugin, module in _plugin_modules():
        for d in _definitions(module):
            if d.name in out:
                warnings.warn(
                    f"KPI {d.name!r} of plugin {plugin} is skipped: the name is taken",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            out[d.name] = d
    return out


_registry: dict[str, KPIDefinition] | None = None


def kpis() -> dict[str, KPIDefinition]:
    """Every KPI by name, in catalogue order (built once, on first use)."""
    global _registry
    if _registry is None:
        _registry = _build()
    return _registry


if TYPE_CHECKING:
    #: Every KPI by name, in catalogue order (:func:`kpis`).
    KPIS: dict[str, KPIDefinition]


def __getattr__(name: str) -> Any:
    if name == "KPIS":
        return kpis()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def by_closeness(name: str, choices: Sequence[str]) -> list[str]:
    """``choices`` ordered by how close each is to ``name`` (closest first)."""
    return sorted(choices, key=lambda c: (-difflib.SequenceMatcher(None, name, c).ratio(), c))


def get_kpi(name: str) -> KPIDefinition:
    """The definition of ``name``; an unknown name lists the KPIs, closest first."""
    registry = kpis()
    try:
        return registry[name]
    except KeyError:
        names = by_closeness(name, list(registry))
        raise MetricInputError(
            f"unknown KPI {name!r}; the KPIs, closest first: {', '.join(names)}",
            hint=f"did you mean {names[0]!r}?",
        ) from None


# -- running a KPI on a snapshot ------------------------------------------------------------


def prepare_frames(
    frames: Mapping[str, Any],
    config: Config,
    *,
    as_of: datetime | date | str | None = None,
) -> dict[str, Any]:
    """Frames as the KPIs expect them from a snapshot: deals carry their stage attributes
    (flags filled from the pipelines), and deals and people carry the enrichments their
    users and accounts provide (:data:`~revgov.metrics.enrich.ENRICHMENTS`: ``owner_region``,
    ``owner_team``, ``owner_role``, ``owner_manager``, ``account_segment``...), so ``by=``
    may name any of them.

    With ``as_of``, every frame is cut to what had happened by then (records created later
    left out, deals closed later reopened at their stage of the time: see
    :mod:`revgov.metrics._cutoff`), so every time-dependent KPI measures the same moment.
    """
    out = dict(frames)
    opps = out.get("opportunities")
    staged = opps is not None and bool(config.pipelines) and "stage" in frame_columns(opps)
    if staged:
        out["opportunities"] = with_stage_attributes(opps, config.pipelines)
    if as_of is not None:
        out = frames_as_of(out, naive_utc(as_of))
        if staged:
            # The stage may have been read back from history: its order and probability too.
            out["opportunities"] = with_stage_attributes(out["opportunities"], config.pipelines)
    sources = {
        name: out[name]
        for name in ("users", "accounts")
        if out.get(name) is not None and row_count(out[name]) > 0
    }
    for entity in ("opportunities", "people"):
        frame = out.get(entity)
        if frame is not None and sources:
            out[entity] = with_enrichments(
                frame, users=sources.get("users"), accounts=sources.get("accounts")
            )
    return out


def row_count(frame: Any) -> int:
    """Rows in any supported frame (collects a count only)."""
    lf = nw.from_native(frame)
    if isinstance(lf, nw.DataFrame):
        return len(lf)
    return int(lf.select(nw.len()).collect().item())


def frame_columns(frame: Any) -> list[str]:
    """The column names of any supported frame (reads the schema only)."""
    return lazy(frame, name="frame").collect_schema().names()


def groupable_columns(definition: KPIDefinition, frames: Mapping[str, Any]) -> list[str] | None:
    """The columns ``by=`` may name for ``definition``: those every entity it groups has
    (None when one of them is not in ``frames``)."""
    names: list[str] | None = None
    for entity in definition.grouped_by:
        if frames.get(entity) is None:
            return None
        cols = frame_columns(frames[entity])
        names = cols if names is None else [c for c in names if c in cols]
    return names


def check_options(
    definition: KPIDefinition,
    frames: Mapping[str, Any],
    *,
    by: Sequence[str] | None,
    every: str | None,
    basis: str | None = None,
) -> None:
    """Raise :class:`MetricInputError` for a ``by``, ``every`` or ``basis`` the KPI cannot
    honour: it never ignores one. ``by`` columns must be on every entity the KPI groups."""
    if basis is not None:
        if not definition.takes_basis:
            takers = [d.name for d in kpis().values() if d.takes_basis]
            raise MetricInputError(
                f"{definition.name} has no cohort or period basis: basis= does not apply to it",
                hint=f"leave out basis= (--basis); the KPIs that take it: {', '.join(takers)}",
            )
        if basis not in CONVERSION_BASES:
            raise MetricInputError(
                f"unknown basis {basis!r}",
                hint=f"choose one of: {', '.join(CONVERSION_BASES)}",
            )
    if by and not definition.takes_by:
        raise MetricInputError(
            f"{definition.name} cannot be grouped: by= does not apply to it",
            hint="leave out by= (--by), or choose another KPI",
        )
    if every and not definition.takes_every:
        raise MetricInputError(
            f"{definition.name} cannot be split into periods: every= does not apply to it",
            hint="leave out every= (--every), or choose another KPI",
        )
    parse_every(every)
    valid = groupable_columns(definition, frames)
    if by and valid is not None:
        bad = [c for c in by if c not in valid]
        if bad:
            where = " and ".join(definition.grouped_by)
            close = by_closeness(bad[0], valid)
            raise MetricInputError(
                f"{definition.name} cannot group by {bad[0]!r}: no such column on {where}; "
                f"the columns, closest first: {', '.join(close)}",
                hint=f"did you mean {close[0]!r}?" if close else None,
            )


def compute(
    name: str,
    frames: Mapping[str, Any],
    config: Config,
    *,
    by: Sequence[str] | None = None,
    every: str | None = None,
    basis: str | None = None,
    as_of: datetime | date | str | None = None,
    prepared: bool = False,
) -> Any:
    """Compute KPI ``name`` on snapshot frames (as :meth:`SnapshotStore.frames` gives them).

    ``as_of`` (default now) cuts the frames to what had happened by then
    (:func:`prepare_frames`); with ``prepared=True`` the frames were prepared with that
    ``as_of`` already. With ``kpis.fiscal_calendar``, quarters and years follow the fiscal
    year (``company.fiscal_year_start_month``). ``basis`` (``cohort`` or ``period``) goes to
    the KPIs registered with ``takes_basis``. A ``by``, ``every`` or ``basis`` the KPI cannot
    honour raises :class:`MetricInputError`; :func:`kpi_notes` says what the result leaves
    out.
    """
    return get_kpi(name).run(
        _context(
            name, frames, config, by=by, every=every, basis=basis, as_of=as_of, prepared=prepared
        )
    )


def kpi_notes(
    name: str,
    frames: Mapping[str, Any],
    config: Config,
    *,
    by: Sequence[str] | None = None,
    every: str | None = None,
    basis: str | None = None,
    as_of: datetime | date | str | None = None,
    prepared: bool = False,
) -> list[str]:
    """What :func:`compute` with the same arguments leaves out or cannot say: where each
    enriched ``by`` column comes from, then the KPI's own notes (rows left out and how many,
    a degenerate value and why). ``revgov metrics`` shows them in every format."""
    definition = get_kpi(name)
    ctx = _context(
        name, frames, config, by=by, every=every, basis=basis, as_of=as_of, prepared=prepared
    )
    out = [f"enriched_by: {note}" for note in enriched_by(ctx.by)]
    if definition.notes is not None:
        out += definition.notes(ctx)
    return out


def _context(
    name: str,
    frames: Mapping[str, Any],
    config: Config,
    *,
    by: Sequence[str] | None,
    every: str | None,
    basis: str | None,
    as_of: datetime | date | str | None,
    prepared: bool,
) -> RunContext:
    definition = get_kpi(name)
    moment = naive_utc(as_of)
    ready = frames if prepared else prepare_frames(frames, config, as_of=moment)
    missing = [e for e in definition.inputs if e not in ready]
    if missing:
        raise MetricInputError(
            f"{name} needs {', '.join(missing)}, which the snapshot lacks",
            hint="map them in the source's entities and pull again",
        )
    check_options(definition, ready, by=by, every=every, basis=basis)
    if config.kpis.fiscal_calendar:
        every = fiscal_every(every, config.company.fiscal_year_start_month)
    return RunContext(
        frames=ready,
        config=config,
        by=list(by) if by else None,
        every=every,
        as_of=moment,
        basis=basis,
    )
