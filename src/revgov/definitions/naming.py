"""The campaign naming convention: compile a template, and parse one name against it.

A template such as ``{year}-{quarter}_{channel}_{region}_{offer}`` is a sequence of tokens in
braces with literal separators between them. Each token has a vocabulary (a list of allowed
values) or a regular expression; a token without one accepts any text that does not contain
the separator that follows it.

The config validates ``[campaign_naming]`` with :func:`template_problem` when it is loaded;
:func:`parse_campaign_name` explains one name in Python; the ``campaigns.naming`` rule uses
:func:`revgov.rules._naming.naming_expressions`, the same verdict and message for a whole
column as expressions (its words are kept identical to :func:`reason`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from revgov.definitions._regex import escape, regex_problem
from revgov.definitions._text import join_words
from revgov.errors import RuleDefinitionError

if TYPE_CHECKING:
    from revgov.config import CampaignNaming

__all__ = [
    "CampaignName",
    "NamingTemplate",
    "TemplateError",
    "Token",
    "TokenProblem",
    "compile_template",
    "join_words",
    "parse_campaign_name",
    "reason",
    "structure_counts",
    "structure_reason",
    "template_problem",
]

_TOKEN = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Token:
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
    tokens: tuple[Token, ...]

    @property
    def regex(self) -> str:
        """The full-name pattern (anchored)."""
        return self.prefix_regex(len(self.tokens) - 1)

    @property
    def separators(self) -> str:
        """The literals between the tokens, in order (``-___`` for the default template)."""
        return "".join(t.after for t in self.tokens[:-1])

    @property
    def suffix(self) -> str:
        """The literal after the last token (usually none)."""
        return self.tokens[-1].after

    @property
    def separator_chars(self) -> str:
        """A regex character class body of every character of the separators."""
        return "".join(_class_char(c) for c in sorted(set(self.separators)))

    @property
    def separator_regex(self) -> str | None:
        """One separator occurrence (None: a single token has no separators)."""
        seps = sorted({t.after for t in self.tokens[:-1]}, key=lambda x: (-len(x), x))
        return "|".join(escape(x) for x in seps) or None

    @property
    def mask_regex(self) -> str | None:
        """Allowed token values that contain a separator character (``paid-search``), which
        the structural check reads as one token."""
        chars = set(self.separators)
        values = {v for t in self.tokens for v in (t.vocabulary or ()) if chars & set(v) and v}
        ordered = sorted(values, key=lambda x: (-len(x), x))
        return "|".join(escape(v) for v in ordered) or None

    @property
    def structure_regex(self) -> str:
        """The template's shape, whatever the token values: each token any text that its
        own vocabulary or pattern could hold without a separator it cannot contain."""
        chars = set(self.separators)
        parts = ["^", escape(self.prefix)]
        for tok in self.tokens:
            parts.append(f"(?:{_shape(tok, chars)})")
            parts.append(escape(tok.after))
        parts.append("$")
        return "".join(parts)

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


def _class_char(c: str) -> str:
    return "\\" + c if c in "]\\^-[" else c


_WIDE = (".", "\\S", "\\W", "\\D", "[^", "\\p", "\\P")


def _shape(tok: Token, chars: set[str]) -> str:
    """A token in the structural pattern: without the separator characters its values
    never contain (a vocabulary's, or a pattern that names none of them), else any text."""
    if tok.vocabulary is not None:
        keep = chars - {c for v in tok.vocabulary for c in v}
    elif any(w in tok.pattern for w in _WIDE) or chars & _literal_chars(tok.pattern):
        keep = set()
    else:
        keep = chars
    if tok.vocabulary is None and not tok.pattern.startswith("(?:") and "[^" in tok.pattern:
        return tok.pattern  # a free token: any text up to its separator, as it is matched
    if not keep:
        return ".+?"
    return "[^" + "".join(_class_char(c) for c in sorted(keep)) + "]+"


def _literal_chars(pattern: str) -> set[str]:
    """Characters a pattern names, reading a ``-`` between two characters of a bracket
    expression as a range (``q[1-4]`` names no ``-``)."""
    out = set(re.sub(r"\[[^\]]*\]", "", pattern))
    for body in re.findall(r"\[([^\]]*)\]", pattern):
        out |= set(re.sub(r"(?<=.)-(?=.)", "", body))
    return out


#: Stands for a separator occurrence, and for an allowed value holding separator characters,
#: while the structural check counts tokens.
_MARK = "\x01"


def structure_counts(tpl: NamingTemplate, rest: str) -> tuple[int, str]:
    """The tokens and the separators a name (its ``prefix`` already cut) has, read as the
    template reads them: allowed values holding a separator character count as one token."""
    masked = re.sub(tpl.mask_regex, "x", rest) if tpl.mask_regex else rest
    if tpl.suffix:
        masked = re.sub(escape(tpl.suffix) + "$", "", masked)
    sep = tpl.separator_regex
    found = len(re.findall(sep, masked)) if sep else 0
    shown = re.sub(f"[^{tpl.separator_chars}]+", "", masked) if tpl.separator_chars else ""
    return found + 1, shown


def structure_reason(tpl: NamingTemplate, tokens: int, separators: str) -> str:
    """The structural error of a name, in the words the rule's expressions use too."""
    n = len(tpl.tokens)
    if tokens != n:
        return f"wrong number of tokens: {tokens} where the template {tpl.template!r} has {n}"
    return (
        f"wrong separators: {separators!r} where the template {tpl.template!r} has "
        f"{tpl.separators!r}"
    )


Locate = Callable[..., str]


def _default_locate(*key: str) -> str:
    return ".".join(("campaign_naming", *key))


class TemplateError(Exception):
    """A template or token vocabulary that cannot work, at ``key`` under ``[campaign_naming]``
    (``("template",)`` or ``("tokens", name)``)."""

    def __init__(self, key: tuple[str, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


def template_problem(
    template: str, tokens: Mapping[str, Sequence[str] | str]
) -> TemplateError | None:
    """Why ``template`` with these token vocabularies cannot be used (None if it can)."""
    try:
        _compile(template, tuple((k, _freeze(v)) for k, v in tokens.items()))
    except TemplateError as exc:
        return exc
    return None


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
    try:
        return _compile(template, tuple((k, _freeze(v)) for k, v in tokens.items()))
    except TemplateError as exc:
        raise RuleDefinitionError(f"{locate(*exc.key)}: {exc.message}", hint=exc.hint) from None


def _freeze(v: Sequence[str] | str) -> tuple[str, ...] | str:
    return v if isinstance(v, str) else tuple(v)


@lru_cache(maxsize=64)
def _compile(
    template: str, tokens: tuple[tuple[str, tuple[str, ...] | str], ...]
) -> NamingTemplate:
    vocab = dict(tokens)
    where = ("template",)
    _check_braces(template)
    matches = list(_TOKEN.finditer(template))
    if not matches:
        raise TemplateError(
            where,
            f"{template!r} has no {{token}}",
            hint="write the template as literal text with tokens in braces, "
            "e.g. '{year}-{quarter}_{channel}'",
        )
    prefix = template[: matches[0].start()]
    out: list[Token] = []
    seen: set[str] = set()
    for i, m in enumerate(matches):
        name = m.group(1).strip()
        pos = m.start()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise TemplateError(
                where,
                f"token {m.group(0)!r} at position {pos} is not a name\n"
                f"  {template}\n  {' ' * pos}^",
                hint="token names are letters, digits and underscores, e.g. {channel}",
            )
        if name in seen:
            raise TemplateError(
                where,
                f"token {{{name}}} appears twice (position {pos})\n  {template}\n  {' ' * pos}^",
            )
        seen.add(name)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(template)
        after = template[m.end() : end]
        if not after and i + 1 < len(matches):
            raise TemplateError(
                where,
                f"tokens {{{name}}} and {{{matches[i + 1].group(1)}}} have no "
                f"separator between them (position {m.end()})\n  {template}\n  {' ' * m.end()}^",
                hint="put a literal separator such as '_' or '-' between tokens",
            )
        spec = vocab.get(name)
        if spec is None:
            nxt = after[:1]
            pattern = f"[^{escape(nxt)}]+" if nxt else ".+"
            values: tuple[str, ...] | None = None
        elif isinstance(spec, str):
            problem = regex_problem(spec)
            if problem is not None:
                raise TemplateError(("tokens", name), problem.message, problem.hint)
            pattern, values = spec, None
        else:
            if not spec:
                raise TemplateError(("tokens", name), "an empty list")
            pattern = "|".join(escape(v) for v in spec)
            values = spec
        out.append(Token(name, pattern, values, after, pos))
    unknown = sorted(set(vocab) - seen)
    if unknown:
        _unknown_tokens(template, out, unknown, vocab)
    return NamingTemplate(template, prefix, tuple(out))


def _unknown_tokens(
    template: str,
    tokens: Sequence[Token],
    unknown: Sequence[str],
    vocab: Mapping[str, object],
) -> None:
    """Vocabulary keys that are not tokens: most often a typo in the template ({chanel}),
    so point at the template token closest to a key, else name the keys."""
    bare = [t for t in tokens if t.name not in vocab]
    for key in unknown:
        close = difflib.get_close_matches(key, [t.name for t in bare], n=1, cutoff=0.6)
        if close:
            tok = next(t for t in bare if t.name == close[0])
            raise TemplateError(
                ("template",),
                f"token {{{tok.name}}} at position {tok.position} has no "
                f"vocabulary, and the vocabulary key {key!r} is not a token of the template\n"
                f"  {template}\n  {' ' * tok.position}^",
                hint=f"did you mean {{{key}}}? (or rename campaign_naming.tokens.{key})",
            )
    raise TemplateError(
        ("tokens", unknown[0]),
        f"the vocabulary names {', '.join(unknown)}, not tokens of the template {template!r}",
        hint=f"the template's tokens are: {', '.join(t.name for t in tokens)}",
    )


def _check_braces(template: str) -> None:
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
    raise TemplateError(
        ("template",),
        f"unbalanced brace at position {pos}\n  {template}\n  {' ' * pos}^",
        hint="each token is written {name}; literal braces are not allowed",
    )


def reason(tok: Token, value: str, *, last: bool, valid: bool) -> str:
    # Keep these words identical to rules._naming's expressions: tests compare the two.
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
    pattern, a missing separator, extra text). A name of the wrong shape (a wrong separator,
    the wrong number of tokens) is diagnosed as such before any token::

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
    if not re.search(tpl.regex, name) and not re.search(tpl.structure_regex, name):
        # The shape is wrong (a separator, the number of tokens): say so before any token.
        found, seps = structure_counts(tpl, name[len(tpl.prefix) :])
        if found != len(tpl.tokens) or seps != tpl.separators:
            return CampaignName(
                name, values, TokenProblem("", None, structure_reason(tpl, found, seps))
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
            TokenProblem(tok.name, value, reason(tok, value, last=k == last, valid=valid)),
        )
    return CampaignName(name, values, None)


def _text_of(tpl: NamingTemplate, k: int, name: str) -> str:
    rest = re.sub(tpl.prefix_regex(k - 1), "", name, count=1)
    after = tpl.tokens[k].after
    if after:
        cut = rest.find(after)
        return rest if cut < 0 else rest[:cut]
    return rest
