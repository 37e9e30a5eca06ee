"""Drop-in: records shaped as each existing HotGlue target declares them all land, unchanged.

For each shape of ``hotglue_shapes`` (TGT-J, TGT-M), the flow's jobs run ``target-optiply`` as a
process on SCHEMA messages carrying that target's declared types and RECORD messages typed the
same way (a boolean ``resumingPurchase``, a float ``stockLevel``, numbers or text for prices,
dates as that target's ETL writes them). A later job references the Optiply ids an earlier job
created, as the ETL does from HotGlue's id snapshot. Then everything is read back through the
API and compared with the facts the records were rendered from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from hotglue_shapes import (
    LINE_ITEMS,
    ORDER_LINES,
    RESOURCE_TYPES,
    SHAPES,
    Shape,
    expected,
    expected_counts,
    expected_lines,
    job,
    schema,
    singer_lines,
)
from target_support import target_config

from live import Login

NOTHING_ELSE = {"updated": 0, "existing": 0, "fail": 0, "skipped": 0}


def _assert_typed_as_declared(shape: Shape, batch: dict[str, list[dict[str, Any]]]) -> None:
    """The generator's own contract: every record validates against the SCHEMA it is sent
    with (no key outside the declared ones, every value of its declared type)."""
    for stream, records in batch.items():
        strict = {**schema(shape, stream), "additionalProperties": False}
        validator = jsonschema.Draft7Validator(
            strict, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )
        for record in records:
            errors = [error.message for error in validator.iter_errors(record)]
            assert errors == [], (shape.name, stream, record)


def _failures(state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Stream -> source id -> error of every record the target did not write."""
    failures: dict[str, dict[str, str]] = {}
    for stream, entries in state.get("bookmarks", {}).items():
        for entry in entries:
            if not entry.get("success") or entry.get("outcome") != "success":
                failures.setdefault(stream, {})[str(entry.get("externalId"))] = str(
                    entry.get("error") or entry.get("note") or entry.get("outcome")
                )
    return failures


def _rows(api: httpx.Client, resource_type: str, **filters: Any) -> list[dict[str, Any]]:
    response = api.get(f"/{resource_type}", params={"page[limit]": 100, **filters})
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["meta"]["totalResourceCount"] == len(document["data"])
    rows: list[dict[str, Any]] = document["data"]
    return rows


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
def test_every_record_of_an_existing_targets_shape_lands(
    shape: Shape, login: Login, api: httpx.Client, tmp_path: Path, run_target: Any
) -> None:
    ids: dict[str, dict[str, int]] = {}
    for index, streams in enumerate(shape.jobs):
        batch = job(shape, index, ids, login.account_id)
        assert list(batch) == list(streams)
        _assert_typed_as_declared(shape, batch)
        config = target_config(
            login, tmp_path, target_state_path=str(tmp_path / f"job-{index}-state.json")
        )

        run = run_target(config, singer_lines(shape, batch))

        # Every record written: the errors themselves are the message when one is not.
        assert _failures(run.state) == {}, f"{shape.name} job {index}"
        assert run.returncode == 0, run.stderr[-3000:]
        summary = {
            stream: {"success": len(records), **NOTHING_ELSE} for stream, records in batch.items()
        }
        assert run.state["summary"] == summary
        assert json.loads(run.stdout.strip().splitlines()[-1])["summary"] == summary
        for stream in streams:
            entries = run.state["bookmarks"][stream]
            assert sorted(str(entry["externalId"]) for entry in entries) == sorted(
                str(record.get("externalId", record.get("remoteId"))) for record in batch[stream]
            )
            ids[stream] = {str(entry["externalId"]): int(entry["id"]) for entry in entries}

    # Nothing more and nothing less than the flow's records and the lines its orders embed.
    counts = {
        resource_type: len(_rows(api, resource_type)) for resource_type in RESOURCE_TYPES.values()
    }
    assert counts == expected_counts(shape)

    for stream in shape.streams:
        resource_type = RESOURCE_TYPES[stream]
        for source_id, optiply_id in ids[stream].items():
            response = api.get(f"/{resource_type}/{optiply_id}")
            assert response.status_code == 200, response.text
            attributes = response.json()["data"]["attributes"]
            facts = expected(shape, stream, source_id, ids)
            assert {name: attributes.get(name) for name in facts} == facts, (stream, source_id)
            assert attributes["remoteIdMap"] == {"publicApi": source_id}, (stream, source_id)

    # A boolean resumingPurchase is ignored (the API's own rule), never an error.
    if "resumingPurchase" in shape.tables["Products"]:
        assert shape.tables["Products"]["resumingPurchase"] == "boolean"
        for optiply_id in ids["Products"].values():
            product = api.get(f"/products/{optiply_id}").json()["data"]["attributes"]
            assert product["resumingPurchase"] is None

    # Orders sent with line_items hold exactly those lines.
    for stream, (line_stream, order_key) in ORDER_LINES.items():
        if stream not in shape.streams or LINE_ITEMS not in shape.tables[stream]:
            continue
        standalone = set(ids.get(line_stream, {}).values())  # lines written as records
        for source_id, order_id in ids[stream].items():
            lines = expected_lines(shape, stream, source_id, ids)
            rows = [
                row
                for row in _rows(
                    api, RESOURCE_TYPES[line_stream], **{f"filter[{order_key}]": order_id}
                )
                if int(row["id"]) not in standalone
            ]
            assert len(rows) == len(lines), (stream, source_id)
            by_product = {row["attributes"]["productId"]: row["attributes"] for row in rows}
            assert sorted(by_product) == [line["productId"] for line in lines], (stream, source_id)
            for line in lines:
                held = by_product[line["productId"]]
                assert {name: held.get(name) for name in line} == line, (stream, source_id)
