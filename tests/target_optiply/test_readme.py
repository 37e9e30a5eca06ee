"""README.md's target-optiply section: its settings table is what ``target-optiply --about
--format=markdown`` prints, and its ``meltano.yml`` example declares real settings."""

from __future__ import annotations

import pytest

from readme_tables import (
    about_table,
    marked_block,
    meltano_plugin,
    meltano_problems,
    readme,
    settings_table,
)
from readme_tables import section as readme_section
from target_optiply.config import config_jsonschema


@pytest.fixture(scope="module")
def section() -> str:
    return readme_section(readme(), "## target-optiply")


def test_the_readme_shows_the_settings_as_about_prints_them(section):
    assert settings_table(marked_block(section, "about")) == about_table("target_optiply"), (
        "README.md's settings table is stale: paste `target-optiply --about --format=markdown`"
    )


def test_the_meltano_example_declares_real_settings(section):
    plugin = meltano_plugin(section, "loaders")

    assert plugin["executable"] == plugin["name"] == "target-optiply"
    assert meltano_problems(plugin, config_jsonschema()) == []
