"""What every table of ``revgov.toml`` shares: strict models and located problems."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

__all__ = ["INVALID", "Strict", "closest", "did_you_mean", "invalid"]

#: The pydantic error type of :func:`invalid`, which the loader reads its key and fix from.
INVALID = "revgov_invalid"


class Strict(BaseModel):
    """Unknown keys are errors (with a "did you mean" from the loader), never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def invalid(
    message: str, *, at: tuple[str | int, ...] = (), hint: str | None = None
) -> PydanticCustomError:
    """A validation problem of a model's key ``at`` (relative to the model), with its fix.

    Validators that look at several keys at once raise this, so that the error still names
    the exact key (and its line) instead of the whole table.
    """
    return PydanticCustomError(INVALID, "{message}", {"message": message, "at": at, "hint": hint})


def closest(value: str, options: Iterable[str]) -> str | None:
    """The option most like ``value`` (a typo's correction), if any is close."""
    found = difflib.get_close_matches(value, list(options), n=1, cutoff=0.5)
    return found[0] if found else None


def did_you_mean(value: str, options: Iterable[str], what: str) -> str:
    """``did you mean 'x'? <what>: a, b, c`` for a hint."""
    opts = list(options)
    close = closest(value, opts)
    return (f"did you mean {close!r}? " if close else "") + f"{what}: {', '.join(opts) or 'none'}"
