"""What a fired rule does to the connection: the outermost layer of the application.

``controls.Controls.enter`` decides (after authentication, counting the match in the database)
and leaves a ``FaultFired`` in the request's state; this pure-ASGI middleware acts when the
application starts its answer:

- latency: the answer waits (fixed, plus a seeded jitter), then goes out unchanged;
- commit then fail: the write is committed, then the client gets a 500 (or nothing at all);
- drop: the connection closes without an answer;
- hang: nothing is answered until the client gives up, or ``hang_s`` passes, then it closes;
- broken: a ``200`` status line promising a body, part of it, then the connection closes.

ASGI has no message for closing a connection without an answer. Uvicorn's ``receive`` is a
bound method of its request cycle, which holds the transport: that is how the connection is
closed here (``_transport``); without it (another server), a 500 goes out instead. The request
journal sees what the client saw: ``RequestNote.answered`` (0 for no answer at all).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from optiply.jsonapi.errors import ErrorCode, ErrorObject, error_document
from optiply.jsonapi.media import MEDIA_TYPE
from optiply.server.sandbox.controls import FAULT_KEY, FaultFired
from optiply.server.sandbox.journal import note_of
from optiply.server.sandbox.rules import Action

_FAILED = orjson.dumps(
    error_document([ErrorObject(500, ErrorCode.INTERNAL_ERROR, "internal server error")])
)
_BROKEN_BODY = b'{"data":{"type":"'  # the start of a document that never ends
_BROKEN_LENGTH = b"4096"


class FaultMiddleware:
    """Carries out the fault rule a /v1 request fired, if any; otherwise passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        taken = False  # the fault has answered (or closed): the app's answer goes nowhere

        async def send_or_fault(message: Message) -> None:
            nonlocal taken
            if taken:
                return
            fired: FaultFired | None = state.get(FAULT_KEY)
            if fired is None or message["type"] != "http.response.start":
                await send(message)
                return
            del state[FAULT_KEY]
            taken = await _act(fired, scope, receive, send, message)
            if not taken:
                await send(message)

        await self.app(scope, receive, send_or_fault)


async def _act(
    fired: FaultFired, scope: Scope, receive: Receive, send: Send, start: Message
) -> bool:
    """Do what the rule says on the answer's start; whether the app's answer is replaced."""
    rule, note = fired.rule, note_of(scope)
    action = rule.action
    if action is Action.LATENCY:
        await asyncio.sleep(rule.delay_ms(fired.ordinal) / 1000)
        return False
    if action is Action.COMMIT_THEN_FAIL and not rule.drop_after_commit:
        await _fail(send, note)
        return True
    transport = _transport(receive)
    if transport is None:  # not under uvicorn: a plain 500 is the nearest thing
        await _fail(send, note)
        return True
    if action is Action.HANG:
        try:
            await asyncio.wait_for(_disconnected(receive), rule.hang_s)
        except TimeoutError:
            pass
    if action is Action.BROKEN:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", _BROKEN_LENGTH),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _BROKEN_BODY, "more_body": True})
    if note is not None:
        note.answered = 200 if action is Action.BROKEN else 0
    transport.close()  # flushes what was written, then closes
    for _ in range(100):  # let uvicorn see the loss, so it does not answer 500 itself
        if getattr(getattr(receive, "__self__", None), "disconnected", True):
            break
        await asyncio.sleep(0.001)
    return True


async def _fail(send: Send, note: Any) -> None:
    if note is not None:
        note.answered = 500
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(_FAILED)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _FAILED})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _transport(receive: Receive) -> asyncio.Transport | None:
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    usable = hasattr(transport, "close") and hasattr(transport, "is_closing")  # uvloop's too
    return transport if usable else None
