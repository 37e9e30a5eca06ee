"""Drop-in configuration: HotGlue's nested credentials, aliases, env hosts, token write-back."""

from __future__ import annotations

import json
import time

import pytest
from target_support import singer, target_config

from optiply.client import ConfigurationError
from target_optiply.settings import resolve


def test_nested_credentials_aliases_and_env_hosts(login, tmp_path, run_target):
    config = {
        "importCredentials": {
            "username": login.username,
            "password": login.password,
            "clientId": login.client_id,
            "clientSecret": login.client_secret,
        },
        "accountId": str(login.account_id),
        "couplingId": 77,
        "start_date": "2024-01-01",
        "hotglue_metadata": {"metadata": {"webshop_handle": "shop"}},
        "some_unknown_key": True,
        "target_state_path": str(tmp_path / "target-state.json"),
    }
    env = {"optiply_base_url": f"{login.url}/v1", "optiply_dashboard_url": f"{login.url}/api"}
    run = run_target(
        config, singer("products", {"externalId": "P1", "name": "Mug", "stockLevel": 1}), env
    )
    assert run.returncode == 0, run.stderr
    assert f"{login.url}/v1" in run.stderr  # the resolved hosts are logged once
    with login.client() as api:
        product = api.get(f"/products/{run.id('Products', 'P1')}").json()["data"]
    assert product["attributes"]["remoteIdMap"] == {"77": "P1"}
    assert str(product["attributes"]["accountId"]) == str(login.account_id)


def test_refreshed_tokens_are_written_back_only_when_asked(login, tmp_path, run_target):
    config_path = tmp_path / "config.json"
    config = target_config(
        login,
        tmp_path,
        access_token="expired-token",
        refresh_token=login.refresh_token,
        expires_in=int(time.time()) - 10,
        token_file=str(config_path),
    )
    run = run_target(
        config, singer("Products", {"externalId": "P1", "name": "Mug", "stockLevel": 1})
    )
    assert run.returncode == 0, run.stderr
    written = json.loads(config_path.read_text())
    assert written["access_token"] not in ("expired-token", "")
    assert written["expires_in"] > time.time()
    assert written["username"] == login.username  # the rest of the file is kept
    assert written["access_token"] not in run.stderr
    assert written["refresh_token"] not in run.stderr

    del config["token_file"]
    run = run_target(
        config, singer("Products", {"externalId": "P2", "name": "Cup", "stockLevel": 1})
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(config_path.read_text())["access_token"] == "expired-token"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({}, "username, password"),
        ({"username": "u", "password": "p", "client_id": "c"}, "username, password"),
        ({"access_token": "t", "account_id": "abc"}, "account_id must be an integer"),
        ({"access_token": "t", "stream_options": {"Countries": {}}}, "unknown stream"),
        ({"access_token": "t", "delete_mode": "shred"}, "delete_mode"),
    ],
    ids=["nothing", "no-secret", "bad-account", "unknown-stream-option", "bad-delete-mode"],
)
def test_unusable_configs_are_refused_before_any_request(config, match):
    with pytest.raises(ConfigurationError, match=match):
        resolve(config, environ={})


def test_hosts_default_to_production_and_env_is_read_at_run_time():
    settings = resolve({"access_token": "t"}, environ={})
    assert settings.base_url == "https://api.optiply.com/v1"
    assert settings.dashboard_url == "https://dashboard.optiply.nl/api"
    settings = resolve({"access_token": "t"}, environ={"optiply_base_url": "http://x/v1"})
    assert settings.base_url == "http://x/v1"
