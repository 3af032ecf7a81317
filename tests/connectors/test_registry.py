"""The connector registry: built-ins, entry-point plugins from a real (fake) distribution on
sys.path, broken plugins warned about and skipped, unknown names with a suggestion."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from revgov.config import SourceConfig, config_from_dict
from revgov.connectors import (
    ENTRY_POINT_GROUP,
    Connector,
    ConnectorContext,
    available_connectors,
    create_connector,
    get_connector_spec,
)
from revgov.connectors.files import FilesConnector
from revgov.errors import (
    ConfigValidationError,
    ConnectorError,
    PluginWarning,
    UnknownConnectorError,
)
from revgov.pull import pull
from revgov.store import SnapshotStore

PLUGIN = textwrap.dedent(
    """
    from revgov.connectors.base import Page
    from revgov.connectors.settings import ConnectorSettings, EntityMapping


    class FakeSettings(ConnectorSettings):
        region: str = "eu"


    class FakeCRM:
        name = "fakecrm"
        settings_model = FakeSettings
        entity_settings_model = EntityMapping

        def __init__(self, source, context):
            self.source = source
            self.region = source.settings.region

        def entities(self):
            return ["accounts"]

        def fetch(self, entity, cursor=None):
            start = int(cursor or 0)
            rows = [{"account_id": f"acc-{i}", "employees": str(10 * i)} for i in range(5)]
            rows.append({"account_id": "acc-bad", "employees": "many"})
            for i in range(start, len(rows), 2):
                yield Page(entity, rows[i : i + 2], cursor=str(i + 2), total=len(rows))


    class NotAConnector:
        settings_model = FakeSettings
        entity_settings_model = EntityMapping

        def __init__(self, source, context):
            pass


    def no_settings(source, context):
        return FakeCRM(source, context)


    NOT_CALLABLE = 42
    """
)


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking distribution, `fake-revgov-plugins`, declaring six connectors."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "fake_revgov_plugin.py").write_text(PLUGIN, encoding="utf-8")
    (site / "fake_revgov_broken.py").write_text(
        "raise ImportError('fake_revgov_broken needs libfoo')\n", encoding="utf-8"
    )
    dist = site / "fake_revgov_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-revgov-plugins\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "fakecrm = fake_revgov_plugin:FakeCRM\n"
        "broken = fake_revgov_broken:make\n"
        "notcallable = fake_revgov_plugin:NOT_CALLABLE\n"
        "unsettled = fake_revgov_plugin:no_settings\n"
        "impostor = fake_revgov_plugin:NotAConnector\n"
        "files = fake_revgov_plugin:FakeCRM\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    for mod in ("fake_revgov_plugin", "fake_revgov_broken"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    return site


def test_builtin_files_connector() -> None:
    assert get_connector_spec("files") is FilesConnector
    source = SourceConfig(name="crm", connector="files")
    connector = create_connector(source, ConnectorContext(Path("/data/exports")))
    assert isinstance(connector, FilesConnector) and isinstance(connector, Connector)
    assert connector.base_dir == Path("/data/exports")
    assert connector.entities() == []


def test_unknown_connector_suggests_closest() -> None:
    with pytest.raises(UnknownConnectorError) as err:
        get_connector_spec("file")
    assert err.value.code == "RG401"
    assert "did you mean 'files'?" in str(err.value)
    assert ENTRY_POINT_GROUP in str(err.value)


def test_plugin_loads_from_entry_point(plugin_dist: Path) -> None:
    connector = create_connector(SourceConfig(name="ext", connector="fakecrm"))
    assert type(connector).__name__ == "FakeCRM"
    assert connector.entities() == ["accounts"]
    assert connector.region == "eu"  # type: ignore[attr-defined]


def test_plugin_options_are_validated_at_load_by_its_own_model(plugin_dist: Path) -> None:
    cfg = config_from_dict(
        {"sources": [{"name": "ext", "connector": "fakecrm", "options": {"region": "us"}}]}
    )
    assert cfg.sources[0].settings.region == "us"
    with pytest.raises(ConfigValidationError) as err:
        config_from_dict(
            {"sources": [{"name": "ext", "connector": "fakecrm", "options": {"regoin": "us"}}]}
        )
    assert "sources[0].options.regoin" in str(err.value)
    assert "did you mean 'region'?" in str(err.value)
    with pytest.raises(ConfigValidationError, match=r"sources\[0\]\.connector.*fakecrm"):
        config_from_dict({"sources": [{"name": "ext", "connector": "fakecrn"}]})


def test_available_warns_about_broken_plugins_and_skips_them(plugin_dist: Path) -> None:
    with pytest.warns(PluginWarning) as caught:
        found = available_connectors()
    assert "fakecrm" in found and "impostor" in found
    assert "broken" not in found and "notcallable" not in found and "unsettled" not in found
    # The built-in keeps its name; the plugin that claims it is skipped.
    assert found["files"] is FilesConnector
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 4
    assert any("broken" in m and "libfoo" in m and "fake-revgov-plugins" in m for m in messages)
    assert any("notcallable" in m and "not callable" in m for m in messages)
    assert any("unsettled" in m and "no `settings_model`" in m for m in messages)
    assert any("'files' is already taken" in m for m in messages)


def test_requesting_a_broken_plugin_is_an_error_not_a_crash(plugin_dist: Path) -> None:
    with pytest.raises(ConnectorError) as err:
        get_connector_spec("broken")
    assert err.value.code == "RG400" and "failed to load" in str(err.value)
    with pytest.raises(ConnectorError, match="lacks `name`"):
        create_connector(SourceConfig(name="x", connector="impostor"))
    with pytest.raises(UnknownConnectorError, match="did you mean 'fakecrm'"):
        get_connector_spec("fakecrn")


def test_pull_through_a_plugin(plugin_dist: Path, tmp_path: Path) -> None:
    cfg = config_from_dict({"sources": [{"name": "ext", "connector": "fakecrm"}]})
    result = pull(cfg, tmp_path / "snap", progress=False)
    assert result.for_entity("accounts") == (5, 1)
    store = SnapshotStore(tmp_path / "snap")
    accounts = store.scan("accounts").collect().sort("account_id")
    assert accounts["employees"].to_list() == [0, 10, 20, 30, 40]
    assert set(accounts["source_system"]) == {"fakecrm"}
    assert store.cursor("ext", "accounts") == "6"
    assert store.quarantine_counts() == {"accounts": 1}
    # Resuming from the stored cursor reads nothing new.
    again = pull(cfg, tmp_path / "snap", progress=False)
    assert again.for_entity("accounts") == (0, 0)
