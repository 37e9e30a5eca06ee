"""README.md's tap-optiply section: its settings table is what ``tap-optiply --about
--format=markdown`` prints, and its ``meltano.yml`` example declares every setting of
``tap_optiply/config.py`` with the right kind, secrets sensitive, real streams and filters."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
from tap_optiply.config import SETTINGS, config_jsonschema
from tap_optiply.schemas import READABLE
from tap_optiply.settings import stream_filters
from tap_optiply.tap import TapOptiply

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.fixture(scope="module")
def section() -> str:
    return readme_section(readme(), "## tap-optiply")


def test_the_readme_shows_the_settings_as_about_prints_them(section):
    assert settings_table(marked_block(section, "tap-about")) == about_table("tap_optiply"), (
        "README.md's tap settings table is stale: paste `tap-optiply --about --format=markdown`"
    )


def test_the_meltano_example_declares_every_setting(section):
    plugin = meltano_plugin(section, "extractors")

    assert (
        meltano_problems(plugin, config_jsonschema(), every_setting=tuple(s.name for s in SETTINGS))
        == []
    )


def test_the_meltano_example_names_the_program_its_streams_and_capabilities(section):
    plugin = meltano_plugin(section, "extractors")
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]

    assert plugin["name"] == plugin["executable"] == "tap-optiply"
    assert scripts["tap-optiply"].split(".")[0] == plugin["namespace"] == "tap_optiply"
    assert set(plugin["capabilities"]) <= {str(c) for c in TapOptiply.capabilities}
    assert {pattern.split(".")[0] for pattern in plugin["select"]} <= set(READABLE)
    assert stream_filters(plugin["config"]["stream_filters"])  # parsed as the tap parses it


SCHEMA = {
    "properties": {
        "password": {"type": ["string", "null"], "secret": True},
        "account_id": {"type": ["integer", "string", "null"]},
        "page_size": {"type": ["integer", "null"]},
    }
}


@pytest.mark.parametrize(
    ("plugin", "problems"),
    [
        pytest.param(
            {"settings": [{"name": "password", "kind": "password"}]}, [], id="password-kind"
        ),
        pytest.param({"settings": [{"name": "password", "sensitive": True}]}, [], id="sensitive"),
        pytest.param(
            {"settings": [{"name": "password"}]},
            ["password: a secret, not sensitive"],
            id="secret-in-the-clear",
        ),
        pytest.param(
            {"settings": [{"name": "account_id", "kind": "integer"}]}, [], id="integer-or-text"
        ),
        pytest.param(
            {"settings": [{"name": "page_size", "kind": "boolean"}]},
            ["page_size: kind boolean for types ['integer']"],
            id="wrong-kind",
        ),
        pytest.param({"settings": [{"name": "pw"}]}, ["pw: not a setting"], id="unknown"),
        pytest.param(
            {"config": {"page_size": 10, "limit": 1}},
            ["config limit: not a setting"],
            id="unknown-config-key",
        ),
    ],
)
def test_meltano_problems(plugin, problems):
    assert meltano_problems(plugin, SCHEMA) == problems


def test_meltano_problems_names_the_settings_left_out():
    plugin = {"settings": [{"name": "page_size"}]}

    assert meltano_problems(plugin, SCHEMA, every_setting=("page_size", "account_id")) == [
        "account_id: not declared"
    ]
