"""The Meltano Singer SDK's standard target tests, run against a live server of ours.

The SDK's input files name streams of their own (``test_camelcase``…), which match no Optiply
resource: the target would skip every record and every test would pass. So each file is
replayed as the ``Products`` stream (each record keeping its fields but ``id``, which would be
an Optiply id, plus the name and stock level a product needs, keyed by its stream and key
properties), and after each run every
distinct record must be a product in the account: a writer that dropped records fails here.
"""

from __future__ import annotations

import io
import json
from typing import IO, Any

import httpx
import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from target_support import target_config

from live import Login
from target_optiply.target import TargetOptiply

_Standard = get_target_test_class(TargetOptiply, config={})
RENAMED = {"id": "sourceKey"}  # ``id`` is an Optiply id to the target; here the file's key


def as_products(lines: IO[str]) -> tuple[str, set[str]]:
    """The SDK's messages replayed as Products records, and the source ids they carry."""
    keys: dict[str, list[str]] = {}
    out: list[str] = []
    sources: set[str] = set()
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        message = json.loads(line)
        stream = message.get("stream")
        if message.get("type") == "SCHEMA":
            keys[stream] = list(message.get("key_properties") or [])
            message["key_properties"] = [RENAMED.get(k, k) for k in keys[stream]]
            properties = message.get("schema", {}).get("properties")
            if isinstance(properties, dict):
                for old, new in RENAMED.items():
                    if old in properties:
                        properties[new] = properties.pop(old)
                properties.update(
                    externalId={"type": "string"},
                    name={"type": "string"},
                    stockLevel={"type": "integer"},
                )
            message["stream"] = "Products"
        elif message.get("type") == "RECORD":
            record = message["record"]
            key = [str(record.get(k)) for k in keys.get(stream, [])] or [str(number)]
            for old, new in RENAMED.items():
                if old in record:
                    record[new] = record.pop(old)
            source = f"{stream}:{':'.join(key)}"
            sources.add(source)
            record.update(externalId=source, name=f"{stream} {source}"[:255], stockLevel=1)
            message["stream"] = "Products"
        out.append(json.dumps(message))
    return "\n".join(out) + "\n", sources


class _ProductsRunner(TargetTestRunner):
    """Feeds the SDK's file as Products records; checks afterwards that each one landed."""

    login: Login
    sources: set[str]

    @property
    def target_input(self) -> IO[str]:
        if self._input is None and self.input_filepath is not None:
            with self.input_filepath.open(encoding="utf8") as handle:
                text, self.sources = as_products(handle)
            self._input = io.StringIO(text)
        return super().target_input

    @target_input.setter
    def target_input(self, value: IO[str]) -> None:
        self._input = value

    def sync_all(self, *, finalize: bool = True, **kwargs: Any) -> None:
        super().sync_all(finalize=finalize, **kwargs)
        if finalize and getattr(self, "sources", None):
            with self.login.client() as api:
                landed = set()
                url: str | None = "/products?page[limit]=100"
                while url:
                    page = api.get(url).json()
                    landed |= {
                        value
                        for row in page["data"]
                        for value in (row["attributes"]["remoteIdMap"] or {}).values()
                    }
                    url = page["links"].get("next")
            assert landed == self.sources, self.sources ^ landed


class TestTargetOptiplyStandard(_Standard):  # type: ignore[misc, valid-type]
    """Every standard test, with a config pointing at a fresh login on the live server."""

    @pytest.fixture
    def runner(self, login: Login, tmp_path: Any) -> TargetTestRunner:
        runner = _ProductsRunner(target_class=TargetOptiply, config=target_config(login, tmp_path))
        runner.login = login
        return runner


def test_the_replay_keeps_every_record_and_names_real_streams():
    lines = io.StringIO(
        '{"type": "SCHEMA", "stream": "s", "key_properties": ["id"], "schema": '
        '{"properties": {"id": {"type": "integer"}}}}\n'
        '{"type": "RECORD", "stream": "s", "record": {"id": 1}}\n'
        '{"type": "RECORD", "stream": "s", "record": {"id": 1}}\n'
    )
    text, sources = as_products(lines)
    messages = [json.loads(line) for line in text.splitlines()]
    assert {m["stream"] for m in messages} == {"Products"}
    assert sources == {"s:1"}
    assert httpx  # the runner's check talks to the live server
