"""Settings are declared once (``config.SETTINGS``): the config schema and ``resolve`` agree."""

from __future__ import annotations

import pytest

from optiply.client.auth import DEFAULT_DASHBOARD_URL
from optiply.client.client import DEFAULT_BASE_URL
from target_optiply.config import (
    PRODUCTION_BASE_URL,
    PRODUCTION_DASHBOARD_URL,
    SETTINGS,
    config_jsonschema,
)
from target_optiply.settings import resolve
from target_optiply.target import TargetOptiply

TOKEN = {"access_token": "t"}


def test_the_production_hosts_are_the_clients():
    assert (PRODUCTION_BASE_URL, PRODUCTION_DASHBOARD_URL) == (
        DEFAULT_BASE_URL,
        DEFAULT_DASHBOARD_URL,
    )


def test_the_target_schema_is_the_table():
    # Once a target has been built in this process, the SDK has appended its own built-in
    # settings (add_record_metadata, …) to the class's schema: ours come first, unchanged.
    schema = TargetOptiply.config_jsonschema["properties"]
    ours = config_jsonschema()["properties"]
    assert list(schema)[: len(SETTINGS)] == [setting.name for setting in SETTINGS]
    assert {name: schema[name] for name in ours} == ours
    for setting in SETTINGS:
        assert schema[setting.name].get("secret", False) is setting.secret, setting.name


def test_a_setting_with_an_environment_fallback_has_no_schema_default():
    """The SDK fills schema defaults into the config, which would hide the environment."""
    schema = config_jsonschema()["properties"]
    for setting in SETTINGS:
        if setting.env is not None:
            assert "default" not in schema[setting.name], setting.name


@pytest.mark.parametrize(
    ("config", "environ", "attribute", "expected"),
    [
        ({}, {}, "max_concurrency", 8),
        ({"max_concurrency": 3}, {}, "max_concurrency", 3),
        ({}, {}, "state_write_interval", 1.0),
        ({}, {}, "systemic_failure_share", 0.5),
        ({}, {}, "base_url", PRODUCTION_BASE_URL),
        ({}, {"optiply_base_url": "http://h/v1"}, "base_url", "http://h/v1"),
        (
            {"optiply_base_url": "http://c/v1"},
            {"optiply_base_url": "http://h/v1"},
            "base_url",
            "http://c/v1",
        ),
        ({}, {"FLOW": "f1"}, "flow", "f1"),
        ({"flow": "f2"}, {"FLOW": "f1"}, "flow", "f2"),
        ({}, {"JOB_ID": "j"}, "job_id", "j"),
        ({}, {"OUTPUT_MAPPED_RECORD": "off"}, "output_mapped_records", False),
        ({}, {"OUTPUT_MAPPED_RECORD": "1"}, "output_mapped_records", True),
        ({"accountId": "12"}, {}, "account_id", 12),
        ({"importCredentials": {"accountId": 7}}, {}, "account_id", 7),
        ({"record_requests_path": "r.jsonl"}, {}, "dry_run_path", "r.jsonl"),
        ({}, {"STREAM_TOTAL_Products": "40"}, "stream_totals", {"Products": "40"}),
        ({}, {"STREAM_TOTAL_PRODUCTS": "41"}, "stream_totals", {"Products": "41"}),
    ],
)
def test_resolve_reads_key_aliases_environment_default(config, environ, attribute, expected):
    value = getattr(resolve({**TOKEN, **config}, environ=environ), attribute)
    assert (str(value) if attribute == "dry_run_path" else value) == expected
