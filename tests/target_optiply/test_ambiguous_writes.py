"""After a POST whose outcome is unknown, the writer reads back before sending again (one record
per request: ``bulk: off``; the client's own replays are ``test_idempotency.py``'s)."""

from __future__ import annotations

from typing import Any

import pytest

from optiply.client import AmbiguousWriteError, OptiplyClient, Resource
from optiply.resources import get
from target_optiply.batches import Writer
from target_optiply.policy import ErrorPolicy
from target_optiply.references import References
from target_optiply.settings import resolve
from target_optiply.state import TargetState


class _LostAnswer:
    """The real client, but the first POST's answer is lost after it was applied."""

    def __init__(self, client: OptiplyClient, *, apply: bool) -> None:
        self._client = client
        self._apply = apply
        self.posts = 0

    def create(self, resource_type: str, attributes: Any, **options: Any) -> Resource:
        self.posts += 1
        if self.posts == 1:
            if self._apply:
                self._client.create(resource_type, attributes, **options)
            raise AmbiguousWriteError("ReadTimeout; the POST may have been applied", method="POST")
        return self._client.create(resource_type, attributes, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_an_ambiguous_post_is_read_back_before_any_resend(login, tmp_path, applied):
    settings = resolve(
        {"access_token": "unused", "account_id": login.account_id, "bulk": "off"}, environ={}
    )
    with login.optiply_client() as client:
        api = _LostAnswer(client, apply=applied)
        state = TargetState(tmp_path / "state.json")
        writer = Writer(
            settings=settings, api=api, references=References(), state=state, policy=ErrorPolicy()
        )
        writer.add(get("products"), {"externalId": "P1", "name": "Mug", "stockLevel": 1})
        writer.flush(final=True)
        rows = list(client.iterate("products"))
    assert len(rows) == 1
    (entry,) = state.document()["bookmarks"]["Products"]
    assert entry["success"] and entry["id"] == str(rows[0].id)
    assert api.posts == (1 if applied else 2)
    if applied:
        assert "ambiguous" in entry["note"]


@pytest.mark.parametrize("resource_type", ["products", "sellOrders"])
def test_an_ambiguous_post_never_adopts_a_look_alike_row(login, tmp_path, resource_type):
    """Rows with the same natural key but another source id (or none) are not the record's:
    after the lost answer (not applied) the record is POSTed again, and the look-alikes stay."""
    settings = resolve(
        {"access_token": "unused", "account_id": login.account_id, "bulk": "off"}, environ={}
    )
    record = (
        {"externalId": "X1", "name": "Mug", "stockLevel": 1}
        if resource_type == "products"
        else {"externalId": "X1", "placed": "2024-03-01T10:00:00Z", "totalValue": "5.00"}
    )
    attributes = {k: v for k, v in record.items() if k != "externalId"}
    with login.optiply_client() as client:
        look_alikes = [
            client.create(resource_type, {**attributes, "remoteId": "someone-else"}).id,
            client.create(resource_type, attributes).id,
        ]
        api = _LostAnswer(client, apply=False)
        state = TargetState(tmp_path / "state.json")
        writer = Writer(
            settings=settings, api=api, references=References(), state=state, policy=ErrorPolicy()
        )
        writer.add(get(resource_type), record)
        writer.flush(final=True)
        rows = list(client.iterate(resource_type))
    (entry,) = next(iter(state.document()["bookmarks"].values()))
    assert entry["success"] and int(entry["id"]) not in look_alikes, entry
    assert api.posts == 2
    assert len(rows) == 3
