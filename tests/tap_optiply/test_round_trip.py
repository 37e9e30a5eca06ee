"""tap-optiply on account A piped into target-optiply on account B reproduces A's data.

Every type of the small shop (``tests/small_shop.py``: products, suppliers, supplierProducts, a
composition, sell and buy orders with lines, a receipt line, a promotion and its product, a
deleted product) goes through the tap with ``copy_stream_maps()`` into the target; afterwards
every live row of A has exactly one twin in B, equal in every writable attribute, whose
references point at the twins of A's referenced rows. The tap runs as its executable here
(``python -m tap_optiply``, records on its stdout); the other tap tests run its command in the
test's process (``live.run_singer_command``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tap_support import run_tap, run_target, tap_config

from live import Login, make_login
from optiply.resources import Access, Kind
from small_shop import build
from tap_optiply.copying import copy_stream_maps
from tap_optiply.schemas import READABLE

SKIPPED = ("remoteIdMap", "remoteDataSyncedToDate", "createdFromPublicApi")


def _rows(login: Login) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    with login.client() as api:
        for kind in READABLE:
            if kind == "accounts":
                continue
            rows, url = [], f"/{kind}?page[limit]=100&sort=id"
            while url:
                page = api.get(url).json()
                rows += [{"id": int(r["id"]), **r["attributes"]} for r in page["data"]]
                url = page["links"].get("next")
            found[kind] = rows
    return found


def _comparable(
    kind: str, row: dict[str, Any], twin_of: dict[tuple[str, int], int] | None
) -> dict[str, Any]:
    """The writable attributes and references of a row; references through ``twin_of``
    (B id -> A id) when given."""
    spec = READABLE[kind]
    shown = {}
    for attribute in spec.readable:
        if attribute.access is not Access.WRITABLE and attribute.kind is not Kind.REFERENCE:
            continue
        if attribute.name in SKIPPED or attribute.name == "accountId":
            continue
        value = row.get(attribute.name)
        if attribute.kind is Kind.REFERENCE and value is not None and twin_of is not None:
            assert attribute.references is not None
            value = twin_of.get((attribute.references, value), f"unmapped {value}")
        shown[attribute.name] = value
    return shown


def test_a_copy_through_tap_and_target_reproduces_every_resource(server, login, tmp_path: Path):
    build(server.engine, login.account_id, coupling=None)
    copy = make_login(server)
    config = tap_config(login, stream_maps=copy_stream_maps(), settle_seconds=0)
    tapped = run_tap(tmp_path, config, executable=True)
    run_target(tmp_path, copy, tapped)

    original, copied = _rows(login), _rows(copy)
    # B's row -> A's row, by the remote id the target stored (A's id).
    twin_of: dict[tuple[str, int], int] = {}
    for kind, rows in copied.items():
        for row in rows:
            (source,) = row["remoteIdMap"].values()
            twin_of[(kind, int(row["id"]))] = int(source)
    for kind, rows in original.items():
        assert rows, kind  # the shop has rows of every type
        ours = sorted((_comparable(kind, r, None) | {"id": r["id"]} for r in rows), key=str)
        theirs = sorted(
            (
                _comparable(kind, r, twin_of) | {"id": twin_of[(kind, r["id"])]}
                for r in copied[kind]
            ),
            key=str,
        )
        assert theirs == ours, kind
