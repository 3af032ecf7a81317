"""The rule catalogue (docs/rules.md) and the maturity page (docs/maturity.md)."""

from __future__ import annotations

from pydantic import BaseModel

from revgov.config import Config, CustomRuleBase, RuleOverride, RulesSettings
from revgov.docgen.reference import default_text, type_name
from revgov.rules.base import DIMENSIONS, Rule
from revgov.rules.kinds import FORMATS, available_kinds
from revgov.rules.maturity import CRITERIA, STAGES
from revgov.rules.packs.baseline import baseline

__all__ = ["maturity_page", "rules_page"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _model_table(model: type[BaseModel], *, skip: tuple[str, ...] = ()) -> list[str]:
    out = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        # Tables of revgov.toml are described in config.md.
        kind = type_name(field.annotation).replace("](#", "](config.md#")
        out.append(
            f"| `{name}` | {kind} | {default_text(field)} | {_cell(field.description or '')} |"
        )
    return out


def rules_page() -> str:
    rules = baseline(Config())
    lines = _intro(rules)
    lines += _pack(rules)
    lines += _declared()
    lines += _formats_and_python()
    return "\n".join(lines)


def _intro(rules: list[Rule]) -> list[str]:
    return [
        "# Rule catalogue",
        "",
        "Generated from the rules themselves by `python -m revgov.docgen rules`; do not edit",
        "by hand (a test compares this page with the code).",
        "",
        "revgov audits a CRM with **rules**: each has an id `<entity>.<name>`, the entity it",
        "checks, a severity (`info`, `warn`, `error`), a governance dimension",
        f"({', '.join(f'`{d}`' for d in DIMENSIONS)}), a description, an owner, a remediation",
        "play and, optionally, a threshold (the rule fails only when more than that share of",
        "the checked rows violates). Every violating (record, field) is a finding: `rule_id,",
        "severity, dimension, entity, record_id, owner_id, field, value, message`.",
        "",
        "The **baseline pack** below runs by default. Its rules read their settings from",
        "`revgov.toml` (the *settings* column). Rules declared in `revgov.toml`",
        "(`[[required_fields]]`, `[[rules.custom]]`) run alongside; see the end of this page.",
        "",
        "**No silent passes.** A rule whose input entity or column is absent, whose input",
        "column is blank in every row, or that has no row to check (no stage history with",
        "moves, no SLA clock started) is `not_applicable` and never a pass: its `reason` says",
        "which column of which entity is missing and how to provide it (the",
        "`[sources.entities.<entity>]` mapping), in the table, JSON and Markdown reports.",
        "**Where a definition comes from.** Every rule in a report carries its `definition`:",
        "the `revgov.toml` keys it reads that the company wrote (its *settings*, or an",
        '`[rules."<rule id>"]` severity or threshold), `revgov default: ... (not set in',
        "revgov.toml)` when the company set none of them, or a built-in check that needs no",
        "company definition (an email's format). A rule resting only on revgov defaults (three",
        "follow-up attempts in seven days, four business hours to first touch, 30 days in a",
        "stage) is *ungoverned*: it runs at severity `info`, its findings are still listed, and",
        "it is left out of the dimension scores, which are computed from the company's own",
        "definitions. The business calendar (`sla.timezone`, `sla.business_hours`,",
        "`sla.holidays`) and `segments` shape how a rule measures but do not adopt it. Set",
        "one of a rule's settings (or its severity) to make it the company's own.",
        "",
        "`revgov audit --strict` exits 1 when any rule is not applicable, and an audit in which",
        "no rule checked a record (an empty snapshot) exits 1: *nothing was audited*. Stage",
        "history kept as one row per stage entered, without a from-value (Salesforce's",
        "OpportunityHistory), is read in order: each event's from-value is the previous",
        "event's to-value (by `changed_at`); `opportunities.stale_in_stage` reads",
        "`stage_entered_at`, else when the deal entered its stage per the stage history.",
        "",
        f"## Baseline pack ({len(rules)} rules)",
        "",
        "| rule | entity | kind | dimension | severity | settings |",
        "|---|---|---|---|---|---|",
    ]


def _pack(rules: list[Rule]) -> list[str]:
    lines: list[str] = []
    for r in rules:
        settings = ", ".join(f"`{s}`" for s in r.settings) or "-"
        lines.append(
            f"| [`{r.id}`](#{_anchor(r)}) | {r.entity} | {r.kind} | {r.dimension} | "
            f"{r.severity} | {settings} |"
        )
    lines += [
        "",
        "`accounts.misrouted` and `opportunities.misrouted` join the pack when",
        '`[[routing.rules]]` has entries for that entity (`entity = "accounts"`). The UTM',
        "rules run on `people` and on `campaign_touches`; with no touches they have nothing",
        "to check (status `not_applicable`).",
        "",
    ]
    for r in rules:
        lines += [
            f"### `{r.id}`",
            "",
            r.description,
            "",
            f"- entity: `{r.entity}`; kind: {r.kind}; dimension: {r.dimension}; "
            f"severity: {r.severity}",
            f"- owner: {r.owner or '-'}",
            f"- remediation: {r.remediation or '-'}",
        ]
        if r.settings:
            lines.append("- configured by: " + ", ".join(f"`{s}`" for s in r.settings))
        needs = sorted({e for d in _derivations(r) for e in d})
        if needs:
            lines.append("- also reads: " + ", ".join(f"`{e}`" for e in needs))
        lines.append("")
    return lines


def _declared() -> list[str]:
    lines: list[str] = []
    lines += [
        "## Rules declared in revgov.toml",
        "",
        "### `[[required_fields]]`",
        "",
        "Each entry is a rule of kind `required`. With `id` it is one rule checking every",
        "listed field (id `<entity>.<id>`); without, one rule per field, id",
        "`<entity>.<field>_missing`. `when_stage`, `when_lifecycle_stage`, `when_segment` and",
        "`when_type` (people: `kind`, opportunities: `type`) restrict the rows checked. A",
        "declared rule with the id of a pack rule replaces it.",
        "",
        "```toml",
        "[[required_fields]]",
        'id = "amount_missing_late_stage"',
        'entity = "opportunities"',
        'fields = ["amount"]',
        'when_stage = ["Proposal", "Negotiation", "Closed Won"]',
        "```",
        "",
        "### `[rules]`",
        "",
        *_model_table(RulesSettings),
        "",
        'Per-rule overrides, keyed by rule id (`[rules."people.email_missing"]`):',
        "",
        *_model_table(RuleOverride),
        "",
        "### `[[rules.custom]]`",
        "",
        "Rules of your own, of any registered **kind**. Each table is validated when the",
        "config is loaded by the model of its `kind` (a discriminated union over the kinds",
        "below): an unknown kind, a missing or misspelt key, an invalid regex or an entity",
        "that is not in the canonical model is an error naming the file, line, key and fix.",
        "Every kind takes these keys:",
        "",
        *_model_table(CustomRuleBase, skip=("kind",)),
        "",
        *_kinds_section(),
        "### Named formats",
        "",
        "| format | rule |",
        "|---|---|",
    ]
    return lines


def _formats_and_python() -> list[str]:
    lines: list[str] = []
    for name, spec in FORMATS.items():
        rule_text = (
            f"one of {len(spec)} codes" if isinstance(spec, frozenset) else f"`{_cell(spec)}`"
        )
        lines.append(f"| `{name}` | {rule_text} |")
    lines += [
        "",
        "Regular expressions must work on every engine (polars, DuckDB, Spark). Each is checked",
        "when the rules are built, with Python's `re` and with polars' engine: look-arounds,",
        "back-references, what polars cannot parse (`a{2`, `\\Z`) and ambiguous classes",
        "(`[[:alpha:]]`) are errors naming the rule, the key (with its file and line) and the",
        "position of the problem.",
        "",
        "## Rules in Python",
        "",
        "A rule is a narwhals expression that is true on violating rows; the same rule runs on",
        "polars, DuckDB and PySpark frames. Write one with the `@rule` decorator (it may take",
        "the `config`), or with the constructors of `revgov.rules.kinds`, and pass them to",
        "`audit` with the packs you want:",
        "",
        "```python",
        "import narwhals as nw",
        "from revgov.rules import audit, builtin_rules, kinds, rule",
        "",
        '@rule("opportunities.big_deal_no_product", dimension="completeness", field="product")',
        "def big_deal_no_product() -> nw.Expr:",
        '    """Deals over 100k name their product."""',
        '    return (nw.col("amount") > 100_000) & nw.col("product").is_null()',
        "",
        'picklist = kinds.allowed_values("opportunities.type_unknown", "opportunities", "type",',
        '                                ["new business", "renewal"], severity="warn")',
        "report = audit(frames, [*builtin_rules(config), big_deal_no_product, picklist],",
        "               config=config)",
        'report.raise_for_findings(min_severity="error")',
        "```",
        "",
        "Rules that need other entities name *derivations* (joins and windows the engine runs",
        "once per entity, shared by every rule that names them); see `revgov.rules.Derivation`.",
    ]
    return lines


def _kinds_section() -> list[str]:
    """One entry per registered rule kind: what it checks, its own keys, an example."""
    kinds = available_kinds()
    lines = [
        f"{len(kinds)} kinds are registered: " + ", ".join(f"`{k}`" for k in kinds) + ".",
        "A kind is one module (see [contributing.md](contributing.md#adding-a-rule-kind)).",
        "",
    ]
    base = set(CustomRuleBase.model_fields)
    for name, kind in kinds.items():
        lines += [f"#### Kind `{name}`", "", kind.summary, ""]
        own = tuple(k for k in base if k != "id")
        if set(kind.settings.model_fields) - base:
            lines += [*_model_table(kind.settings, skip=(*own, "id")), ""]
        lines += ["```toml", "[[rules.custom]]", kind.example, "```", ""]
    return lines


def _anchor(rule: Rule) -> str:
    return rule.id.replace(".", "")


def _derivations(rule: Rule) -> list[list[str]]:
    out = []
    for d in rule.derivations:
        for dep in (*d.after, d):
            out.append([e for e in dep.requires if e != rule.entity])
    return out


def maturity_page() -> str:
    lines = [
        "# Governance maturity",
        "",
        "Generated from `revgov.rules.maturity` by `python -m revgov.docgen maturity`;",
        "do not edit by hand.",
        "",
        "Every audit report places the CRM at one of three stages, with the criteria that put",
        "it there (`report.maturity`, the *Maturity* table of `revgov audit`, `maturity` in",
        "the JSON output).",
        "",
        "| stage | name | what it means |",
        "|---|---|---|",
        "| 1 | activity-led | The CRM records activity, but pipeline and revenue are not "
        "reliably connected to accounts, owners and stages. Every CRM starts here. |",
        "| 2 | pipeline-connected | Deals live in governed pipelines, are linked to accounts "
        "and owned; records are complete and stage history is kept. |",
        "| 3 | revenue-operated | On top of that, routing, SLAs, attribution (UTM tags and "
        "campaign names) and lifecycle integrity are governed well enough to run revenue "
        "on the data. |",
        "",
        "## Criteria",
        "",
        "A stage is reached when all of its criteria and all of the lower stages' criteria are",
        "met. A pass rate is `1 - violating / checked` of a rule; a dimension score is the mean",
        "pass rate of the dimension's evaluated rules. A criterion that cannot be evaluated (a",
        "rule not applicable: its input is absent, or it had nothing to check) is not met.",
        "",
        "| stage | criterion | measure | threshold |",
        "|---|---|---|---|",
    ]
    for c in CRITERIA:
        lines.append(
            f"| {c.stage} ({STAGES[c.stage]}) | {c.name} | {_cell(c.description)} | "
            f">= {c.threshold:.0%} |"
        )
    lines += [
        "",
        "The thresholds are deliberately demanding: a CRM at stage 3 can be trusted for",
        "forecasting, attribution and capacity planning without manual clean-up first.",
    ]
    return "\n".join(lines)
