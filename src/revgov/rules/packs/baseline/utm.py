"""UTM tagging: lowercase tags, vocabularies, the tags each paid channel requires."""

from __future__ import annotations

import narwhals as nw

from revgov.config import Config, UTMConfig
from revgov.rules._expr import any_of, is_in, join_words, not_null, text
from revgov.rules.base import Check, Rule
from revgov.rules.packs.baseline._common import MOPS, builtin

__all__ = ["utm_rules"]


def _tag_checks(utm: UTMConfig) -> tuple[list[Check], list[Check], dict[str, list[str]]]:
    """Per governed tag: the case-drift check, and the vocabulary check of tags that have a
    vocabulary; and the vocabularies (lowercase)."""
    vocab = {tag: [v.lower() for v in values] for tag, values in utm.vocabulary.items()}
    drift_checks, vocab_checks = [], []
    for tag in list(vocab) or ["utm_source", "utm_medium"]:
        col = nw.col(tag)
        low = col.str.to_lowercase()
        would_be_ok = is_in(low, vocab[tag]) if tag in vocab else nw.lit(True)
        drift_checks.append(
            Check(
                violation=not_null(tag) & (col != low) & would_be_ok,
                field=tag,
                message=text(f"{tag} '", col, "' is not lowercase; use '", low, "'"),
            )
        )
        if tag in vocab:
            value = low if utm.lowercase else col
            vocab_checks.append(
                Check(
                    violation=not_null(tag) & ~is_in(value, vocab[tag]),
                    field=tag,
                    message=text(
                        f"{tag} '", col, f"' is not in the vocabulary ({join_words(vocab[tag])})"
                    ),
                )
            )
    return drift_checks, vocab_checks, vocab


def _channel_checks(utm: UTMConfig) -> tuple[list[Check], dict[str, list[str]]]:
    """Per tag some paid medium requires: missing on a record of such a medium."""
    medium = nw.col("utm_medium").str.to_lowercase()
    by_channel = {m.lower(): tags for m, tags in utm.required_by_channel.items()}
    checks = [
        Check(
            violation=is_in(medium, [m for m, tags in by_channel.items() if t in tags])
            & nw.col(t).is_null(),
            field=t,
            message=text(f"{t} is empty but required for utm_medium '", medium, "'"),
        )
        for t in sorted({t for tags in by_channel.values() for t in tags})
    ]
    return checks, by_channel


def utm_rules(config: Config, entity: str) -> list[Rule]:
    """UTM conventions on ``entity`` (people, and campaign touches when there are any)."""
    utm = config.utm
    drift_checks, vocab_checks, vocab = _tag_checks(utm)
    governed = list(vocab) or ["utm_source", "utm_medium"]
    req_checks, by_channel = _channel_checks(utm)
    req_tags = sorted({t for tags in by_channel.values() for t in tags})
    medium = nw.col("utm_medium").str.to_lowercase()
    tagged = any_of([not_null(t) for t in ("utm_source", "utm_medium", "utm_campaign")])
    incomplete_checks = [
        Check(violation=nw.col(t).is_null(), field=t, message=f"tagged record without {t}")
        for t in utm.required
    ]
    rules = [
        Rule(
            id=f"{entity}.utm_case_drift",
            entity=entity,
            dimension="conformity",
            kind="utm",
            description=f"UTM tags of {entity} are lowercase: a tag that is valid once "
            "lowercased (LinkedIn for linkedin) is case drift. The report groups spellings "
            "into families (LinkedIn / linkedin / linked-in) with counts.",
            checks=tuple(drift_checks),
            scope=nw.lit(utm.lowercase),
            columns=tuple(governed),
            remediation="Lowercase the tags at capture (form hidden fields, ad templates) and "
            "backfill; fix the links that carry capitals.",
            owner=MOPS,
            severity="warn",
            settings=("utm.lowercase", "utm.vocabulary"),
            **builtin(),
        ),
        Rule(
            id=f"{entity}.utm_vocabulary",
            entity=entity,
            dimension="conformity",
            kind="utm",
            description=f"utm_* tags of {entity} with a vocabulary in [utm.vocabulary] use "
            "one of its values.",
            checks=tuple(vocab_checks) or (Check(violation=nw.lit(False)),),
            scope=nw.lit(bool(vocab_checks)),
            columns=tuple(vocab),
            remediation="Map the stray value to its vocabulary term and fix the link or ad "
            "template that produced it; add new sources to the vocabulary deliberately.",
            owner=MOPS,
            severity="warn",
            settings=("utm.vocabulary",),
            **builtin(),
        ),
        Rule(
            id=f"{entity}.utm_required_by_channel",
            entity=entity,
            dimension="completeness",
            kind="utm",
            description=f"{entity.capitalize()} from a paid medium carry the tags "
            "[utm.required_by_channel] lists for it (campaign, term, content...).",
            checks=tuple(req_checks) or (Check(violation=nw.lit(False)),),
            scope=is_in(medium, list(by_channel)).fill_null(False),
            columns=("utm_medium", *req_tags),
            remediation="Add the missing parameters to the paid links (ad platform URL "
            "templates) so spend can be attributed.",
            owner=MOPS,
            settings=("utm.required_by_channel",),
            **builtin(),
        ),
        Rule(
            id=f"{entity}.utm_incomplete",
            entity=entity,
            dimension="completeness",
            kind="utm",
            description=f"Tagged {entity} (any of source, medium, campaign set) outside the "
            "media of [utm.required_by_channel] carry every tag of utm.required.",
            checks=tuple(incomplete_checks) or (Check(violation=nw.lit(False)),),
            scope=(tagged & ~is_in(medium, list(by_channel)).fill_null(False)).fill_null(False),
            columns=("utm_source", "utm_medium", "utm_campaign", *utm.required),
            remediation="Tag every link with at least the required parameters.",
            owner=MOPS,
            severity="info",
            settings=("utm.required",),
            **builtin(),
        ),
    ]
    return rules
