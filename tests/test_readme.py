"""The README documents every setting exactly as declared (regenerate the table with
``dbplay settings``)."""

from __future__ import annotations

from orchestrator.config.settings import SETTINGS, settings_table
from tests.conftest import REPO


def test_the_readme_settings_table_is_the_declared_one() -> None:
    readme = (REPO / "README.md").read_text()
    assert settings_table().strip() in readme, "README settings table is stale: paste " \
        "`dbplay settings` into the Settings section"
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme
