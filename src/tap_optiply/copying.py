"""Stream maps that turn the tap's records into records ``target-optiply`` writes elsewhere.

Piping the tap into the target copies an account: each record's Optiply ``id`` becomes its
``externalId`` (so the target remembers the new id under the old one), every ``*Id``
reference becomes ``Remote_*Id`` (resolved by the target to the new ids), and ``accountId``
is dropped (the target's own account applies). Give the result as the tap's ``stream_maps``
setting (the SDK applies it); derived from the registry, so every readable type is covered.

>>> maps = copy_stream_maps()
>>> maps["sellOrderLines"]["Remote_productId"], maps["sellOrderLines"]["productId"]
('productId', '__NULL__')
>>> maps["products"]["externalId"], maps["products"]["__key_properties__"]
('id', ['externalId'])
"""

from __future__ import annotations

from typing import Any

from tap_optiply.schemas import READABLE

DROP = "__NULL__"


def copy_stream_maps() -> dict[str, dict[str, Any]]:
    """``stream_maps`` for a tap -> target copy of every stream."""
    maps: dict[str, dict[str, Any]] = {}
    for spec in READABLE.values():
        stream: dict[str, Any] = {
            "externalId": "id",
            "id": DROP,
            "type": DROP,
            "__key_properties__": ["externalId"],
        }
        for attribute in spec.references:
            if not attribute.readable:
                continue
            if attribute.name == "accountId":
                stream[attribute.name] = DROP
            else:
                stream[f"Remote_{attribute.name}"] = attribute.name
                stream[attribute.name] = DROP
        maps[spec.type] = stream
    return maps
