"""Campaign naming templates: compile, parse one name, and the same test as expressions.

A template such as ``{year}-{quarter}_{channel}_{region}_{offer}`` is a sequence of tokens in
braces with literal separators between them. Each token has a vocabulary (a list of allowed
values) or a regular expression; a token without one accepts any text that does not contain
the separator that follows it. :func:`parse_campaign_name` explains one name in Python; the
rule uses :func:`naming_expressions`, which computes the same verdict and message for a whole
column with regex expressions, so the two cannot disagree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import narwhals as nw

from revgov.errors import RuleDefinitionError
from revgov.rules._expr import join_words, lit_str, text
from revgov.rules._regex import check_regex, escape

if TYPE_CHECKING:
    from revgov.config import CampaignNaming

__all__ = [
    "CampaignName",
    "NamingTemplate",
    "TokenProblem",
    "compile_template",
    "naming_expressions",
    "parse_campaign_name",
]

_TOKEN = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class _Token:
    name: str
    pattern: str  # regex without anchors
    vocabulary: tuple[str, ...] | None
    after: str  # literal that follows (empty for the last token)
    position: int  # offset of the token in the template


@dataclass(frozen=True)
class NamingTemplate:
    """A compiled template: literal prefix, tokens (each with what follows it)."""

    template: str
    prefix: str
    tokens: tuple[_Token, ...]

    @property
    def regex(self) -> str:
        """The full-name pattern (anchored)."""
        return self.prefix_regex(len(self.tokens) - 1)

    def prefix_regex(self, k: int) -> str:
        """Anchored pattern for tokens 0..k, each followed by its separator (``$`` after the
        last token). ``k = -1`` gives the literal prefix alone."""
        parts = ["^", escape(self.prefix)]
        for tok in self.tokens[: k + 1]:
            parts.append(f"(?:{tok.pattern})")
            parts.append(escape(tok.after))
        if k == len(self.tokens) - 1:
            parts.append("$")
        return "".join(parts)


@dataclass(frozen=True)
class TokenProblem:
    """Why a name fails at one token."""

    token: str
    value: str | None
    reason: str


@dataclass(frozen=True)
class CampaignName:
    """A parsed name: the token values that could be read, and the first problem if any."""

    name: str
    tokens: dict[str, str | None] = field(default_factory=dict)
    problem: TokenProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def message(self) -> str:
        return self.problem.reason if self.problem else "ok"


Locate = Callable[..., str]


def _default_locate(*key: str) -> str:
    return ".".join(("campaign_naming", *key))


def compile_template(
    template: str,
    tokens: Mapping[str, Sequence[str] | str],
    *,
    locate: Locate = _default_locate,
) -> NamingTemplate:
    """Check and compile a template; errors point at the key and the character position.

    ``locate(*key)`` names where a key is written, for errors (``key`` is ``("template",)``
    or ``("tokens", name)``); by default ``campaign_naming.template``. The built-in rule
    passes one that adds the file, the line and the rule id.
    """
    return _compile(template, tuple((k, _freeze(v)) for k, v in tokens.items()), locate)


def _freeze(v: Sequence[str] | str) -> tuple[str, ...] | str:
    return v if isinstance(v, str) else tuple(v)


@lru_cache(maxsize=64)
def _compile(
    template: str, tokens: tuple[tuple[str, tuple[str, ...] | str], ...], locate: Locate
) -> NamingTemplate:
    vocab = dict(tokens)
    where = locate("template")
    _check_braces(template, where)
    matches = list(_TOKEN.finditer(template))
    if not matches:
        raise RuleDefinitionError(
            f"{where}: {template!r} has no {{token}}",
            hint="write the template as literal text with tokens in braces, "
            "e.g. '{year}-{quarter}_{channel}'",
        )
    prefix = template[: matches[0].start()]
    out: list[_Token] = []
    seen: set[str] = set()
    for i, m in enumerate(matches):
        name = m.group(1).strip()
        pos = m.start()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise RuleDefinitionError(
                f"{where}: token {m.group(0)!r} at position {pos} is not a name\n"
                f"  {template}\n  {' ' * pos}^",
                hint="token names are letters, digits and underscores, e.g. {channel}",
            )
        if name in seen:
            raise RuleDefinitionError(
                f"{where}: token {{{name}}} appears twice (position {pos})\n"
                f"  {template}\n  {' ' * pos}^"
            )
        seen.add(name)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(template)
        after = template[m.end() : end]
        if not after and i + 1 < len(matches):
            raise RuleDefinitionError(
                f"{where}: tokens {{{name}}} and {{{matches[i + 1].group(1)}}} have no "
                f"separator between them (position {m.end()})\n  {template}\n  {' ' * m.end()}^",
                hint="put a literal separator such as '_' or '-' between tokens",
            )
        spec = vocab.get(name)
        if spec is None:
            nxt = after[:1]
            pattern = f"[^{escape(nxt)}]+" if nxt else ".+"
            values: tuple[str, ...] | None = None
        elif isinstance(spec, str):
            pattern = check_regex(spec, where=locate("tokens", name))
            values = None
        else:
            if not spec:
                raise RuleDefinitionError(f"{locate('tokens', name)}: an empty list")
            pattern = "|".join(escape(v) for v in spec)
            values = spec
        out.append(_Token(name, pattern, values, after, pos))
    unknown = sorted(set(vocab) - seen)
    if unknown:
        _unknown_tokens(template, out, unknown, vocab, locate)
    return NamingTemplate(template, prefix, tuple(out))


def _unknown_tokens(
    template: str,
    tokens: Sequence[_Token],
    unknown: Sequence[str],
    vocab: Mapping[str, object],
    locate: Locate,
) -> None:
    """Vocabulary keys that are not tokens: most often a typo in the template ({chanel}),
    so point at the template token closest to a key, else name the keys."""
    bare = [t for t in tokens if t.name not in vocab]
    for key in unknown:
        close = difflib.get_close_matches(key, [t.name for t in bare], n=1, cutoff=0.6)
        if close:
            tok = next(t for t in bare if t.name == close[0])
            raise RuleDefinitionError(
                f"{locate('template')}: token {{{tok.name}}} at position {tok.position} has no "
                f"vocabulary, and the vocabulary key {key!r} is not a token of the template\n"
                f"  {template}\n  {' ' * tok.position}^",
                hint=f"did you mean {{{key}}}? (or rename campaign_naming.tokens.{key})",
            )
    raise RuleDefinitionError(
        f"{locate('tokens', unknown[0])}: the vocabulary names {', '.join(unknown)}, not "
        f"tokens of the template {template!r}",
        hint=f"the template's tokens are: {', '.join(t.name for t in tokens)}",
    )


def _check_braces(template: str, where: str) -> None:
    depth = 0
    pos = 0
    for pos, ch in enumerate(template):  # noqa: B007 - pos is read after the loop
        if ch == "{":
            depth += 1
            if depth > 1:
                break
        elif ch == "}":
            depth -= 1
            if depth < 0:
                break
    else:
        if depth == 0:
            return
        pos = template.rfind("{")
    raise RuleDefinitionError(
        f"{where}: unbalanced brace at position {pos}\n  {template}\n  {' ' * pos}^",
        hint="each token is written {name}; literal braces are not allowed",
    )


def _reason(tok: _Token, value: str, *, last: bool, valid: bool) -> str:
    # Keep these words identical to _reason_expr: tests compare the two.
    if value == "":
        return f"token {tok.name} is empty"
    if valid:
        if last:
            return f"unexpected text after token {tok.name}='{value}'"
        return f"expected {tok.after!r} after token {tok.name}='{value}'"
    if tok.vocabulary is not None:
        case = value.lower() in tok.vocabulary and value.lower() != value
        extra = f" (use lowercase '{value.lower()}')" if case else ""
        return (
            f"token {tok.name}='{value}' is not an allowed value{extra}; "
            f"allowed: {join_words(tok.vocabulary)}"
        )
    return f"token {tok.name}='{value}' does not match the pattern {tok.pattern}"


def parse_campaign_name(
    name: str,
    naming: CampaignNaming | None = None,
    *,
    template: str | None = None,
    tokens: Mapping[str, Sequence[str] | str] | None = None,
) -> CampaignName:
    """Parse ``name`` against the campaign naming template and its token vocabularies.

    ``naming`` is ``config.campaign_naming`` (default: the config defaults); ``template`` and
    ``tokens`` override its parts. Returns the token values that could be read and, for an
    invalid name, the first token that is wrong and why (not an allowed value, wrong
    pattern, a missing separator, extra text)::

        >>> from revgov.config import CampaignNaming
        >>> naming = CampaignNaming(tokens={"region": ["emea", "na"]})
        >>> parse_campaign_name("2026-q1_paid-search_emea_demo", naming).ok
        True
        >>> parse_campaign_name("2026-q1_social_mars_demo", naming).message
        "token region='mars' is not an allowed value; allowed: emea, na"
    """
    from revgov.config import CampaignNaming

    if naming is None and template is not None:
        base = CampaignNaming(template=template, tokens={})
    else:
        base = naming if naming is not None else CampaignNaming()
    template = template if template is not None else base.template
    tokens = tokens if tokens is not None else base.tokens
    tpl = compile_template(template, tokens)
    values: dict[str, str | None] = dict.fromkeys((t.name for t in tpl.tokens), None)
    if not name.startswith(tpl.prefix):
        return CampaignName(
            name, values, TokenProblem("", None, f"name does not start with {tpl.prefix!r}")
        )
    last = len(tpl.tokens) - 1
    for k, tok in enumerate(tpl.tokens):
        value = _text_of(tpl, k, name)
        if re.search(tpl.prefix_regex(k), name):
            values[tok.name] = value
            continue
        valid = re.fullmatch(f"(?:{tok.pattern})", value) is not None
        values[tok.name] = value if valid else None
        return CampaignName(
            name,
            values,
            TokenProblem(tok.name, value, _reason(tok, value, last=k == last, valid=valid)),
        )
    return CampaignName(name, values, None)


def _text_of(tpl: NamingTemplate, k: int, name: str) -> str:
    rest = re.sub(tpl.prefix_regex(k - 1), "", name, count=1)
    after = tpl.tokens[k].after
    if after:
        cut = rest.find(after)
        return rest if cut < 0 else rest[:cut]
    return rest


@dataclass(frozen=True)
class NamingExprs:
    """``violation`` (bool) and ``message`` (text) for a column of names."""

    violation: nw.Expr
    message: nw.Expr


def naming_expressions(column: str, tpl: NamingTemplate) -> NamingExprs:
    """The verdict and the message of :func:`parse_campaign_name`, as expressions."""
    name = nw.col(column)
    last = len(tpl.tokens) - 1
    violation = ~name.str.contains(tpl.regex)
    message: nw.Expr = lit_str("name does not match the template")
    # Build the first-failure chain from the last token backwards so the earliest wins.
    for k in range(last, -1, -1):
        tok = tpl.tokens[k]
        ok_k = name.str.contains(tpl.prefix_regex(k))
        rest = name.str.replace_all(tpl.prefix_regex(k - 1), "") if (k or tpl.prefix) else name
        value = rest.str.replace_all(escape(tok.after) + r"[\s\S]*$", "") if tok.after else rest
        valid = value.str.contains(f"^(?:{tok.pattern})$")
        msg = _reason_expr(tok, value, valid=valid, last=k == last)
        message = nw.when(~ok_k).then(msg).otherwise(message)
    if tpl.prefix:
        message = (
            nw.when(~name.str.starts_with(tpl.prefix))
            .then(lit_str(f"name does not start with {tpl.prefix!r}"))
            .otherwise(message)
        )
    return NamingExprs(violation=violation, message=message)


def _reason_expr(tok: _Token, value: nw.Expr, *, valid: nw.Expr, last: bool) -> nw.Expr:
    sep = (
        text(f"unexpected text after token {tok.name}='", value, "'")
        if last
        else text(f"expected {tok.after!r} after token {tok.name}='", value, "'")
    )
    if tok.vocabulary is not None:
        allowed = f"; allowed: {join_words(tok.vocabulary)}"
        lower = value.str.to_lowercase()
        case_hint = (
            nw.when((lower != value) & lower.is_in(list(tok.vocabulary)))
            .then(text(" (use lowercase '", lower, "')"))
            .otherwise(lit_str(""))
        )
        bad = nw.concat_str(
            [
                text(f"token {tok.name}='", value, "' is not an allowed value"),
                case_hint,
                lit_str(allowed),
            ]
        )
    else:
        bad = text(f"token {tok.name}='", value, f"' does not match the pattern {tok.pattern}")
    empty = lit_str(f"token {tok.name} is empty")
    return nw.when(value == "").then(empty).when(valid).then(sep).otherwise(bad)
