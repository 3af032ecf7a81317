"""Against a real HubSpot portal: off by default (``pytest -m live``), and skipped without a
private app token in ``HUBSPOT_ACCESS_TOKEN``. It reads little: the pipelines, the owners and
the first page of contacts, deals and their stage history."""

from __future__ import annotations

import os
from itertools import islice

import polars as pl
import pytest

from revgov.config import config_from_dict
from revgov.connectors.hubspot import HubSpotConnector

pytestmark = pytest.mark.live


@pytest.fixture
def live() -> HubSpotConnector:
    if not os.environ.get("HUBSPOT_ACCESS_TOKEN"):
        pytest.skip("set HUBSPOT_ACCESS_TOKEN (a private app token) to run the live tests")
    config = config_from_dict({"sources": [{"name": "live", "connector": "hubspot"}]})
    return HubSpotConnector(config.sources[0])


def test_a_real_portal_answers_in_the_shapes_revgov_expects(live: HubSpotConnector) -> None:
    stages = next(iter(live.fetch("pipeline_stages"))).records
    assert isinstance(stages, pl.DataFrame) and stages.height > 0
    assert stages.filter(pl.col("is_won") == "true").height >= 1
    owners = pl.concat([p.records for p in live.fetch("users")])  # type: ignore[misc]
    assert owners["user_id"].null_count() == 0
    for entity in ("people", "opportunities", "stage_events"):
        first = next(islice(live.fetch(entity), 1), None)
        assert first is not None and first.cursor
        assert "api calls" in first.status
    assert live.api.limits.burst_max is not None  # HubSpot sent its rate-limit headers
