"""Per-stream filters from the config, in the server's grammar, checked before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from tap_support import run_tap, tap_config

from optiply.client import ConfigurationError
from small_shop import build
from tap_optiply.settings import stream_filters


def test_open_buy_orders_only(server, login, api, tmp_path: Path):
    shop = build(server.engine, login.account_id, coupling=None)
    (closed,) = shop.ids["buyOrders"]
    body = {
        "data": {
            "type": "buyOrders",
            "attributes": {
                "placed": "2024-03-01T00:00:00Z",
                "totalValue": "1.00",
                "supplierId": shop.ids["suppliers"][0],
            },
        }
    }
    opened = api.post("/buyOrders", json=body).json()["data"]["id"]
    body["data"]["id"] = str(closed)
    body["data"]["attributes"] = {"completed": "2024-03-02T00:00:00Z"}
    assert api.patch(f"/buyOrders/{closed}", json=body).status_code == 200
    config = tap_config(login, stream_filters={"buyOrders": "filter[completed]=null"})
    out = run_tap(tmp_path, config)
    assert out.ids("buyOrders") == [opened]
    assert len(out.ids("products")) == 2  # other streams unfiltered


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"buyOrders": "filter[nope]=1"}, "unknown attribute 'nope' of buyOrders"),
        ({"buyOrders": {"filter[placed][GT]": "yesterday"}}, "filter[placed][GT]"),
        ({"buyOrders": "sort=id"}, "only filter[...] parameters"),
        ({"countries": "filter[id]=1"}, "unknown stream 'countries'"),
    ],
    ids=["unknown-attribute", "bad-value", "not-a-filter", "unknown-stream"],
)
def test_a_bad_filter_is_refused_with_the_servers_message(filters, message):
    with pytest.raises(ConfigurationError, match="stream_filters"):
        stream_filters(filters)
    with pytest.raises(ConfigurationError) as caught:
        stream_filters(filters)
    assert message in str(caught.value)


def test_a_bad_filter_stops_the_tap_before_any_request(tmp_path: Path):
    config = {
        "access_token": "t",
        "optiply_base_url": "http://127.0.0.1:9/v1",  # nothing listens: a request would fail
        "stream_filters": {"buyOrders": "filter[nope]=1"},
    }
    out = run_tap(tmp_path, config, check=False)
    assert out.returncode != 0
    assert "unknown attribute 'nope' of buyOrders" in out.stderr
    assert "ConnectError" not in out.stderr and not out.messages
