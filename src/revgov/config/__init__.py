"""The governed definitions: the ``revgov.toml`` model, loading, hashing and diff.

A company's definitions live in one TOML file. :func:`load_config` parses it, validates the
whole of it (every table, the custom rules by their kinds' models, each source by its
connector's models) and turns any problem into a :class:`~revgov.errors.ConfigError` that
names the file, the line, the key and the fix. :attr:`Config.config_hash` is stamped on every
output; :func:`diff_configs` says in words what changed between two versions.

The models live in :mod:`revgov.config.schema` (one module per table), loading in
:mod:`revgov.config.loading`, the error formatting in :mod:`revgov.config._errors`.
"""

from __future__ import annotations

from revgov.config import schema
from revgov.config.loading import config_from_dict, config_from_text, load_config
from revgov.config.schema import *  # noqa: F403 - the model of every table

__all__ = ["config_from_dict", "config_from_text", "diff_configs", "load_config"]
__all__ += schema.__all__


def diff_configs(old: schema.Config, new: schema.Config) -> list[str]:
    """Say in words which definitions changed from ``old`` to ``new`` (empty if none)."""
    from revgov.config.diff import describe_changes

    return describe_changes(old.model_dump(mode="json"), new.model_dump(mode="json"))
