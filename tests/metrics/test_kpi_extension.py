"""A KPI is one decorated function in one file: a toy KPI, shipped by a (fake) installed
package as a single module, shows in the registry, in ``revgov metrics`` and in the generated
catalogue; the registry is the same whatever was imported first; a definition that cannot work
fails when its module is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

import revgov.metrics as metrics
from revgov.cli import EXIT_USAGE, main
from revgov.docgen.metrics_page import render
from revgov.errors import PluginWarning
from revgov.metrics import kpi, kpis
from revgov.metrics import registry as registry_module
from revgov.metrics._examples import example_frames

# The whole of a new KPI: its definition, how it runs, its docs (the docstring). Plain
# polars, as a third party would write it; it takes by= but no every=, so --every is refused.
TOY = textwrap.dedent(
    '''
    """Toy KPIs for the extension test."""

    from __future__ import annotations

    import polars as pl

    from revgov.metrics import kpi
    from revgov.metrics.registry import SALES


    @kpi(
        title="Large-deal share",
        unit="share",
        basis="deals by creation, all time",
        owner=SALES,
        driver="Enterprise focus of the pipeline.",
        remediation="Route large accounts to the enterprise team.",
        inputs=("opportunities",),
        example="large_deal_share(opportunities)",
        headline="large_deal_share",
    )
    def large_deal_share(opportunities, *, by=None, threshold=10_000.0):
        """Share of deals with an amount of at least ``threshold``.

        Formula: ``large_deal_share = deals with amount >= threshold / deals``.

        Returns: ``[*by], deals, large_deals, large_deal_share``.
        """
        keys = list(by or [])
        large = (pl.col("amount") >= threshold).fill_null(False)
        aggs = [
            pl.len().alias("deals"),
            large.sum().cast(pl.Int64).alias("large_deals"),
            large.mean().alias("large_deal_share"),
        ]
        lf = opportunities.lazy()
        return lf.group_by(keys).agg(aggs).sort(keys) if keys else lf.select(aggs)


    @kpi(
        title="Bookings again",
        unit="currency",
        basis="won deals",
        owner=SALES,
        driver="x",
        remediation="x",
        inputs=("opportunities",),
        example="bookings(opportunities)",
    )
    def bookings(opportunities):
        """A plugin KPI whose name a built-in already has.

        Formula: ``nothing``.

        Returns: ``nothing``.
        """
        return opportunities
    '''
)


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking package naming two KPI modules: the toy, and one that is broken."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toy_revgov_kpis.py").write_text(TOY, encoding="utf-8")
    (site / "toy_revgov_broken.py").write_text("raise ImportError('needs libfoo')\n")
    dist = site / "toy_revgov_kpis-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: toy-revgov-kpis\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        f"[{registry_module.ENTRY_POINT_GROUP}]\n"
        "toy = toy_revgov_kpis\nbroken = toy_revgov_broken\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    for mod in ("toy_revgov_kpis", "toy_revgov_broken"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    # Rebuild the registry with the package installed; the built one comes back afterwards.
    monkeypatch.setattr(registry_module, "_registry", None)
    return site


def _built_with_plugin() -> dict[str, metrics.KPIDefinition]:
    with pytest.warns(PluginWarning) as caught:
        built = kpis()
    messages = " ".join(str(w.message) for w in caught)
    assert "toy_revgov_broken" in messages and "fails to import" in messages
    assert "'bookings' of plugin toy is skipped" in messages
    return built


def test_a_toy_kpi_in_one_file_is_in_the_registry(toy_plugin: Path) -> None:
    built = _built_with_plugin()
    names = list(built)
    # The built-ins first, in their order; then the plugin's KPI.
    assert names[-1] == "large_deal_share"
    assert names[:-1] == list(registry_module._builtins())
    toy = built["large_deal_share"]
    assert toy.formula == "`large_deal_share = deals with amount >= threshold / deals`."
    assert (toy.takes_by, toy.takes_every) == (True, False)
    assert built["bookings"].function is metrics.bookings  # the built-in keeps its name


def test_a_toy_kpi_runs_in_revgov_metrics(
    toy_plugin: Path, example_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _built_with_plugin()
    argv = ["metrics", "-s", str(example_snapshot), "--as-of", "2024-04-01", "-f", "json"]
    assert main([*argv, "--kpi", "large_deal_share", "--by", "segment"]) == 0
    got = json.loads(capsys.readouterr().out)["tables"]["large_deal_share"]
    # Recomputed by hand from the example CRM: the deals created by then, per segment.
    opps = example_frames()["opportunities"].filter(
        pl.col("created_at") <= datetime(2024, 4, 1, tzinfo=UTC)
    )
    want = (
        opps.group_by("segment")
        .agg(pl.len().alias("deals"), (pl.col("amount") >= 10_000).sum().alias("large"))
        .sort("segment")
    )
    assert [(r["segment"], r["deals"], r["large_deals"]) for r in got] == want.rows()
    assert [r["large_deal_share"] for r in got] == [r[2] / r[1] for r in want.rows()]
    # The headline table lists it with its unit; --list too.
    assert main(argv) == 0
    rows = {r["kpi"]: r for r in json.loads(capsys.readouterr().out)["tables"]["metrics"]}
    assert rows["large_deal_share"]["unit"] == "share"
    assert rows["large_deal_share"]["value"] == (opps["amount"] >= 10_000).sum() / opps.height
    assert 0 < rows["large_deal_share"]["value"] < 1
    assert main(["metrics", "--list", "-f", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tables"]["kpis"]
    assert {"kpi": "large_deal_share", "title": "Large-deal share"}.items() <= listed[-1].items()
    # It takes no every=: asking for periods is a usage error, not an ignored option.
    assert main([*argv, "--kpi", "large_deal_share", "--every", "1mo"]) == EXIT_USAGE
    err = capsys.readouterr().err.translate({ord(c): " " for c in "│╭╮╰╯─"})
    assert "large_deal_share cannot be split into periods" in " ".join(err.split())


def test_a_toy_kpi_is_in_the_generated_catalogue(toy_plugin: Path) -> None:
    _built_with_plugin()
    page = render()
    assert "| [Large-deal share](#large-deal-share-large_deal_share) | share | Sales " in page
    section = page.split("## Large-deal share (`large_deal_share`)")[1].split("\n## ")[0]
    assert "| Formula | `large_deal_share = deals with amount >= threshold / deals`. |" in section
    assert "| Remediation play | Route large accounts to the enterprise team. |" in section
    # The worked example ran on the example CRM: its table is in the page.
    assert "| deals | large_deals | large_deal_share |" in section


def test_the_registry_does_not_depend_on_what_was_imported_first() -> None:
    orders = []
    for first in ("revgov.metrics.demand", "revgov.metrics.velocity", "revgov.metrics"):
        code = f"import {first}\nfrom revgov.metrics.registry import kpis\nprint(','.join(kpis()))"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        orders.append(out.stdout.strip())
    assert orders[0] == orders[1] == orders[2] == ",".join(kpis())


def test_every_builtin_kpi_is_exported_from_revgov_metrics() -> None:
    for name, d in registry_module._builtins().items():
        assert getattr(metrics, name) is d.function
        assert name in metrics.__all__


def _doc(formula: str = "Formula: ``x``.", returns: str = "Returns: ``x``.") -> str:
    return f"A KPI.\n\n{formula}\n\n{returns}\n"


def _register(func: object, **overrides: object) -> None:
    fields: dict[str, object] = {
        "title": "T",
        "unit": "share",
        "basis": "b",
        "owner": "o",
        "driver": "d",
        "remediation": "r",
        "inputs": ("opportunities",),
        "example": "f(opportunities)",
    }
    fields.update(overrides)
    kpi(**fields)(func)


@pytest.mark.parametrize(
    ("doc", "inputs", "signature", "error"),
    [
        (_doc(formula=""), ("opportunities",), "opportunities", "no 'Formula' paragraph"),
        (_doc(returns=""), ("opportunities",), "opportunities", "no 'Returns' paragraph"),
        (_doc(), ("deals",), "opportunities", "inputs must name entities"),
        (_doc(), ("opportunities",), "opportunities, targets", "nothing binds"),
        (_doc(), ("opportunities", "people"), "opportunities", "no parameter takes"),
        (_doc(), ("people",), "opportunities", "parameter 'opportunities' would get the people"),
    ],
)
def test_a_definition_that_cannot_work_fails_at_import(
    doc: str, inputs: tuple[str, ...], signature: str, error: str
) -> None:
    namespace: dict[str, object] = {}
    exec(f"def f({signature}):\n    return None\n", namespace)  # a function of that shape
    func = namespace["f"]
    func.__doc__ = doc
    with pytest.raises(TypeError, match=error):
        _register(func, inputs=inputs)


def test_parameters_are_bound_by_name_on_a_snapshot() -> None:
    # Inputs in order, options, config sections, optional frames, and defaults left alone.
    bindings = {
        b.parameter: (b.source, b.key) for b in metrics.KPIS["qualified_pipeline"].run.bindings
    }
    assert bindings == {
        "opportunities": ("input", "opportunities"),
        "pipelines": ("config", "pipelines"),
        "qualified": ("config", "qualified"),
        "stage_events": ("frame", "stage_events"),
        "by": ("option", "by"),
        "every": ("option", "every"),
    }
