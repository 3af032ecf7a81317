"""revgov.toml: validation, errors with line numbers and suggestions, hashing, diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from revgov.config import Config, SourceConfig, config_from_dict, diff_configs, load_config
from revgov.errors import ConfigNotFoundError, ConfigSyntaxError, ConfigValidationError

GOOD = """\
[company]
name = "Acme"

[lifecycle]
stages = ["lead", "mql", "sql", "customer"]
[lifecycle.map]
"Marketing Qualified Lead" = "mql"

[[pipelines]]
name = "new_business"
[[pipelines.stages]]
name = "Discovery"
order = 1
probability = 0.1
[[pipelines.stages]]
name = "Won"
order = 2
probability = 1.0
is_closed = true
is_won = true

[qualified]
opportunity_min_stage = "Discovery"

[sla]
timezone = "America/New_York"
holidays = [2026-12-25]
"""


def _write(tmp_path: Path, text: str, name: str = "revgov.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loads_a_valid_config(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.company.name == "Acme"
    assert [s.name for s in cfg.pipeline().ordered()] == ["Discovery", "Won"]
    assert cfg.lifecycle.map == {"Marketing Qualified Lead": "mql"}
    assert cfg.sla.holidays[0].isoformat() == "2026-12-25"
    assert cfg.path == (tmp_path / "revgov.toml").resolve()
    assert len(cfg.config_hash) == 16


def test_defaults_make_an_empty_file_valid(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, ""))
    assert cfg.kpis.win_rate_basis == "count"
    assert cfg.sla.business_hours.working_days == [1, 2, 3, 4, 5]


def test_misspelt_key_names_line_and_suggests(tmp_path: Path) -> None:
    text = GOOD.replace("probability = 0.1", "probabilty = 0.1")
    with pytest.raises(ConfigValidationError) as info:
        load_config(_write(tmp_path, text))
    err = info.value
    assert err.code == "RG102"
    line = text.splitlines().index("probabilty = 0.1") + 1
    assert f"revgov.toml:{line}: pipelines[0].stages[0].probabilty" in str(err)
    assert "did you mean 'probability'?" in str(err)


def test_unknown_table_suggests_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigValidationError) as info:
        load_config(_write(tmp_path, GOOD + "\n[sla_config]\ntimezone = 'UTC'\n"))
    assert "did you mean 'sla'?" in str(info.value)
    assert f"revgov.toml:{len(GOOD.splitlines()) + 2}: sla_config" in str(info.value)


def test_bad_literal_suggests_a_valid_value(tmp_path: Path) -> None:
    text = GOOD + '\n[[required_fields]]\nentity = "oportunities"\nfields = ["amount"]\n'
    with pytest.raises(ConfigValidationError) as info:
        load_config(_write(tmp_path, text))
    msg = str(info.value)
    assert "required_fields[0].entity" in msg
    assert "did you mean 'opportunities'?" in msg
    assert f"revgov.toml:{len(GOOD.splitlines()) + 3}:" in msg


def test_semantic_errors_name_the_value(tmp_path: Path) -> None:
    text = GOOD.replace('timezone = "America/New_York"', 'timezone = "Mars/Base"')
    with pytest.raises(ConfigValidationError, match=r"sla.timezone: unknown time zone 'Mars/Base'"):
        load_config(_write(tmp_path, text))
    text = GOOD.replace('opportunity_min_stage = "Discovery"', 'opportunity_min_stage = "Nope"')
    with pytest.raises(ConfigValidationError, match="'Nope' is not a pipeline stage"):
        load_config(_write(tmp_path, text))
    text = GOOD.replace('"Marketing Qualified Lead" = "mql"', '"MQL" = "marketing"')
    with pytest.raises(ConfigValidationError, match=r"'marketing' is not in lifecycle\.stages"):
        load_config(_write(tmp_path, text))


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = GOOD.replace("order = 1", "order = -1").replace('name = "Acme"', 'nmae = "Acme"')
    with pytest.raises(ConfigValidationError) as info:
        load_config(_write(tmp_path, text))
    assert "2 problems" in str(info.value)


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError) as info:
        load_config(_write(tmp_path, '[company]\nname = "Acme\n'))
    assert info.value.code == "RG101"
    assert "revgov.toml:2:" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFoundError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_hash_ignores_formatting_but_not_definitions(tmp_path: Path) -> None:
    a = load_config(_write(tmp_path, GOOD, "a.toml"))
    b = load_config(_write(tmp_path, "# a comment\n" + GOOD.replace(" = ", "=    "), "b.toml"))
    c = load_config(_write(tmp_path, GOOD.replace("0.1", "0.15"), "c.toml"))
    assert a.config_hash == b.config_hash
    assert a.config_hash != c.config_hash


def test_diff_says_what_changed(tmp_path: Path) -> None:
    old = load_config(_write(tmp_path, GOOD, "old.toml"))
    new_text = (
        GOOD.replace("probability = 0.1", "probability = 0.2").replace(
            'stages = ["lead", "mql", "sql", "customer"]',
            'stages = ["lead", "mql", "sql", "opportunity", "customer"]',
        )
        + '\n[[segments]]\nname = "smb"\nemployees_max = 199\n'
    )
    new = load_config(_write(tmp_path, new_text, "new.toml"))
    changes = diff_configs(old, new)
    assert (
        "pipelines[new_business].stages[Discovery].probability changed from 0.1 to 0.2" in changes
    )
    assert "lifecycle.stages: added 'opportunity'" in changes
    assert "segments 'smb' was added" in changes
    assert len(changes) == 3
    assert diff_configs(old, old) == []


def test_config_from_dict_validates() -> None:
    cfg = config_from_dict({"kpis": {"win_rate_basis": "amount"}})
    assert isinstance(cfg, Config) and cfg.kpis.win_rate_basis == "amount"
    with pytest.raises(ConfigValidationError, match="did you mean 'win_rate_basis'"):
        config_from_dict({"kpis": {"win_rate_bases": "amount"}})


def test_inline_credentials_are_refused_without_echoing_them(tmp_path: Path) -> None:
    text = (
        GOOD
        + '\n[[sources]]\nname = "hs"\nconnector = "hubspot"\noptions = { access_token = "pat-na1-SECRET-VALUE-123" }\n'
    )
    with pytest.raises(ConfigValidationError) as info:
        load_config(_write(tmp_path, text))
    message = str(info.value)
    assert "looks like a credential" in message and "access_token_env" in message
    assert "SECRET-VALUE" not in message


def test_env_variable_names_are_allowed() -> None:
    # Before any connector's own settings model sees them (binding is a second step).
    source = SourceConfig.model_validate(
        {"name": "hs", "connector": "hubspot", "options": {"access_token_env": "HUBSPOT_TOKEN"}}
    )
    assert source.options == {"access_token_env": "HUBSPOT_TOKEN"}


def test_diff_never_prints_secret_values() -> None:
    from revgov.config.diff import describe_changes

    lines = describe_changes(
        {"options": {"password": "hunter2"}}, {"options": {"password": "hunter3"}}
    )
    assert lines == ["options.password changed (value redacted)"]
    lines = describe_changes({}, {"options": {"api_key": "abc123"}})
    assert "abc123" not in " ".join(lines)
