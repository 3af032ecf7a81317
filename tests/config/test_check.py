"""`revgov config check` rejects every config a pull or an audit would reject, each problem
with its file, line, key and fix; and a config it accepts pulls and audits.

Each bad config below is a real revgov.toml (with its export files) that differs from a
good one in one place. For each, `config check` must fail naming the file and line of the
key at fault, the key, what is wrong and how to fix it; `pull` and `audit` must refuse it
too (so the check is not stricter than they are). The good configs exercise the edges the
checks must let through, and must pull and audit cleanly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from revgov.cli import EXIT_REVGOV_ERROR, main

BASE = """\
[company]
name = "Acme"

[[pipelines]]
name = "sales"
[[pipelines.stages]]
name = "Qualification"
order = 1
probability = 0.2
[[pipelines.stages]]
name = "Proposal"
order = 2
probability = 0.5
aliases = ["quote"]
[[pipelines.stages]]
name = "Closed Won"
order = 3
probability = 1.0
is_closed = true
is_won = true
[[pipelines.stages]]
name = "Closed Lost"
order = 4
probability = 0.0
is_closed = true

[[segments]]
name = "enterprise"
employees_min = 1000

[[sources]]
name = "crm"
connector = "files"
[sources.entities.opportunities]
path = "deals.csv"
columns = { opportunity_id = "Id", stage = "Stage", amount = "Amount", owner_id = "Owner" }
[sources.entities.people]
path = "people.csv"
columns = { person_id = "Id", email = "Email", kind = "Kind" }
"""

DEALS = "Id,Stage,Amount,Owner\nd1,quote,100,u1\nd2,closed won,50,u2\nd3,Mystery,10,u1\n"
PEOPLE = "Id,Email,Kind\np1,a@acme.com,lead\np2,b@acme.com,contact\n"


@dataclass(frozen=True)
class Bad:
    """A config that differs from BASE in one place, and what the check must say."""

    name: str
    edit: Callable[[str], str]
    marker: str  # a text on the line the problem is reported at
    key: str
    message: str
    fix: str


def add(text: str) -> Callable[[str], str]:
    return lambda base: base + "\n" + text


def swap(old: str, new: str) -> Callable[[str], str]:
    def edit(base: str) -> str:
        assert old in base, old
        return base.replace(old, new)

    return edit


BAD = [
    Bad(
        "invalid regex in a custom rule",
        add(
            '[[rules.custom]]\nid = "people.title_caps"\nkind = "pattern"\nfield = "email"\n'
            'pattern = "(a"'
        ),
        'pattern = "(a"',
        "rules.custom[0].pattern",
        "invalid regular expression at position 0",
        "escaping literal characters",
    ),
    Bad(
        "regex Python accepts and polars refuses",
        add(
            '[[rules.custom]]\nid = "people.email_end"\nkind = "pattern"\nfield = "email"\n'
            "pattern = 'com\\Z'"
        ),
        "pattern = 'com",
        "rules.custom[0].pattern",
        "invalid regular expression at position 3 (polars",
        "use $ instead of \\Z",
    ),
    Bad(
        "ambiguous regex replacing a built-in format",
        add('[rules.formats]\nemail = "[[:alpha:]]+@"'),
        'email = "[[',
        "rules.formats.email",
        "ambiguous regular expression at position 1",
        "write character classes out",
    ),
    Bad(
        "unknown template token",
        add(
            '[campaign_naming]\ntemplate = "{year}-{quarter}_{chanel}"\n'
            '[campaign_naming.tokens]\nchannel = ["email", "search"]'
        ),
        "template = ",
        "campaign_naming.template",
        "token {chanel} at position 17 has no vocabulary",
        "did you mean {channel}?",
    ),
    Bad(
        "unbalanced brace in the template",
        add('[campaign_naming]\ntemplate = "{year}}-{quarter}"'),
        "template = ",
        "campaign_naming.template",
        "unbalanced brace at position 6",
        "each token is written {name}",
    ),
    Bad(
        "token regex polars refuses",
        add("[campaign_naming.tokens]\nyear = '20\\d{2'"),
        "year = ",
        "campaign_naming.tokens.year",
        "invalid regular expression at position 4",
        "close every {m,n}",
    ),
    Bad(
        "typo in [rules]",
        add("[rules.skiped_stage]\nrequired = []"),
        "[rules.skiped_stage]",
        "rules.skiped_stage",
        "unknown key 'skiped_stage' in [rules]",
        "did you mean 'skipped_stage'?",
    ),
    Bad(
        "typo in a rule override",
        add('[rules."people.email_missing"]\ntreshold = 0.1'),
        "treshold",
        'rules."people.email_missing".treshold',
        "Extra inputs are not permitted",
        "did you mean 'threshold'?",
    ),
    Bad(
        "bad severity in a rule override",
        add('[rules."people.email_missing"]\nseverity = "fatal"'),
        'severity = "fatal"',
        'rules."people.email_missing".severity',
        "Input should be 'info', 'warn' or 'error'",
        "use one of: info, warn, error",
    ),
    Bad(
        "override of a rule id no pack has",
        add('[rules."people.email_missng"]\nseverity = "warn"'),
        '[rules."people.email_missng"]',
        'rules."people.email_missng"',
        "no rule has the id 'people.email_missng'",
        "did you mean 'people.email_missing'?",
    ),
    Bad(
        "disabled rule id no pack has",
        add('[rules]\ndisabled = ["people.phone_fromat"]'),
        "disabled = ",
        "rules.disabled",
        "no rule has the id 'people.phone_fromat'",
        "did you mean 'people.phone_format'?",
    ),
    Bad(
        "unknown rule pack",
        add('[rules]\npacks = ["baseline", "basline_plus"]'),
        "packs = ",
        "rules.packs[1]",
        "unknown rule pack 'basline_plus'",
        "packs: baseline",
    ),
    Bad(
        "business hours 17:00-09:00",
        add("[sla.business_hours]\nstart = 17:00:00\nend = 09:00:00"),
        "end = 09:00:00",
        "sla.business_hours.end",
        "end 09:00:00 is not after start 17:00:00 (business hours cannot run past midnight)",
        "set start before end",
    ),
    Bad(
        "a working day that is no weekday",
        add("[sla.business_hours]\nworking_days = [1, 2, 8]"),
        "working_days = ",
        "sla.business_hours.working_days",
        "must be ISO weekdays 1..7",
        "working_days = [1, 2, 3, 4, 5]",
    ),
    Bad(
        "unknown time zone",
        add('[sla]\ntimezone = "Europe/Londres"'),
        "timezone = ",
        "sla.timezone",
        "unknown time zone 'Europe/Londres'",
        "use a name such as America/New_York",
    ),
    Bad(
        "speed-to-lead limits without a default",
        add("[sla.speed_to_lead_hours]\nenterprise = 1.0"),
        "[sla.speed_to_lead_hours]",
        "sla.speed_to_lead_hours",
        "speed_to_lead_hours has no `default`",
        "add default = 4.0",
    ),
    Bad(
        "the SLA clock's start set where it no longer lives",
        add('[rules.speed_to_lead]\nstart = "created_at"'),
        "[rules.speed_to_lead]",
        "rules.speed_to_lead",
        "[rules.speed_to_lead] moved",
        "speed_to_lead_start",
    ),
    Bad(
        "unknown connector",
        add('[[sources]]\nname = "hub"\nconnector = "file"'),
        'connector = "file"',
        "sources[1].connector",
        "unknown connector 'file'",
        "did you mean 'files'?",
    ),
    Bad(
        "unknown connector option",
        swap('connector = "files"\n', 'connector = "files"\noptions = { page_sise = 10 }\n'),
        "options = ",
        "sources[0].options.page_sise",
        "Extra inputs are not permitted",
        "did you mean 'page_size'?",
    ),
    Bad(
        "unknown key in an entity table",
        swap('path = "people.csv"', 'path = "people.csv"\nseparater = ";"'),
        "separater",
        "sources[0].entities.people.separater",
        "Extra inputs are not permitted",
        "did you mean 'separator'?",
    ),
    Bad(
        "mapping to a column the model does not have",
        swap('amount = "Amount"', 'amout = "Amount"'),
        "columns = { opportunity_id",
        "sources[0].entities.opportunities.columns.amout",
        "[columns] names 'amout', which is not a column of opportunities",
        "did you mean 'amount'?",
    ),
    Bad(
        "missing export file",
        swap('path = "deals.csv"', 'path = "deal.csv"'),
        "[[sources]]",
        "sources[0]",
        "does not exist",
        "did you mean 'deals.csv'?",
    ),
    Bad(
        "qualified from a stage deals leave at",
        add('[qualified]\nopportunity_min_stage = "Closed Lost"'),
        "opportunity_min_stage",
        "qualified.opportunity_min_stage",
        "'Closed Lost' is not a pipeline stage deals pass on the way to won",
        "open and won stages: Qualification, Proposal, Closed Won",
    ),
    Bad(
        "lifecycle map to an unknown stage",
        add('[lifecycle.map]\n"Marketing Qualified" = "marketing_qualified"'),
        '"Marketing Qualified"',
        "lifecycle.map.Marketing Qualified",
        "= 'marketing_qualified' is not in lifecycle.stages",
        "stages: subscriber, lead, mql",
    ),
    Bad(
        "SQL stages that are not lifecycle stages",
        add('[qualified]\nperson_lifecycle_stages = ["sql", "custmer"]'),
        "person_lifecycle_stages",
        "qualified.person_lifecycle_stages",
        "'custmer' is not a lifecycle stage",
        "did you mean 'customer'?",
    ),
    Bad(
        "unknown custom rule kind",
        add('[[rules.custom]]\nid = "people.x"\nkind = "requird"\nfields = ["email"]'),
        'kind = "requird"',
        "rules.custom[0].kind",
        "does not match any of the expected tags",
        "did you mean 'required'?",
    ),
    Bad(
        "custom rule without its kind's keys",
        add('[[rules.custom]]\nid = "opportunities.x"\nkind = "compare"\nfield = "amount"'),
        "[[rules.custom]]",
        "rules.custom[0].op",
        "Field required",
        "add `op = ...`",
    ),
    Bad(
        "custom rule on an entity that does not exist",
        add(
            '[[rules.custom]]\nid = "opportunity.next_step"\nkind = "required"\n'
            'fields = ["next_step"]'
        ),
        'id = "opportunity.next_step"',
        "rules.custom[0].id",
        "'opportunity' is not an entity of the canonical model",
        "did you mean 'opportunities'?",
    ),
    Bad(
        "custom rule on a column no source keeps",
        add(
            '[[rules.custom]]\nid = "opportunities.product_missing"\nkind = "required"\n'
            'fields = ["prodct"]'
        ),
        "[[rules.custom]]",
        "rules.custom[0]",
        "'prodct' is not a column of opportunities: the audit would stop there",
        "did you mean 'product'?",
    ),
    Bad(
        "stage alias that names another stage",
        swap('aliases = ["quote"]', 'aliases = ["quote", "closed won"]'),
        'aliases = ["quote"',
        "pipelines[0].stages[1].aliases",
        "'closed won' names two stages ('Closed Won' and 'Proposal')",
        "give every stage its own name and aliases",
    ),
    Bad(
        "routing rule to an unknown pool",
        add('[[routing.rules]]\nname = "all"\npool = "inbound"\n[routing.pools]\ninbond = ["u1"]'),
        'pool = "inbound"',
        "routing.rules[0].pool",
        "names unknown pool 'inbound'",
        "did you mean 'inbond'?",
    ),
    Bad(
        "routing rule on an unknown segment",
        add('[[routing.rules]]\nname = "big"\nsegments = ["entreprise"]\nowner = "u1"'),
        "segments = ",
        "routing.rules[0].segments",
        "'entreprise' is not a segment",
        "did you mean 'enterprise'?",
    ),
    Bad(
        "required fields in a stage that does not exist",
        add(
            '[[required_fields]]\nentity = "opportunities"\nfields = ["amount"]\n'
            'when_stage = ["Propsal"]'
        ),
        "when_stage",
        "required_fields[0].when_stage",
        "'Propsal' is not a pipeline stage",
        "did you mean 'Proposal'?",
    ),
    Bad(
        "required fields rule id of another entity",
        add(
            '[[required_fields]]\nid = "people.amount_missing"\nentity = "opportunities"\n'
            'fields = ["amount"]'
        ),
        'id = "people.amount_missing"',
        "required_fields[0].id",
        "does not start with the entity 'opportunities'",
        "write id = 'amount_missing'",
    ),
    Bad(
        "vocabulary of a tag that does not exist",
        add('[utm.vocabulary]\nutm_sorce = ["google"]'),
        "utm_sorce",
        "utm.vocabulary.utm_sorce",
        "'utm_sorce', which is not a UTM tag",
        "did you mean 'utm_source'?",
    ),
    Bad(
        "required stage that is not a stage",
        add('[rules.skipped_stage]\nrequired = ["Qualifcation"]'),
        "required = ",
        "rules.skipped_stage.required",
        "'Qualifcation' is not a pipeline stage",
        "did you mean 'Qualification'?",
    ),
    Bad(
        "credential written into the config",
        swap('connector = "files"\n', 'connector = "files"\noptions = { api_key = "sk-123" }\n'),
        "options = ",
        "sources[0].options",
        "looks like a credential",
        "api_key_env",
    ),
]


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    path = tmp_path / "revgov.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if marker in line)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err


def test_there_are_enough_cases() -> None:
    assert len(BAD) >= 25
    assert len({b.name for b in BAD}) == len(BAD)


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_check_rejects_with_file_line_key_and_fix(
    bad: Bad, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = bad.edit(BASE)
    path = _write(tmp_path, text)
    code, err = _run(["config", "check", str(path)], capsys)
    assert code == EXIT_REVGOV_ERROR, err
    assert "Traceback" not in err
    where = f"revgov.toml:{_line(text, bad.marker)}: {bad.key}"
    assert where in err, f"expected {where!r} in:\n{err}"
    assert bad.message in err, err
    assert bad.fix in err, err


@pytest.fixture(scope="module")
def base_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot pulled with the good BASE config, for auditing under the bad ones."""
    root = tmp_path_factory.mktemp("base")
    path = _write(root, BASE)
    assert main(["pull", "-c", str(path), "--snapshot", str(root / "snap")]) == 0
    return root / "snap"


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_a_pull_or_an_audit_refuses_what_check_refuses(
    bad: Bad, tmp_path: Path, base_snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other side: the check refuses nothing that a pull and an audit would both run."""
    path = _write(tmp_path, bad.edit(BASE))
    pulled, pull_err = _run(["pull", "-c", str(path), "--snapshot", str(tmp_path / "s")], capsys)
    audited, audit_err = _run(
        ["audit", "-c", str(path), "--snapshot", str(base_snapshot), "--fail-on", "never"], capsys
    )
    assert EXIT_REVGOV_ERROR in (pulled, audited), (pull_err, audit_err)
    assert "Traceback" not in pull_err + audit_err


GOOD = [
    ("the base config", lambda b: b),
    (
        "24-hour business days, every day",
        add(
            '[sla]\ntimezone = "Australia/Lord_Howe"\nholidays = [2026-12-25]\n'
            'speed_to_lead_start = "created_at"\n'
            "[sla.business_hours]\nstart = 00:00:00\nend = 23:59:59\nworking_days = [1, 2, 3, 4, 5, 6, 7]\n"
            '[sla.speed_to_lead_hours]\ndefault = 8\nenterprise = 2\n"enterprise:lead" = 1\ncontact = 24'
        ),
    ),
    (
        "stages and lifecycle spelled in other cases",
        add(
            '[qualified]\nopportunity_min_stage = "QUOTE"\nperson_lifecycle_stages = ["SQL", "Customer"]\n'
            '[lifecycle.map]\n"Marketing Qualified Lead" = "mql"\n'
            '[rules.skipped_stage]\nrequired = ["qualification"]\n'
            '[[required_fields]]\nentity = "opportunities"\nfields = ["amount"]\nwhen_stage = ["quote"]'
        ),
    ),
    (
        "every built-in kind, on canonical columns and a custom field",
        lambda b: (
            b.replace(
                'columns = { opportunity_id = "Id", stage = "Stage", amount = "Amount", owner_id = "Owner" }',
                'columns = { opportunity_id = "Id", stage = "Stage", amount = "Amount", owner_id = "Owner" }\n'
                'custom_fields = { Owner = "string" }',
            )
            + "\n"
            + "\n".join(
                [
                    '[[rules.custom]]\nid = "opportunities.product_missing"\nkind = "required"\nfields = ["product"]\nwhen = { stage = ["Proposal"] }',
                    '[[rules.custom]]\nid = "opportunities.type_ok"\nkind = "allowed"\nfield = "type"\nvalues = ["renewal"]\nignore_case = true',
                    '[[rules.custom]]\nid = "people.email_ok"\nkind = "format"\nfield = "email"\nformat = "email"',
                    '[[rules.custom]]\nid = "people.email_acme"\nkind = "pattern"\nfield = "email"\npattern = \'@acme\\.com$\'',
                    '[[rules.custom]]\nid = "opportunities.amount_cap"\nkind = "range"\nfield = "amount"\nmin = 0\nmax = 1000000',
                    '[[rules.custom]]\nid = "opportunities.close_after_created"\nkind = "compare"\nfield = "close_date"\nop = ">="\nother = "created_at"\nseverity = "warn"',
                    '[[rules.custom]]\nid = "people.unique_email"\nkind = "unique"\nfield = "email"\nnormalize = "email"',
                    '[[rules.custom]]\nid = "opportunities.owner_known"\nkind = "reference"\nfield = "owner_id"\nreferences = "users"',
                    '[[rules.custom]]\nid = "opportunities.proposal_amount"\nkind = "required_on_entry"\nfields = ["amount"]\nstages = ["quote"]',
                    '[[rules.custom]]\nid = "opportunities.owner_raw"\nkind = "required"\nfields = ["Owner"]',
                ]
            )
        ),
    ),
    (
        "overrides, disabled rules and a naming template with regex tokens",
        add(
            '[rules]\ndisabled = ["people.phone_format"]\n'
            '[rules."people.email_missing"]\nseverity = "warn"\nthreshold = 0.5\n'
            '[campaign_naming]\ntemplate = "{year}-{quarter}_{channel}"\n'
            '[campaign_naming.tokens]\nyear = "20\\\\d{2}"\nquarter = "q[1-4]"\nchannel = ["email", "search"]'
        ),
    ),
]


@pytest.mark.parametrize(("name", "edit"), GOOD, ids=[g[0] for g in GOOD])
def test_what_check_accepts_pulls_and_audits(
    name: str,
    edit: Callable[[str], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(tmp_path, edit(BASE))
    code, err = _run(["config", "check", str(path)], capsys)
    assert code == 0, err
    snap = str(tmp_path / "snap")
    code, err = _run(["pull", "-c", str(path), "--snapshot", snap], capsys)
    assert code == 0, err
    code, err = _run(["audit", "-c", str(path), "--snapshot", snap, "--fail-on", "never"], capsys)
    assert code == 0, err
