"""Campaign naming: the public parser, template errors, and the expression twin agreeing."""

from __future__ import annotations

import narwhals as nw
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revgov.config import CampaignNaming
from revgov.errors import RuleDefinitionError
from revgov.rules import parse_campaign_name
from revgov.rules._naming import compile_template, naming_expressions

TOKENS: dict[str, list[str] | str] = {
    "year": r"20\d{2}",
    "quarter": "q[1-4]",
    "channel": ["search", "paid-social", "email"],
    "region": ["na", "emea", "apac"],
    "offer": ["demo", "ebook"],
}
NAMING = CampaignNaming(tokens=TOKENS)
TEMPLATE = "'{year}-{quarter}_{channel}_{region}_{offer}'"


def test_parse_valid_name_reads_every_token() -> None:
    parsed = parse_campaign_name("2026-q1_paid-social_emea_demo", NAMING)
    assert parsed.ok
    assert parsed.tokens == {
        "year": "2026",
        "quarter": "q1",
        "channel": "paid-social",
        "region": "emea",
        "offer": "demo",
    }
    assert parsed.message == "ok"


@pytest.mark.parametrize(
    ("name", "token", "reason"),
    [
        (
            "2026-q1_search_mars_demo",
            "region",
            "token region='mars' is not an allowed value; allowed: na, emea, apac",
        ),
        (
            "2026-q1_Email_na_demo",
            "channel",
            "token channel='Email' is not an allowed value (use lowercase 'email'); "
            "allowed: search, paid-social, email",
        ),
        (
            "2026-Q1_email_na_demo",
            "quarter",
            "token quarter='Q1' does not match the pattern q[1-4]",
        ),
        # The shape first: a missing token or separator, an extra one, a wrong separator.
        ("2026-q1_email_na", "", f"wrong number of tokens: 4 where the template {TEMPLATE} has 5"),
        (
            "2026_q1_email_na_demo",
            "",
            f"wrong separators: '____' where the template {TEMPLATE} has '-___'",
        ),
        (
            "2026-q1-paid-social-na-demo",
            "",
            f"wrong separators: '----' where the template {TEMPLATE} has '-___'",
        ),
        ("2026-q1__na_demo", "channel", "token channel is empty"),
        (
            "2026-q1_email_na_demo_v2",
            "",
            f"wrong number of tokens: 6 where the template {TEMPLATE} has 5",
        ),
        (
            "Spring Promo!!",
            "",
            f"wrong number of tokens: 1 where the template {TEMPLATE} has 5",
        ),
        # Right shape, wrong value: the token is named.
        (
            "2026-q1_paid-social_na_webinar",
            "offer",
            "token offer='webinar' is not an allowed value; allowed: demo, ebook",
        ),
    ],
)
def test_parse_says_which_token_is_wrong_and_why(name: str, token: str, reason: str) -> None:
    parsed = parse_campaign_name(name, NAMING)
    assert not parsed.ok
    assert parsed.problem is not None
    assert parsed.problem.token == token
    assert parsed.message == reason


def test_template_and_token_overrides() -> None:
    parsed = parse_campaign_name("emea/webinar", template="{region}/{offer}")
    assert parsed.ok and parsed.tokens == {"region": "emea", "offer": "webinar"}
    parsed = parse_campaign_name("x-emea", template="x-{region}", tokens={"region": ["na"]})
    assert parsed.problem is not None and parsed.problem.token == "region"
    parsed = parse_campaign_name("y-na", template="x-{region}", tokens={"region": ["na"]})
    assert parsed.message == "name does not start with 'x-'"


@pytest.mark.parametrize(
    ("template", "tokens", "fragment"),
    [
        ("{year}-{quarter", {}, "unbalanced brace at position 7"),
        ("{year}}", {}, "unbalanced brace at position 6"),
        ("{year}{quarter}", {}, "no separator between them (position 6)"),
        ("plain text", {}, "has no {token}"),
        ("{year}-{ye ar}", {}, "is not a name"),
        ("{year}-{year}", {}, "appears twice"),
        ("{year}-{quarter}", {"region": ["na"]}, "names region, not tokens of the template"),
        ("{year}-{quarter}", {"year": r"(\d{4}"}, "campaign_naming.tokens.year: invalid regular"),
        # Python's `re` accepts these, polars does not: caught before any data is read.
        ("{year}-{quarter}", {"year": r"20\d{2"}, "tokens.year: invalid regular expression at "),
        ("{year}-{quarter}", {"year": r"\d{4}\Z"}, "position 5 (polars: unrecognized escape"),
        (
            "{year}_{chanel}",
            {"channel": ["email"]},
            "campaign_naming.template: token {chanel} at position 7 has no vocabulary",
        ),
        ("{year}_{chanel}", {"channel": ["email"]}, "did you mean {channel}?"),
    ],
)
def test_bad_templates_point_at_the_problem(
    template: str, tokens: dict[str, str | list[str]], fragment: str
) -> None:
    with pytest.raises(RuleDefinitionError) as err:
        compile_template(template, tokens)
    assert fragment in str(err.value)


def _expr_verdicts(names: list[str]) -> list[tuple[bool, str]]:
    tpl = compile_template(NAMING.template, TOKENS)
    exprs = naming_expressions("name", tpl)
    out = (
        nw.from_native(pl.DataFrame({"name": names}).lazy())
        .select(exprs.violation.alias("bad"), exprs.message.alias("msg"))
        .collect()
        .to_native()
    )
    return list(zip(out["bad"].to_list(), out["msg"].to_list(), strict=True))


_PIECES = st.sampled_from(
    [
        "2026",
        "2031",
        "q1",
        "q4",
        "Q2",
        "search",
        "paid-social",
        "Email",
        "na",
        "emea",
        "mars",
        "demo",
        "ebook",
        "x",
        "",
        "2026-q1",
        "q3_email",
    ]
)
_SEPS = st.sampled_from(["-", "_", "__", " ", ""])


@st.composite
def _names(draw: st.DrawFn) -> str:
    parts = draw(st.lists(_PIECES, min_size=0, max_size=6))
    seps = draw(st.lists(_SEPS, min_size=len(parts), max_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=True))


@settings(max_examples=40, deadline=None)
@given(st.lists(_names(), min_size=1, max_size=30))
def test_expressions_agree_with_the_parser(names: list[str]) -> None:
    verdicts = _expr_verdicts(names)
    for name, (bad, msg) in zip(names, verdicts, strict=True):
        parsed = parse_campaign_name(name, NAMING)
        assert bad == (not parsed.ok), name
        if bad:
            assert msg == parsed.message, name
