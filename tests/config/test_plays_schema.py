"""``[[plays]]`` in revgov.toml: validated at load, with the key, the line and a fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from revgov.config import config_from_text, load_config
from revgov.errors import ConfigValidationError

PLAY = """\
[[plays]]
name = "smb-meetings"
owner = "SDR team"
start = 2026-01-05
end = 2026-03-01
primary_kpi = "meeting_rate"
guardrails = [{ kpi = "lead_to_opportunity", max_harm = 0.02 }]
[plays.population]
entity = "people"
where = { segment = "smb", lead_source = ["webinar", "paid_search"] }
[plays.control]
kind = "holdout"
share = 0.25
[plays.decision]
min_lift = 0.03
confidence = 0.9
"""


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "revgov.toml"
    path.write_text(text)
    with pytest.raises(ConfigValidationError) as info:
        load_config(path)
    return str(info.value)


def test_a_play_loads_whole() -> None:
    cfg = config_from_text(PLAY)
    play = cfg.play("smb-meetings")
    assert play.population.where == {"segment": "smb", "lead_source": ["webinar", "paid_search"]}
    assert play.control.kind == "holdout" and play.control.share == 0.25
    assert play.decision.min_lift == 0.03 and play.decision.confidence == 0.9
    assert play.decision.power == 0.8  # the default
    assert [g.kpi for g in play.guardrails] == ["lead_to_opportunity"]
    assert play.is_active(date(2026, 2, 1)) and not play.is_active(date(2026, 3, 2))


def test_a_misspelt_kpi_names_the_line_and_the_closest(tmp_path: Path) -> None:
    msg = _error(PLAY.replace('"meeting_rate"', '"meting_rate"'), tmp_path)
    assert "plays[0].primary_kpi" in msg and ":6" in msg
    assert "did you mean 'meeting_rate'?" in msg


def test_a_misspelt_key_says_the_valid_ones(tmp_path: Path) -> None:
    msg = _error(PLAY.replace("share = 0.25", "shares = 0.25"), tmp_path)
    assert "plays[0].control.shares" in msg and "did you mean 'share'?" in msg


def test_a_kpi_of_another_entity_is_refused() -> None:
    with pytest.raises(ConfigValidationError, match="not measured per record of people"):
        config_from_text(PLAY.replace('"meeting_rate"', '"opportunity_to_win"'))


def test_control_kinds_need_their_keys() -> None:
    text = PLAY.replace('kind = "holdout"\nshare = 0.25', 'kind = "comparison"')
    with pytest.raises(ConfigValidationError, match="needs the segment it compares with"):
        config_from_text(text)
    text = PLAY.replace("share = 0.25", 'where = { segment = "mid" }')
    with pytest.raises(ConfigValidationError, match="only applies to kind = 'comparison'"):
        config_from_text(text)
    with pytest.raises(ConfigValidationError, match="share"):
        config_from_text(PLAY.replace("share = 0.25", "share = 1.5"))


def test_end_before_start_and_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigValidationError, match="not after start"):
        config_from_text(PLAY.replace("end = 2026-03-01", "end = 2026-01-01"))
    with pytest.raises(ConfigValidationError, match="two plays share the name"):
        config_from_text(PLAY + "\n" + PLAY)
    with pytest.raises(ConfigValidationError, match="is the primary KPI"):
        config_from_text(PLAY.replace('"lead_to_opportunity"', '"meeting_rate"'))


def test_the_decision_rule_is_required() -> None:
    with pytest.raises(ConfigValidationError, match="decision"):
        config_from_text(PLAY.split("[plays.decision]")[0])
